"""Keeping `make run`'s demo true on today's date: its marker, and rebuilding it when stale.

The demo tells a story relative to the day it was loaded (``devtools.demo``): Minji bought
tofu 9 days ago and it is due again, Jiho's next subscription order is 8 days ahead, 오영수
stopped coming two months ago. Data kept on disk ages with the calendar: a few days later the
subscription places its next order, two months later Minji has lapsed too. So the demo records
the day it was loaded (a marker item), and a start more than ``KEEP_DAYS`` later erases the
demo's own items and loads the story again on today's date.

What is the demo's own is decided from the demo's accounts: the users with the demo e-mails
(and the ids the marker recorded) and their shops. An item is erased when the ids in it
(ULIDs, in keys and attributes) name a demo account or shop and no other account or shop, or
only name things of the demo's (its posts, orders, subscriptions...). Anything that names a
user's account or shop — their profile, shop, products, posts, follows, orders, likes,
comments, even those on a demo shop — is left exactly as it is.

The erasing is an ordinary series of deletes on the main table, so its stream carries them to
the stream handlers as any removal: a demo post leaves the feeds it was in (a user's too), a
demo account's removal is finished like a closed account's (``events.accounts``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

DAY = 86_400.0
# The demo is loaded again once it is older than this. Everything the story shows holds for
# longer: the subscription's next order is 8 days after the load, Minji's tofu stays due and
# she stays a regular for weeks, 오영수 stays lapsed and the referrals keep their status.
KEEP_DAYS = 3.0
MARKER_KEY = {"pk": {"S": "UNIQUE#demo#story"}, "sk": {"S": "UNIQUE"}}
ULID = re.compile(r"(?<![0-9A-Za-z])[0-9A-HJKMNP-TV-Z]{26}(?![0-9A-Za-z])")


def app_now() -> float:
    """The app's clock, read at call time."""
    from chalicelib import clock

    return clock.now()


@dataclass(frozen=True)
class Marker:
    loaded_at: float | None  # None: loaded by a version that did not record it
    user_ids: frozenset[str] = frozenset()
    shop_ids: frozenset[str] = frozenset()


@dataclass
class Erased:
    main: int = 0
    feed: int = 0
    kept: int = 0  # items naming a demo id that also name a user's account or shop
    user_ids: set[str] = field(default_factory=set)
    shop_ids: set[str] = field(default_factory=set)


def _client():
    import boto3

    from chalicelib.wiring import container

    settings = container().settings
    return boto3.client("dynamodb", region_name=settings.region, endpoint_url=settings.dynamodb_endpoint), settings


def read_marker() -> Marker | None:
    """The demo's marker, or None when no demo was loaded (by this version or an earlier one)."""
    from devtools.demo import SEED_VERSION

    client, settings = _client()
    item = client.get_item(TableName=settings.table_name, Key=MARKER_KEY, ConsistentRead=True).get("Item")
    if item is not None:
        return Marker(loaded_at=float(item["loaded_at"]["N"]),
                      user_ids=frozenset(item.get("user_ids", {}).get("SS", [])),
                      shop_ids=frozenset(item.get("shop_ids", {}).get("SS", [])))
    old = {"pk": {"S": f"UNIQUE#demo#{SEED_VERSION}"}, "sk": {"S": "UNIQUE"}}  # before load dates were kept
    if client.get_item(TableName=settings.table_name, Key=old, ConsistentRead=True).get("Item") is not None:
        return Marker(loaded_at=None)
    return None


def write_marker(loaded_at: float, user_ids: Iterable[str], shop_ids: Iterable[str]) -> None:
    from devtools.demo import SEED_VERSION

    client, settings = _client()
    item: dict[str, Any] = {**MARKER_KEY, "entity": {"S": "unique"}, "kind": {"S": "demo"},
                            "owner_id": {"S": "seed"}, "loaded_at": {"N": repr(float(loaded_at))}}
    if user_ids := sorted(user_ids):
        item["user_ids"] = {"SS": user_ids}
    if shop_ids := sorted(shop_ids):
        item["shop_ids"] = {"SS": shop_ids}
    client.put_item(TableName=settings.table_name, Item=item)
    client.delete_item(TableName=settings.table_name,
                       Key={"pk": {"S": f"UNIQUE#demo#{SEED_VERSION}"}, "sk": {"S": "UNIQUE"}})


def is_fresh(marker: Marker | None, now: float) -> bool:
    """Whether the demo loaded as ``marker`` says still tells its story at ``now``."""
    return (marker is not None and marker.loaded_at is not None
            and 0 <= now - marker.loaded_at < KEEP_DAYS * DAY)


def demo_accounts(marker: Marker | None = None) -> tuple[set[str], set[str]]:
    """(user ids, shop ids) of the demo: the accounts with the demo e-mails, the ids the
    marker recorded, and their shops."""
    from devtools.demo import CUSTOMERS, OWNERS, STORY_CUSTOMERS

    client, settings = _client()
    users = set(marker.user_ids) if marker else set()
    shops = set(marker.shop_ids) if marker else set()
    for person in (*OWNERS, *CUSTOMERS, *STORY_CUSTOMERS):
        key = {"pk": {"S": f"UNIQUE#email#{person['email']}"}, "sk": {"S": "UNIQUE"}}
        guard = client.get_item(TableName=settings.table_name, Key=key, ConsistentRead=True).get("Item")
        if guard is not None:
            users.add(guard["owner_id"]["S"])
    for user_id in list(users):
        profile = client.get_item(TableName=settings.table_name, ConsistentRead=True,
                                  Key={"pk": {"S": f"USER#{user_id}"}, "sk": {"S": "PROFILE"}}).get("Item")
        if profile is not None and "shop_id" in profile and "S" in profile["shop_id"]:
            shops.add(profile["shop_id"]["S"])
    return users, shops


