"""Broadcasts: a shop's message to a segment of its customers, and the chunks that deliver it."""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import BooleanAttribute, ListAttribute, NumberAttribute, UnicodeAttribute

from chalicelib.storage.base import MainItem

BROADCAST_SK = "BROADCAST"
CHUNK_PREFIX = "CHUNK#"
HELD_GSI = "BROADCASTS#HELD"


def broadcast_pk(broadcast_id: str) -> str:
    return f"BROADCAST#{broadcast_id}"


def chunk_sk(pass_no: int, seq: int, part: int = 0) -> str:
    return f"{CHUNK_PREFIX}{pass_no:02d}#{seq:08d}#{part:03d}"


def shop_broadcasts_gsi(shop_id: str) -> str:
    return f"SHOP#{shop_id}#BROADCASTS"


class BroadcastItem(MainItem, discriminator="broadcast"):
    """A shop's broadcast as the owner sent it.

    Key design: ``pk = BROADCAST#<id>``, ``sk = BROADCAST``; its chunks share the partition
    (``sk = CHUNK#<pass>#<seq>#<part>``), so its progress is one Query (a few hundred chunk items at
    100,000 recipients). Each delivered message has the broadcast's id (``MSG#<broadcast_id>`` in
    the recipient's conversation), which is what keeps it from being written twice.
    gsi1 = ``SHOP#<shop_id>#BROADCASTS`` / ``<created_at>#<id>`` (the shop's broadcasts);
    gsi2 = ``BROADCASTS#HELD`` / ``<ISO held_until>#<id>``, sparse: set while a morning pass is
    due (an advertising broadcast that reached 21:00–08:00 KST), so the release job reads the due
    ones as one Query (``gsi2sk <= now``) and removes the keys as it starts the pass.
    """

    broadcast_id = UnicodeAttribute()
    shop_id = UnicodeAttribute()
    shop_name = UnicodeAttribute()
    owner_id = UnicodeAttribute()
    audience_tier = UnicodeAttribute(null=True)
    audience_essential_due = BooleanAttribute(default=False)
    audience_user_ids: ListAttribute[Any] = ListAttribute(of=UnicodeAttribute, default=list)
    text = UnicodeAttribute()
    advertising = BooleanAttribute()
    coupon_id = UnicodeAttribute(null=True)
    created_at = NumberAttribute()
    held_until = NumberAttribute(null=True)
    held_pass = NumberAttribute(null=True)
    requested_pass = NumberAttribute(null=True)  # the latest pass asked for: each is asked for once


class BroadcastChunkItem(MainItem, discriminator="broadcast_chunk"):
    """"Deliver broadcast ``broadcast_id`` (pass ``pass_no``) to the audience after ``after``."

    Key design: ``pk = BROADCAST#<id>``, ``sk = CHUNK#<pass>#<seq>#<part>``. Written with
    ``attribute_not_exists``, so a chunk replayed or run twice enqueues its successor once; its
    INSERT on the table's stream runs it (``events.broadcasts``); its MODIFYs (counters) are
    nothing to do. ``delivered`` moves in each delivery's own transaction (exact);
    ``seen`` / ``skipped`` / ``held`` are set when the chunk has gone through its recipients.
    Stream contract: INSERT = run this chunk; MODIFY = nothing.
    """

    broadcast_id = UnicodeAttribute()
    pass_no = NumberAttribute()
    seq = NumberAttribute()
    part = NumberAttribute(default=0)
    after = UnicodeAttribute(null=True)
    created_at = NumberAttribute()
    delivered = NumberAttribute(default=0)
    seen = NumberAttribute(null=True)
    skipped = NumberAttribute(null=True)
    held = NumberAttribute(null=True)
    last = BooleanAttribute(default=False)
