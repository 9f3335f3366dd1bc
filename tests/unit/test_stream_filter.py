"""The stream's filter (``events.stream.filter_criteria``): the deployed event source mapping and
the local poller let through exactly the records of an entity some handler takes."""

from __future__ import annotations

import json

import pytest

from chalicelib.events.stream import EVENTS, events_of, filter_criteria, routes
from devtools.stream_poller import StreamPoller, matches


def record(entity: str | None, name: str = "INSERT", quiet: str | None = None) -> dict:
    image = {"pk": {"S": "X"}, "sk": {"S": "Y"}, **({"entity": {"S": entity}} if entity else {})}
    new = {**image, "quiet": {"S": quiet}} if quiet else image
    dynamodb = {"OldImage": image} if name == "REMOVE" else {"NewImage": new, "OldImage": image}
    if name == "INSERT":
        dynamodb.pop("OldImage")
    return {"eventName": name, "dynamodb": {**dynamodb, "SequenceNumber": "1"}}


def poller() -> StreamPoller:
    return StreamPoller(None, None, "t", lambda e, c: None, filter_criteria=filter_criteria())


def test_the_filter_is_the_routing_table():
    patterns = [json.loads(f["Pattern"]) for f in filter_criteria()["Filters"]]
    taking = {name: sorted(entity for entity, handlers in routes().items()
                           if any(name in events_of(h) for h in handlers)) for name in EVENTS}
    assert patterns == [{"eventName": ["INSERT"], "dynamodb": {"NewImage": {"entity": {"S": taking["INSERT"]}}}},
                        {"eventName": ["MODIFY"], "dynamodb": {"NewImage": {"entity": {"S": taking["MODIFY"]},
                                                                            "quiet": {"S": [{"exists": False}]}}}},
                        {"eventName": ["REMOVE"], "dynamodb": {"OldImage": {"entity": {"S": taking["REMOVE"]}}}}]
    assert len(patterns) <= 5  # Lambda's filters per event source mapping
    assert all(len(f["Pattern"]) <= 4096 for f in filter_criteria()["Filters"])  # Lambda's limit per pattern
    # A profile's changes never invoke the function: only its deletion (closing an account) does.
    assert "user" not in taking["MODIFY"] and "user" in taking["REMOVE"]
    assert "fanout" in taking["INSERT"] and "fanout" not in taking["REMOVE"]  # a chunk expiring is nothing


def test_a_record_passes_exactly_when_some_route_takes_its_event():
    p = poller()
    for entity, handlers in routes().items():
        for name in EVENTS:
            assert p.wanted(record(entity, name)) == any(name in events_of(h) for h in handlers), (entity, name)
    for entity in ("inbox_key", "idempotency", "unread_count", "visit", None):
        for name in EVENTS:
            assert not p.wanted(record(entity, name)), (entity, name)


def test_the_router_calls_a_handler_for_its_events_only():
    from chalicelib.events.stream import Route

    seen = []
    route = Route(lambda change, deadline: seen.append(change.event_name), ("INSERT",))
    for name in EVENTS:
        route(type("C", (), {"event_name": name})(), None)
    assert seen == ["INSERT"]
    with pytest.raises(ValueError):
        Route(lambda change, deadline: None, ("UPSERT",))


def test_matching_follows_lambdas_rules_for_maps_and_value_lists():
    assert matches({"a": {"b": ["x", "y"]}}, {"a": {"b": "y", "c": 1}})
    assert not matches({"a": {"b": ["x"]}}, {"a": {"b": "z"}})
    assert not matches({"a": {"b": ["x"]}}, {"a": {}})
    assert not matches({"a": ["x"]}, {"a": {"b": "x"}})


def test_exists_follows_lambdas_rules_on_leaves():
    absent = [{"exists": False}]
    present = [{"exists": True}]
    assert matches({"a": {"q": {"S": absent}}}, {"a": {"x": 1}})
    assert not matches({"a": {"q": {"S": absent}}}, {"a": {"q": {"S": "like_count"}}})
    assert matches({"a": {"q": {"S": absent}}}, {"a": {"q": {"BOOL": True}}})  # another type: no leaf at q.S
    assert matches({"a": {"q": {"S": absent}}}, {})  # nothing at all on the path
    assert matches({"a": {"q": {"S": present}}}, {"a": {"q": {"S": ""}}})
    assert not matches({"a": {"q": {"S": present}}}, {"a": {"x": 1}})
    assert not matches({"q": present}, {"q": {"S": "x"}})  # a map is not a leaf
    assert matches({"q": absent}, {"q": {"S": "x"}})
    # A rule list is a choice: a value, or absence.
    assert matches({"a": ["x", {"exists": False}]}, {"b": 1}) and matches({"a": ["x", {"exists": False}]}, {"a": "x"})
    assert not matches({"a": ["x", {"exists": False}]}, {"a": "y"})
    # Values match leaves of their own type only.
    assert not matches({"a": [True]}, {"a": 1}) and not matches({"a": [1]}, {"a": "1"}) and matches({"a": [1]}, {"a": 1})
    for unsupported in ({"a": [{"prefix": "x"}]}, {"a": [{"exists": "no"}]}, {"a": [{"anything-but": ["x"]}]}, {"a": {}}):
        with pytest.raises(ValueError):
            matches(unsupported, {"a": "x"})


def test_a_quiet_modify_never_invokes_the_function_and_anything_else_still_does():
    p = poller()
    for entity, handlers in routes().items():
        takes = {name for name in EVENTS if any(name in events_of(h) for h in handlers)}
        assert not p.wanted(record(entity, "MODIFY", quiet="like_count")), entity
        assert p.wanted(record(entity, "MODIFY")) == ("MODIFY" in takes), entity
        # The mark on an item's old image (its last write was quiet) holds nothing back.
        if "REMOVE" in takes:
            removed = record(entity, "REMOVE")
            removed["dynamodb"]["OldImage"]["quiet"] = {"S": "like_count"}
            assert p.wanted(removed), entity
    for entity in ("post", "shop", "order"):
        assert p.wanted(record(entity, "MODIFY")), entity
