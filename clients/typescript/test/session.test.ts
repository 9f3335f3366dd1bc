/** The login the client holds: refreshing before expiry and on a refused token, one refresh at a
 * time, rotation, and the end of a login — against a fake server (no network). */
import assert from "node:assert/strict";
import { test } from "node:test";

import { createDongneClient, isDongneError, type Session } from "../src/index.js";

const NOW = Date.parse("2026-05-01T09:00:00Z");
const at = (ms: number) => new Date(ms).toISOString();

const problem = (status: number, code: string) => new Response(JSON.stringify({
  type: `https://dongne.app/problems/${code}`, code, title: code, status, detail: code,
}), { status, headers: { "Content-Type": "application/problem+json" } });

/**
 * A fake Dongne with one login: access tokens `t<n>` and refresh tokens `r<n>`, where n is the
 * rotation. `/auth/refresh` rotates (a spent refresh token ends the login, like the server's reuse
 * detection) and can be held open (`gate`) so that requests overlap it; other routes answer 200
 * to the current access token while `accepting` (a refresh sets it), else 401 `unauthorized`;
 * `/held` answers only once `hold` resolves; while `refusing`, every access token is refused.
 */
function fakeServer(clock: { now: number }) {
  const state = {
    rotation: 0, ended: false, accepting: true, gate: Promise.resolve(), hold: Promise.resolve(), refusing: false,
    refreshes: [] as string[], seen: [] as Request[], status: undefined as number | undefined,
  };
  const pair = (n: number) => ({ token: `t${n}`, expires_at: at(clock.now + 3_600_000), refresh_token: `r${n}`,
                                 refresh_expires_at: at(clock.now + 60 * 86_400_000) });
  const fetch = async (request: Request): Promise<Response> => {
    state.seen.push(request);
    const path = new URL(request.url).pathname;
    if (path === "/auth/refresh") {
      const { refresh_token } = (await request.json()) as { refresh_token: string };
      state.refreshes.push(refresh_token);
      await state.gate;
      if (state.status !== undefined) return problem(state.status, "service_unavailable");
      if (state.ended) return problem(401, "unauthorized");
      if (refresh_token !== `r${state.rotation}`) {
        state.ended = true;
        return problem(401, "refresh_token_reused");
      }
      state.rotation += 1;
      state.accepting = true;
      return Response.json(pair(state.rotation));
    }
    if (path === "/auth/login") {
      state.ended = false;
      state.rotation += 1;
      return Response.json({ user: { user_id: "u1" }, ...pair(state.rotation) });
    }
    if (path === "/held") await state.hold;
    const good = state.accepting && !state.refusing && !state.ended && request.headers.get("Authorization") === `Bearer t${state.rotation}`;
    if (!good) return problem(401, "unauthorized");
    if (path === "/auth/logout") {
      state.ended = true;
      return new Response(null, { status: 204 });
    }
    return Response.json({ path, token: request.headers.get("Authorization") });
  };
  return { state, pair, fetch };
}

/** A client holding login `r0`/`t0` whose access token expires `expiresInMs` after the clock. */
function setUp(expiresInMs: number) {
  const clock = { now: NOW };
  const server = fakeServer(clock);
  const changes: Array<Session | null> = [];
  const session = { ...server.pair(0), expires_at: at(NOW + expiresInMs) };
  const client = createDongneClient({
    baseUrl: "http://api.test", session, now: () => clock.now, fetch: server.fetch,
    onSessionChange: (next) => { changes.push(next); },
  });
  return { clock, server, changes, client };
}

const bearers = (requests: Request[]) => requests.filter((r) => !r.url.endsWith("/auth/refresh"))
  .map((r) => r.headers.get("Authorization"));

test("parallel requests with an expiring token share one refresh and all use its token", async () => {
  const { server, changes, client } = setUp(30_000); // within the 60 s leeway
  let open!: () => void;
  server.state.gate = new Promise((done) => { open = done; });
  const calls = [client.GET("/me"), client.GET("/feed"), client.GET("/me/orders"), client.GET("/me")];
  await new Promise((done) => setTimeout(done, 10));
  open();
  const answers = await Promise.all(calls);
  assert.deepEqual(answers.map((a) => a.response.status), [200, 200, 200, 200]);
  assert.deepEqual(server.state.refreshes, ["r0"]);
  assert.deepEqual(bearers(server.state.seen), Array(4).fill("Bearer t1"));
  assert.deepEqual(changes.map((s) => s?.refresh_token), ["r1"]);
  assert.equal(client.session?.token, "t1");
});

test("a token still fresh is sent as it is, with no refresh", async () => {
  const { server, changes, client } = setUp(61_000);
  assert.equal((await client.GET("/me")).response.status, 200);
  assert.deepEqual(server.state.refreshes, []);
  assert.deepEqual(bearers(server.state.seen), ["Bearer t0"]);
  assert.deepEqual(changes, []);
});

test("the rotated refresh token is the one used next", async () => {
  const { clock, server, changes, client } = setUp(0);
  await client.GET("/me");
  clock.now += 3_600_000; // the new access token expires in its turn
  await client.GET("/me");
  assert.deepEqual(server.state.refreshes, ["r0", "r1"]);
  assert.deepEqual(bearers(server.state.seen), ["Bearer t1", "Bearer t2"]);
  assert.deepEqual(changes.map((s) => s?.refresh_token), ["r1", "r2"]);
});

