"""The feed's stream handlers, driven by hand-built Lambda events (tests/fixtures/*.json).

GIVEN a table state written through the repositories, WHEN ``chalicelib.events.dispatch``
gets the records (once, twice, or out of order), THEN the feeds hold exactly what the
table says they should. Runs on moto and on DynamoDB Local.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from chalicelib.events.stream import dispatch
from chalicelib.ids import new_id
from chalicelib.records.accounts import Shop, User
from chalicelib.services.feed import entry_for
from chalicelib.records.social import Follow, Post
from devtools.callcount import dynamodb_calls

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
V1_TEXT, V2_TEXT = "오늘 아침 손두부 나왔어요 #두부", "손두부 품절! 내일 다시 만나요 #품절"


def records(name: str, world) -> list[dict]:
    text = (FIXTURES / name).read_text()
    for placeholder, value in world.ids.items():
        text = text.replace(f"${placeholder}", value)
    return json.loads(text)["Records"]


@pytest.fixture
def world(aws_backend):
    from chalicelib.wiring import container

    d = container()
    now = 1795400000.0

    def person(name: str) -> str:
        user = User(user_id=new_id(), name=name, email=f"{new_id().lower()}@example.kr", phone=None, shop_id=None,
                    created_at=now, password_hash="x")
        d.accounts.create_user(user)
        return user.user_id

    owner, follower, newcomer = person("박두부"), person("김민지"), person("최서연")
    shop = Shop(shop_id=new_id(), owner_id=owner, name="망원동 두부가게", handle=f"tofu_{new_id().lower()[-8:]}",
                bio="", region="", follower_count=0, post_count=0, created_at=now)
    d.shops.create_shop(shop)
    assert d.follows.follow(Follow(shop.shop_id, follower, now)) == "followed"
    post = Post(post_id=new_id(), shop_id=shop.shop_id, author_id=owner, shop_name=shop.name,
                shop_handle=shop.handle, text=V1_TEXT, photos=[], product_ids=[], hashtags=["두부"], like_count=0,
                comment_count=0, share_count=0, version=1, created_at=now, updated_at=now)
    d.posts.create_post(post)
    return SimpleNamespace(
        d=d, shop=shop, post=post, follower=follower, newcomer=newcomer,
        ids={"POST": post.post_id, "SHOP": shop.shop_id, "OWNER": owner, "HANDLE": shop.handle, "READER": newcomer},
    )


def feed(world, reader: str) -> list:
    return world.d.feed.page(reader, 100, None).items


def edit_to_v2(world) -> None:
    current = world.d.posts.get_post(world.post.post_id, consistent=True)
    world.d.posts.update_post(current, {"text": V2_TEXT, "hashtags": ["품절"]}, 1795400600.0)


def test_insert_copies_the_post_into_followers_feeds(world):
    assert dispatch(records("post_insert.json", world)) == []
    [entry] = feed(world, world.follower)
    assert (entry.post_id, entry.excerpt, entry.shop_name, entry.shop_handle, entry.version) == \
        (world.post.post_id, V1_TEXT, "망원동 두부가게", world.shop.handle, 1)
    assert entry.hashtags == ["두부"] and entry.expires_at > entry.created_at
    assert feed(world, world.newcomer) == []  # not a follower


def test_replayed_insert_changes_nothing(world):
    dispatch(records("post_insert.json", world))
    first = feed(world, world.follower)
    dispatch(records("post_insert.json", world) * 2)
    assert feed(world, world.follower) == first


def test_edit_updates_the_entries(world):
    dispatch(records("post_insert.json", world))
    edit_to_v2(world)
    dispatch(records("post_modify_edit.json", world))
    [entry] = feed(world, world.follower)
    assert (entry.excerpt, entry.hashtags, entry.version) == (V2_TEXT, ["품절"], 2)


def test_a_counter_only_modify_writes_nothing(world):
    dispatch(records("post_insert.json", world))
    with dynamodb_calls() as calls:
        dispatch(records("post_modify_counts.json", world))
    assert calls.count == 0
    assert feed(world, world.follower)[0].like_count == 0


def test_out_of_order_edit_then_insert_leaves_the_newest_content(world):
    edit_to_v2(world)
    dispatch(records("post_modify_edit.json", world) + records("post_insert.json", world))
    [entry] = feed(world, world.follower)
    assert (entry.excerpt, entry.version) == (V2_TEXT, 2)


def test_a_stale_edit_record_does_not_roll_content_back(world):
    dispatch(records("post_insert.json", world))
    edit_to_v2(world)
    current = world.d.posts.get_post(world.post.post_id, consistent=True)
    world.d.posts.update_post(current, {"text": "세 번째 버전", "hashtags": []}, 1795400700.0)  # v3
    dispatch(records("post_modify_edit.json", world))  # the v1 -> v2 record arrives late
    assert feed(world, world.follower)[0].excerpt == V1_TEXT  # skipped: the v3 record carries v3
    newest = records("post_modify_edit.json", world)
    newest[0]["dynamodb"]["NewImage"]["version"] = {"N": "3"}
    newest[0]["dynamodb"]["OldImage"]["version"] = {"N": "2"}
    dispatch(newest)
    assert feed(world, world.follower)[0].excerpt == "세 번째 버전"


def test_remove_takes_the_post_out_of_every_feed(world):
    dispatch(records("post_insert.json", world))
    world.d.posts.delete_post(world.post)
    dispatch(records("post_remove.json", world))
    assert feed(world, world.follower) == []


def test_replayed_insert_and_edit_after_a_remove_do_not_resurrect(world):
    dispatch(records("post_insert.json", world))
    world.d.posts.delete_post(world.post)
    dispatch(records("post_remove.json", world))
    dispatch(records("post_insert.json", world) + records("post_modify_edit.json", world))
    assert feed(world, world.follower) == []
    dispatch(records("post_remove.json", world))  # and a replayed remove is harmless
    assert feed(world, world.follower) == []


def test_follow_insert_merges_the_shops_posts(world):
    assert world.d.follows.follow(Follow(world.shop.shop_id, world.newcomer, 1795400100.5)) == "followed"
    dispatch(records("follow_insert.json", world))
    assert [e.post_id for e in feed(world, world.newcomer)] == [world.post.post_id]
    dispatch(records("follow_insert.json", world))  # replay
    assert len(feed(world, world.newcomer)) == 1


def test_follow_insert_arriving_after_the_unfollow_merges_nothing(world):
    # The edge is already gone when its INSERT is handled (replay, or the REMOVE came first).
    dispatch(records("follow_remove.json", world) + records("follow_insert.json", world))
    assert feed(world, world.newcomer) == []


def test_follow_remove_takes_only_that_shops_entries_out(world):
    d = world.d
    d.follows.follow(Follow(world.shop.shop_id, world.newcomer, 1795400100.5))
    dispatch(records("follow_insert.json", world))
    other = Post(**{**world.post.__dict__, "post_id": new_id(), "shop_id": new_id()})
    d.feed.put_entries([entry_for(world.newcomer, other)])
    assert len(feed(world, world.newcomer)) == 2
    d.follows.unfollow(world.shop.shop_id, world.newcomer)
    dispatch(records("follow_remove.json", world))
    assert [e.post_id for e in feed(world, world.newcomer)] == [other.post_id]


def test_a_late_follow_remove_after_following_again_keeps_the_feed(world):
    d = world.d
    d.follows.follow(Follow(world.shop.shop_id, world.newcomer, 1795400100.5))
    dispatch(records("follow_insert.json", world))
    dispatch(records("follow_remove.json", world))  # an old REMOVE replayed: the edge exists again
    assert len(feed(world, world.newcomer)) == 1


def test_the_lambda_entry_point_takes_a_whole_batch(world):
    from chalicelib.events.stream import stream

    batch = records("post_insert.json", world) + records("post_modify_counts.json", world)
    stream({"Records": batch}, None)
    assert len(feed(world, world.follower)) == 1
