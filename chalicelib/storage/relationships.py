"""Relationship pairs, the owner's notes, tier transitions and the lapse sweep's watermark.

Every access is a GetItem, a Query on an index, a BatchGetItem or one conditional write:

* an event on a pair: GetItem, then one PutItem conditional on the version read (or one
  TransactWriteItems when the tier changes, with the transition item);
* a shop's customers / one tier of them / a customer's shops: one Query on gsi1 / gsi2 /
  gsi3, strongest first by the forward-decay key (the ranked feed reads the customer's
  strongest shops the same way, projected to shop id and state);
* the customer card: one BatchGetItem (shop, pair, note);
* the note: one TransactWriteItems (the pair must exist; the note is its own item);
* due lapses: one Query per shard of each day bucket on gsi4 (``storage.buckets``), in parallel.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from pynamodb.attributes import MapAttribute
from pynamodb.exceptions import PutError, TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.errors import NotFound
from chalicelib.ids import iso
from chalicelib.records.accounts import Shop
from chalicelib.records.common import Page
from chalicelib.records.relationships import (
    Essential,
    Favourite,
    Note,
    Pair,
    ShopInfo,
    StaleWrite,
    TierChange,
)
from chalicelib.records.relationships import RANK_KEY_FLOOR, RelationshipState, Tier
from chalicelib.storage.rank_keys import encode_rank_key
from chalicelib.storage.accounts import PROFILE, _connection
from chalicelib.storage.base import MainItem
from chalicelib.storage.buckets import read_items
from chalicelib.storage.models.accounts import ShopItem, UserItem, shop_pk, user_pk
from chalicelib.storage.models.relationships import (
    CustomerNoteItem,
    JobStateItem,
    RelationshipItem,
    TierTransitionItem,
    customers_pk,
    lapse_pk,
    lapse_pks,
    my_shops_pk,
    note_sk,
    rel_pk,
    rel_sk,
    tier_pk,
)
from chalicelib.storage.paging import page_of
from chalicelib.storage.retry import cancellation_codes, with_retries
from chalicelib.storage.shops import to_shop

CONDITION_FAILED = "ConditionalCheckFailed"
_STATE: MapAttribute[str, Any] = MapAttribute()  # decodes a stored state map to plain values
# Shop profiles change rarely and their owner never: new pairs (the only reason the stream
# path reads a shop) may use a copy this old.
SHOP_CACHE_SECONDS = 300.0
# The gsi3 sort key of a pair the ranked lists leave out: below every encoded rank key
# (they start with a digit), so "my shops" reads only from LISTED_FROM up.
UNLISTED = "!"
LISTED_FROM = "0"
# Due pairs read per Query of one shard of a lapse bucket.
LAPSE_PAGE = 100
# DynamoDB numbers stop at 1e-130; a score part that small (centuries of decay) is zero.
_TINY = 1e-100


def _num(value: float) -> float:
    return 0.0 if abs(value) < _TINY else value


def _state_out(state: RelationshipState) -> dict[str, Any]:
    data = state.to_dict()
    data["parts"] = {name: _num(value) for name, value in data["parts"].items()}
    data["score"] = _num(data["score"])
    return data


def to_item(pair: Pair, now: float, rank: float | None) -> RelationshipItem:
    """``rank`` is the pair's forward-decay key, or None when the ranked lists leave it out."""
    state = pair.state
    encoded = encode_rank_key(rank) if rank is not None else None
    # An unlisted pair has no strength left: its key is the floor (it sorts last).
    item = RelationshipItem(
        rel_pk(pair.shop_id), rel_sk(pair.user_id),
        shop_id=pair.shop_id, user_id=pair.user_id, customer_name=pair.customer_name,
        shop_name=pair.shop_name, shop_handle=pair.shop_handle, state=_state_out(state), tier=pair.tier.value,
        rank=encoded or encode_rank_key(RANK_KEY_FLOOR),
        favourites=[{"product_id": f.product_id, "name": f.name, "orders": f.orders, "quantity": f.quantity,
                     "last_at": f.last_at} for f in pair.favourites],
        essentials=[{"product_id": e.product_id, "name": e.name, "reorder_days": e.reorder_days,
                     "times": list(e.times)} for e in pair.essentials],
        seen=list(pair.seen),
        history=[{"from": c.from_tier.value, "to": c.to_tier.value, "at": c.at, "milestone": c.milestone}
                 for c in pair.history],
        lapse_at=pair.lapse_at, since=pair.since, created_at=pair.created_at or now, written_at=now,
    )
    if pair.version is not None:
        item.version = pair.version  # the write is conditional on it (absent: a new pair)
    # gsi3 holds every pair of the customer (closing an account finds them all there); the
    # unlisted ones under a sort key below every rank key, which "my shops" never reads.
    item.gsi3pk, item.gsi3sk = my_shops_pk(pair.user_id), encoded or UNLISTED
    if encoded is not None:
        item.gsi1pk, item.gsi1sk = customers_pk(pair.shop_id), encoded
        item.gsi2pk, item.gsi2sk = tier_pk(pair.shop_id, pair.tier.value), encoded
    if pair.lapse_at is not None:
        item.gsi4pk = lapse_pk(iso(pair.lapse_at)[:10], pair.shop_id, pair.user_id)
        item.gsi4sk = f"{iso(pair.lapse_at)}#{pair.shop_id}#{pair.user_id}"
    return item


