"""What each change on the main table's stream tells someone, and the reminders a schedule sends.

Reads other domains' items only through the stream event contract (entity names and
attributes; images as plain dicts, numbers as ``Decimal``):

| entity          | change                              | notification(s)                                   | to            |
|-----------------|-------------------------------------|---------------------------------------------------|---------------|
| follow          | INSERT                              | ``new_follower`` (grouped per shop and day); milestone ``first_follower`` | the shop's owner |
| like            | INSERT                              | ``like`` (grouped per post and day)               | the shop's owner |
| comment         | INSERT, a customer's                | ``comment``                                       | the shop's owner |
| comment         | INSERT, the shop's reply            | ``shop_reply``                                    | who asked just before |
| order           | INSERT awaiting the owner's check of the money (bank transfer, or no payment record) | ``new_order`` (``awaiting_payment``) | the shop's owner |
| order           | paid: ``paid_at`` first appears (INSERT with it, or MODIFY whose old image lacks it) | ``new_order`` (once per order); milestone ``first_order`` | the shop's owner |
| order           | MODIFY to another ``status``        | ``order_status``                                  | the buyer (the owner when the buyer cancelled) |
| review          | INSERT, ``primary``                 | ``review``; milestone ``first_review``            | the shop's owner |
| tier_transition | INSERT, into ``regular``            | milestone ``became_regular`` (per pair), the tenth: ``tenth_regular`` | the shop's owner |
| tier_transition | INSERT, ``regular`` → ``lapsed``    | ``regular_lapsed`` (if still lapsed)              | the shop's owner |
| message         | INSERT                              | ``message`` (once per message)                    | the other side of the conversation |

Each notification's source id comes from the item (an order id, a comment id, the order id
and its new status), never from the stream record, so a replayed or duplicated record adds
nothing. An order counts when it is paid (the stream contract of ``paid_at``): the purchase
milestone and the reorder watch come from the record where it was paid, never from placement,
so an order that expires or is cancelled unpaid fires no milestone. The owner hears of a new
order at placement only when they must watch for its money (a bank transfer, or an order
without a payment record, which the owner marks paid); a card order is news once it is paid.
A paid order also remembers each essential bought (``ReorderWatch``, bought at ``paid_at``),
indexed by when to remind; ``remind_reorders`` (hourly) sends ``reorder_due`` once per due date.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from chalicelib.ids import iso
from chalicelib.records.notifications import Actor, Grouped, Notice, ReorderWatch
from chalicelib.records.relationships import Pair, ShopInfo, Tier
from chalicelib.services.scoring import DAY_SECONDS, reorder_due, reorder_due_at

CANCELLED = "cancelled"
DELIVERED = "delivered"
TEXT_KEPT = 200  # characters of a comment or review kept in the notification's data
# A shop's reply answers the customers who asked just before it: at most this many comments back.
REPLY_LOOKBACK = 20
# "About to run out": remind a day before an essential's cycle ends.
REMIND_LEAD_DAYS = 1.0
# With no watermark yet (first run), look back this far for due reminders.
REMIND_FIRST_LOOKBACK_DAYS = 14
# An essential that ran out longer ago than this is not "about to run out": no reminder (the
# customer's essentials list and the owner's card still show it).
REMIND_WITHIN_DAYS = 7


class Malformed(ValueError):
    """A stream image that breaks the event contract."""


class Inbox(Protocol):
    """Where the notices go (``services.notifications.Inbox``): each ``add*`` says whether it
    added something new, so a replayed record adds nothing."""

    def add(self, notice: Notice) -> bool: ...
    def add_grouped(self, grouped: Grouped) -> bool: ...
    def add_milestone(self, shop_id: str, name: str, recipient_id: str, at: float, data: dict[str, Any]) -> bool: ...
    def add_regular(self, shop_id: str, recipient_id: str, customer: Actor, at: float,
                    data: dict[str, Any]) -> bool: ...


class Directory(Protocol):
    def shop_info(self, shop_id: str) -> ShopInfo | None: ...
    def user_name(self, user_id: str) -> str | None: ...
    def get_pair(self, shop_id: str, user_id: str) -> Pair | None: ...


class Threads(Protocol):
    def asked_before(self, post_id: str, reply_id: str, limit: int) -> list[str]: ...


class Watches(Protocol):
    def watch(self, watch: ReorderWatch) -> bool: ...
    def due_reminders(self, day: str, until: float): ...
    def reminded(self, watch: ReorderWatch) -> None: ...
    def reminder_watermark(self) -> str | None: ...
    def set_reminder_watermark(self, day: str, now: float) -> None: ...


@dataclass
class Context:
    inbox: Inbox
    directory: Directory
    threads: Threads
    watches: Watches


# --- reading images ---------------------------------------------------------------------------


def _str(image: Mapping[str, Any], name: str) -> str:
    value = image.get(name)
    if not isinstance(value, str) or not value:
        raise Malformed(f"{name} must be a non-empty string, got {value!r}")
    return value


def _num(image: Mapping[str, Any], name: str) -> float:
    value = image.get(name)
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)) or not math.isfinite(float(value)):
        raise Malformed(f"{name} must be a number, got {value!r}")
    return float(value)


def _int(value: Any, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _text(value: Any) -> str:
    return str(value or "")[:TEXT_KEPT]


def _name(ctx: Context, user_id: str) -> str:
    return ctx.directory.user_name(user_id) or "고객"


def _shop(ctx: Context, shop_id: str) -> ShopInfo | None:
    return ctx.directory.shop_info(shop_id)


def _order_facts(image: Mapping[str, Any]) -> dict[str, Any]:
    items = image.get("items") or []
    first = items[0] if items and isinstance(items[0], Mapping) else {}
    return {"order_id": _str(image, "order_id"), "shop_id": _str(image, "shop_id"),
            "shop_name": str(image.get("shop_name") or ""), "first_item": str(first.get("name") or ""),
            "item_count": len(items), "total": _int(image.get("total")),
            "currency": str(image.get("currency") or "KRW")}


# --- one handler per entity -------------------------------------------------------------------


def on_follow(ctx: Context, event: str, new: Mapping | None, old: Mapping | None) -> list[str]:
    if event != "INSERT" or new is None:
        return []
    shop_id, user_id, at = _str(new, "shop_id"), _str(new, "user_id"), _num(new, "created_at")
    shop = _shop(ctx, shop_id)
    if shop is None or shop.owner_id == user_id:
        return []
    name = _name(ctx, user_id)
    data = {"shop_id": shop_id, "shop_name": shop.name}
    done = []
    if ctx.inbox.add_grouped(Grouped(shop.owner_id, "new_follower", shop_id, Actor(user_id, name), at, data)):
        done.append("new_follower")
    if ctx.inbox.add_milestone(shop_id, "first_follower", shop.owner_id, at,
                               {**data, "customer_id": user_id, "customer_name": name}):
        done.append("first_follower")
    return done


def on_like(ctx: Context, event: str, new: Mapping | None, old: Mapping | None) -> list[str]:
    if event != "INSERT" or new is None:
        return []
    post_id, shop_id = _str(new, "post_id"), _str(new, "shop_id")
    user_id, at = _str(new, "user_id"), _num(new, "created_at")
    shop = _shop(ctx, shop_id)
    if shop is None or shop.owner_id == user_id:
        return []
    data = {"post_id": post_id, "shop_id": shop_id, "shop_name": shop.name}
    grouped = Grouped(shop.owner_id, "like", post_id, Actor(user_id, _name(ctx, user_id)), at, data)
    return ["like"] if ctx.inbox.add_grouped(grouped) else []


def on_comment(ctx: Context, event: str, new: Mapping | None, old: Mapping | None) -> list[str]:
    if event != "INSERT" or new is None:
        return []
    comment_id, post_id = _str(new, "comment_id"), _str(new, "post_id")
    author_id, owner_id, at = _str(new, "author_id"), _str(new, "shop_owner_id"), _num(new, "created_at")
    data = {"comment_id": comment_id, "post_id": post_id, "shop_id": _str(new, "shop_id"),
            "author_id": author_id, "author_name": str(new.get("author_name") or ""), "text": _text(new.get("text"))}
    if new.get("is_shop_reply") is True:
        shop = _shop(ctx, data["shop_id"])
        data["shop_name"] = shop.name if shop else ""
        done = []
        for asker in ctx.threads.asked_before(post_id, comment_id, REPLY_LOOKBACK):
            if asker != owner_id and ctx.inbox.add(Notice(asker, "shop_reply", comment_id, at, data)):
                done.append("shop_reply")
        return done
    if author_id == owner_id:
        return []
    return ["comment"] if ctx.inbox.add(Notice(owner_id, "comment", comment_id, at, data)) else []


def on_order(ctx: Context, event: str, new: Mapping | None, old: Mapping | None) -> list[str]:
    if new is None:
        return []
    status = new.get("status")
    done = []
    if event == "INSERT" and status != CANCELLED and new.get("paid_at") is None and _owner_checks_payment(new):
        done += _new_order(ctx, new, _num(new, "created_at"), awaiting_payment=True)
    if _paid_now(event, new, old):
        done += _order_paid(ctx, new)
        done += _referral(ctx, new, "bought", _num(new, "paid_at"))
    if event == "MODIFY" and old is not None and status != old.get("status") and isinstance(status, str):
        done += _order_moved(ctx, new, status)
        if status == DELIVERED and new.get("paid_at") is not None:
            done += _referral(ctx, new, "confirmed", _last_move(new, status)[1])
    return done


def _referral(ctx: Context, new: Mapping, moment: str, at: float) -> list[str]:
    """``reward`` to the store link's owner: a friend bought through the link (``bought``, at
    payment) and the reward was confirmed (``confirmed``, at delivery; only when there is one —
    a link that gives its reward to the friend has nothing to confirm). Once per order and moment."""
    referrer = new.get("referrer_id")
    code = new.get("via_store_link")
    if not isinstance(referrer, str) or not referrer or not isinstance(code, str) or referrer == new.get("buyer_id"):
        return []
    reward = new.get("referral_reward")  # None: the shop sets no reward; 0: given to the friend
    amount = _int(reward)
    if moment == "confirmed" and amount <= 0:
        return []
    facts = _order_facts(new)
    data = {"shop_id": facts["shop_id"], "shop_name": facts["shop_name"], "order_id": facts["order_id"],
            "code": code, "amount": amount, "moment": moment,
            "given_to_friend": reward is not None and amount <= 0, "no_reward": reward is None}
    added = ctx.inbox.add(Notice(referrer, "reward", f"{facts['order_id']}#{moment}", at, data))
    return ["reward"] if added else []


def _last_move(new: Mapping, status: str) -> tuple[Mapping, float]:
    """The order's latest move into ``status`` (its history entry, or empty) and when it was."""
    history = [h for h in new.get("history") or [] if isinstance(h, Mapping) and h.get("status") == status]
    moved = history[-1] if history else {}
    return moved, float(moved.get("at") or new.get("updated_at") or _num(new, "created_at"))


