/**
 * A typed client for the Dongne HTTP API: openapi-fetch over the types `npm run generate` makes
 * from the API's OpenAPI document (src/schema.ts), plus what every app needs around it —
 * the bearer token (and a hook to log in again), `Accept-Language`, retries on 429/503 that
 * honour `Retry-After`, idempotency keys, problem+json errors by `code`, and cursor pages.
 */
import createClient, { type Client } from "openapi-fetch";

import type { components, paths } from "./schema.js";

export type { components, paths } from "./schema.js";
export type Schemas = components["schemas"];
/** The body of every error answer (RFC 9457): switch on `code`, never on `title` or `detail`. */
export type Problem = Schemas["Problem"];
export type DongneClient = Client<paths>;

type Awaitable<T> = T | Promise<T>;

export interface RetryOptions {
  /** Attempts after the first (default 3). 0 turns retrying off. */
  retries?: number;
  /** The longest wait between two attempts, in milliseconds (default 30 000). */
  maxDelayMs?: number;
  /** The first wait when the answer names none; doubled each attempt (default 500). */
  baseDelayMs?: number;
}

export interface DongneClientOptions {
  /** Where the API is, e.g. `https://api.dongne.app` (no trailing slash needed). */
  baseUrl: string;
  /** The bearer token, or a function returning the current one (undefined: send none). */
  token?: string | (() => Awaitable<string | undefined>);
  /**
   * Called when an answer is 401 `unauthorized` to a request that carried a token (it expired
   * or was revoked). Return a new token (log in again) and the request is sent once more with
   * it; return undefined to give up (the 401 comes back as it is).
   */
  onUnauthorized?: () => Awaitable<string | undefined>;
  /** `Accept-Language` for problem titles, details and field messages (default `ko`). */
  language?: string;
  retry?: RetryOptions;
  /** A fetch to use instead of the global one (tests, instrumentation). */
  fetch?: (request: Request) => Promise<Response>;
}

/** A new `Idempotency-Key` for one purchase: keep it with the purchase and send it on every retry. */
export function idempotencyKey(): string {
  return globalThis.crypto.randomUUID();
}

/**
 * How long to wait before attempt `attempt + 1`: the answer's `Retry-After` (seconds or an
 * HTTP date) when it has one, else an exponential backoff with jitter; at most `maxDelayMs`.
 */
export function retryDelayMs(retryAfter: string | null, attempt: number, options: RetryOptions = {},
                             now: number = Date.now()): number {
  const max = options.maxDelayMs ?? 30_000;
  if (retryAfter !== null && retryAfter.trim() !== "") {
    const value = retryAfter.trim();
    const ms = /^\d+$/.test(value) ? Number(value) * 1000 : Date.parse(value) - now;
    if (!Number.isNaN(ms)) return Math.min(Math.max(ms, 0), max);
  }
  const base = (options.baseDelayMs ?? 500) * 2 ** attempt;
  return Math.min(base / 2 + Math.random() * (base / 2), max);
}

// A 503 may come after part of a write; only a request that may safely be sent twice is retried
// then. A 429 was refused before anything happened: always retried.
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE"]);

function retryable(request: Request, status: number): boolean {
  if (status === 429) return true;
  return status === 503 && (SAFE_METHODS.has(request.method) || request.headers.has("Idempotency-Key"));
}

const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

/** Whether a 401 says the token is no good (not `account_closed`, where logging in again will not help). */
async function tokenRejected(response: Response): Promise<boolean> {
  if (response.status !== 401) return false;
  try {
    const problem = (await response.clone().json()) as Partial<Problem>;
    return problem.code === "unauthorized";
  } catch {
    return false;
  }
}

/** The client: `client.GET("/shops/{shop_id}", { params: { path: { shop_id } } })` and so on, typed by path. */
export function createDongneClient(options: DongneClientOptions): DongneClient {
  const send = options.fetch ?? ((request: Request) => globalThis.fetch(request));
  const retries = options.retry?.retries ?? 3;
  let token = options.token;

  const currentToken = async () => (typeof token === "function" ? await token() : token);

  const attempt = async (input: Request, bearer: string | undefined) => {
    const request = input.clone();
    if (!request.headers.has("Accept-Language")) request.headers.set("Accept-Language", options.language ?? "ko");
    if (bearer !== undefined && !request.headers.has("Authorization")) {
      request.headers.set("Authorization", `Bearer ${bearer}`);
    }
    return send(request);
  };

  const fetchWithRetries = async (input: Request): Promise<Response> => {
    let bearer = input.headers.has("Authorization") ? undefined : await currentToken();
    let relogged = false;
    for (let n = 0; ; n++) {
      const response = await attempt(input, bearer);
      if (!relogged && bearer !== undefined && options.onUnauthorized && (await tokenRejected(response))) {
        relogged = true;
        const fresh = await options.onUnauthorized();
        if (fresh === undefined) return response;
        token = fresh;
        bearer = fresh;
        n--; // logging in again is not a retry
        continue;
      }
      if (n >= retries || !retryable(input, response.status)) return response;
      await response.body?.cancel();
      await sleep(retryDelayMs(response.headers.get("Retry-After"), n, options.retry));
    }
  };

  return createClient<paths>({ baseUrl: options.baseUrl.replace(/\/+$/, ""), fetch: fetchWithRetries });
}

/** An error answer as an exception: `status`, `code` and the whole problem body. */
export class DongneError extends Error {
  readonly status: number;
  readonly code: string;
  readonly problem: Problem;
  /** The `X-Request-Id` of the answer: quote it when reporting a problem. */
  readonly requestId: string | null;

  constructor(problem: Problem, response: Response) {
    super(`${problem.status} ${problem.code}: ${problem.detail}`);
    this.name = "DongneError";
    this.status = response.status;
    this.code = problem.code;
    this.problem = problem;
    this.requestId = response.headers.get("X-Request-Id");
  }
}

function isProblem(value: unknown): value is Problem {
  return typeof value === "object" && value !== null && typeof (value as { code?: unknown }).code === "string";
}

/**
 * The data of a successful answer, or a thrown {@link DongneError} for an error answer:
 * `const shop = ok(await client.POST("/shops", { body }))`.
 */
export function ok<T>(result: { data?: T; error?: unknown; response: Response }): T {
  const { data, error, response } = result;
  if (!response.ok || error !== undefined) {
    const problem: Problem = isProblem(error) ? error : {
      type: "about:blank", code: `http_${response.status}`, title: response.statusText,
      status: response.status, detail: typeof error === "string" ? error : response.statusText,
    };
    throw new DongneError(problem, response);
  }
  return data as T;
}

/** Whether `error` is a Dongne problem, optionally of one `code`. */
export function isDongneError(error: unknown, code?: string): error is DongneError {
  return error instanceof DongneError && (code === undefined || error.code === code);
}

/**
 * Every item of a list, page after page: `for await (const o of pages((cursor) =>
 * client.GET("/me/orders", { params: { query: { cursor } } }))) { ... }`. Cursors are opaque:
 * pass back `next_cursor` as it came; it is null on the last page.
 */
export async function* pages<T>(
  page: (cursor: string | undefined) => Promise<{ data?: { items: T[]; next_cursor?: string | null };
                                                  error?: unknown; response: Response }>,
): AsyncGenerator<T, void, undefined> {
  let cursor: string | undefined;
  do {
    const { items, next_cursor } = ok(await page(cursor));
    yield* items;
    cursor = next_cursor ?? undefined;
  } while (cursor !== undefined);
}
