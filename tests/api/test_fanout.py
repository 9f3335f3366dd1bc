"""A big shop's post reaches its followers in a tree of bounded chunks: replays, deletions and crashes.

GIVEN a shop with 45 followers and a feed manager that works 10 followers per chunk (5 per
step) and hands on up to 3 children, WHEN the table's real stream delivers the post's record
and the chunk work items it writes (through the deployed stream function, once, twice, with
a deletion in between or a crash half-way), THEN every follower has the post exactly once —
or, once it is deleted, nobody has it — no chunk runs twice, and the deepest chunk is a few
hops from the post, not one hop per chunk. Runs on moto and on DynamoDB Local.
"""

from __future__ import annotations

import copy
from types import SimpleNamespace

import pytest

from chalicelib.events.stream import dispatch
from chalicelib.ids import new_id
from chalicelib.records.accounts import Shop, User
from chalicelib.records.social import FanoutWork, Follow, Post

FOLLOWERS = 45
CHUNK, STEP, BRANCHES = 10, 5, 3


@pytest.fixture
def big_shop(aws_backend, _stream_poller, monkeypatch):
    from chalicelib.wiring import container

    d = container()
    monkeypatch.setattr(d.feed_manager, "chunk", CHUNK)
    monkeypatch.setattr(d.feed_manager, "step", STEP)
    monkeypatch.setattr(d.feed_manager, "branches", BRANCHES)
    now = 1795400000.0

    def person(name: str) -> str:
        user = User(user_id=new_id(), name=name, email=f"{new_id().lower()}@example.kr", phone=None, shop_id=None,
                    created_at=now, password_hash="x")
        d.accounts.create_user(user)
        return user.user_id

    owner = person("박두부")
    shop = Shop(shop_id=new_id(), owner_id=owner, name="망원동 두부가게", handle=f"big_{new_id().lower()[-8:]}",
                bio="", region="", follower_count=0, post_count=0, created_at=now)
    d.shops.create_shop(shop)
    readers = [person(f"손님{n}") for n in range(FOLLOWERS)]
    for reader in readers:
        assert d.follows.follow(Follow(shop.shop_id, reader, now)) == "followed"
    skip(_stream_poller)  # the follows' own records: not what these tests are about
    return SimpleNamespace(d=d, shop=shop, owner=owner, readers=readers, poller=_stream_poller, now=now)


def skip(poller) -> None:
    handler = poller.handler
    poller.handler = lambda event, context: None
    poller.reacquire()
    poller.drain()
    poller.handler = handler


def captured(poller) -> list[dict]:
    """Read the stream written so far without handling it: the raw Lambda records."""
    seen: list[dict] = []
    handler = poller.handler
    poller.handler = lambda event, context: seen.extend(event["Records"])
    poller.reacquire()
    poller.drain()
    poller.handler = handler
    return seen


def run_everything(poller) -> None:
    """Deliver every record there is (and the ones they write) to the stream function."""
    poller.reacquire()
    poller.drain()


def post_by(world, text: str = "대용량 두부 입고! #두부") -> Post:
    post = Post(post_id=new_id(), shop_id=world.shop.shop_id, author_id=world.owner, shop_name=world.shop.name,
                shop_handle=world.shop.handle, text=text, photos=[], product_ids=[], hashtags=["두부"], like_count=0,
                comment_count=0, share_count=0, version=1, created_at=world.now + 60, updated_at=world.now + 60)
    world.d.posts.create_post(post)
    return post


def holders(world, post_id: str) -> list[str]:
    from chalicelib.storage.models.feed import FeedEntryItem

    return sorted(item.pk for item in FeedEntryItem.batch_get([(r, post_id) for r in world.readers],
                                                               attributes_to_get=["pk"]))


def work_items(post_id: str) -> list[FanoutWork]:
    """The post's chunk work items (tests only: nothing in the app lists them)."""
    from chalicelib.storage.fanout import to_work
    from chalicelib.storage.models.fanout import FanoutItem

    items = FanoutItem.scan(FanoutItem.post_id == post_id, consistent_read=True)
    return sorted((to_work(item) for item in items), key=lambda w: (w.action, w.version, w.path))


def of_entity(records: list[dict], entity: str) -> list[dict]:
    return [r for r in records if (r["dynamodb"].get("NewImage") or r["dynamodb"].get("OldImage") or {})
            .get("entity", {}).get("S") == entity]


