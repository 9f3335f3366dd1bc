/**
 * The app's story against a running Dongne (`make run`): a shop owner opens a shop that
 * delivers, lists a product and posts; a neighbour signs up, follows the shop, finds the post in
 * their feed, orders it to their address, pays through the PortOne stand-in, confirms receipt and
 * reviews it — and the app switches on problem codes on the way. Its login is refreshed (the
 * refresh token rotates; a spent one replayed ends the login), signed in again and logged out.
 *
 *   DONGNE_BASE_URL=http://127.0.0.1:8000 DONGNE_PORTONE_URL=http://127.0.0.1:8003 npm test
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";

import {
  createDongneClient, DongneError, idempotencyKey, isDongneError, ok, pages, type Problem, type Session,
} from "../src/index.js";

const BASE = process.env.DONGNE_BASE_URL;
const PORTONE = process.env.DONGNE_PORTONE_URL;
const HANGUL = /[\uac00-\ud7a3]/;

/** The error a call throws through `ok`, checked to be a problem of `code`. */
async function problemOf(code: string, call: () => Promise<unknown>): Promise<DongneError> {
  try {
    await call();
  } catch (error) {
    assert.ok(isDongneError(error), `not a problem: ${String(error)}`);
    assert.equal(error.code, code, error.message);
    return error;
  }
  assert.fail(`expected a ${code} problem, got a success`);
}

/** The first item `pages` yields that `wanted` accepts. */
async function find<T>(items: AsyncIterable<T>, wanted: (item: T) => boolean): Promise<T | undefined> {
  for await (const item of items) if (wanted(item)) return item;
  return undefined;
}

// Types come from paths (inferred), not from schema names: those may be renamed in the document.
/** A new account, and a client holding its login (every session it was told of in `changes`). */
async function signUp(name: string) {
  const email = `${randomUUID()}@example.kr`;
  const changes: Array<Session | null> = [];
  const client = createDongneClient({ baseUrl: BASE!, onSessionChange: (session) => { changes.push(session); } });
  const { user } = ok(await client.POST("/auth/signup", { body: { name, email, password: "correct horse 1" } }));
  return { client, changes, email, user };
}

/** `POST /auth/refresh` sent by hand, past the client. */
const rawRefresh = (refresh_token: string) => fetch(`${BASE}/auth/refresh`, {
  method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ refresh_token }),
});