def _paid_now(event: str, new: Mapping, old: Mapping | None) -> bool:
    """The record where the order became paid: ``paid_at`` first appears (stream contract)."""
    if new.get("paid_at") is None or new.get("status") == CANCELLED:
        return False
    return event == "INSERT" or (event == "MODIFY" and (old or {}).get("paid_at") is None)


def _owner_checks_payment(new: Mapping) -> bool:
    """Whether the owner must watch for this unpaid order's money: a bank transfer, or an order
    without a payment record (the owner marks it paid). A card order waits for the provider."""
    payment = new.get("payment")
    return not isinstance(payment, Mapping) or payment.get("method") != "card"


def _new_order(ctx: Context, new: Mapping, at: float, *, awaiting_payment: bool) -> list[str]:
    facts = _order_facts(new)
    owner_id, buyer_id = _str(new, "owner_id"), _str(new, "buyer_id")
    data = {**facts, "customer_id": buyer_id, "customer_name": _name(ctx, buyer_id)}
    if awaiting_payment:
        data["awaiting_payment"] = True
    return ["new_order"] if ctx.inbox.add(Notice(owner_id, "new_order", facts["order_id"], at, data)) else []


def _order_paid(ctx: Context, new: Mapping) -> list[str]:
    """A purchase: the owner's new order (unless told at placement), the shop's first-order
    milestone and the essentials to remind the buyer of — all from ``paid_at``."""
    facts = _order_facts(new)
    owner_id, buyer_id, at = _str(new, "owner_id"), _str(new, "buyer_id"), _num(new, "paid_at")
    done = _new_order(ctx, new, at, awaiting_payment=False)  # one per order: told at placement, nothing new
    name = _name(ctx, buyer_id)
    # A millisecond later, so the milestone lists above the order it celebrates.
    if ctx.inbox.add_milestone(facts["shop_id"], "first_order", owner_id, at + 0.001,
                               {"shop_name": facts["shop_name"], "order_id": facts["order_id"],
                                "customer_id": buyer_id, "customer_name": name}):
        done.append("first_order")
    for line in new.get("items") or []:
        days = _int(line.get("reorder_days")) if isinstance(line, Mapping) else 0
        if line.get("kind") != "essential" or days <= 0:
            continue
        watch = ReorderWatch(user_id=buyer_id, shop_id=facts["shop_id"], product_id=_str(line, "product_id"),
                             name=str(line.get("name") or ""), order_id=facts["order_id"], bought_at=at,
                             reorder_days=days, remind_at=remind_at(at, days))
        if ctx.watches.watch(watch):
            done.append("reorder_watch")
    return done


