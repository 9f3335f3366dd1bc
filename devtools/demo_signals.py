"""Demo relationship history: customers' follows, likes, orders and reviews as stream records.

Follows, likes, orders and reviews are written by other features; until their demo data
exists, this module stands in for them the way the stream would: it builds records in the
event contract's shape (the items those features store) and hands them to the real stream
handler (``chalicelib.events.dispatch``), backdated so every tier shows up in ``make run``:

* 망원동 두부가게 — 김민지 follows, likes, comments, buys tofu weekly and left 5★: **regular**,
  tofu due again; 최서연 only follows: **potential**; 한지호 was a regular, stopped coming:
  **lapsed**.
* 연남 꽃집 오늘 — 한지호 bought one bouquet: **first_time**.
* 성수 커피로스터스 — 최서연 buys beans every two weeks: **regular**; 김민지 follows.

When the demo seeds real follows and orders, drop this module: the same handler then gets
the same records from the table's stream.
"""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

from chalicelib.ids import id_at, now

DAY = 86_400.0
_seq = itertools.count(1)


def _image(values: dict[str, Any]) -> dict[str, Any]:
    from boto3.dynamodb.types import TypeSerializer

    serializer = TypeSerializer()

    def plain(value: Any) -> Any:
        if isinstance(value, float):
            return Decimal(repr(value))
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v) for v in value]
        return value

    return {name: serializer.serialize(plain(value)) for name, value in values.items() if value is not None}


def _record(name: str, new: dict | None, old: dict | None, at: float) -> dict:
    data: dict[str, Any] = {"ApproximateCreationDateTime": int(at), "SequenceNumber": f"{next(_seq):021d}",
                            "StreamViewType": "NEW_AND_OLD_IMAGES",
                            "Keys": _image({k: (new or old)[k] for k in ("pk", "sk")})}
    if new is not None:
        data["NewImage"] = _image(new)
    if old is not None:
        data["OldImage"] = _image(old)
    return {"eventID": f"demo-{next(_seq)}", "eventName": name, "eventVersion": "1.1",
            "eventSource": "aws:dynamodb", "dynamodb": data}


def follow(shop_id: str, user_id: str, at: float) -> dict:
    return _record("INSERT", {"pk": f"SHOP#{shop_id}", "sk": f"FOLLOWER#{user_id}", "entity": "follow",
                              "shop_id": shop_id, "user_id": user_id, "created_at": at}, None, at)


def like(shop_id: str, user_id: str, at: float) -> dict:
    post_id = id_at(at - 3600)
    return _record("INSERT", {"pk": f"POST#{post_id}", "sk": f"LIKE#{user_id}", "entity": "like", "post_id": post_id,
                              "shop_id": shop_id, "user_id": user_id, "created_at": at}, None, at)


def comment(shop_id: str, user_id: str, at: float, text: str) -> dict:
    post_id, comment_id = id_at(at - 3600), id_at(at)
    return _record("INSERT", {"pk": f"POST#{post_id}", "sk": f"COMMENT#{comment_id}", "entity": "comment",
                              "comment_id": comment_id, "post_id": post_id, "shop_id": shop_id, "author_id": user_id,
                              "text": text, "created_at": at, "is_shop_reply": False}, None, at)


def order(shop_id: str, user_id: str, at: float, items: list[dict]) -> tuple[dict, str]:
    order_id = id_at(at)
    total = sum(i["price"] * i["quantity"] for i in items)
    image = {"pk": f"ORDER#{order_id}", "sk": "ORDER", "entity": "order", "order_id": order_id, "shop_id": shop_id,
             "buyer_id": user_id, "status": "delivered", "subtotal": total, "discount": 0, "total": total,
             "created_at": at, "updated_at": at, "via_post_id": None, "via_store_link": None, "items": items,
             "history": [{"status": "pending_payment", "at": at, "by": user_id}]}
    return _record("INSERT", image, None, at), order_id


def review(shop_id: str, user_id: str, order_id: str, product_id: str, at: float, rating: int, text: str) -> dict:
    review_id = id_at(at)
    return _record("INSERT", {"pk": f"PRODUCT#{product_id}", "sk": f"REVIEW#{review_id}", "entity": "review",
                              "review_id": review_id, "order_id": order_id, "product_ids": [product_id],
                              "shop_id": shop_id, "user_id": user_id, "rating": rating, "text": text,
                              "created_at": at}, None, at)


def _item(product_id: str, name: str, price: int, quantity: int, kind: str, reorder_days: int | None) -> dict:
    return {"product_id": product_id, "name": name, "price": price, "quantity": quantity, "kind": kind,
            "reorder_days": reorder_days}


def history(shops: dict[str, dict], users: dict[str, str], t: float) -> list[dict]:
    """The records, oldest first. ``shops``: handle → shop; ``users``: e-mail → user id."""
    tofu, flowers, coffee = (shops[h]["shop_id"] for h in ("mangwon_tofu", "yeonnam_flowers", "seongsu_roasters"))
    minji, seoyeon, jiho = (users[e] for e in ("minji@dongne.kr", "seoyeon@dongne.kr", "jiho@dongne.kr"))
    sondubu = _item(id_at(t - 400 * DAY), "손두부", 4500, 2, "essential", 7)
    kongmul = _item(id_at(t - 399 * DAY), "콩물 1L", 6000, 1, "essential", 5)
    biji = _item(id_at(t - 398 * DAY), "비지 찌개 세트", 8000, 1, "treat", None)
    bouquet = _item(id_at(t - 397 * DAY), "오늘의 작은 다발", 25000, 1, "treat", None)
    beans = _item(id_at(t - 396 * DAY), "에티오피아 예가체프 200g", 16000, 1, "essential", 14)
    records = [follow(tofu, minji, t - 40 * DAY), like(tofu, minji, t - 38 * DAY),
               comment(tofu, minji, t - 37 * DAY, "아침마다 두부 나오는 시간 맞춰 가요!"),
               follow(coffee, minji, t - 30 * DAY), follow(tofu, seoyeon, t - 12 * DAY)]
    first, first_id = order(tofu, minji, t - 22 * DAY, [sondubu, kongmul])
    records += [first, order(tofu, minji, t - 15 * DAY, [sondubu])[0],
                order(tofu, minji, t - 8 * DAY, [{**sondubu, "quantity": 3}, biji])[0],
                review(tofu, minji, first_id, sondubu["product_id"], t - 20 * DAY, 5, "고소하고 부드러워요. 매주 사요.")]
    records += [order(tofu, jiho, t - 110 * DAY, [sondubu])[0], order(tofu, jiho, t - 95 * DAY, [sondubu, kongmul])[0],
                like(tofu, jiho, t - 90 * DAY)]
    records += [order(flowers, jiho, t - 5 * DAY, [bouquet])[0]]
    records += [follow(coffee, seoyeon, t - 60 * DAY)]
    records += [order(coffee, seoyeon, t - d * DAY, [beans])[0] for d in (45, 31, 17, 3)]
    return records


def seed_signals(call, demo) -> int:
    """Deliver the demo history to the stream handler; returns the number of records."""
    from chalicelib.events import dispatch

    users = {email: call("GET", "/me", token=token)["user_id"] for email, token in demo.tokens.items()}
    records = history(demo.shops, users, now())
    dispatch(records)
    return len(records)