def to_pair(item: RelationshipItem) -> Pair:
    return Pair(
        shop_id=item.shop_id, user_id=item.user_id, customer_name=item.customer_name,
        shop_name=item.shop_name, shop_handle=item.shop_handle,
        state=RelationshipState.from_dict(item.state.as_dict() if isinstance(item.state, MapAttribute) else item.state),
        tier=Tier(item.tier),
        favourites=tuple(Favourite(f["product_id"], f["name"], int(f["orders"]), int(f["quantity"]),
                                   float(f["last_at"])) for f in item.favourites or ()),
        essentials=tuple(Essential(e["product_id"], e["name"], int(e["reorder_days"]),
                                   tuple(float(t) for t in e["times"])) for e in item.essentials or ()),
        seen=tuple(item.seen or ()),
        history=tuple(TierChange(Tier(c["from"]), Tier(c["to"]), float(c["at"]), c.get("milestone"))
                      for c in item.history or ()),
        lapse_at=None if item.lapse_at is None else float(item.lapse_at),
        since=None if item.since is None else float(item.since), created_at=float(item.created_at),
        version=item.version,
    )


def transition_item(pair: Pair, change: TierChange, now: float) -> TierTransitionItem:
    return TierTransitionItem(
        rel_pk(pair.shop_id), f"TRANSITION#{pair.user_id}#{iso(change.at)}#{change.to_tier.value}",
        shop_id=pair.shop_id, user_id=pair.user_id, from_tier=change.from_tier.value,
        to_tier=change.to_tier.value, milestone=change.milestone, at=change.at, created_at=now,
    )