def test_every_follower_gets_the_post_once_through_a_tree_of_chunks(big_shop, monkeypatch):
    from chalicelib.storage.feed import FeedRepository

    written: list[str] = []
    real_put = FeedRepository.put_entries

    def counting(self, entries):
        written.extend(e.reader_id for e in entries)
        return real_put(self, entries)

    monkeypatch.setattr(FeedRepository, "put_entries", counting)
    post = post_by(big_shop)
    run_everything(big_shop.poller)
    assert holders(big_shop, post.post_id) == sorted(big_shop.readers)
    assert sorted(written) == sorted(big_shop.readers)  # one entry each, none written twice
    chunks = work_items(post.post_id)
    assert len(chunks) >= -(-FOLLOWERS // CHUNK) - 1  # the post's own record ran the first chunk
    assert max(w.hops for w in chunks) <= 3  # ~log3(4.5 pages) + 1, where a chain takes 4
    for w in chunks:  # each chunk's range is its own: siblings meet end to start
        siblings = sorted((v for v in chunks if v.path[:-1] == w.path[:-1] and v.action == w.action),
                          key=lambda v: v.path)
        assert all(a.until == b.after for a, b in zip(siblings, siblings[1:]))


def test_the_same_post_record_twice_starts_one_tree(big_shop):
    post = post_by(big_shop)
    records = of_entity(captured(big_shop.poller), "post")
    assert dispatch(records + copy.deepcopy(records)) == []
    run_everything(big_shop.poller)
    assert holders(big_shop, post.post_id) == sorted(big_shop.readers)
    assert [w.path for w in work_items(post.post_id)].count("1") == 1


def test_replaying_every_chunk_record_changes_nothing(big_shop):
    post = post_by(big_shop)
    assert dispatch(of_entity(captured(big_shop.poller), "post")) == []
    seen: list[dict] = []
    while True:  # the tree, level by level, keeping each record
        level = of_entity(captured(big_shop.poller), "fanout")
        if not level:
            break
        assert dispatch(level) == []
        seen.extend(level)
    state = (holders(big_shop, post.post_id), work_items(post.post_id))
    assert state[0] == sorted(big_shop.readers)
    assert dispatch(copy.deepcopy(seen)) == []  # every chunk record delivered again
    assert (holders(big_shop, post.post_id), work_items(post.post_id)) == state
    assert of_entity(captured(big_shop.poller), "fanout") == []  # and nothing new handed on


def test_a_post_deleted_while_its_chunks_run_leaves_nothing_behind(big_shop):
    post = post_by(big_shop)
    assert dispatch(of_entity(captured(big_shop.poller), "post")) == []  # the first chunk is delivered
    assert 0 < len(holders(big_shop, post.post_id)) < FOLLOWERS
    pushes = [w.path for w in work_items(post.post_id) if w.action == "push"]
    big_shop.d.posts.delete_post(big_shop.d.posts.get_post(post.post_id, consistent=True))
    run_everything(big_shop.poller)  # the pending push chunks, the REMOVE and its unpush chunks
    assert holders(big_shop, post.post_id) == []
    assert [w.path for w in work_items(post.post_id) if w.action == "push"] == pushes  # no push chunk went on


def test_a_crash_half_way_through_a_batch_is_retried_from_that_record_alone(big_shop, monkeypatch):
    from chalicelib.storage.feed import FeedRepository

    post = post_by(big_shop)
    other = post_by(big_shop, "두 번째 글")
    records = of_entity(captured(big_shop.poller), "post")
    assert [r["dynamodb"]["NewImage"]["post_id"]["S"] for r in records] == [post.post_id, other.post_id]
    real_put = FeedRepository.put_entries
    calls = {"n": 0}

    def crash_on_second_post(self, entries):
        if entries and entries[0].post_id == other.post_id:
            calls["n"] += 1
            if calls["n"] == 2:  # half-way through the second post's first chunk
                raise ConnectionError("injected: the connection dropped")
        return real_put(self, entries)

    monkeypatch.setattr(FeedRepository, "put_entries", crash_on_second_post)
    failed = dispatch(records)
    assert failed == [records[1]["dynamodb"]["SequenceNumber"]]  # the first record is done; retry the second
    assert holders(big_shop, post.post_id)[:CHUNK] == sorted(big_shop.readers)[:CHUNK]
    assert len(holders(big_shop, other.post_id)) == STEP  # the step before the crash
    monkeypatch.setattr(FeedRepository, "put_entries", real_put)
    assert dispatch(records[1:]) == []  # Lambda retries from the failed record
    run_everything(big_shop.poller)
    for p in (post, other):
        assert holders(big_shop, p.post_id) == sorted(big_shop.readers)
        assert [w.path for w in work_items(p.post_id)].count("1") == 1  # one tree each


def test_the_stream_function_reports_partial_batch_failures(big_shop, monkeypatch):
    from chalicelib.events import stream as stream_module

    post_by(big_shop)
    records = of_entity(captured(big_shop.poller), "post")

    def boom(change, deadline):
        raise RuntimeError("injected")

    monkeypatch.setattr(stream_module, "_ROUTES", {"post": (boom,)})
    answer = stream_module.handle({"Records": records}, None)
    assert answer == {"batchItemFailures": [{"itemIdentifier": records[0]["dynamodb"]["SequenceNumber"]}]}
