"""The order path's catalogue cache: LRU with a time-to-live."""

from __future__ import annotations

from chalicelib.storage.catalog_cache import CatalogCache


def test_entries_expire_and_least_recently_used_go_first():
    now = [100.0]
    cache = CatalogCache(ttl_seconds=10, max_entries=2, clock=lambda: now[0])
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # a is now the most recently used
    cache.put("c", 3)
    assert cache.get("b") is None and cache.get("a") == 1 and cache.get("c") == 3
    now[0] += 10
    assert cache.get("a") is None and len(cache) == 1
    cache.clear()
    assert len(cache) == 0
