"""The hostile customer of issue 14, replayed through the API and the real stream handler.

A stranger with no orders shares one post twenty times, posts and deletes a comment fifteen
times, bursts twenty comments, toggles likes and follows — everything the app lets a thumb do,
spread over ten days so the rate limits let most of it through. A real customer bought twice.

THEN the owner's list puts the regular first and the stranger below the social ceiling; and
once the stranger has undone every act they can (unlike, delete their comments, unfollow —
shares cannot be taken back), their strength is exactly what the remaining acts (one share per
post) are worth by themselves, decayed to now. Runs on moto and on DynamoDB Local.
"""

from __future__ import annotations

import time

import pytest

from chalicelib.services.relationships import CONFIG
from chalicelib.services.scoring import RelationshipState, Signal, apply, strength_at
from tests.api.conftest import assert_problem, create_post
from tests.api.relationships_kit import DAY, Clock



class Person:
    def __init__(self, api, clock, name: str) -> None:
        self.api, self.clock = api, clock
        self.account = api.signup(name=name)
        self._token, self._issued = self.account["token"], clock.now

    @property
    def user_id(self) -> str:
        return self.account["user"]["user_id"]

    @property
    def token(self) -> str:
        if self.clock.now - self._issued > 6 * DAY:  # tokens live 7 days
            answer = self.api.post("/auth/login", {"email": self.account["email"],
                                                   "password": self.account["password"]})
            assert answer.status == 200, answer.body
            self._token, self._issued = answer.body["token"], self.clock.now
        return self._token


@pytest.fixture
def scene(api, monkeypatch, drain_stream):
    # Relative to the system clock, which also dates the stream's removal records (the test reads
    # after them): the scene holds on any day the suite runs, 400 days ahead included.
    now = time.time() // 3600 * 3600
    clock = Clock(monkeypatch, now - 20 * DAY)
    owner = Person(api, clock, "박사장")
    shop = api.open_shop(owner.token, name="망원동 두부가게")
    owner.account["shop"] = shop
    posts = [create_post(api, {"shop": shop, "token": owner.token}, f"오늘의 두부 {n}") for n in range(4)]
    product = api.post(f"/shops/{shop['shop_id']}/products",
                       {"name": "손두부", "price": 4500, "stock": 100, "kind": "essential", "reorder_days": 7},
                       token=owner.token).body
    return {"api": api, "clock": clock, "owner": owner, "shop": shop, "posts": posts, "product": product,
            "drain": drain_stream, "now": now}


def buy(scene, buyer: Person, key: str) -> None:
    api, owner = scene["api"], scene["owner"]
    order = api.post("/orders", {"shop_id": scene["shop"]["shop_id"],
                                 "items": [{"product_id": scene["product"]["product_id"], "quantity": 2}]},
                     token=buyer.token, headers={"Idempotency-Key": key})
    assert order.status == 201, order.body
    for status in ("paid", "shipped", "delivered"):
        moved = api.post(f"/orders/{order.body['order_id']}/status", {"status": status}, token=owner.token)
        assert moved.status == 200, moved.body


def test_a_spammer_cannot_buy_the_top_of_the_list(scene):
    api, clock, shop, posts = scene["api"], scene["clock"], scene["shop"], scene["posts"]
    shop_id, first = shop["shop_id"], posts[0]["post_id"]

    regular = Person(api, clock, "김단골")
    assert api.put(f"/shops/{shop_id}/follow", token=regular.token).status == 200
    buy(scene, regular, "regular-1")
    clock.now += 7 * DAY
    buy(scene, regular, "regular-2")

    spammer = Person(api, clock, "어뷰저")
    clock.now += DAY
    refused = 0
    assert api.put(f"/shops/{shop_id}/follow", token=spammer.token).status == 200
    for post in posts:
        assert api.put(f"/posts/{post['post_id']}/like", token=spammer.token).status == 200
    shares = [api.post(f"/posts/{first}/shares", token=spammer.token) for _ in range(20)]
    assert {s.body["share_id"] for s in shares} == {shares[0].body["share_id"]}  # one share, twenty answers
    second_share = api.post(f"/posts/{posts[1]['post_id']}/shares", token=spammer.token).body
    for n in range(15):  # post and delete a comment, fifteen times
        clock.now += 10
        comment = api.post(f"/posts/{first}/comments", {"text": f"최고예요 {n}"}, token=spammer.token)
        assert comment.status == 201, comment.body
        assert api.delete(f"/comments/{comment.body['comment_id']}", token=spammer.token).status == 204
    clock.now += 60
    burst = [api.post(f"/posts/{posts[2]['post_id']}/comments", {"text": "!!!"}, token=spammer.token)
             for _ in range(20)]
    refused += sum(1 for b in burst if b.status == 429)
    assert refused == 10 and all(b.headers.get("Retry-After") for b in burst if b.status == 429)
    for day in range(6):  # toggles, every day
        clock.now += DAY
        for _ in range(2):
            api.delete(f"/shops/{shop_id}/follow", token=spammer.token)
            api.put(f"/shops/{shop_id}/follow", token=spammer.token)
            api.delete(f"/posts/{posts[3]['post_id']}/like", token=spammer.token)
            api.put(f"/posts/{posts[3]['post_id']}/like", token=spammer.token)
        assert api.post(f"/posts/{posts[day % 4]['post_id']}/comments", {"text": f"{day}일째"},
                        token=spammer.token).status == 201
    scene["drain"]()

    clock.now = NOW = scene["now"]
    owner = scene["owner"]
    listing = api.get(f"/shops/{shop_id}/customers", token=owner.token).body["items"]
    assert [c["user_id"] for c in listing] == [regular.user_id, spammer.user_id]
    top, stranger = listing
    assert top["tier"] == "regular" and stranger["tier"] == "potential"
    assert stranger["strength"] < top["strength"]
    assert stranger["strength"] <= CONFIG.social_ceiling

    # The stranger undoes everything the app lets them undo.
    clock.now = NOW + 3600
    for post in posts:
        assert api.delete(f"/posts/{post['post_id']}/like", token=spammer.token).status == 204
        cursor = ""
        while True:
            page = api.get(f"/posts/{post['post_id']}/comments?limit=100{cursor}").body
            for comment in page["items"]:
                if comment["author_id"] == spammer.user_id:
                    assert api.delete(f"/comments/{comment['comment_id']}", token=spammer.token).status == 204
            if not page["next_cursor"]:
                break
            cursor = f"&cursor={page['next_cursor']}"
    assert api.delete(f"/shops/{shop_id}/follow", token=spammer.token).status == 204
    scene["drain"]()

    # What remains: one share of each of two posts, worth exactly what the model gives them alone.
    remaining = RelationshipState()
    for share in (shares[0].body, second_share):
        at = _epoch(share["created_at"])
        remaining, _ = apply(remaining, Signal.SHARE, at, config=CONFIG)
    # Removals are dated by their stream records (the real clock here, later than the test's),
    # so read after both.
    clock.now = max(NOW, time.time()) + 2 * 3600
    card = api.get(f"/shops/{shop_id}/customers/{spammer.user_id}", token=owner.token).body
    assert card["strength"] == pytest.approx(strength_at(remaining, clock.now, CONFIG), abs=0.01)
    assert card["breakdown"]["follow"] == 0 and card["breakdown"]["engagement"] == card["strength"] > 0
    assert_problem(api.post(f"/posts/{first}/comments", {"text": "x"}, token="not-a-token"), 401)


def _epoch(iso: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()
