/** Retries on 429/503 and their waits, against a stub fetch (no server). */
import assert from "node:assert/strict";
import { test } from "node:test";

import { createDongneClient, DongneError, ok, retryDelayMs } from "../src/index.js";

const problem = (status: number, code: string) => JSON.stringify({
  type: `https://dongne.app/problems/${code}`, code, title: code, status, detail: code,
});

/** A fetch answering from `answers` in turn, recording each request it was sent. */
function stub(answers: Array<() => Response>) {
  const seen: Request[] = [];
  const fetch = async (request: Request) => {
    seen.push(request);
    const next = answers.shift();
    assert.ok(next, "more requests than answers");
    return next();
  };
  return { seen, fetch };
}

/** A login whose access token is good for an hour after `NOW`. */
const NOW = Date.parse("2026-05-01T09:00:00Z");
const session = { token: "t0", expires_at: "2026-05-01T10:00:00Z", refresh_token: "r0",
                  refresh_expires_at: "2026-06-30T09:00:00Z" };

const json = (body: string, status: number, headers: Record<string, string> = {}) =>
  () => new Response(body, { status, headers: { "Content-Type": "application/json", ...headers } });

test("Retry-After is honoured, in seconds or as a date, and capped", () => {
  assert.equal(retryDelayMs("2", 0), 2000);
  assert.equal(retryDelayMs("0", 3), 0);
  assert.equal(retryDelayMs("120", 0, { maxDelayMs: 5000 }), 5000);
  assert.equal(retryDelayMs(new Date(10_000 + 3000).toUTCString(), 0, {}, 10_000), 3000);
  for (let attempt = 0; attempt < 4; attempt++) {  // no header: exponential backoff with jitter
    const wait = retryDelayMs(null, attempt, { baseDelayMs: 100 });
    assert.ok(wait >= 50 * 2 ** attempt && wait <= 100 * 2 ** attempt, `${attempt}: ${wait}`);
  }
});

test("a 429 is retried after its Retry-After, with the same body and headers", async () => {
  const { seen, fetch } = stub([
    json(problem(429, "rate_limited"), 429, { "Retry-After": "0" }),
    json(problem(429, "rate_limited"), 429, { "Retry-After": "0" }),
    json(JSON.stringify({ following: true, shop_id: "s1" }), 200),
  ]);
  const client = createDongneClient({ baseUrl: "http://api.test/", session, now: () => NOW, fetch });
  const answer = ok(await client.PUT("/shops/{shop_id}/follow", { params: { path: { shop_id: "s1" } } }));
  assert.equal(answer.following, true);
  assert.equal(seen.length, 3);
  for (const request of seen) {
    assert.equal(request.url, "http://api.test/shops/s1/follow");
    assert.equal(request.headers.get("Authorization"), "Bearer t0");
    assert.equal(request.headers.get("Accept-Language"), "ko");
  }
});

test("a 503 is retried for a purchase with its Idempotency-Key, not for a plain POST", async () => {
  const busy = json(problem(503, "service_unavailable"), 503, { "Retry-After": "0" });
  const order = { shop_id: "s1", items: [{ product_id: "p1", quantity: 1 }] };
  const keyed = stub([busy, json(JSON.stringify({ order_id: "o1" }), 201)]);
  const client = createDongneClient({ baseUrl: "http://api.test", fetch: keyed.fetch });
  await client.POST("/orders", { params: { header: { "Idempotency-Key": "k1" } }, body: order });
  assert.equal(keyed.seen.length, 2);
  assert.deepEqual(await Promise.all(keyed.seen.map((r) => r.json())), [order, order]);

  const plain = stub([busy, busy]);
  const other = createDongneClient({ baseUrl: "http://api.test", fetch: plain.fetch });
  const result = await other.POST("/shops", { body: { name: "가게", handle: "shop" } });
  assert.equal(plain.seen.length, 1);
  assert.throws(() => ok(result), (error: unknown) => error instanceof DongneError && error.code === "service_unavailable"
    && error.status === 503);
});

test("retries stop after `retries` attempts and the last answer is returned", async () => {
  const busy = json(problem(429, "rate_limited"), 429, { "Retry-After": "0" });
  const { seen, fetch } = stub([busy, busy, busy]);
  const client = createDongneClient({ baseUrl: "http://api.test", fetch, retry: { retries: 2 } });
  const result = await client.GET("/me");
  assert.equal(result.response.status, 429);
  assert.equal(seen.length, 3);
});