def _order_moved(ctx: Context, new: Mapping, status: str) -> list[str]:
    facts = _order_facts(new)
    owner_id, buyer_id = _str(new, "owner_id"), _str(new, "buyer_id")
    moved, at = _last_move(new, status)
    by_buyer = moved.get("by") == buyer_id
    if by_buyer and status != CANCELLED:
        return []
    recipient = owner_id if by_buyer else buyer_id
    data = {**facts, "status": status}
    if by_buyer:
        data.update(to_owner=True, customer_id=buyer_id, customer_name=_name(ctx, buyer_id))
    added = ctx.inbox.add(Notice(recipient, "order_status", f"{facts['order_id']}#{status}", at, data))
    done = ["order_status"] if added else []
    if status == "expired":  # both sides: the buyer's order is gone, the owner's stock is back on sale
        owner_data = {**data, "to_owner": True, "customer_id": buyer_id, "customer_name": _name(ctx, buyer_id)}
        if ctx.inbox.add(Notice(owner_id, "order_status", f"{facts['order_id']}#{status}#owner", at, owner_data)):
            done.append("order_status")
    return done


def on_review(ctx: Context, event: str, new: Mapping | None, old: Mapping | None) -> list[str]:
    if event != "INSERT" or new is None or new.get("primary") is not True:
        return []  # one review of n products is n items; the primary one speaks for all
    review_id, shop_id = _str(new, "review_id"), _str(new, "shop_id")
    user_id, at = _str(new, "user_id"), _num(new, "created_at")
    shop = _shop(ctx, shop_id)
    if shop is None:
        return []
    name = str(new.get("author_name") or "") or _name(ctx, user_id)
    data = {"review_id": review_id, "order_id": str(new.get("order_id") or ""), "shop_id": shop_id,
            "shop_name": shop.name, "rating": _int(new.get("rating")), "text": _text(new.get("text")),
            "customer_id": user_id, "customer_name": name}
    done = []
    if ctx.inbox.add(Notice(shop.owner_id, "review", review_id, at, data)):
        done.append("review")
    if ctx.inbox.add_milestone(shop_id, "first_review", shop.owner_id, at + 0.001, data):
        done.append("first_review")
    return done


