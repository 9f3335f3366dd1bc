"""The store-link stream handlers, driven by hand-built Lambda records.

GIVEN orders and reviews as the stream delivers them (once, twice, racing, broken), WHEN
``chalicelib.events.stream.dispatch`` runs them, THEN each buyer has exactly one link per shop,
with what they bought and recommend. Runs on moto and on DynamoDB Local.
"""

from __future__ import annotations

import itertools
import threading
from decimal import Decimal

import pytest

from chalicelib.events.stream import dispatch
from chalicelib.ids import new_id
from chalicelib.records.accounts import User
from tests.api.conftest import real_dynamodb_only

_sequence = itertools.count(1)


def record(entity: str, image: dict, event: str = "INSERT", old: dict | None = None) -> dict:
    from boto3.dynamodb.types import TypeSerializer

    serializer = TypeSerializer()

    def wire(item: dict) -> dict:
        return {k: serializer.serialize(v) for k, v in {"entity": entity, **item}.items()}

    body = {"NewImage": wire(image), "SequenceNumber": str(next(_sequence)),
            "ApproximateCreationDateTime": Decimal(1795400000)}
    if old is not None:
        body["OldImage"] = wire(old)
    return {"eventID": new_id(), "eventName": event, "dynamodb": body}


def order_image(buyer: str, shop: str, products: list[str], order_id: str | None = None) -> dict:
    return {"order_id": order_id or new_id(), "shop_id": shop, "shop_name": "망원동 두부가게", "buyer_id": buyer,
            "status": "pending_payment", "total": Decimal(4500), "created_at": Decimal(1795400000),
            "items": [{"product_id": p, "name": "두부", "price": Decimal(4500),
                       "quantity": Decimal(1), "kind": "essential"} for p in products]}


def order_record(buyer: str, shop: str, products: list[str]) -> dict:
    """The record where an order becomes paid (pending_payment → paid, ``paid_at`` appears)."""
    placed = order_image(buyer, shop, products)
    return record("order", {**placed, "status": "paid", "paid_at": Decimal(1795400060)}, "MODIFY", old=placed)


def moved(order: dict, status: str) -> dict:
    """``order`` (a record) moved on to ``status``: its new image becomes the old one."""
    from boto3.dynamodb.types import TypeDeserializer

    image = {k: TypeDeserializer().deserialize(v) for k, v in order["dynamodb"]["NewImage"].items() if k != "entity"}
    return record("order", {**image, "status": status}, "MODIFY", old=image)


def review_record(user: str, shop: str, product: str, rating: int, text: str = "") -> dict:
    return record("review", {"review_id": new_id(), "order_id": new_id(), "product_id": product, "shop_id": shop,
                             "user_id": user, "rating": Decimal(rating), "text": text,
                             "created_at": Decimal(1795400000)})


@pytest.fixture
def deps(aws_backend):
    from chalicelib.wiring import container

    return container()


@pytest.fixture
def buyer(deps):
    user = User(user_id=new_id(), name="김민지", email=f"{new_id().lower()}@example.kr", phone=None, shop_id=None,
                created_at=1795400000.0, password_hash="x")
    deps.accounts.create_user(user)
    return user.user_id


def links(deps, user_id: str):
    return deps.store_links.list_links(user_id, None, 100).items


def test_an_order_issues_the_link_and_replays_change_nothing(deps, buyer):
    shop = new_id()
    first = order_record(buyer, shop, ["P1", "P2"])
    assert dispatch([first]) == []
    [link] = links(deps, buyer)
    assert (link.shop_id, link.owner_name, link.shop_name, link.products) == (shop, "김민지", "망원동 두부가게",
                                                                               ("P1", "P2"))
    assert dispatch([first, first]) == [] and dispatch([order_record(buyer, shop, ["P2", "P3"])]) == []
    [again] = links(deps, buyer)
    assert again.code == link.code and again.products == ("P1", "P2", "P3")
    assert deps.store_links.code_for(buyer, shop) == link.code


