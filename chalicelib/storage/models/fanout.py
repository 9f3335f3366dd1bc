"""Fan-out work items: the chunks of a big shop's post still to deliver."""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute

from chalicelib.storage.base import MainItem


def fanout_pk(post_id: str, path: str) -> str:
    return f"FANOUT#{post_id}#{path}"


def fanout_sk(action: str, version: int) -> str:
    return f"{action}#{version:06d}"


class FanoutItem(MainItem, discriminator="fanout"):
    """"Deliver post ``post_id`` (``action``) to the followers in ``(after, until]``."

    Key design: ``pk = FANOUT#<post_id>#<path>``, ``sk = <action>#<version>``, where ``path``
    is the chunk's place in its post's tree (``FanoutWork.path``): each chunk has its own
    partition key, so the chunks of one post spread over the table's partitions and stream
    shards and run side by side. The children of one chunk are written together, each with
    ``attribute_not_exists`` in one TransactWriteItems, so a chunk replayed or run twice
    hands on once; its INSERT on the table's stream runs the chunk (``events.feed``).
    Nothing queries these items: they exist to be streamed, and expire a day later (TTL).
    Stream contract: INSERT = run this chunk; REMOVE (TTL) = nothing.

    Items written before the tree (``sk`` ending in a sequence number, no ``path``) still run:
    as the root of the followers after ``after``.
    """

    post_id = UnicodeAttribute()
    shop_id = UnicodeAttribute()
    action = UnicodeAttribute()
    version = NumberAttribute()
    path = UnicodeAttribute(null=True)
    after = UnicodeAttribute(null=True)
    until = UnicodeAttribute(null=True)
    created_at = NumberAttribute()
    expires_at = TTLAttribute()
