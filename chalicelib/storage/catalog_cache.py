"""The shops and products an order path has recently read, kept by a warm Lambda container.

It only ever saves a read: every order's transaction is conditional on each product's
``updated_at`` being the one the cached copy has, so a copy that an owner's edit made stale
cancels the transaction, which hands back the current product (``ALL_OLD``); the order is then
priced again from that. Prices charged are therefore always the prices stored at commit.
What a stale entry can still show is a shop's renamed ``name`` on new orders, for at most
``ttl_seconds``. Store links (``link#<code>``) are kept the same way: their owner and shop never
change, and the transaction checks the give-to-friend flag and the shop's reward setting.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

# One minute: a warm container keeps serving a busy product without reads, and a renamed
# shop shows its new name on orders within a minute.
TTL_SECONDS = 60.0
# A few MB at most: a product record is well under 1 KB.
MAX_ENTRIES = 4096


class CatalogCache:
    """A thread-safe LRU with a time-to-live per entry."""

    def __init__(self, ttl_seconds: float = TTL_SECONDS, max_entries: int = MAX_ENTRIES,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_seconds = ttl_seconds
        self.max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> Any | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry[0] <= self._clock():
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def put(self, key: str, value: Any) -> None:
        with self._lock:
            self._entries[key] = (self._clock() + self.ttl_seconds, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def forget(self, key: str) -> bool:
        """Drop an entry; True if there was one."""
        with self._lock:
            return self._entries.pop(key, None) is not None

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
