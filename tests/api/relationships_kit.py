"""Helpers for the relationship tests: stream fixtures with real ids, a fixed clock, a world.

The fixtures in ``tests/fixtures/relationships/*.json`` are Lambda DynamoDB stream events
built by hand in the event contract's shape (entity names and attributes of follows, likes,
comments, shares, orders and reviews; an order counts from the record where ``paid_at`` first
appears). They name their actors ``$SHOP``, ``$USER``,
``$OTHER`` and ``$OWNER``; ``records()`` substitutes the ids of accounts the test made
through the real API, so new pairs find their shop and customer profiles.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from chalicelib.events.stream import dispatch
from tests.clock import hold

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "relationships"
DAY = 86_400.0
# 2026-11-23 09:00 UTC: eleven days after the last fixture event (a review on 11-12).
NOW = 1795424400.0


def records(name: str, ids: dict[str, str]) -> list[dict]:
    text = (FIXTURES / f"{name}.json").read_text()
    for placeholder, value in ids.items():
        text = text.replace(placeholder, value)
    return json.loads(text)["Records"]


class Clock:
    """The one clock of requests and stream handlers, set by the test."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, now: float = NOW) -> None:
        self.now = now
        hold(monkeypatch, lambda: self.now)


@dataclass
class World:
    """A shop with its owner, a customer and another person, made through the API."""

    api: object
    clock: Clock
    owner: dict
    shop: dict
    customer: dict
    other: dict

    @property
    def shop_id(self) -> str:
        return self.shop["shop_id"]

    @property
    def ids(self) -> dict[str, str]:
        return {"$SHOP": self.shop_id, "$USER": self.customer["user"]["user_id"],
                "$OTHER": self.other["user"]["user_id"], "$OWNER": self.owner["user"]["user_id"]}

    def travel_to(self, when: float) -> None:
        """Move the clock; log everyone in again (tokens live 7 days)."""
        self.clock.now = when
        for account in (self.owner, self.customer, self.other):
            answer = self.api.post("/auth/login", {"email": account["email"], "password": account["password"]})
            assert answer.status == 200, answer.body
            account["token"] = answer.body["token"]

    def send(self, *names: str) -> None:
        """Deliver fixtures to the stream handler, as Lambda would; every record must succeed."""
        for name in names:
            assert dispatch(records(name, self.ids)) == []

    def customers(self, query: str = "", token: str | None = None):
        return self.api.get(f"/shops/{self.shop_id}/customers{query}", token=token or self.owner["token"])

    def card(self, user_id: str | None = None, token: str | None = None):
        user_id = user_id or self.customer["user"]["user_id"]
        return self.api.get(f"/shops/{self.shop_id}/customers/{user_id}", token=token or self.owner["token"])


def paid_order(ids: dict[str, str], order_id: str, paid_at: float) -> list[dict]:
    """A new order's payment record (``order_second_paid`` re-dated, under another id): orders
    are identified by id, so this is another purchase."""
    batch = records("order_second_paid", ids)
    for image in (batch[0]["dynamodb"]["NewImage"], batch[0]["dynamodb"]["OldImage"]):
        image["order_id"]["S"] = order_id
    batch[0]["dynamodb"]["NewImage"]["paid_at"]["N"] = str(paid_at)
    return batch


# Orders count when paid: each order's placement (an INSERT, nothing yet) and then its payment
# (the MODIFY where ``paid_at`` appears: order 1 on 11-03 09:01, order 2 on 11-10 09:01).
JOURNEY = ("follow", "like", "order_placed", "order_paid", "order_second", "order_second_paid", "review",
           "follow_other")


def make_world(api, monkeypatch) -> World:
    clock = Clock(monkeypatch)
    owner = api.signup(name="박두부")
    shop = api.open_shop(owner["token"], name="망원동 두부가게")
    customer = api.signup(name="김민지")
    other = api.signup(name="최서연")
    return World(api=api, clock=clock, owner=owner, shop=shop, customer=customer, other=other)
