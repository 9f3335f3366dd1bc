"""Helpers for the essentials tests: a recording inbox, a clock the job and the API share, and a
world with a shop, its essentials, a subscriber and another customer (made through the API)."""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest

from chalicelib.records.notifications import Actor, Grouped, Notice
from chalicelib.services.notifications import MILESTONES, TENTH, window_of
from tests.api.commerce import make_product
from tests.clock import hold

DAY = 86_400.0
# 2026-12-01 00:00 UTC.
T0 = 1796083200.0


class RecordingInbox:
    """An in-memory inbox with the real one's contract (``services.notifications.Inbox``): one
    notice per (recipient, type, source_id), a group per subject and day, each milestone once;
    every ``add*`` says whether it added something new."""

    def __init__(self) -> None:
        self.notices: list[Notice] = []
        self._keys: set[tuple[str, str, str]] = set()
        self._lock = threading.Lock()
        self._groups: set[tuple[str, ...]] = set()
        self._members: set[tuple[str, ...]] = set()
        self._milestones: set[tuple[str, str]] = set()
        self._regulars: dict[str, int] = {}

    def add(self, notice: Notice) -> bool:
        key = (notice.recipient_id, notice.type, notice.source_id)
        with self._lock:
            if key in self._keys:
                return False
            self._keys.add(key)
            self.notices.append(notice)
            return True

    def add_grouped(self, grouped: Grouped) -> bool:
        """One notice per (recipient, type, subject) and day window; False when the actor was
        counted in it already."""
        key = (grouped.recipient_id, grouped.type, grouped.subject, window_of(grouped.at))
        with self._lock:
            if (*key, grouped.actor.user_id) in self._members:
                return False
            self._members.add((*key, grouped.actor.user_id))
            if key not in self._groups:
                self._groups.add(key)
                self.notices.append(Notice(grouped.recipient_id, grouped.type, "#".join(key[2:]), grouped.at,
                                           {**grouped.data, "count": 1}))
            return True

    def add_milestone(self, shop_id: str, name: str, recipient_id: str, at: float, data: dict[str, Any]) -> bool:
        """The shop's milestone ``name`` once ever, whoever sends it; False on a repeat."""
        if name not in MILESTONES:
            raise ValueError(f"unknown milestone {name!r}")
        return self._milestone(shop_id, name, recipient_id, at, {**data, "milestone": name, "shop_id": shop_id})

    def add_regular(self, shop_id: str, recipient_id: str, customer: Actor, at: float, data: dict[str, Any]) -> bool:
        """``became_regular`` once per (shop, customer); the tenth such customer also ``tenth_regular``."""
        common = {**data, "shop_id": shop_id, "customer_id": customer.user_id, "customer_name": customer.name}
        if not self._milestone(shop_id, f"became_regular#{customer.user_id}", recipient_id, at,
                               {**common, "milestone": "became_regular"}):
            return False
        with self._lock:
            self._regulars[shop_id] = self._regulars.get(shop_id, 0) + 1
            tenth = self._regulars[shop_id] == TENTH
        if tenth:
            self._milestone(shop_id, "tenth_regular", recipient_id, at + 0.001,
                            {**common, "milestone": "tenth_regular", "regulars": TENTH})
        return True

    def _milestone(self, shop_id: str, key: str, recipient_id: str, at: float, data: dict[str, Any]) -> bool:
        with self._lock:
            if (shop_id, key) in self._milestones:
                return False
            self._milestones.add((shop_id, key))
            self.notices.append(Notice(recipient_id, "milestone", f"{shop_id}#{key}", at, data))
            return True

    def of(self, type_: str, subscription_id: str | None = None) -> list[Notice]:
        return [n for n in self.notices if n.type == type_
                and (subscription_id is None or n.data.get("subscription_id") == subscription_id)]


if TYPE_CHECKING:  # `make typecheck`: the fake keeps the contract of the inbox it stands for
    from chalicelib.services.notices import Inbox

    _inbox: Inbox = RecordingInbox()

def install_inbox(monkeypatch: pytest.MonkeyPatch) -> RecordingInbox:
    """Hand ``container().inbox`` a recorder for this test."""
    from chalicelib.wiring import container

    inbox = RecordingInbox()
    monkeypatch.setattr(container(), "inbox", inbox, raising=False)
    return inbox


