"""Table definitions, generated from the PynamoDB models.

The models are the single source of truth for key schemas and indexes: the local runner,
the tests and the deployment template all take their table definitions from here, and a
test checks the packaged template against the models, so they cannot drift.

Creating tables is for DynamoDB Local and moto only; deployed code never calls this
(CloudFormation owns the tables there).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from pynamodb.models import Model

from chalicelib.storage.base import FeedItem, MainItem, models_of

PAY_PER_REQUEST = "PAY_PER_REQUEST"


def _hash_first(key_schema: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return sorted(key_schema, key=lambda k: 0 if k["KeyType"] == "HASH" else 1)


def schema_of(base: type[Model]) -> dict[str, Any]:
    """Key schema, attribute definitions and indexes shared by every model of ``base``'s table."""
    schemas = [m._get_schema() for m in [base, *models_of(base)]]
    first = schemas[0]
    for other in schemas[1:]:
        if other["key_schema"] != first["key_schema"]:
            raise ValueError(f"models of {base.__name__} disagree on the key schema")
    attrs = {a["AttributeName"]: a["AttributeType"] for s in schemas for a in s["attribute_definitions"]}
    gsis = {g["index_name"]: g for s in schemas for g in s["global_secondary_indexes"]}
    lsis = {i["index_name"]: i for s in schemas for i in s["local_secondary_indexes"]}
    definition: dict[str, Any] = {
        "AttributeDefinitions": [{"AttributeName": n, "AttributeType": t} for n, t in sorted(attrs.items())],
        "KeySchema": _hash_first(first["key_schema"]),
    }
    if gsis:
        definition["GlobalSecondaryIndexes"] = [
            {"IndexName": n, "KeySchema": _hash_first(g["key_schema"]), "Projection": g["projection"]}
            for n, g in sorted(gsis.items())
        ]
    if lsis:
        definition["LocalSecondaryIndexes"] = [
            {"IndexName": n, "KeySchema": _hash_first(i["key_schema"]), "Projection": i["projection"]}
            for n, i in sorted(lsis.items())
        ]
    return definition


def table_specs(main_table: str, feed_table: str) -> list[dict[str, Any]]:
    """``CreateTable`` arguments for both tables (also the CloudFormation properties)."""
    main = {
        "TableName": main_table,
        **schema_of(MainItem),
        "BillingMode": PAY_PER_REQUEST,
        "StreamSpecification": {"StreamEnabled": True, "StreamViewType": MainItem.Meta.stream_view_type},
    }
    feed = {"TableName": feed_table, **schema_of(FeedItem), "BillingMode": PAY_PER_REQUEST}
    return [main, feed]


TTL_ATTRIBUTES = {"feed": "expires_at", "main": "expires_at"}


def ensure_tables(client: Any, main_table: str, feed_table: str, timeout: float = 60.0) -> list[str]:
    """Create the missing tables (idempotent) and wait until they are active.

    Returns the names created. ``client`` is a botocore/boto3 DynamoDB client.
    """
    existing = set()
    for page in client.get_paginator("list_tables").paginate():
        existing.update(page["TableNames"])
    created = []
    for spec, ttl_key in zip(table_specs(main_table, feed_table), ("main", "feed")):
        name = spec["TableName"]
        if name in existing:
            continue
        client.create_table(**spec)
        created.append(name)
        deadline = time.monotonic() + timeout
        while client.describe_table(TableName=name)["Table"]["TableStatus"] != "ACTIVE":
            if time.monotonic() > deadline:
                raise TimeoutError(f"table {name} did not become active")
            time.sleep(0.1)
        client.update_time_to_live(
            TableName=name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTES[ttl_key]},
        )
    return created