def test_an_order_never_paid_issues_nothing(deps, buyer):
    shop = new_id()
    for products in (["P1"], ["P2"]):
        placed = record("order", order_image(buyer, shop, products))  # INSERT, waiting for its money
        assert dispatch([placed, moved(placed, "expired"), moved(placed, "cancelled")]) == []
    assert links(deps, buyer) == []
    inserted_paid = record("order", {**order_image(buyer, shop, ["P3"]), "status": "paid",
                                     "paid_at": Decimal(1795400000)})  # a period charged with a saved card
    assert dispatch([inserted_paid]) == []
    [link] = links(deps, buyer)
    assert link.products == ("P3",)


def test_a_paid_order_cancelled_keeps_its_link_in_any_arrival_order(deps, buyer):
    shop = new_id()
    paid = order_record(buyer, shop, ["P1"])
    cancelled = moved(paid, "cancelled")
    assert dispatch([cancelled]) == []  # delivered first: nothing to issue from a cancellation
    assert links(deps, buyer) == []
    assert dispatch([paid, cancelled, paid]) == []
    [link] = links(deps, buyer)
    assert link.products == ("P1",)


def test_a_taken_code_is_drawn_again(deps, buyer, monkeypatch):
    from chalicelib.services import store_links

    shop, other = new_id(), new_id()
    dispatch([order_record(buyer, shop, ["P1"])])
    taken = links(deps, buyer)[0].code
    draws = iter([taken, taken, "fresh23456"])
    monkeypatch.setattr(store_links, "new_code", lambda: next(draws))
    assert dispatch([order_record(buyer, other, ["P9"])]) == []
    assert deps.store_links.code_for(buyer, other) == "fresh23456"
    assert deps.store_links.get_link(taken).shop_id == shop  # the first link is untouched


def test_two_records_that_both_missed_the_guard_issue_one_link(deps, buyer, monkeypatch):
    """The second handler read "no link" before the first one issued it: its issue loses on the
    owner guard and it takes the winner's code."""
    shop = new_id()
    repo = deps.store_links
    real = repo.code_for
    calls = itertools.count()
    monkeypatch.setattr(repo, "code_for", lambda u, s: None if next(calls) == 0 else real(u, s))
    dispatch([order_record(buyer, shop, ["P1"])])  # sees no link, issues it
    calls = itertools.count()  # noqa: F841 (read by the lambda above)
    assert dispatch([order_record(buyer, shop, ["P2"])]) == []  # sees "no link" too, loses on the guard
    [link] = links(deps, buyer)
    assert link.products == ("P1", "P2")


@real_dynamodb_only
def test_racing_records_of_one_buyer_issue_one_link(deps, buyer):
    shop = new_id()
    batches = [[order_record(buyer, shop, [f"P{i}"])] for i in range(8)]
    barrier = threading.Barrier(len(batches))
    results = []

    def run(batch):
        barrier.wait()
        results.append(dispatch(batch))

    threads = [threading.Thread(target=run, args=(b,)) for b in batches]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert results == [[]] * 8
    [link] = links(deps, buyer)
    assert link.products == tuple(f"P{i}" for i in range(8))


def test_reviews_recommend_and_take_back(deps, buyer):
    shop = new_id()
    dispatch([order_record(buyer, shop, ["P1", "P2"])])
    code = links(deps, buyer)[0].code
    assert dispatch([review_record(buyer, shop, "P1", 5, "두부가 고소해요 " * 20),
                     review_record(buyer, shop, "P2", 3, "보통")]) == []
    link = deps.store_links.get_link(code)
    assert link.recommended == ("P1",) and link.notes["P1"].startswith("두부가 고소해요") and len(link.notes["P1"]) <= 140
    dispatch([review_record(buyer, shop, "P1", 1, "이번엔 별로")])
    link = deps.store_links.get_link(code)
    assert link.recommended == () and "P1" not in link.notes and link.products == ("P1", "P2")


def test_broken_records_are_skipped_not_retried(deps, buyer):
    shop = new_id()
    broken = [record("order", {"order_id": new_id(), "shop_id": shop, "status": "pending_payment"}),
              record("review", {"user_id": buyer, "shop_id": shop, "product_id": "P1", "rating": "many"})]
    assert dispatch(broken) == []
    assert links(deps, buyer) == []
