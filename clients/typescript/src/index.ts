/**
 * A typed client for the Dongne HTTP API: openapi-fetch over the types `npm run generate` makes
 * from the API's OpenAPI document (src/schema.ts), plus what every app needs around it — the
 * login (access and refresh tokens, refreshed before they expire, one refresh at a time, and a
 * hook to persist them), `Accept-Language`, retries on 429/503 that honour `Retry-After`,
 * idempotency keys, problem+json errors by `code`, and cursor pages.
 */
import createClient, { type Client } from "openapi-fetch";

import type { components, paths } from "./schema.js";

export type { components, paths } from "./schema.js";
export type Schemas = components["schemas"];
/** The body of every error answer (RFC 9457): switch on `code`, never on `title` or `detail`. */
export type Problem = Schemas["Problem"];

/**
 * A login as the client holds it: the token fields of the answer of `POST /auth/signup`,
 * `/auth/login` or `/auth/refresh`. The access `token` lives an hour; the `refresh_token` 60 days,
 * and it works once. Keep it in the app's secure storage (Keychain, Keystore), never in plain
 * storage: whoever holds it holds the login.
 */
export type Session = Pick<Schemas["TokensOut"], "token" | "expires_at" | "refresh_token" | "refresh_expires_at">;

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
  /** The login to start with (as `onSessionChange` last gave it, from secure storage); none: signed out. */
  session?: Session | null;
  /**
   * Called with every new session — after signing up, logging in and each refresh (the refresh
   * token has rotated: store the new one before anything else) — and with `null` when the login
   * has ended: logged out, the password changed, the account closed, or a refresh refused (the
   * refresh token expired, or was used twice: `refresh_token_reused`). On `null`, show sign-in.
   * Awaited before the request that caused it answers.
   */
  onSessionChange?: (session: Session | null) => Awaitable<void>;
  /** Refresh when the access token expires within this many milliseconds (default 60 000). */
  refreshLeewayMs?: number;
  /** The clock the token expiries are read against, in epoch milliseconds (default `Date.now`). */
  now?: () => number;
  /** `Accept-Language` for problem titles, details and field messages (default `ko`). */
  language?: string;
  retry?: RetryOptions;
  /** A fetch to use instead of the global one (tests, instrumentation). */
  fetch?: (request: Request) => Promise<Response>;
}