# --- which items are the demo's ------------------------------------------------------------------


def _strings(value: Any) -> Iterator[str]:
    """Every string in a low-level DynamoDB item or attribute value (map keys included)."""
    if isinstance(value, dict):
        for key, inner in value.items():
            if key in ("S", "N", "B", "BOOL", "NULL", "NS", "BS"):
                if key == "S":
                    yield inner
            elif key == "SS":
                yield from inner
            elif key == "L":
                for element in inner:
                    yield from _strings(element)
            else:  # an item's attribute name, or a map's key ("M" holds a dict of them)
                if key != "M":
                    yield key
                yield from _strings(inner)


def ids_in(item: dict[str, Any]) -> set[str]:
    return {match for text in _strings(item) for match in ULID.findall(text)}


def _principals(item: dict[str, Any]) -> Iterator[str]:
    """The account or shop id an item is the profile of."""
    entity = item.get("entity", {}).get("S")
    if entity == "user" and "S" in item.get("user_id", {}):
        yield item["user_id"]["S"]
    elif entity == "shop" and "S" in item.get("shop_id", {}):
        yield item["shop_id"]["S"]


def demo_items(items: list[dict[str, Any]], demo_ids: set[str]) -> tuple[list[int], int]:
    """Indexes of the demo's own items among ``items``, and how many items naming a demo id
    were kept because they also name another account or shop."""
    others = {pid for item in items for pid in _principals(item)} - demo_ids
    found = [ids_in(item) for item in items]
    chosen: set[int] = set()
    kept = 0
    for i, ids in enumerate(found):  # names a demo account or shop, and no other
        if ids & demo_ids:
            if ids & others:
                kept += 1
            else:
                chosen.add(i)
    derived = set().union(*(found[i] for i in chosen)) if chosen else set()
    grew = True
    while grew:  # names only things of the demo's (a post's fan-out, a subscription's due day)
        grew = False
        for i, ids in enumerate(found):
            if i not in chosen and ids and ids <= derived:
                chosen.add(i)
                grew = True
    return sorted(chosen), kept


def _scan(client, table: str) -> Iterator[dict[str, Any]]:
    for page in client.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        yield from page["Items"]


def _delete(client, table: str, items: list[dict[str, Any]], key_names: tuple[str, ...] = ("pk", "sk")) -> None:
    import time

    for start in range(0, len(items), 25):
        requests = [{"DeleteRequest": {"Key": {k: item[k] for k in key_names}}} for item in items[start:start + 25]]
        pending = {table: requests}
        for attempt in range(10):
            pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
            if not pending:
                break
            time.sleep(0.05 * (attempt + 1))
        else:
            raise RuntimeError(f"could not delete {len(pending[table])} demo item(s) from {table}")


def erase(marker: Marker | None = None) -> Erased:
    """Delete the demo's own items from both tables (never an item naming a user's account or shop)."""
    client, settings = _client()
    users, shops = demo_accounts(marker)
    erased = Erased(user_ids=users, shop_ids=shops)
    if not users and not shops:
        return erased
    demo_ids = users | shops
    main = list(_scan(client, settings.table_name))
    feed = list(_scan(client, settings.feed_table_name))
    chosen, erased.kept = demo_items(main + feed, demo_ids)
    in_main = [main[i] for i in chosen if i < len(main)]
    in_feed = [feed[i - len(main)] for i in chosen if i >= len(main)]
    profiles = [item for item in in_main if item.get("entity", {}).get("S") == "user"]
    # The profiles last: their removal finishes like a closed account's, after the rest is gone.
    _delete(client, settings.feed_table_name, in_feed)
    _delete(client, settings.table_name, [item for item in in_main if item not in profiles])
    _delete(client, settings.table_name, profiles)
    erased.main, erased.feed = len(in_main), len(in_feed)
    return erased


@dataclass(frozen=True)
class Prepared:
    action: str  # "kept", "loaded" or "rebuilt"
    loaded_at: float
    erased: Erased | None = None


def ensure(load: Callable[[], tuple[set[str], set[str]]], now: float | None = None,
           after_erase: Callable[[], Any] | None = None) -> Prepared:
    """Keep the demo if it still tells its story at ``now`` (the app's clock); else erase
    what there is of it and ``load()`` it again (which returns its user and shop ids).

    ``after_erase`` runs between the two (a test's stream reader, to deliver the removals).
    """
    now = app_now() if now is None else now
    marker = read_marker()
    if is_fresh(marker, now):
        return Prepared("kept", marker.loaded_at)
    erased = erase(marker) if marker is not None or any(demo_accounts()) else None
    if after_erase is not None:
        after_erase()
    users, shops = load()
    write_marker(now, users, shops)
    return Prepared("rebuilt" if erased is not None else "loaded", now, erased)
