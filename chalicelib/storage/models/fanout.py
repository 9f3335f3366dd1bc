"""Fan-out work items: the chunks of a big shop's post still to deliver."""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute

from chalicelib.storage.base import MainItem


def fanout_pk(post_id: str) -> str:
    return f"FANOUT#{post_id}"


def fanout_sk(action: str, version: int, seq: int) -> str:
    return f"{action}#{version:06d}#{seq:08d}"


class FanoutItem(MainItem, discriminator="fanout"):
    """"Deliver post ``post_id`` (``action``) to the followers after ``after``."

    Key design: ``pk = FANOUT#<post_id>``, ``sk = <action>#<version>#<seq>``. Written with
    ``attribute_not_exists``, so a chunk replayed or run twice enqueues its successor once;
    its INSERT on the table's stream runs the chunk (``events.feed``). Nothing queries
    these items: they exist to be streamed, and expire a day later (TTL).
    Stream contract: INSERT = run this chunk; REMOVE (TTL) = nothing.
    """

    post_id = UnicodeAttribute()
    shop_id = UnicodeAttribute()
    action = UnicodeAttribute()
    version = NumberAttribute()
    seq = NumberAttribute()
    after = UnicodeAttribute(null=True)
    created_at = NumberAttribute()
    expires_at = TTLAttribute()
