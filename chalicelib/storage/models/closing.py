"""The steps a closed account leaves for the stream (``services.closing``)."""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute

from chalicelib.storage.base import MainItem


def closing_pk(user_id: str) -> str:
    return f"CLOSING#{user_id}"


def step_sk(kind: str, seq: int) -> str:
    return f"STEP#{kind}#{seq:06d}"


class ClosingStepItem(MainItem, discriminator="closing_step"):
    """"Do one page of ``kind`` for the closed account ``user_id``, starting at ``after``."

    Key design: ``pk = CLOSING#<user_id>``, ``sk = STEP#<kind>#<seq>``. Written with
    ``attribute_not_exists``, so the profile's REMOVE, replayed, enqueues each first step once,
    and a step run twice enqueues its successor once. Its INSERT on the table's stream runs it
    (``events.closing``); it is never modified, and TTL tidies it up (``expires_at``).
    Stream contract: INSERT = run this step.
    """

    user_id = UnicodeAttribute()
    kind = UnicodeAttribute()
    seq = NumberAttribute()
    shop_id = UnicodeAttribute(null=True)
    shop_name = UnicodeAttribute(default="")
    closed_at = NumberAttribute()
    after = UnicodeAttribute(null=True)
    expires_at = TTLAttribute(null=True)
