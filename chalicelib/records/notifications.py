"""Notifications as services hand them to the inbox (no framework types).

A ``Notice`` is one thing to tell one person. It names its source (``source_id``: the event
that caused it, e.g. an order id, or a subscription period), so the inbox adds it once
however often the source is replayed: one notice per (recipient, type, source_id).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Notice:
    recipient_id: str
    type: str  # one of the types in API.md "Notifications" (new_order, reorder_due, subscription_skipped...)
    source_id: str  # what caused it; with recipient and type, its idempotency key
    at: float  # epoch seconds
    data: dict[str, Any] = field(default_factory=dict)  # what the app shows and links to (ids, names, counts)
