"""The stream's filter (``events.stream.filter_criteria``): the deployed event source mapping and
the local poller let through exactly the records of an entity some handler takes."""

from __future__ import annotations

import json

from chalicelib.events.stream import filter_criteria, routes
from devtools.stream_poller import StreamPoller, matches


def record(entity: str | None, name: str = "INSERT") -> dict:
    image = {"pk": {"S": "X"}, "sk": {"S": "Y"}, **({"entity": {"S": entity}} if entity else {})}
    dynamodb = {"OldImage": image} if name == "REMOVE" else {"NewImage": image, "OldImage": image}
    if name == "INSERT":
        dynamodb.pop("OldImage")
    return {"eventName": name, "dynamodb": {**dynamodb, "SequenceNumber": "1"}}


def poller() -> StreamPoller:
    return StreamPoller(None, None, "t", lambda e, c: None, filter_criteria=filter_criteria())


def test_the_filter_is_the_routing_table():
    patterns = [json.loads(f["Pattern"]) for f in filter_criteria()["Filters"]]
    assert patterns == [{"dynamodb": {"NewImage": {"entity": {"S": sorted(routes())}}}},
                        {"dynamodb": {"OldImage": {"entity": {"S": sorted(routes())}}}}]
    assert all(len(f["Pattern"]) <= 4096 for f in filter_criteria()["Filters"])  # Lambda's limit per pattern


def test_every_handled_entity_passes_in_every_event_and_nothing_else_does():
    p = poller()
    for entity in routes():
        for name in ("INSERT", "MODIFY", "REMOVE"):
            assert p.wanted(record(entity, name)), (entity, name)
    for entity in ("inbox_key", "idempotency", "unread_count", "visit", None):
        for name in ("INSERT", "MODIFY", "REMOVE"):
            assert not p.wanted(record(entity, name)), (entity, name)


def test_matching_follows_lambdas_rules_for_maps_and_value_lists():
    assert matches({"a": {"b": ["x", "y"]}}, {"a": {"b": "y", "c": 1}})
    assert not matches({"a": {"b": ["x"]}}, {"a": {"b": "z"}})
    assert not matches({"a": {"b": ["x"]}}, {"a": {}})
    assert not matches({"a": ["x"]}, {"a": {"b": "x"}})
