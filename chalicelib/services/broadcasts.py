"""Broadcasts: a shop's message to a segment of its customers, once each, in their conversation.

An owner sends one message to a tier of customers (``{tier}``), to those whose essential is due
(``{essential_due: true}``) or to chosen customers (``{user_ids}``: only those who are the shop's
customers). Accepting it writes the broadcast and its first **chunk** (one transaction, with the
owner's daily rate window); the chunk's INSERT on the table's stream runs it
(``events.broadcasts``): one page of the audience (``broadcast_chunk_size`` customers), their
consents, their messages — then the next chunk is written, and so on. So each stream invocation
does bounded work whatever the audience's size, and a broadcast resumes where it was after any
failure: a chunk is replayed whole.

**Exactly once per recipient.** A broadcast's message has the broadcast's id in every
recipient's conversation (one conversation per customer and shop, so one such message each),
written with ``attribute_not_exists`` in one transaction with the conversation's move: a replayed
chunk, an overlapping run or a later pass finds it there and sends nothing again. The chunk's
``delivered`` counter moves in the same transactions, so the counts are exact too. (The message
sorts in the conversation at the broadcast's creation; its ``created_at`` is when it arrived.)
Customers the shop blocked get nothing.

**Advertising (정보통신망법 §50).** An advertising broadcast goes only to customers who consented
to the shop's advertising (``/me/shop-preferences/{shop_id}``), begins with "(광고)" and the
shop's name, and ends with how to refuse for free. A chunk that runs between 21:00 and 08:00
KST sends only to customers who also consented to night-time advertising; for the others it asks
for a **morning pass** at 08:00 KST (the broadcast is ``held``), which the schedule starts
(``release_held``): the same audience again from its start, the guards skipping those already
reached. The counts of a broadcast (recipients, skipped) are those of its latest pass.

**A coupon** (``coupon_id``) goes with the message to each recipient it reaches, held at most
once (``services.coupons.grant``). A coupon is a promotion: a broadcast carrying one is
advertising.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Protocol

from chalicelib.errors import CouponEnded, FieldProblem, Invalid, NotFound
from chalicelib.ids import iso, new_id
from chalicelib.records.broadcasts import DONE, HELD, SENDING, Audience, Broadcast, Chunk, Progress
from chalicelib.records.consents import ShopPreference
from chalicelib.records.conversations import Conversation, Message
from chalicelib.records.rates import Ticket
from chalicelib.records.relationships import Pair
from chalicelib.services.conversations import shop_conversation, shop_message
from chalicelib.services.coupons import CouponsStore, coupon_of_shop, grant
from chalicelib.services.shops import ShopsStore, owned_shop

KST = timezone(timedelta(hours=9))
NIGHT_FROM_HOUR, NIGHT_UNTIL_HOUR = 21, 8  # §50 ③: 21:00–08:00 needs its own consent


class BroadcastsStore(Protocol):
    def create(self, broadcast: Broadcast, first: Chunk, quota: Ticket | None = None) -> None: ...
    def get(self, broadcast_id: str) -> Broadcast | None: ...
    def progress(self, broadcast_id: str) -> tuple[Broadcast | None, list[Chunk]]: ...
    def enqueue(self, chunk: Chunk) -> bool: ...
    def settle(self, chunk: Chunk, *, seen: int, skipped: int, held: int, last: bool) -> None: ...
    def hold(self, broadcast_id: str, pass_no: int, until: float) -> bool: ...
    def held_due(self, now: float, limit: int) -> list[Broadcast]: ...
    def release(self, broadcast: Broadcast, now: float) -> bool: ...
    def audience_page(self, shop_id: str, audience: Audience, after: str | None,
                      limit: int) -> tuple[list[Pair], str | None]: ...
    def blocked(self, shop_id: str, user_ids: list[str]) -> set[str]: ...
    def deliver(self, chunk: Chunk, messages: Sequence[tuple[Conversation, Message]],
                stop: Callable[[], bool] | None = None) -> tuple[int, bool]: ...


class Consents(Protocol):
    def of_shop(self, shop_id: str, user_ids: list[str]) -> dict[str, ShopPreference]: ...


# -- the rules, pure ----------------------------------------------------------------------------


def night_until(now: float) -> float | None:
    """When a message sent at ``now`` may reach a customer without night-time consent: the next
    08:00 KST if ``now`` is between 21:00 and 08:00 KST, else None (it may now)."""
    local = datetime.fromtimestamp(now, KST)
    if NIGHT_UNTIL_HOUR <= local.hour < NIGHT_FROM_HOUR:
        return None
    day = local.date() + timedelta(days=1) if local.hour >= NIGHT_FROM_HOUR else local.date()
    return datetime(day.year, day.month, day.day, NIGHT_UNTIL_HOUR, tzinfo=KST).timestamp()


def advertising_text(shop_name: str, text: str) -> str:
    """An advertising message as the law has it read: "(광고)" and the sender first, then the
    message, then how to refuse it for free."""
    return (f"(광고) {shop_name}\n{text}\n\n"
            f"무료 수신거부: 앱의 {shop_name} 가게 화면 > 알림 설정에서 '광고 메시지 받기'를 끄세요.")


def audience_of(tier: str | None, essential_due: bool | None, user_ids: Sequence[str] | None) -> Audience:
    """Exactly one of the three, else 422 ``one_audience``."""
    given = [name for name, value in (("tier", tier), ("essential_due", essential_due), ("user_ids", user_ids))
             if value not in (None, False)]
    if len(given) != 1:
        raise Invalid("Name exactly one audience: a tier, essential_due: true or user_ids.",
                      errors=[FieldProblem("body.audience", "exactly one of tier, essential_due, user_ids",
                                           code="one_audience")])
    return Audience(tier=tier, essential_due=bool(essential_due), user_ids=tuple(dict.fromkeys(user_ids or ())))


def essential_due(pair: Pair, now: float) -> bool:
    """The customer has an essential of this shop due (or overdue) now."""
    from chalicelib.services.scoring import reorder_due

    return any(reorder_due(e.last_bought_at, e.reorder_days, now) for e in pair.essentials)


def progress_of(broadcast: Broadcast, chunks: Sequence[Chunk]) -> Progress:
    """Counts from the chunks: deliveries of every chunk of every pass; recipients and skips of
    the latest pass, each page once (from a chunk that went through it whole: a page handed on
    out of time, or run twice, is not counted twice)."""
    latest = max((c.pass_no for c in chunks), default=0)
    final = [c for c in chunks if c.pass_no == latest]
    pages = {c.seq: c for c in final if c.seen is not None}
    if broadcast.held_until is not None:
        status = HELD
    elif any(c.last for c in pages.values()):
        status = DONE
    else:
        status = SENDING
    return Progress(broadcast=broadcast, status=status, recipients=sum(c.seen or 0 for c in pages.values()),
                    delivered=sum(c.delivered for c in chunks),
                    skipped_no_consent=sum(c.skipped or 0 for c in pages.values()))


# -- the owner's requests ------------------------------------------------------------------------


def send(store: BroadcastsStore, shops: ShopsStore, user_id: str, shop_id: str, *, audience: Audience, text: str,
         advertising: bool, coupon_id: str | None, now: float, quota: Ticket | None = None,
         coupons: CouponsStore | None = None) -> Broadcast:
    """Accept a broadcast (owner only): one GetItem (the shop), one GetItem (its coupon, if
    any), one TransactWriteItems. The delivery runs from the stream. A coupon is a promotion, so
    a broadcast that carries one is advertising whatever ``advertising`` says; an ended coupon
    → 409 ``coupon_ended``, another shop's or none → 404."""
    shop = owned_shop(shops, user_id, shop_id)
    if coupon_id is not None:
        if coupons is None:
            raise ValueError("a broadcast with a coupon needs the coupons store")
        coupon = coupon_of_shop(shops, coupons, user_id, shop_id, coupon_id)
        if now >= coupon.ends_at:
            raise CouponEnded("This coupon has ended; create a new one to give out.",
                              extra={"ends_at": iso(coupon.ends_at)})
        advertising = True
    broadcast = Broadcast(broadcast_id=new_id(), shop_id=shop.shop_id, shop_name=shop.name, owner_id=shop.owner_id,
                          audience=audience, text=advertising_text(shop.name, text) if advertising else text,
                          advertising=advertising, coupon_id=coupon_id, created_at=now)
    store.create(broadcast, Chunk(broadcast_id=broadcast.broadcast_id, pass_no=0, seq=0, after=None,
                                  created_at=now), quota)
    return broadcast


