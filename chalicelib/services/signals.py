"""From the main table's stream to scoring events: which change means which signal.

Reads the items of other features only through the stream event contract (entity names and
attributes, see the README): images arrive deserialised (plain dicts, numbers as Decimal).

| entity  | change                                             | signal                                         | at                   |
|---------|----------------------------------------------------|------------------------------------------------|----------------------|
| follow  | INSERT / REMOVE                                    | follow / unfollow                              | created_at / removal |
| like    | INSERT / REMOVE                                    | like / unlike (its own time)                   | created_at / removal |
| comment | INSERT / REMOVE, not the shop's reply              | comment / comment_deleted                      | created_at / removal |
| share   | INSERT / REMOVE                                    | share / share_removed                          | created_at / removal |
| order   | ``paid_at`` appears: INSERT with it, or MODIFY     | order (total, lines)                           | ``paid_at``          |
|         | whose old image lacks it (the order is paid)       |                                                |                      |
| order   | MODIFY to ``cancelled`` with ``paid_at`` (refund)  | order (a replay if counted), order_cancelled   | the cancellation     |
| order   | either of those, credited (``referrer_id``)        | referral / referral_cancelled, the referrer's  | as above             |
| order   | anything without ``paid_at`` (placed, expired,     | nothing                                        |                      |
|         | cancelled unpaid); later moves of a paid order     |                                                |                      |
| review  | INSERT                                             | review (rating)                                | created_at           |

Event ids name the occurrence from the source item (``like#<post>#<user>#<created_at>``,
``order#<order_id>``), never the stream record's own id, so an equivalent record delivered
again is recognised. Removal times come from the record (``ApproximateCreationDateTime``),
never earlier than the item's creation. A removal undoes exactly its own act (``reverses_at``
is the act's time): an unlike, a deleted comment (by its author or the shop) or a removed share
takes back what it added, so posting and deleting the same comment buys nothing. A share is
stored once per user and post (a second share writes nothing), so repeating it adds nothing
either. Reviews are never removed: one per delivered order.

Orders count when paid (the stream contract of ``paid_at``: set once, when the money is confirmed,
never removed). An order placed and never paid — still waiting, expired, or cancelled unpaid —
means nothing here. A paid order that is cancelled is un-counted: its cancellation record emits
the order event too (``order#<order_id>``, recognised as a replay when the payment's record came
first) and then the reversal, so a cancellation delivered before the payment's record (a retried
or redriven record) ends in the same state, and the payment's record arriving after it is a
replay.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from chalicelib.records.commerce import OrderLine
from chalicelib.records.relationships import SignalEvent
from chalicelib.services.scoring import Signal, event_id

CANCELLED = "cancelled"


class Malformed(ValueError):
    """A stream image that breaks the event contract (missing or mistyped attribute)."""


def _str(image: Mapping[str, Any], name: str) -> str:
    value = image.get(name)
    if not isinstance(value, str) or not value:
        raise Malformed(f"{name} must be a non-empty string, got {value!r}")
    return value


def _time(image: Mapping[str, Any], name: str) -> float:
    value = image.get(name)
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise Malformed(f"{name} must be a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number) or number < 0:
        raise Malformed(f"{name} must be a finite time, got {value!r}")
    return number


def _int(image: Mapping[str, Any], name: str, default: int | None = None) -> int:
    value = image.get(name, default)
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)) or value != int(value) or value < 0:
        raise Malformed(f"{name} must be a non-negative integer, got {value!r}")
    return int(value)


def _stamp(t: float) -> str:
    return repr(t)


def _removed_at(created_at: float, record_at: float) -> float:
    return max(created_at, record_at)


def _lines(image: Mapping[str, Any]) -> tuple[OrderLine, ...]:
    raw = image.get("items") or []
    if not isinstance(raw, list):
        raise Malformed("items must be a list")
    lines = []
    for item in raw:
        if not isinstance(item, Mapping):
            raise Malformed("items must hold maps")
        reorder = item.get("reorder_days")
        lines.append(OrderLine(product_id=_str(item, "product_id"), name=str(item.get("name") or ""),
                               price=_int(item, "price", 0), quantity=_int(item, "quantity", 1), kind=str(item.get("kind") or "treat"),
                               reorder_days=None if reorder is None else _int(item, "reorder_days")))
    return tuple(lines)


def _cancelled_at(new: Mapping[str, Any], paid_at: float, record_at: float) -> float:
    """When the order was cancelled: its history entry, else updated_at, else the record time
    (never before the payment it takes back)."""
    for entry in reversed(new.get("history") or []):
        if isinstance(entry, Mapping) and entry.get("status") == CANCELLED and entry.get("at") is not None:
            return max(paid_at, _time(entry, "at"))
    if new.get("updated_at") is not None:
        return max(paid_at, _time(new, "updated_at"))
    return _removed_at(paid_at, record_at)


def _follow(name: str, new, old, record_at: float) -> list[SignalEvent]:
    image = new if name == "INSERT" else old
    if name not in ("INSERT", "REMOVE") or image is None:
        return []
    shop_id, user_id, created = _str(image, "shop_id"), _str(image, "user_id"), _time(image, "created_at")
    source = f"{shop_id}#{user_id}#{_stamp(created)}"
    if name == "INSERT":
        return [SignalEvent(shop_id=shop_id, user_id=user_id, signal=Signal.FOLLOW, at=created,
                            event_id=event_id(Signal.FOLLOW, source))]
    return [SignalEvent(shop_id=shop_id, user_id=user_id, signal=Signal.UNFOLLOW,
                        at=_removed_at(created, record_at), event_id=event_id(Signal.UNFOLLOW, source))]


def _like(name: str, new, old, record_at: float) -> list[SignalEvent]:
    image = new if name == "INSERT" else old
    if name not in ("INSERT", "REMOVE") or image is None:
        return []
    post_id, shop_id = _str(image, "post_id"), _str(image, "shop_id")
    user_id, created = _str(image, "user_id"), _time(image, "created_at")
    source = f"{post_id}#{user_id}#{_stamp(created)}"
    if name == "INSERT":
        return [SignalEvent(shop_id=shop_id, user_id=user_id, signal=Signal.LIKE, at=created,
                            event_id=event_id(Signal.LIKE, source))]
    return [SignalEvent(shop_id=shop_id, user_id=user_id, signal=Signal.UNLIKE, at=_removed_at(created, record_at),
                        reverses_at=created, event_id=event_id(Signal.UNLIKE, source))]


def _comment(name: str, new, old, record_at: float) -> list[SignalEvent]:
    image = new if name == "INSERT" else old
    if name not in ("INSERT", "REMOVE") or image is None or image.get("is_shop_reply") is True:
        return []
    shop_id, user_id, created = _str(image, "shop_id"), _str(image, "author_id"), _time(image, "created_at")
    comment_id = _str(image, "comment_id")
    if name == "INSERT":
        return [SignalEvent(shop_id=shop_id, user_id=user_id, signal=Signal.COMMENT, at=created,
                            event_id=event_id(Signal.COMMENT, comment_id))]
    return [SignalEvent(shop_id=shop_id, user_id=user_id, signal=Signal.COMMENT_DELETED,
                        at=_removed_at(created, record_at), reverses_at=created,
                        event_id=event_id(Signal.COMMENT_DELETED, comment_id))]


def _share(name: str, new, old, record_at: float) -> list[SignalEvent]:
    image = new if name == "INSERT" else old
    if name not in ("INSERT", "REMOVE") or image is None:
        return []
    shop_id, user_id, created = _str(image, "shop_id"), _str(image, "user_id"), _time(image, "created_at")
    share_id = _str(image, "share_id")
    if name == "INSERT":
        return [SignalEvent(shop_id=shop_id, user_id=user_id, signal=Signal.SHARE, at=created,
                            event_id=event_id(Signal.SHARE, share_id))]
    return [SignalEvent(shop_id=shop_id, user_id=user_id, signal=Signal.SHARE_REMOVED,
                        at=_removed_at(created, record_at), reverses_at=created,
                        event_id=event_id(Signal.SHARE_REMOVED, share_id))]


def _paid_at(image: Mapping[str, Any] | None) -> float | None:
    """When the order's money was confirmed (``paid_at``), None while unpaid."""
    if image is None or image.get("paid_at") is None:
        return None
    return _time(image, "paid_at")


