"""Plain records of broadcasts: a shop's message to a segment of its customers, delivered in
bounded chunks (see ``services.broadcasts``). Passed between storage and services."""

from __future__ import annotations

from dataclasses import dataclass

HELD, SENDING, DONE = "held", "sending", "done"


@dataclass(frozen=True)
class Audience:
    """Exactly one of: a tier of the shop's customers, the customers with an essential due, or
    chosen customers (only those who are the shop's customers are reached)."""

    tier: str | None = None
    essential_due: bool = False
    user_ids: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        return "tier" if self.tier else "essential_due" if self.essential_due else "user_ids"


@dataclass(frozen=True)
class Broadcast:
    """``text`` is the message as each recipient reads it (for advertising: with the "(광고)"
    line and how to refuse). ``held_until``: an advertising broadcast's morning pass is due
    then (it reached the night); ``held_pass`` is that pass's number."""

    broadcast_id: str
    shop_id: str
    shop_name: str
    owner_id: str
    audience: Audience
    text: str
    advertising: bool
    coupon_id: str | None
    created_at: float
    held_until: float | None = None
    held_pass: int | None = None


@dataclass(frozen=True)
class Chunk:
    """One bounded piece of a broadcast's delivery: pass ``pass_no`` (0 the first; a later one
    the morning pass of a broadcast that reached the night), its ``seq``-th page of the audience,
    the one after the cursor ``after`` (None: from its start). Its counters are exact:
    ``delivered`` moves in each delivery's own transaction; ``seen`` / ``skipped`` / ``held`` are
    set once the chunk has gone through its whole page (None until then: a part that ran out of
    time never sets them); ``last`` when the page was the audience's last."""

    broadcast_id: str
    pass_no: int
    seq: int
    after: str | None
    created_at: float
    delivered: int = 0
    seen: int | None = None
    skipped: int | None = None
    held: int | None = None
    last: bool = False
    part: int = 0  # a page handed on unfinished (out of time) is gone through again as its next part

    def next(self, after: str, now: float) -> "Chunk":
        """The chunk of the page after this one."""
        return Chunk(broadcast_id=self.broadcast_id, pass_no=self.pass_no, seq=self.seq + 1, after=after,
                     created_at=now)

    def again(self, now: float) -> "Chunk":
        """This page once more (this run ran out of time): its next part."""
        return Chunk(broadcast_id=self.broadcast_id, pass_no=self.pass_no, seq=self.seq, after=self.after,
                     created_at=now, part=self.part + 1)


@dataclass(frozen=True)
class Recipient:
    user_id: str
    name: str


@dataclass(frozen=True)
class Progress:
    """What ``GET /shops/{id}/broadcasts/{id}`` answers, summed from the chunks."""

    broadcast: Broadcast
    status: str
    recipients: int
    delivered: int
    skipped_no_consent: int