def race(*calls):
    """Run the calls on their own threads, released together; results (or errors) in order."""
    results: list = [None] * len(calls)
    barrier = threading.Barrier(len(calls))

    def go(i: int) -> None:
        barrier.wait()
        try:
            results[i] = calls[i]()
        except Exception as error:  # the test asserts on it
            results[i] = error

    threads = [threading.Thread(target=go, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


class Clock:
    """One clock for requests, stream handlers and the job (``run`` passes it explicitly)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, now: float = T0) -> None:
        self.now = now
        hold(monkeypatch, lambda: self.now)


@dataclass
class World:
    api: Any  # the test client (tests/api/conftest.py)
    clock: Clock
    inbox: RecordingInbox
    owner: dict
    shop: dict
    beans: dict  # an essential, every 14 days
    filters: dict  # another essential
    mug: dict  # a treat
    subscriber: dict
    other: dict
    keys: list = field(default_factory=list)

    @property
    def shop_id(self) -> str:
        return self.shop["shop_id"]

    def travel_to(self, when: float) -> None:
        """Move the clock; give everyone a token of that moment (tokens are short-lived), from the app's
        token service for the account's current version, as a login would (a login each step is an
        argon2 hash and a rate-limit write, hundreds of them over a test's weeks)."""
        from chalicelib.wiring import container

        self.clock.now = when
        deps = container()
        for account in (self.owner, self.subscriber, self.other):
            user = deps.accounts.get_user(account["user"]["user_id"])
            if user is not None:  # (closed: its old token is refused, as it should be)
                account["token"] = deps.tokens.issue(user.user_id, when, user.token_version)

    def subscribe(self, *lines: tuple[str, int], every_days: int = 14, who: dict | None = None, key: str | None = None,
                  **extra):
        body = {"shop_id": self.shop_id, "items": [{"product_id": p, "quantity": q} for p, q in lines],
                "every_days": every_days, **extra}
        return self.api.post("/subscriptions", body, token=(who or self.subscriber)["token"],
                             headers={"Idempotency-Key": key or str(uuid.uuid4())})

    def subscribed(self, *lines: tuple[str, int], **kw) -> dict:
        answer = self.subscribe(*(lines or ((self.beans["product_id"], 1),)), **kw)
        assert answer.status == 201, answer.body
        return answer.body

    def change(self, subscription_id: str, body: dict, who: dict | None = None):
        return self.api.patch(f"/subscriptions/{subscription_id}", body, token=(who or self.subscriber)["token"])

    def get(self, subscription_id: str, who: dict | None = None):
        return self.api.get(f"/subscriptions/{subscription_id}", token=(who or self.subscriber)["token"])

    def run(self, at: float | None = None):
        """One run of the scheduled job at ``at`` (default: the clock)."""
        from chalicelib.events.schedules import run_subscription_orders

        return run_subscription_orders(now=self.clock.now if at is None else at)

    def orders_of(self, subscription_id: str) -> list[dict]:
        answer = self.api.get("/me/orders?limit=100", token=self.subscriber["token"])
        assert answer.status == 200
        return [o for o in answer.body["items"] if o.get("subscription_id") == subscription_id]

    def pay_all(self, subscription_id: str) -> int:
        """The owner marks every unpaid order of the subscription paid (the money arrived); how many."""
        from tests.api.commerce import pay

        unpaid = [o for o in self.orders_of(subscription_id) if o["status"] == "pending_payment"]
        for order in unpaid:
            pay(self.api, self.owner, order["order_id"])
        return len(unpaid)

    def set_price(self, product: dict, price: int) -> int:
        return self.api.patch(f"/products/{product['product_id']}", {"price": price},
                              token=self.owner["token"]).status

    def stock(self, product: dict) -> int:
        return self.api.get(f"/products/{product['product_id']}").body["stock"]


# The shops of the worlds made in the running test (closed after it: ``close_worlds``).
_open_shops: list[str] = []


def close_worlds() -> None:
    """Cancel every subscription the test's worlds left active. DynamoDB Local keeps one table for
    the whole run, and the subscription job settles everything due: a subscription left due at
    ``T0`` by one test would otherwise be ordered (or charged) by the next test's run."""
    from chalicelib import clock
    from chalicelib.services.subscriptions import change
    from chalicelib.wiring import container

    store = container().subscriptions
    while _open_shops:
        shop_id = _open_shops.pop()
        key: dict | None = None
        while True:
            page = store.of_shop(shop_id, "active", key, 100)
            for sub in page.items:
                change(store, sub.subscriber_id, sub.subscription_id, status="cancelled", every_days=None,
                       skip_next=False, now=clock.now())
            key = page.last_key
            if key is None:
                break


def make_world(api, monkeypatch, *, discount: int | None = None, stock: int = 50,
               real_inbox: bool = False) -> World:
    """``real_inbox``: notices go to the app's own inbox (``world.inbox`` then records nothing)."""
    clock = Clock(monkeypatch)
    inbox = RecordingInbox() if real_inbox else install_inbox(monkeypatch)
    owner = api.signup(name="정로스터")
    shop = api.open_shop(owner["token"], name="성수 커피로스터스")
    _open_shops.append(shop["shop_id"])
    owner = {**owner, "shop": shop}
    if discount is not None:
        answer = api.patch(f"/shops/{shop['shop_id']}", {"subscription_discount_percent": discount},
                           token=owner["token"])
        assert answer.status == 200, answer.body
    beans = make_product(api, owner, name="원두 200g", price=14000, stock=stock, reorder_days=14)
    filters = make_product(api, owner, name="드립 필터 100매", price=3000, stock=stock, reorder_days=30)
    mug = make_product(api, owner, name="성수 머그컵", price=22000, stock=5, kind="treat", reorder_days=None)
    return World(api=api, clock=clock, inbox=inbox, owner=owner, shop=shop, beans=beans, filters=filters, mug=mug,
                 subscriber=api.signup(name="김민지"), other=api.signup(name="최서연"))