def _order(name: str, new, old, record_at: float) -> list[SignalEvent]:
    if new is None or name not in ("INSERT", "MODIFY"):
        return []
    paid_at = _paid_at(new)
    if paid_at is None:
        return []  # never paid: placed, expired or cancelled unpaid, it leaves no trace
    status = new.get("status")
    was = old or {}
    cancelled = name == "MODIFY" and status == CANCELLED and was.get("status") != CANCELLED
    paid_now = name == "INSERT" or was.get("paid_at") is None
    if not cancelled and (status == CANCELLED or not paid_now):
        return []  # a later move of a paid order (shipped, delivered ...), or a replayed state
    order_id = _str(new, "order_id")
    shop_id, user_id, amount, lines = _str(new, "shop_id"), _str(new, "buyer_id"), _int(new, "total"), _lines(new)
    # An order credited to a store link is also the link owner's referral (one level: only them).
    referrer = _str(new, "referrer_id") if new.get("via_store_link") and new.get("referrer_id") else None
    events = [SignalEvent(shop_id=shop_id, user_id=user_id, signal=Signal.ORDER, at=paid_at, amount=amount,
                          lines=lines, event_id=event_id(Signal.ORDER, order_id))]
    if referrer:
        events.append(referral(shop_id, referrer, order_id, paid_at))
    if not cancelled:
        return events
    # A refund: the order event above is a replay when the payment's record came first, and
    # counts the order here when this record arrived before it (then that one is the replay).
    cancelled_at = _cancelled_at(new, paid_at, record_at)
    events.append(SignalEvent(shop_id=shop_id, user_id=user_id, signal=Signal.ORDER_CANCELLED, at=cancelled_at,
                              reverses_at=paid_at, amount=amount, lines=lines,
                              event_id=event_id(Signal.ORDER_CANCELLED, order_id)))
    if referrer:
        events.append(referral_cancelled(shop_id, referrer, order_id, paid_at, cancelled_at))
    return events