def progress(store: BroadcastsStore, shops: ShopsStore, user_id: str, shop_id: str, broadcast_id: str) -> Progress:
    """Owner only: one GetItem (the shop), one Query (the broadcast and its chunks)."""
    owned_shop(shops, user_id, shop_id)
    broadcast, chunks = store.progress(broadcast_id)
    if broadcast is None or broadcast.shop_id != shop_id:
        raise NotFound("No such broadcast.")
    return progress_of(broadcast, chunks)


# -- the delivery (stream and schedule) ----------------------------------------------------------


@dataclass
class ChunkReport:
    action: str
    seen: int = 0
    delivered: int = 0
    skipped: int = 0
    held: int = 0
    continued: bool = False
    hold_asked: bool = False
    granted: int = 0


def run_chunk(store: BroadcastsStore, consents: Consents, chunk: Chunk, *, now: float, size: int,
              clock: Callable[[], float], deadline: float | None = None,
              coupons: CouponsStore | None = None) -> ChunkReport:
    """Deliver one chunk of a broadcast and write the next. A chunk that starts past the
    invocation's ``deadline`` only hands itself on. Safe to replay and to run twice at once."""
    broadcast = store.get(chunk.broadcast_id)
    if broadcast is None:
        return ChunkReport("stopped: broadcast gone")
    if deadline is not None and clock() >= deadline:
        return ChunkReport("deferred", continued=store.enqueue(chunk.again(now)))
    pairs, after = store.audience_page(broadcast.shop_id, broadcast.audience, chunk.after, size)
    if broadcast.audience.essential_due:
        pairs = [p for p in pairs if essential_due(p, now)]
    pairs = [p for p in pairs if p.user_id != broadcast.owner_id]
    report = ChunkReport("delivered", seen=len(pairs))
    night = night_until(now) if broadcast.advertising else None
    prefs = consents.of_shop(broadcast.shop_id, [p.user_id for p in pairs]) if broadcast.advertising else {}
    targets: list[Pair] = []
    for pair in pairs:
        pref = prefs.get(pair.user_id)
        if broadcast.advertising and (pref is None or not pref.marketing):
            report.skipped += 1
        elif night is not None and not (pref is not None and pref.marketing_at_night):
            report.held += 1
        else:
            targets.append(pair)
    blocked = store.blocked(broadcast.shop_id, [p.user_id for p in targets]) if targets else set()
    messages = []
    for pair in targets:
        if pair.user_id in blocked:
            continue
        conversation = shop_conversation(broadcast.shop_id, broadcast.shop_name, broadcast.owner_id, pair.user_id,
                                         pair.customer_name, now)
        messages.append((conversation, shop_message(conversation, broadcast.text, now, broadcast.broadcast_id)))

    def past_deadline() -> bool:
        return deadline is not None and clock() >= deadline

    report.delivered, finished = store.deliver(chunk, messages, stop=past_deadline)
    if not finished:
        # Out of time half-way: this chunk keeps what it delivered and counts nothing else; its next
        # part goes through the same page again (those already reached are skipped by their
        # message's key) and counts the page.
        report.action, report.seen, report.skipped, report.held = "delivered part, handed on", 0, 0, 0
        report.continued = store.enqueue(chunk.again(now))
        return report
    if broadcast.coupon_id is not None and coupons is not None and messages:
        report.granted = _grant(coupons, broadcast.coupon_id, [c.customer_id for c, _ in messages], now)
    if report.held and night is not None:
        report.hold_asked = store.hold(broadcast.broadcast_id, chunk.pass_no + 1, night)
    if after is not None:
        report.continued = store.enqueue(chunk.next(after, now))
    store.settle(chunk, seen=report.seen, skipped=report.skipped, held=report.held, last=after is None)
    return report


