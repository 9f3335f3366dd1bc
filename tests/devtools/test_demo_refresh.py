"""`make run`'s demo stays true: loaded 90 days ago, a start today loads it again on today's date,
and what a user created meanwhile is left exactly as it was. On DynamoDB Local, in-process.
"""

from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from devtools import demo, demo_refresh
from devtools.ddblocal import JAVA_MISSING, DynamoDBLocal, local_client
from devtools.timeline import DAY, Timeline

pytestmark = [pytest.mark.ddblocal, pytest.mark.skipif(shutil.which("java") is None, reason=JAVA_MISSING)]


class Shifted(Timeline):
    """The app's clock, ``days`` behind the system clock and running (not a story timeline)."""

    def __init__(self, days: float) -> None:
        super().__init__(0)
        self.offset = days * DAY

    def clock(self) -> float:
        return time.time() - self.offset


@pytest.fixture
def app_on_ddblocal(ddb_server: DynamoDBLocal, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The app on its own tables in the session's DynamoDB Local; yields a stream reader."""
    from chalicelib import wiring as deps
    from chalicelib.storage.tables import ensure_tables
    from devtools.timeline import stream_drainer

    suffix = uuid.uuid4().hex[:8]
    monkeypatch.setenv("DONGNE_DYNAMODB_ENDPOINT", ddb_server.endpoint)
    monkeypatch.setenv("DONGNE_TABLE_NAME", f"demo-{suffix}")
    monkeypatch.setenv("DONGNE_FEED_TABLE_NAME", f"demo-{suffix}-feed")
    deps.reset()
    settings = deps.container().settings
    client = local_client("dynamodb", ddb_server.endpoint)
    ensure_tables(client, settings.table_name, settings.feed_table_name)
    try:
        yield stream_drainer()
    finally:
        for table in (settings.table_name, settings.feed_table_name):
            client.delete_table(TableName=table)
        monkeypatch.undo()
        deps.reset()


def _scan(table: str) -> list[dict[str, Any]]:
    from chalicelib.wiring import container

    settings = container().settings
    client = local_client("dynamodb", settings.dynamodb_endpoint)
    return [item for page in client.get_paginator("scan").paginate(TableName=table, ConsistentRead=True)
            for item in page["Items"]]


def _main_items() -> list[dict[str, Any]]:
    from chalicelib.wiring import container

    return _scan(container().settings.table_name)


def _key(item: dict[str, Any]) -> tuple[str, str]:
    return item["pk"]["S"], item["sk"]["S"]


def test_a_demo_loaded_90_days_ago_is_rebuilt_on_todays_date_and_user_data_stays(app_on_ddblocal) -> None:
    from chalice.test import Client

    from app import app
    from chalicelib.events.schedules import (
        run_lapse_sweep,
        run_reorder_reminders,
        run_subscription_orders,
    )

    drain = app_on_ddblocal
    with Client(app, stage_name="test") as client:
        call = demo.Caller(client)

        # 90 days ago: `make run` loads the demo; a user signs up, opens a shop, follows the
        # demo tofu shop and buys there.
        with Shifted(90):
            first = demo.prepare(call, after_erase=drain)
            assert first.action == "loaded" and first.loaded_at < time.time() - 89 * DAY
            drain()
            old = demo.read_story(call)
            assert old.missing() == []
            old_users, old_shops = demo_refresh.demo_accounts()
            me = call("POST", "/auth/signup", {"name": "동네주민", "email": "me@example.kr", "password": "secret-pass-1"})
            token, user_id = me["token"], me["user"]["user_id"]
            shop = call("POST", "/shops", {"name": "내 가게", "handle": "my_own_shop", "region": "서울 마포구"},
                        token=token)
            product = call("POST", f"/shops/{shop['shop_id']}/products",
                           {"name": "김치 (1kg)", "price": 12000, "stock": 5, "kind": "essential", "reorder_days": 14},
                           token=token)
            call("POST", f"/shops/{shop['shop_id']}/posts", {"text": "첫 글이에요 #김치"}, token=token)
            call("PUT", f"/shops/{old.shop_id}/follow", token=token)
            tofu = call("GET", f"/shops/{old.shop_id}/products")["items"][0]
            call("POST", "/orders", {"shop_id": old.shop_id, "items": [{"product_id": tofu["product_id"], "quantity": 1}],
                                     "fulfilment": {"method": "pickup"}},  # the demo shop set its fulfilment
                 token=token, headers={"Idempotency-Key": "mine-1"})
            drain()

        # Today, on the same data: the scheduled jobs catch up (as `make run` runs them at
        # start) and the story the demo told has aged away.
        run_lapse_sweep()
        run_reorder_reminders()
        run_subscription_orders()
        drain()
        aged = demo.read_story(call).missing()
        assert "김민지 is not a regular of the tofu shop" in aged
        # Everything naming the user or their shop, but the demo owner's inbox (the notices of
        # the user's follow and order are the owner's: they go with the demo's account).
        demo_inboxes = {f"INBOX#{demo_user}" for demo_user in old_users}
        mine = {_key(item): item for item in _main_items()
                if demo_refresh.ids_in(item) & {user_id, shop["shop_id"]} and item["pk"]["S"] not in demo_inboxes}
        assert (f"SHOP#{old.shop_id}", f"FOLLOWER#{user_id}") in mine

        # The next start rebuilds the demo on today's date.
        second = demo.prepare(call, after_erase=drain)
        drain()
        assert second.action == "rebuilt" and abs(second.loaded_at - time.time()) < 600
        assert second.erased.main > 100 and second.erased.kept >= 1
        story = demo.read_story(call)
        assert story.missing() == []
        assert story.shop_id not in old_shops
        assert "김민지" in story.regulars and "오영수" in story.lapsed
        assert any(item["name"] == "손두부 (500g)" and item["overdue_days"] > 0 for item in story.due)
        from datetime import datetime

        assert datetime.fromisoformat(story.subscription["next_order_at"]).timestamp() > time.time() + 6 * DAY
        assert sorted(story.referrals) == ["confirmed", "pending"]
        lines = demo.story_lines(story, second.loaded_at)
        assert not any("not shown" in line for line in lines), lines
        owner = demo.login(call, "tofu@dongne.kr")["token"]
        regulars = call("GET", f"/shops/{story.shop_id}/customers?tier=regular", token=owner)["items"]
        assert "김민지" in [c["name"] for c in regulars]
        minji = demo.login(call, "minji@dongne.kr")["token"]
        assert any(item["name"].startswith("손두부") for item in call("GET", "/me/reorders", token=minji)["items"])

        # What the user created is untouched, item for item, and still works.
        after = {_key(item): item for item in _main_items()}
        changed = sorted(key for key in mine if after.get(key) != mine[key])
        assert changed == [], changed
        token = call("POST", "/auth/login", {"email": "me@example.kr", "password": "secret-pass-1"})["token"]
        assert call("GET", "/me", token=token)["shop_id"] == shop["shop_id"]
        assert call("GET", f"/shops/{shop['shop_id']}")["handle"] == "my_own_shop"
        assert [p["product_id"] for p in call("GET", f"/shops/{shop['shop_id']}/products")["items"]] == [
            product["product_id"]]
        assert len(call("GET", f"/shops/{shop['shop_id']}/posts")["items"]) == 1
        assert len(call("GET", "/me/orders", token=token)["items"]) == 1
        call("GET", "/me/following", token=token)
        call("GET", "/feed", token=token)

        # Nothing of the old demo is left but what names the user: no account, shop or item
        # of its own came back through the stream handlers. (Erasing its accounts closed them:
        # the closing's own steps stay until their TTL, services.closing.)
        old_ids = old_users | old_shops
        leftovers = [_key(item) for item in _main_items() + _scan(_feed_table())
                     if demo_refresh.ids_in(item) & old_ids
                     and not demo_refresh.ids_in(item) & {user_id, shop["shop_id"]}
                     and not (item["pk"]["S"].startswith("CLOSING#") and "expires_at" in item)]
        assert leftovers == []

        # A start the same day keeps it.
        assert demo.prepare(call).action == "kept"


def _feed_table() -> str:
    from chalicelib.wiring import container

    return container().settings.feed_table_name


def test_which_items_are_the_demos() -> None:
    demo_user, demo_shop, user, their_shop, post = (f"01J{n:023d}" for n in range(5))
    items = [
        {"pk": {"S": f"USER#{demo_user}"}, "sk": {"S": "PROFILE"}, "entity": {"S": "user"}, "user_id": {"S": demo_user}},
        {"pk": {"S": f"USER#{user}"}, "sk": {"S": "PROFILE"}, "entity": {"S": "user"}, "user_id": {"S": user}},
        {"pk": {"S": f"SHOP#{their_shop}"}, "sk": {"S": "PROFILE"}, "entity": {"S": "shop"},
         "shop_id": {"S": their_shop}, "owner_id": {"S": user}},
        {"pk": {"S": f"POST#{post}"}, "sk": {"S": "POST"}, "shop_id": {"S": demo_shop}},  # the demo's post
        {"pk": {"S": f"FANOUT#{post}"}, "sk": {"S": "0"}},  # names only the demo's post
        {"pk": {"S": f"SHOP#{demo_shop}#FOLLOWERS"}, "sk": {"S": f"FOLLOWER#{user}"}},  # the user's follow
        {"pk": {"S": f"INBOX#{demo_user}"}, "sk": {"S": "N"}, "actors": {"M": {user: {"S": "동네주민"}}}},
        {"pk": {"S": "JOB#lapse"}, "sk": {"S": "STATE"}, "day": {"S": "2026-12-01"}},  # no one's
    ]
    chosen, kept = demo_refresh.demo_items(items, {demo_user, demo_shop})
    assert chosen == [0, 3, 4] and kept == 2