def _review(name: str, new, old, record_at: float) -> list[SignalEvent]:
    if name != "INSERT" or new is None:
        return []
    rating = _int(new, "rating")
    if rating not in (1, 2, 3, 4, 5):
        raise Malformed(f"rating must be 1..5, got {rating}")
    return [SignalEvent(shop_id=_str(new, "shop_id"), user_id=_str(new, "user_id"), signal=Signal.REVIEW,
                        at=_time(new, "created_at"), rating=rating,
                        event_id=event_id(Signal.REVIEW, _str(new, "review_id")))]


TRANSLATORS = {"follow": _follow, "like": _like, "comment": _comment, "share": _share, "order": _order,
               "review": _review}
ENTITIES = tuple(TRANSLATORS)


def signals_from(entity: str, event_name: str, new: Mapping[str, Any] | None, old: Mapping[str, Any] | None,
                 record_at: float) -> list[SignalEvent]:
    """The scoring events one stream record means (often none); ``Malformed`` on a broken image."""
    translate = TRANSLATORS.get(entity)
    return translate(event_name, new, old, float(record_at or 0)) if translate else []


# --- referrals: an order credited to a store link (``_order`` above) ---------------------------


def referral(shop_id: str, referrer_id: str, order_id: str, order_at: float) -> SignalEvent:
    """A friend's order ``order_id`` came through ``referrer_id``'s store link for ``shop_id``."""
    return SignalEvent(shop_id=shop_id, user_id=referrer_id, signal=Signal.REFERRAL, at=order_at,
                       event_id=event_id(Signal.REFERRAL, order_id))


def referral_cancelled(shop_id: str, referrer_id: str, order_id: str, order_at: float,
                       cancelled_at: float) -> SignalEvent:
    """That friend's order was cancelled: the referral's points go again."""
    return SignalEvent(shop_id=shop_id, user_id=referrer_id, signal=Signal.REFERRAL_CANCELLED,
                       at=max(order_at, cancelled_at), reverses_at=order_at,
                       event_id=event_id(Signal.REFERRAL_CANCELLED, order_id))
