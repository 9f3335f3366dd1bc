"""Notifications as a new shop owner would see them, against `make run` (stdlib only).

    make run                                                      # in another terminal
    .venv/bin/python -m devtools.smoke_notifications [BASE_URL]   # default http://127.0.0.1:$PORT

A fresh shop: a customer follows, unfollows and follows again (one ``new_follower``, one
``first_follower``); five people like a post (one grouped notification, count 5); the owner
reads everything and one more like arrives (unread 1); two first orders (one ``first_order``)
and two reviews (one ``first_review``); ten customers order twice (``tenth_regular`` once).
The stream poller delivers the records, so each check waits a few seconds at most. Exits
non-zero on any unexpected answer.
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.error
import urllib.request
import uuid

BASE = (sys.argv[1] if len(sys.argv) > 1 else os.environ.get("BASE")
        or f"http://127.0.0.1:{os.environ.get('PORT', '8000')}").rstrip("/")
RUN = uuid.uuid4().hex[:8]


def call(method: str, path: str, body=None, token: str | None = None, expect: int = 200, headers=None):
    data = json.dumps(body, ensure_ascii=False).encode() if body is not None else None
    request = urllib.request.Request(BASE + path, data=data, method=method,
                                     headers={"Content-Type": "application/json", **(headers or {}),
                                              **({"Authorization": f"Bearer {token}"} if token else {})})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    if status != expect:
        sys.exit(f"FAIL: {method} {path} -> {status} (expected {expect}): {raw[:300]!r}")
    return json.loads(raw) if raw else None


def person(name: str) -> dict:
    body = call("POST", "/auth/signup", {"name": name, "email": f"{name}-{RUN}@smoke.kr".lower().replace(" ", ""),
                                         "password": "smoke-pass-1"}, expect=201)
    return {"token": body["token"], "user_id": body["user"]["user_id"], "name": name}


def inbox(token: str, query: str = "") -> dict:
    return call("GET", f"/me/notifications?limit=100{query}", token=token)


def wait_for(what: str, check, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            print(f"  ok  {what}")
            return result
        if time.monotonic() > deadline:
            sys.exit(f"FAIL: {what} (after {timeout:.0f}s)")
        time.sleep(0.5)


def milestones(body: dict, name: str) -> list:
    return [n for n in body["items"] if n["type"] == "milestone" and n["data"].get("milestone") == name]


def main() -> None:
    print(f"notifications smoke test against {BASE}")
    owner = person("Smoke Owner")
    shop = call("POST", "/shops", {"name": "스모크 두부", "handle": f"smoke_{RUN}"}, owner["token"], expect=201)
    shop_id = shop["shop_id"]
    tofu = call("POST", f"/shops/{shop_id}/products", {"name": "손두부", "price": 4500, "stock": 100,
                                                      "kind": "essential", "reorder_days": 7}, owner["token"], 201)

    fan = person("Follower")
    call("PUT", f"/shops/{shop_id}/follow", token=fan["token"])
    call("DELETE", f"/shops/{shop_id}/follow", token=fan["token"], expect=204)
    call("PUT", f"/shops/{shop_id}/follow", token=fan["token"])
    wait_for("a follower, an unfollow and a follow again: one new_follower, one first_follower", lambda: (
        (b := inbox(owner["token"]))
        and len([n for n in b["items"] if n["type"] == "new_follower"]) == 1
        and len(milestones(b, "first_follower")) == 1 and b["unread_count"] == 2))

    post = call("POST", f"/shops/{shop_id}/posts", {"text": "오늘 손두부 나왔어요"}, owner["token"], expect=201)
    for n in range(5):
        call("PUT", f"/posts/{post['post_id']}/like", token=person(f"Liker {n}")["token"])
    wait_for("5 likes on a post: one notification with count 5", lambda: [
        n for n in inbox(owner["token"])["items"] if n["type"] == "like" and n["data"]["count"] == 5])

    assert call("POST", "/me/notifications/read", {"all": True}, owner["token"]) == {"unread_count": 0}
    call("PUT", f"/posts/{post['post_id']}/like", token=person("Liker 5")["token"])
    wait_for("read all, then one new like: unread 1", lambda: inbox(owner["token"])["unread_count"] == 1)

    def order(buyer: dict) -> dict:
        return call("POST", "/orders", {"shop_id": shop_id, "items": [{"product_id": tofu["product_id"],
                                                                       "quantity": 1}]},
                    buyer["token"], expect=201, headers={"Idempotency-Key": uuid.uuid4().hex})

    buyers = [person("Buyer A"), person("Buyer B")]
    orders = [order(b) for b in buyers]
    for placed, buyer in zip(orders, buyers):
        for status in ("paid", "shipped", "delivered"):
            call("POST", f"/orders/{placed['order_id']}/status", {"status": status}, owner["token"])
        call("POST", f"/orders/{placed['order_id']}/review", {"rating": 5, "text": "고소해요"}, buyer["token"], 201)
    wait_for("two first orders and two reviews: one first_order, one first_review", lambda: (
        (b := inbox(owner["token"])) and len(milestones(b, "first_order")) == 1
        and len(milestones(b, "first_review")) == 1
        and len([n for n in b["items"] if n["type"] == "review"]) == 2))

    for n in range(10):
        regular = buyers[n] if n < len(buyers) else person(f"Regular {n}")
        order(regular)
        if n >= len(buyers):
            order(regular)
    wait_for("ten customers who became regulars: tenth_regular once", lambda: (
        (b := inbox(owner["token"])) and len(milestones(b, "became_regular")) == 10
        and len(milestones(b, "tenth_regular")) == 1), timeout=60)
    body = inbox(owner["token"])
    assert body["unread_count"] == sum(not n["read"] for n in body["items"]), body["unread_count"]
    print(f"all good: {len(body['items'])} notifications, {body['unread_count']} unread")


if __name__ == "__main__":
    main()