/** The typed calls by path (`client.GET("/me")`), and the login the client holds. */
export interface DongneClient extends Client<paths> {
  /** The login held now, or null when signed out. */
  readonly session: Session | null;
  /** Hold another login (e.g. one restored from storage), or none; `onSessionChange` is told. */
  setSession(session: Session | null): Promise<void>;
  /**
   * Exchange the refresh token now (`POST /auth/refresh`); the client also does this by itself
   * before the access token expires. Calls made while one is under way share it. Resolves to the
   * new session, or null when the login has ended; throws a {@link DongneError} when the server
   * could not answer (429 after the retries, 5xx), and the session is kept.
   */
  refresh(): Promise<Session | null>;
  /** `POST /auth/logout` (this login ends on the server), then forget the session, whatever the answer. */
  logout(): Promise<void>;
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

/** Routes that take no bearer token: the client sends none and refreshes nothing for them. */
const SIGNED_OUT_ROUTES = new Set(["/auth/signup", "/auth/login", "/auth/refresh", "/auth/password-reset",
                                   "/auth/password-reset/confirm"]);
/** Answers that begin a login (a successful one carries a new session). */
const SESSION_STARTS = new Set(["POST /auth/signup", "POST /auth/login", "POST /auth/refresh"]);
/** Successful requests after which the held login is dead (the password change ends this one too). */
const SESSION_ENDS = new Set(["POST /auth/logout", "PUT /me/password", "DELETE /me"]);

/** The `code` of a 401 problem answer, or undefined for any other answer. */
async function unauthorizedCode(response: Response): Promise<string | undefined> {
  if (response.status !== 401) return undefined;
  try {
    const problem = (await response.clone().json()) as Partial<Problem>;
    return typeof problem.code === "string" ? problem.code : undefined;
  } catch {
    return undefined;
  }
}

function sessionOf(body: Session): Session {
  const { token, expires_at, refresh_token, refresh_expires_at } = body;
  return { token, expires_at, refresh_token, refresh_expires_at };
}

/** How a refresh ended: a new session, the login ended (null), or no answer to act on (`failed`). */
type Refreshed = { session: Session | null; failed?: undefined } | { session?: undefined; failed: Response };

/** The client: `client.GET("/shops/{shop_id}", { params: { path: { shop_id } } })` and so on, typed by path. */
export function createDongneClient(options: DongneClientOptions): DongneClient {
  const send = options.fetch ?? ((request: Request) => globalThis.fetch(request));
  const retries = options.retry?.retries ?? 3;
  const baseUrl = options.baseUrl.replace(/\/+$/, "");
  const basePath = new URL(baseUrl).pathname.replace(/\/+$/, "");
  const now = options.now ?? Date.now;
  const leeway = options.refreshLeewayMs ?? 60_000;
  let held: Session | null = options.session ?? null;
  let refreshing: Promise<Refreshed> | null = null;

  const change = async (next: Session | null) => {
    if (held === null && next === null) return;
    held = next;
    await options.onSessionChange?.(next);
  };

  const routeOf = (request: Request) => {
    const path = new URL(request.url).pathname;
    return path.startsWith(basePath) ? path.slice(basePath.length) : path;
  };

  const attempt = (input: Request, bearer: string | undefined) => {
    const request = input.clone();
    if (!request.headers.has("Accept-Language")) request.headers.set("Accept-Language", options.language ?? "ko");
    if (bearer !== undefined) request.headers.set("Authorization", `Bearer ${bearer}`);
    return send(request);
  };

  const withRetries = async (input: Request, bearer: string | undefined): Promise<Response> => {
    for (let n = 0; ; n++) {
      const response = await attempt(input, bearer);
      if (n >= retries || !retryable(input, response.status)) return response;
      await response.body?.cancel();
      await sleep(retryDelayMs(response.headers.get("Retry-After"), n, options.retry));
    }
  };

  /**
   * One refresh at a time: refresh tokens rotate, and a second refresh with the token the first
   * one spent would end the login (`refresh_token_reused`). Everyone who asks meanwhile shares it.
   */
  const refreshShared = (): Promise<Refreshed> => {
    if (refreshing !== null) return refreshing;
    const spent = held;
    if (spent === null) return Promise.resolve({ session: null });
    refreshing = (async (): Promise<Refreshed> => {
      try {
        const response = await withRetries(new Request(`${baseUrl}/auth/refresh`, {
          method: "POST", headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ refresh_token: spent.refresh_token }),
        }), undefined);
        const current = held?.refresh_token === spent.refresh_token; // not replaced meanwhile
        if (response.ok) {
          const fresh = sessionOf((await response.json()) as Session);
          if (current) await change(fresh);
          return { session: held };
        }
        if (response.status === 401) { // reused, expired, logged out, password changed, account closed
          if (current) await change(null);
          return { session: held };
        }
        return { failed: response };
      } finally {
        refreshing = null;
      }
    })();
    return refreshing;
  };

  const expiresSoon = (session: Session) => Date.parse(session.expires_at) - leeway <= now();

  const fetchWithSession = async (input: Request): Promise<Response> => {
    const route = `${input.method} ${routeOf(input)}`;
    const signed = held !== null && !input.headers.has("Authorization") && !SIGNED_OUT_ROUTES.has(routeOf(input));
    let refreshed = false;
    if (signed && held !== null && expiresSoon(held)) {
      refreshed = true;
      const outcome = await refreshShared();
      if (outcome.failed) return outcome.failed.clone();
    }
    let bearer = signed ? held?.token : undefined;
    let response = await withRetries(input, bearer);
    let code = bearer === undefined ? undefined : await unauthorizedCode(response);
    if (code === "unauthorized") { // expired or refused: a new access token, once
      if (!refreshed && held?.token === bearer) await refreshShared();
      if (held !== null && held.token !== bearer) {
        await response.body?.cancel();
        bearer = held.token;
        response = await withRetries(input, bearer);
        code = await unauthorizedCode(response);
      }
    }
    if (code === "account_closed" && held?.token === bearer) await change(null);
    else if (response.ok && SESSION_STARTS.has(route)) await change(sessionOf((await response.clone().json()) as Session));
    else if (SESSION_ENDS.has(route) && (response.ok || (route === "POST /auth/logout" && response.status === 401))) {
      await change(null);
    }
    return response;
  };

  const client = createClient<paths>({ baseUrl, fetch: fetchWithSession });
  return Object.defineProperties(client, {
    session: { get: () => held, enumerable: true },
    setSession: { value: (session: Session | null) => change(session === null ? null : sessionOf(session)) },
    refresh: {
      value: async () => {
        const outcome = await refreshShared();
        if (outcome.failed) {
          const response = outcome.failed.clone();
          const body: unknown = await response.json().catch(() => undefined);
          ok({ error: body ?? response.statusText, response });
        }
        return outcome.session ?? null;
      },
    },
    logout: {
      value: async () => {
        try {
          if (held !== null) await client.POST("/auth/logout");
        } finally {
          await change(null);
        }
      },
    },
  }) as DongneClient;
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
