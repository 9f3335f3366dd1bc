"""Factories for commerce tests, through the real API."""

from __future__ import annotations

import itertools
import uuid

_names = itertools.count()


def product_body(**overrides) -> dict:
    body = {"name": f"손두부 {next(_names)}", "description": "국산콩 100%", "price": 4500, "stock": 20,
            "kind": "essential", "reorder_days": 7}
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not ...}


def make_product(api, owner: dict, **overrides) -> dict:
    answer = api.post(f"/shops/{owner['shop']['shop_id']}/products", product_body(**overrides), token=owner["token"])
    assert answer.status == 201, answer.body
    return answer.body


def order_body(shop_id: str, *lines: tuple[str, int], **extra) -> dict:
    return {"shop_id": shop_id, "items": [{"product_id": pid, "quantity": q} for pid, q in lines], **extra}


def buy(api, buyer: dict, shop_id: str, *lines: tuple[str, int], key: str | None = None, **extra):
    """POST /orders; returns the Answer (callers assert the status they expect)."""
    return api.post("/orders", order_body(shop_id, *lines, **extra), token=buyer["token"],
                    headers={"Idempotency-Key": key or str(uuid.uuid4())})


def placed(api, buyer: dict, shop_id: str, *lines: tuple[str, int], **extra) -> dict:
    answer = buy(api, buyer, shop_id, *lines, **extra)
    assert answer.status == 201, answer.body
    return answer.body


def advance(api, owner: dict, order_id: str, *statuses: str) -> dict:
    body = None
    for status in statuses:
        answer = api.post(f"/orders/{order_id}/status", {"status": status}, token=owner["token"])
        assert answer.status == 200, answer.body
        body = answer.body
    return body


def pay(api, owner: dict, order_id: str) -> dict:
    """The owner confirms the order's money (the move to ``paid``): from its stream record on, the
    order counts (score, tiers, milestones, store links, reorders)."""
    return advance(api, owner, order_id, "paid")


def paid(api, owner: dict, buyer: dict, shop_id: str, *lines: tuple[str, int], **extra) -> dict:
    """An order placed by ``buyer`` and paid: a purchase, as the stream contract counts it."""
    order = placed(api, buyer, shop_id, *lines, **extra)
    return pay(api, owner, order["order_id"])


def stock(api, product_id: str) -> int:
    return api.get(f"/products/{product_id}").body["stock"]
