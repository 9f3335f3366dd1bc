"""The local tables for `make run`: created from the models, checked against them when they exist.

DynamoDB Local keeps its data on disk, so a table made by an older version of the models
outlives the change (the feed table lost its ``by_shop`` index, for one). Before serving,
each existing table's key schema, indexes and stream are compared with the models
(``chalicelib.storage.tables.table_specs``):

* the **feed** table holds derived data only: when it differs it is dropped, re-created and
  every reader's feed rebuilt from the follow edges (``FeedManager.merge`` per edge). The
  edges are found with a Scan of the main table: acceptable in this one-off local
  migration, never as an access path;
* the **main** table holds the data itself: when it differs, ``make run`` refuses with a
  message saying what differs, and never drops it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError


class TableMismatch(RuntimeError):
    """The main table on disk was made for another schema; it is kept as it is."""


@dataclass
class Prepared:
    created: list[str]
    rebuilt: str | None = None  # one line about a re-created feed table, if any


def _keys(schema: list[dict[str, str]]) -> list[tuple[str, str]]:
    return sorted(((k["AttributeName"], k["KeyType"]) for k in schema), key=lambda k: k[1] != "HASH")


def _projection(projection: dict[str, Any]) -> tuple[str, tuple[str, ...]]:
    return projection.get("ProjectionType", "ALL"), tuple(sorted(projection.get("NonKeyAttributes", [])))


def _indexes(definition: dict[str, Any], kind: str) -> dict[str, tuple]:
    return {i["IndexName"]: (_keys(i["KeySchema"]), _projection(i.get("Projection", {})))
            for i in definition.get(kind, [])}


def differences(table: dict[str, Any], spec: dict[str, Any]) -> list[str]:
    """How an existing table (DescribeTable's ``Table``) differs from its ``CreateTable`` spec."""
    found = []
    if _keys(table["KeySchema"]) != _keys(spec["KeySchema"]):
        found.append(f"key schema {_keys(table['KeySchema'])} instead of {_keys(spec['KeySchema'])}")
    types = {a["AttributeName"]: a["AttributeType"] for a in table.get("AttributeDefinitions", [])}
    for attribute in spec["AttributeDefinitions"]:
        name = attribute["AttributeName"]
        if name in types and types[name] != attribute["AttributeType"]:
            found.append(f"key attribute {name} of type {types[name]} instead of {attribute['AttributeType']}")
    for kind, label in (("GlobalSecondaryIndexes", "global index"), ("LocalSecondaryIndexes", "local index")):
        have, want = _indexes(table, kind), _indexes(spec, kind)
        found += [f"{label} {name} is not in the models" for name in sorted(set(have) - set(want))]
        found += [f"{label} {name} is missing" for name in sorted(set(want) - set(have))]
        found += [f"{label} {name} has other keys or projection" for name in sorted(set(have) & set(want))
                  if have[name] != want[name]]
    wanted = spec.get("StreamSpecification") or {}
    stream = table.get("StreamSpecification") or {}
    if wanted.get("StreamEnabled") and (not stream.get("StreamEnabled")
                                        or stream.get("StreamViewType") != wanted.get("StreamViewType")):
        found.append(f"stream {stream.get('StreamViewType') if stream.get('StreamEnabled') else 'disabled'} "
                     f"instead of {wanted['StreamViewType']}")
    return found


def follow_edges(client: Any, main_table: str) -> list[tuple[str, str]]:
    """Every (shop_id, user_id) follow edge of the main table, by Scan (local migration only)."""
    edges = []
    paginator = client.get_paginator("scan")
    for page in paginator.paginate(TableName=main_table, FilterExpression="#entity = :follow",
                                   ProjectionExpression="shop_id, user_id",
                                   ExpressionAttributeNames={"#entity": "entity"},
                                   ExpressionAttributeValues={":follow": {"S": "follow"}}):
        edges += [(item["shop_id"]["S"], item["user_id"]["S"]) for item in page["Items"]]
    return edges


def _drop(client: Any, name: str, timeout: float = 60.0) -> None:
    client.delete_table(TableName=name)
    deadline = time.monotonic() + timeout
    while True:
        try:
            client.describe_table(TableName=name)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                return
            raise
        if time.monotonic() > deadline:
            raise TimeoutError(f"table {name} was not deleted within {timeout:.0f}s")
        time.sleep(0.1)


def prepare(client: Any, main_table: str, feed_table: str, merge: Callable[[str, str], object],
            data_label: str = "the local database") -> Prepared:
    """Check existing tables against the models, migrate the feed table, create what is missing.

    ``merge(shop_id, user_id)`` rebuilds one reader's feed from one shop (``FeedManager.merge``).
    Raises ``TableMismatch`` when the main table differs from the models.
    """
    from chalicelib.storage.tables import ensure_tables, table_specs

    existing = set()
    for page in client.get_paginator("list_tables").paginate():
        existing.update(page["TableNames"])
    main_spec, feed_spec = table_specs(main_table, feed_table)
    if main_table in existing:
        found = differences(client.describe_table(TableName=main_table)["Table"], main_spec)
        if found:
            raise TableMismatch(
                f"table {main_table} in {data_label} was made for another schema ({'; '.join(found)}). "
                f"It holds the data, so it is not dropped: move {data_label} aside to start afresh "
                "(the demo data is loaded again).")
    stale = []
    if feed_table in existing:
        stale = differences(client.describe_table(TableName=feed_table)["Table"], feed_spec)
        if stale:
            _drop(client, feed_table)
    created = ensure_tables(client, main_table, feed_table)
    rebuilt = None
    if stale:
        edges = follow_edges(client, main_table)
        for shop_id, user_id in edges:
            merge(shop_id, user_id)
        readers = len({user_id for _, user_id in edges})
        rebuilt = (f"feed table {feed_table} predated the models ({'; '.join(stale)}): re-created it and rebuilt "
                   f"{readers} reader(s)' feeds from {len(edges)} follow(s)")
        created = [name for name in created if name != feed_table]
    return Prepared(created=created, rebuilt=rebuilt)