def on_tier_change(ctx: Context, event: str, new: Mapping | None, old: Mapping | None) -> list[str]:
    if event != "INSERT" or new is None:
        return []
    shop_id, user_id = _str(new, "shop_id"), _str(new, "user_id")
    before, after, at = new.get("from_tier"), new.get("to_tier"), _num(new, "at")
    shop = _shop(ctx, shop_id)
    if shop is None:
        return []
    if after == Tier.REGULAR:
        customer = Actor(user_id, _name(ctx, user_id))
        added = ctx.inbox.add_regular(shop_id, shop.owner_id, customer, at, {"shop_name": shop.name})
        return ["became_regular"] if added else []
    if before == Tier.REGULAR and after == Tier.LAPSED:
        pair = ctx.directory.get_pair(shop_id, user_id)
        if pair is None or pair.tier is not Tier.LAPSED:
            return []  # they came back before we got here: nothing to nudge about
        last = pair.state.last_order_at
        data = {"shop_id": shop_id, "shop_name": shop.name, "customer_id": user_id,
                "customer_name": pair.customer_name, "order_count": pair.state.order_count, "last_order_at": last,
                "days_since_last_order": None if last is None else int((at - last) // DAY_SECONDS)}
        added = ctx.inbox.add(Notice(shop.owner_id, "regular_lapsed", f"{user_id}#{iso(at)[:10]}", at, data))
        return ["regular_lapsed"] if added else []
    return []


def on_message(ctx: Context, event: str, new: Mapping | None, old: Mapping | None) -> list[str]:
    """A message (문의) tells the other side of its conversation: the shop's owner, or the customer."""
    if event != "INSERT" or new is None:
        return []
    message_id, sender = _str(new, "message_id"), _str(new, "sender")
    data = {"message_id": message_id, "conversation_id": _str(new, "conversation_id"), "shop_id": _str(new, "shop_id"),
            "shop_name": str(new.get("shop_name") or ""), "customer_name": str(new.get("customer_name") or ""),
            "sender": sender, "text": _text(new.get("text")), "photo_count": len(new.get("photos") or []),
            "automatic": bool(new.get("automatic"))}
    added = ctx.inbox.add(Notice(_str(new, "recipient_id"), "message", message_id, _num(new, "created_at"), data))
    return ["message"] if added else []


HANDLERS = {"follow": on_follow, "like": on_like, "comment": on_comment, "order": on_order, "review": on_review,
            "tier_transition": on_tier_change, "message": on_message}


# --- reorder reminders (scheduled) --------------------------------------------------------------


def remind_at(bought_at: float, reorder_days: int) -> float:
    return reorder_due_at(bought_at, reorder_days) - REMIND_LEAD_DAYS * DAY_SECONDS


def day_of(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).date().isoformat()


def days_between(first: str, last: str) -> list[str]:
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    return [(start + timedelta(days=n)).isoformat() for n in range((end - start).days + 1)]


@dataclass(frozen=True)
class ReminderReport:
    days: int
    due: int
    sent: int
    stopped_early: bool = False


def remind_reorders(ctx: Context, now: float, deadline: float | None = None,
                    clock: Callable[[], float] | None = None) -> ReminderReport:
    """Send ``reorder_due`` for every essential whose reminder time has come, once per due date.

    Reads the gsi4 bucket of each day since the last run (a watermark), every shard of it
    (``storage.buckets``), never a Scan; each due watch is checked against the pair (the
    customer card's essentials), so a cancelled or repeated purchase never reminds at the wrong
    time. Today is read again next run. Stops taking on watches at ``deadline`` (on ``clock``,
    default ``time.monotonic``): the watermark stays at the day it stopped in, whose watches
    left are still in the index (a reminded one leaves it), so the next run finishes them.
    """
    import time

    tick = clock or time.monotonic
    today = day_of(now)
    first = ctx.watches.reminder_watermark() or day_of(now - REMIND_FIRST_LOOKBACK_DAYS * DAY_SECONDS)
    days = days_between(min(first, today), today)
    due = sent = read = 0
    stopped: str | None = None
    for day in days:
        read += 1
        watches = iter(ctx.watches.due_reminders(day, now))
        try:
            for watch in watches:
                if deadline is not None and tick() >= deadline:
                    stopped = day
                    break
                due += 1
                if _remind(ctx, watch, now):
                    sent += 1
                ctx.watches.reminded(watch)
        finally:
            close = getattr(watches, "close", None)
            if close is not None:
                close()  # the shards' reads still in flight end here
        if stopped is not None:
            break
    ctx.watches.set_reminder_watermark(stopped or today, now)
    return ReminderReport(days=read, due=due, sent=sent, stopped_early=stopped is not None)


def _remind(ctx: Context, watch: ReorderWatch, now: float) -> bool:
    pair = ctx.directory.get_pair(watch.shop_id, watch.user_id)
    essential = next((e for e in pair.essentials if e.product_id == watch.product_id), None) if pair else None
    if essential is None or not reorder_due(essential.last_bought_at, essential.reorder_days, now,
                                            lead_days=REMIND_LEAD_DAYS):
        return False  # cancelled, or bought again (that purchase set its own reminder)
    due_at = reorder_due_at(essential.last_bought_at, essential.reorder_days)
    if now - due_at > REMIND_WITHIN_DAYS * DAY_SECONDS:
        return False  # long run out: a reminder now would be noise
    data = {"shop_id": watch.shop_id, "shop_name": pair.shop_name, "product_id": watch.product_id,
            "product_name": essential.name, "reorder_days": essential.reorder_days,
            "last_bought_at": essential.last_bought_at, "due_at": due_at, "last_order_id": watch.order_id}
    source = f"{watch.shop_id}#{watch.product_id}#{iso(due_at)[:10]}"
    return ctx.inbox.add(Notice(watch.user_id, "reorder_due", source, now, data))