test("a 401 `unauthorized` to a token the client thought good refreshes once and retries", async () => {
  const again = setUp(3_600_000);
  let open!: () => void;
  again.server.state.gate = new Promise((done) => { open = done; });
  again.server.state.accepting = false; // t0 refused (say, a signing key dropped)...
  const pending = [again.client.GET("/me"), again.client.GET("/feed")];
  await new Promise((done) => setTimeout(done, 10));
  again.server.state.accepting = true; // ...and the refreshed one taken
  open();
  const answers = await Promise.all(pending);
  assert.deepEqual(answers.map((a) => a.response.status), [200, 200]);
  assert.deepEqual(again.server.state.refreshes, ["r0"], "both 401s shared one refresh");
  assert.deepEqual(bearers(again.server.state.seen), ["Bearer t0", "Bearer t0", "Bearer t1", "Bearer t1"]);
});

test("a 401 that comes back after another request's refresh retries with its token, refreshing no more", async () => {
  const { server, client } = setUp(3_600_000);
  let release!: () => void;
  server.state.hold = new Promise((done) => { release = done; });
  server.state.accepting = false;
  const late = client.GET("/held" as "/me"); // sent with t0, answered after the refresh below
  assert.equal((await client.GET("/me")).response.status, 200);
  release();
  assert.equal((await late).response.status, 200);
  assert.deepEqual(server.state.refreshes, ["r0"]);
  assert.deepEqual(bearers(server.state.seen), ["Bearer t0", "Bearer t0", "Bearer t1", "Bearer t1"]);
});

test("a second 401 after the refresh comes back as it is: no loop", async () => {
  const { server, client } = setUp(3_600_000);
  server.state.refusing = true;
  const answer = await client.GET("/me");
  assert.equal(answer.response.status, 401);
  assert.equal(answer.error?.code, "unauthorized");
  assert.deepEqual(server.state.refreshes, ["r0"]);
  assert.equal(server.state.seen.length, 3); // t0, the refresh, t1
  assert.equal(client.session?.token, "t1", "the login itself is still good");
});

test("a reused refresh token ends the session once, and nothing loops", async () => {
  const { server, changes, client } = setUp(0);
  server.state.rotation = 1; // r0 was spent elsewhere (a copy of the stored login)
  const answer = await client.GET("/me");
  assert.equal(answer.response.status, 401);
  assert.deepEqual(server.state.refreshes, ["r0"]);
  assert.equal(server.state.ended, true);
  assert.deepEqual(changes, [null]);
  assert.equal(client.session, null);
  assert.deepEqual(bearers(server.state.seen), [null], "the request went out with no token");

  assert.equal((await client.GET("/me")).response.status, 401); // signed out: no refresh, no token
  assert.deepEqual(server.state.refreshes, ["r0"]);
  assert.deepEqual(changes, [null]);
});

test("an explicit refresh rotates; refused it resolves null, and a 503 throws and keeps the login", async () => {
  const { server, changes, client } = setUp(3_600_000);
  const fresh = await client.refresh();
  assert.equal(fresh?.refresh_token, "r1");
  assert.deepEqual(client.session, fresh);

  server.state.status = 503;
  await assert.rejects(client.refresh(), (error: unknown) => isDongneError(error, "service_unavailable"));
  assert.equal(client.session?.refresh_token, "r1");
  assert.deepEqual(server.state.refreshes, ["r0", "r1"], "a POST is not sent again on 503");

  server.state.status = undefined;
  server.state.rotation = 2; // r1 spent elsewhere
  assert.equal(await client.refresh(), null);
  assert.deepEqual(changes.map((s) => s?.refresh_token ?? null), ["r1", null]);
});

test("logging in holds the new login; logging out forgets it", async () => {
  const { server, changes, client } = setUp(3_600_000);
  await client.setSession(null);
  const login = await client.POST("/auth/login", { body: { email: "a@example.kr", password: "correct horse 1" } });
  assert.equal(login.response.status, 200);
  assert.equal(server.state.seen[0]?.headers.get("Authorization"), null, "no bearer on /auth/login");
  assert.equal(client.session?.refresh_token, "r1");
  assert.equal((await client.GET("/me")).response.status, 200);
  await client.logout();
  assert.equal(client.session, null);
  assert.equal(server.state.ended, true);
  assert.deepEqual(changes.map((s) => s?.refresh_token ?? null), [null, "r1", null]);
});

test("`account_closed` ends the session without a refresh", async () => {
  const changes: Array<Session | null> = [];
  const seen: string[] = [];
  const client = createDongneClient({
    baseUrl: "http://api.test/v1", now: () => NOW, onSessionChange: (s) => { changes.push(s); },
    session: { token: "t", expires_at: at(NOW + 3_600_000), refresh_token: "r", refresh_expires_at: at(NOW + 86_400_000) },
    fetch: async (request) => {
      seen.push(new URL(request.url).pathname);
      return problem(401, "account_closed");
    },
  });
  const answer = await client.GET("/me");
  assert.equal(answer.error?.code, "account_closed");
  assert.deepEqual(seen, ["/v1/me"]);
  assert.deepEqual(changes, [null]);
});