def _grant(coupons: CouponsStore, coupon_id: str, user_ids: list[str], now: float) -> int:
    """The broadcast's coupon to each recipient (one conditional PutItem each: held at most once,
    so a replayed chunk gives nothing twice). Nothing once the coupon is gone or has ended."""
    coupon = coupons.get_coupon(coupon_id)
    if coupon is None or now >= coupon.ends_at:
        return 0
    return sum(1 for user_id in user_ids if grant(coupons, coupon, user_id, now))


@dataclass
class ReleaseReport:
    due: int = 0
    started: int = 0


def release_held(store: BroadcastsStore, now: float, limit: int = 100) -> ReleaseReport:
    """Start the morning pass of every broadcast held until ``now`` or earlier: one Query, and one
    transaction per broadcast (another run's start is not repeated)."""
    report = ReleaseReport()
    for broadcast in store.held_due(now, limit):
        report.due += 1
        report.started += store.release(broadcast, now)
    return report


def accepted_out(broadcast: Broadcast) -> dict:
    recipients = len(broadcast.audience.user_ids) if broadcast.audience.user_ids else None
    return {"broadcast_id": broadcast.broadcast_id, "status": SENDING, "recipients": recipients}


def progress_out(p: Progress) -> dict:
    b = p.broadcast
    audience: dict = ({"tier": b.audience.tier} if b.audience.tier else {"essential_due": True}
                      if b.audience.essential_due else {"user_ids": list(b.audience.user_ids)})
    return {"broadcast_id": b.broadcast_id, "status": p.status, "recipients": p.recipients,
            "delivered": p.delivered, "skipped_no_consent": p.skipped_no_consent, "held_until": b.held_until,
            "audience": audience, "text": b.text, "advertising": b.advertising, "coupon_id": b.coupon_id,
            "created_at": b.created_at}