test("the app's story: shop, follow, feed, order, pay, confirm, review", async (t) => {
  assert.ok(BASE && PORTONE, "set DONGNE_BASE_URL (the API) and DONGNE_PORTONE_URL (make run's PortOne stand-in)");

  const owner = (await signUp("박사장")).client;
  const neighbour = await signUp("김민지");
  const buyer = neighbour.client;

  await t.test("signing up holds the login; a refresh rotates it, and a spent refresh token ends it", async () => {
    const first = buyer.session;
    assert.ok(first?.token && first.refresh_token, "signup answers both tokens");
    assert.ok(Date.parse(first.refresh_expires_at) > Date.parse(first.expires_at));
    assert.deepEqual(neighbour.changes, [first]);

    const second = await buyer.refresh();
    assert.ok(second, "the refresh was taken");
    assert.notEqual(second.refresh_token, first.refresh_token);
    assert.notEqual(second.token, first.token);
    assert.deepEqual(buyer.session, second);
    assert.equal(ok(await buyer.GET("/me")).user_id, neighbour.user.user_id);

    const replayed = await rawRefresh(first.refresh_token); // a copy of the old one, used again
    assert.equal(replayed.status, 401);
    assert.equal(((await replayed.json()) as Problem).code, "refresh_token_reused");
    const me = await buyer.GET("/me"); // the whole login ended: the new tokens too
    assert.equal(me.response.status, 401);
    assert.equal(buyer.session, null);
    assert.deepEqual(neighbour.changes, [first, second, null]);

    const login = ok(await buyer.POST("/auth/login", { body: { email: neighbour.email, password: "correct horse 1" } }));
    const { user: _, ...third } = login;
    assert.deepEqual(neighbour.changes.at(-1), third, "the client holds the new login");
    assert.notEqual(third.refresh_token, second.refresh_token);
    assert.equal(ok(await buyer.GET("/me")).user_id, neighbour.user.user_id);
  });

  const shop = ok(await owner.POST("/shops", {
    body: { name: "망원동 두부가게", handle: `tofu_${randomUUID().slice(0, 8)}`, region: "서울 마포구" },
  }));
  const shop_id = shop.shop_id;
  ok(await owner.PATCH("/shops/{shop_id}", {
    params: { path: { shop_id } },
    body: { fulfilment: { delivery: { fee: 3000, free_over: 30000 }, pickup: null } },
  }));
  const product = ok(await owner.POST("/shops/{shop_id}/products", {
    params: { path: { shop_id } },
    body: { name: "손두부", price: 4500, stock: 5, kind: "essential", reorder_days: 7 },
  }));

  await t.test("a taken handle is `handle_taken`, in Korean", async () => {
    const error = await problemOf("handle_taken", async () => ok(await buyer.POST("/shops", {
      body: { name: "다른 가게", handle: shop.handle },
    })));
    assert.equal(error.status, 409);
    assert.match(error.problem.title, HANGUL);
  });

  await t.test("following the shop brings its new post into the feed", async () => {
    const follow = ok(await buyer.PUT("/shops/{shop_id}/follow", { params: { path: { shop_id } } }));
    assert.equal(follow.following, true);
    const post = ok(await owner.POST("/shops/{shop_id}/posts", {
      params: { path: { shop_id } },
      body: { text: "오늘 아침 손두부 나왔어요 #두부", product_ids: [product.product_id] },
    }));
    // The post reaches followers' feeds through the table's stream: wait for it.
    const deadline = Date.now() + 60_000;
    const feed = () => pages((cursor) => buyer.GET("/feed", { params: { query: { cursor, limit: 10 } } }));
    let found = await find(feed(), (item) => item.post_id === post.post_id);
    while (found === undefined) {
      assert.ok(Date.now() < deadline, "the post never reached the follower's feed");
      await new Promise((done) => setTimeout(done, 250));
      found = await find(feed(), (item) => item.post_id === post.post_id);
    }
    assert.equal(found.shop_name, "망원동 두부가게");
  });

  const address = ok(await buyer.POST("/me/addresses", {
    body: { recipient: "김민지", phone: "010-1234-5678", postal_code: "04003", address1: "서울 마포구 망원로 12",
            address2: "3층 301호" },
  }));

  await t.test("delivery without an address is `address_required`", async () => {
    const error = await problemOf("address_required", async () => ok(await buyer.POST("/orders", {
      params: { header: { "Idempotency-Key": idempotencyKey() } },
      body: { shop_id, items: [{ product_id: product.product_id, quantity: 1 }], fulfilment: { method: "delivery" },
              payment_method: "card" },
    })));
    assert.equal(error.status, 422);
    assert.match(error.problem.detail, HANGUL);
  });

  const key = idempotencyKey();
  const placeOrder = (quantity: number) => buyer.POST("/orders", {
    params: { header: { "Idempotency-Key": key } },
    body: { shop_id, items: [{ product_id: product.product_id, quantity }], payment_method: "card",
            fulfilment: { method: "delivery", address_id: address.address_id }, expected_total: quantity * 4500 + 3000 },
  });
  const placed = await placeOrder(2);
  const order = ok(placed);
  const order_id = order.order_id;

  await t.test("the order is placed once, to the address, awaiting payment", async () => {
    assert.equal(placed.response.status, 201);
    assert.equal(order.status, "pending_payment");
    assert.equal(order.total, 2 * 4500 + 3000);
    assert.equal(order.fulfilment?.address?.address1, "서울 마포구 망원로 12");
    const again = await placeOrder(2);
    assert.equal(ok(again).order_id, order_id);
    assert.equal(again.response.headers.get("Idempotent-Replayed"), "true");
    await problemOf("idempotency_key_reused", async () => ok(await placeOrder(1)));
  });

  await t.test("receipt cannot be confirmed before the order is paid and shipped", async () => {
    const error = await problemOf("illegal_transition", async () => ok(await buyer.POST("/orders/{order_id}/confirm", {
      params: { path: { order_id } },
    })));
    assert.equal(error.problem.order_status, "pending_payment");
  });

  await t.test("paying through the PortOne stand-in marks the order paid", async () => {
    const payment_id = order.payment?.payment_id;
    assert.ok(payment_id, "a card order names its payment");
    const paid = await fetch(`${PORTONE}/__dev/payments/${encodeURIComponent(payment_id)}/pay`, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: "{}",
    });
    const answer = (await paid.json()) as { webhook?: { status?: number } };
    assert.equal(paid.status, 200, JSON.stringify(answer));
    assert.equal(answer.webhook?.status, 200, JSON.stringify(answer));
    const latest = ok(await buyer.GET("/orders/{order_id}", { params: { path: { order_id } } }));
    assert.equal(latest.status, "paid");
    assert.equal(latest.payment?.status, "paid");
  });

  await t.test("the owner ships it and the buyer confirms receipt (구매확정)", async () => {
    const shipped = ok(await owner.POST("/orders/{order_id}/status", {
      params: { path: { order_id } }, body: { status: "shipped", carrier: "CJ대한통운", tracking_number: "123456789012" },
    }));
    assert.equal(shipped.status, "shipped");
    const confirmed = ok(await buyer.POST("/orders/{order_id}/confirm", { params: { path: { order_id } } }));
    assert.equal(confirmed.status, "delivered");
  });

  await t.test("a review is taken once; the second is `already_reviewed`", async () => {
    const review = ok(await buyer.POST("/orders/{order_id}/review", {
      params: { path: { order_id } }, body: { rating: 5, text: "고소하고 맛있어요" },
    }));
    assert.equal(review.rating, 5);
    const error = await problemOf("already_reviewed", async () => ok(await buyer.POST("/orders/{order_id}/review", {
      params: { path: { order_id } }, body: { rating: 1 },
    })));
    assert.equal(error.problem.review_id, review.review_id);
    const reviews = ok(await buyer.GET("/products/{product_id}/reviews", {
      params: { path: { product_id: product.product_id } },
    }));
    assert.deepEqual(reviews.items.map((r) => r.review_id), [review.review_id]);
    assert.equal(reviews.rating_count, 1);
  });

  await t.test("a login restored with a refused access token is refreshed, once", async () => {
    const phone = createDongneClient({ baseUrl: BASE });
    ok(await phone.POST("/auth/login", { body: { email: neighbour.email, password: "correct horse 1" } }));
    const stored = phone.session!;
    const changes: Array<Session | null> = [];
    const restarted = createDongneClient({
      baseUrl: BASE, session: { ...stored, token: "not-a-token" }, onSessionChange: (s) => { changes.push(s); },
    });
    assert.equal(ok(await restarted.GET("/me")).user_id, neighbour.user.user_id);
    ok(await restarted.GET("/me")); // the new token is kept
    assert.equal(changes.length, 1);
    assert.notEqual(changes[0]?.refresh_token, stored.refresh_token);
  });

  await t.test("logging out ends the login: its token is 401 after", async () => {
    const token = buyer.session!.token;
    await buyer.logout();
    assert.equal(buyer.session, null);
    assert.equal(neighbour.changes.at(-1), null);
    const me = await fetch(`${BASE}/me`, { headers: { Authorization: `Bearer ${token}` } });
    assert.equal(me.status, 401);
    assert.equal(((await me.json()) as Problem).code, "unauthorized");
    assert.equal((await buyer.GET("/me")).response.status, 401);
  });
});
