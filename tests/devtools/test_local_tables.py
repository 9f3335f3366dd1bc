"""devtools.local_tables on DynamoDB Local: tables made for older models are caught before serving.

The feed table (derived data) is re-created and rebuilt from the follow edges; the main
table (the data itself) is never dropped.
"""

from __future__ import annotations

import copy
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib.storage.tables import ensure_tables, table_specs
from devtools.ddblocal import JAVA_MISSING, DynamoDBLocal, local_client
from devtools.local_tables import TableMismatch, differences, prepare

pytestmark = [pytest.mark.ddblocal, pytest.mark.skipif(shutil.which("java") is None, reason=JAVA_MISSING)]

MAIN, FEED = "lt-main", "lt-feed"


def old_feed_spec() -> dict[str, Any]:
    """The feed table as it was before it lost its ``by_shop`` local index."""
    spec = copy.deepcopy(table_specs(MAIN, FEED)[1])
    spec["AttributeDefinitions"].append({"AttributeName": "lsi1sk", "AttributeType": "S"})
    spec["LocalSecondaryIndexes"] = [{
        "IndexName": "by_shop", "Projection": {"ProjectionType": "ALL"},
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "lsi1sk", "KeyType": "RANGE"}],
    }]
    return spec


@pytest.fixture
def client(ddb_server: DynamoDBLocal) -> Iterator[Any]:
    dynamodb = local_client("dynamodb", ddb_server.endpoint)
    yield dynamodb
    for name in set(dynamodb.list_tables()["TableNames"]) & {MAIN, FEED}:
        dynamodb.delete_table(TableName=name)


def follow(dynamodb: Any, shop_id: str, user_id: str) -> None:
    dynamodb.put_item(TableName=MAIN, Item={
        "pk": {"S": f"SHOP#{shop_id}"}, "sk": {"S": f"FOLLOWER#{user_id}"}, "entity": {"S": "follow"},
        "shop_id": {"S": shop_id}, "user_id": {"S": user_id}, "created_at": {"N": "1"}})


def test_tables_made_from_the_models_have_no_differences(client: Any) -> None:
    ensure_tables(client, MAIN, FEED)
    main_spec, feed_spec = table_specs(MAIN, FEED)
    assert differences(client.describe_table(TableName=MAIN)["Table"], main_spec) == []
    assert differences(client.describe_table(TableName=FEED)["Table"], feed_spec) == []
    merged: list[tuple[str, str]] = []
    prepared = prepare(client, MAIN, FEED, merge=lambda s, u: merged.append((s, u)))
    assert (prepared.created, prepared.rebuilt, merged) == ([], None, [])


def test_missing_tables_are_created(client: Any) -> None:
    prepared = prepare(client, MAIN, FEED, merge=lambda s, u: None)
    assert sorted(prepared.created) == [FEED, MAIN] and prepared.rebuilt is None


def test_an_old_feed_table_is_recreated_and_every_follow_merged(client: Any) -> None:
    ensure_tables(client, MAIN, FEED)
    client.delete_table(TableName=FEED)
    client.create_table(**old_feed_spec())
    client.put_item(TableName=FEED, Item={"pk": {"S": "u1"}, "sk": {"S": "p-old"}, "lsi1sk": {"S": "s1#p-old"}})
    follow(client, "s1", "u1")
    follow(client, "s1", "u2")
    follow(client, "s2", "u1")
    client.put_item(TableName=MAIN, Item={"pk": {"S": "SHOP#s1"}, "sk": {"S": "PROFILE"}, "entity": {"S": "shop"}})
    assert differences(client.describe_table(TableName=FEED)["Table"], table_specs(MAIN, FEED)[1]) == [
        "local index by_shop is not in the models"]

    merged: list[tuple[str, str]] = []
    prepared = prepare(client, MAIN, FEED, merge=lambda s, u: merged.append((s, u)))

    assert sorted(merged) == [("s1", "u1"), ("s1", "u2"), ("s2", "u1")]
    assert prepared.created == []
    assert prepared.rebuilt == (f"feed table {FEED} predated the models (local index by_shop is not in the "
                                "models): re-created it and rebuilt 2 reader(s)' feeds from 3 follow(s)")
    table = client.describe_table(TableName=FEED)["Table"]
    assert "LocalSecondaryIndexes" not in table
    assert client.scan(TableName=FEED)["Items"] == []  # the stale entries went with the old table
    ttl = client.describe_time_to_live(TableName=FEED)["TimeToLiveDescription"]
    assert ttl["TimeToLiveStatus"] == "ENABLED"


def test_a_main_table_that_differs_is_refused_and_kept(client: Any) -> None:
    spec = copy.deepcopy(table_specs(MAIN, FEED)[0])
    spec["GlobalSecondaryIndexes"] = [i for i in spec["GlobalSecondaryIndexes"] if i["IndexName"] != "gsi4"]
    spec["AttributeDefinitions"] = [a for a in spec["AttributeDefinitions"] if not a["AttributeName"].startswith("gsi4")]
    client.create_table(**spec)
    follow(client, "s1", "u1")
    with pytest.raises(TableMismatch, match=r"table lt-main in \.local/x was made for another schema "
                                            r"\(global index gsi4 is missing\)\. It holds the data, so it is not "
                                            r"dropped"):
        prepare(client, MAIN, FEED, merge=lambda s, u: None, data_label=".local/x")
    assert client.scan(TableName=MAIN)["Count"] == 1
    assert FEED not in client.list_tables()["TableNames"]