class RelationshipsRepository:
    def __init__(self) -> None:
        self._shops: dict[str, tuple[float, ShopInfo | None]] = {}

    # --- the write path (stream handler, lapse sweep) --------------------------------------

    def get_pair(self, shop_id: str, user_id: str) -> Pair | None:
        try:
            return to_pair(RelationshipItem.get(rel_pk(shop_id), rel_sk(user_id), consistent_read=True))
        except RelationshipItem.DoesNotExist:
            return None

    def put_pair(self, pair: Pair, changes: Sequence[TierChange], now: float, rank: float | None) -> None:
        """One conditional PutItem; one transaction with the transition items when the tier
        changed. ``StaleWrite`` when the pair's version moved since it was read."""
        item = to_item(pair, now, rank)
        if not changes:
            def write() -> None:
                item.save()  # conditional on the version read (VersionAttribute)
        else:
            extras = [transition_item(pair, change, now) for change in changes]

            def write() -> None:
                with TransactWrite(connection=_connection()) as tx:
                    tx.save(item)
                    for extra in extras:
                        tx.save(extra)
        try:
            with_retries(write)
        except PutError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                raise StaleWrite from error
            raise
        except TransactWriteError as error:
            codes = cancellation_codes(error)
            if codes and codes[0] == CONDITION_FAILED:
                raise StaleWrite from error
            raise

    def shop_info(self, shop_id: str) -> ShopInfo | None:
        cached = self._shops.get(shop_id)
        if cached is not None and time.monotonic() - cached[0] < SHOP_CACHE_SECONDS:
            return cached[1]
        try:
            item = ShopItem.get(shop_pk(shop_id), PROFILE)
            info = ShopInfo(item.shop_id, item.owner_id, item.name, item.handle)
        except ShopItem.DoesNotExist:
            info = None
        self._shops[shop_id] = (time.monotonic(), info)
        return info

    def user_name(self, user_id: str) -> str | None:
        try:
            return UserItem.get(user_pk(user_id), PROFILE).name
        except UserItem.DoesNotExist:
            return None

    def due_lapses(self, day: str, until: float) -> Iterator[tuple[str, str]]:
        """Pairs in ``day``'s bucket whose lapse moment is at or before ``until``: every shard and
        the legacy key, a page (``LAPSE_PAGE``) of each at a time, read in parallel
        (``storage.buckets.read_items``). Close the iterator to stop early."""
        bound = f"{iso(until)}~"

        def page(pk: str, start: dict | None) -> tuple[list[tuple[str, str]], dict | None]:
            def read() -> tuple[list[tuple[str, str]], dict | None]:
                results = RelationshipItem.gsi4.query(pk, RelationshipItem.gsi4sk <= bound, limit=LAPSE_PAGE,
                                                      page_size=LAPSE_PAGE, last_evaluated_key=start)
                return [(item.shop_id, item.user_id) for item in results], results.last_evaluated_key

            return with_retries(read)

        yield from read_items(lapse_pks(day), page)

    def sweep_watermark(self) -> str | None:
        try:
            return JobStateItem.get("JOB#lapse-sweep", "STATE").day
        except JobStateItem.DoesNotExist:
            return None

    def set_sweep_watermark(self, day: str, now: float) -> None:
        JobStateItem("JOB#lapse-sweep", "STATE", day=day, updated_at=now).save()

    # --- reads -----------------------------------------------------------------------------

    def customers(self, shop_id: str, tier: str | None, limit: int, start_key: dict | None) -> Page:
        if tier is None:
            results = RelationshipItem.gsi1.query(customers_pk(shop_id), scan_index_forward=False, limit=limit,
                                                  last_evaluated_key=start_key)
        else:
            results = RelationshipItem.gsi2.query(tier_pk(shop_id, tier), scan_index_forward=False, limit=limit,
                                                  last_evaluated_key=start_key)
        return page_of(results, limit, to_pair)

    def my_shops(self, user_id: str, limit: int, start_key: dict | None) -> Page:
        results = RelationshipItem.gsi3.query(my_shops_pk(user_id), RelationshipItem.gsi3sk >= LISTED_FROM,
                                              scan_index_forward=False, limit=limit, last_evaluated_key=start_key)
        return page_of(results, limit, to_pair)

    def remove_customer(self, user_id: str) -> int:
        """Delete every pair of a closed account and the owners' notes about it: its pairs
        from gsi3 (pages of 100, listed or not), then BatchWriteItem deletes (25 keys a call).
        Returns how many pairs there were."""
        results = RelationshipItem.gsi3.query(my_shops_pk(user_id), page_size=100,
                                              attributes_to_get=["pk", "sk", "entity", "shop_id"])
        shops = with_retries(lambda: [item.shop_id for item in results])
        with MainItem.batch_write() as batch:
            for shop_id in shops:
                batch.delete(RelationshipItem(rel_pk(shop_id), rel_sk(user_id)))
                batch.delete(CustomerNoteItem(rel_pk(shop_id), note_sk(user_id)))
        return len(shops)

    def card(self, shop_id: str, user_id: str) -> tuple[Shop | None, Pair | None, Note | None]:
        keys = [(shop_pk(shop_id), PROFILE), (rel_pk(shop_id), rel_sk(user_id)), (rel_pk(shop_id), note_sk(user_id))]
        shop = pair = note = None
        for item in MainItem.batch_get(keys):
            if isinstance(item, ShopItem):
                shop = to_shop(item)
            elif isinstance(item, RelationshipItem):
                pair = to_pair(item)
            elif isinstance(item, CustomerNoteItem):
                note = Note(item.note, float(item.updated_at))
        return shop, pair, note

    def put_note(self, shop_id: str, user_id: str, text: str, now: float) -> Note:
        """Write the note if ``user_id`` is a customer of the shop (one transaction)."""
        item = CustomerNoteItem(rel_pk(shop_id), note_sk(user_id), shop_id=shop_id, user_id=user_id, note=text,
                                updated_at=now)

        def write() -> None:
            with TransactWrite(connection=_connection()) as tx:
                tx.condition_check(RelationshipItem, rel_pk(shop_id), rel_sk(user_id),
                                   condition=RelationshipItem.pk.exists())
                tx.save(item)

        try:
            with_retries(write)
        except TransactWriteError as error:
            if cancellation_codes(error)[:1] == [CONDITION_FAILED]:
                raise NotFound("This person is not a customer of the shop.") from error
            raise
        return Note(text, now)

    def strongest_shops(self, user_id: str, count: int) -> list[tuple[str, RelationshipState]]:
        """The customer's ``count`` strongest shops now, strongest first, as ``(shop_id, state)``:
        one Query on gsi3 (eventually consistent), decoding only those two attributes of each
        pair. The capacity is the whole items' (≈ 1 KB each); the projection spares decoding
        the rest (favourites, history, ...), which is most of the time a ``my_shops`` page takes.
        """
        request = {"TableName": RelationshipItem.Meta.table_name, "IndexName": "gsi3",
                   "KeyConditionExpression": "gsi3pk = :pk AND gsi3sk >= :listed", "ExpressionAttributeValues": {
                       ":pk": {"S": my_shops_pk(user_id)}, ":listed": {"S": LISTED_FROM}},
                   "ProjectionExpression": "shop_id, #state", "ExpressionAttributeNames": {"#state": "state"},
                   "ScanIndexForward": False, "Limit": count}
        response = _connection().dispatch("Query", request)
        return [(raw["shop_id"]["S"], RelationshipState.from_dict(_STATE.deserialize(raw["state"]["M"])))
                for raw in response.get("Items", [])]

    def pairs_of_reader(self, user_id: str, shop_ids: Sequence[str]) -> list[Pair]:
        """The reader's pairs with these shops (missing ones are skipped): one BatchGetItem
        per 100 shops."""
        keys = [(rel_pk(shop_id), rel_sk(user_id)) for shop_id in dict.fromkeys(shop_ids)]
        return [to_pair(item) for item in RelationshipItem.batch_get(keys)] if keys else []

    def pairs_of_shop(self, shop_id: str, user_ids: Sequence[str]) -> list[Pair]:
        """The shop's pairs with these customers (missing ones are skipped): one BatchGetItem
        per 100 customers."""
        keys = [(rel_pk(shop_id), rel_sk(user_id)) for user_id in dict.fromkeys(user_ids)]
        return [to_pair(item) for item in RelationshipItem.batch_get(keys)] if keys else []

    # --- bulk loading (demo data, tests and benchmarks only) --------------------------------

    def load(self, pairs: Iterable[tuple[Pair, float | None]], now: float) -> None:
        """Write many ``(pair, rank)`` unconditionally with BatchWriteItem: for building test
        data fast, never on a live path (it bypasses the version check)."""
        with RelationshipItem.batch_write() as batch:
            for pair, rank in pairs:
                item = to_item(pair, now, rank)
                item.version = (pair.version or 0) + 1
                batch.save(item)
