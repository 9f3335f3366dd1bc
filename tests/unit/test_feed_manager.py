"""The feed's rules on plain data: fan-out, cap and trim, merge bounds, replay safety."""

from __future__ import annotations

from dataclasses import replace

from chalicelib.ids import id_at
from chalicelib.records import Page
from chalicelib.services.feed import (
    ENTRY_TTL_SECONDS, MAX_ITEMS, MERGE_ITEMS, FeedManager, due_for_trim, entry_for,
)
from chalicelib.social_records import FeedEntry, Follow, Post, WriteStats


class MemoryFeed:
    def __init__(self) -> None:
        self.feeds: dict[str, dict[str, FeedEntry]] = {}
        self.trimmed: list[str] = []

    def page(self, reader_id, limit, start_key):
        items = sorted(self.feeds.get(reader_id, {}).values(), key=lambda e: e.post_id, reverse=True)
        return Page(items=items[:limit], last_key=None)

    def put_entries(self, entries):
        for e in entries:
            self.feeds.setdefault(e.reader_id, {})[e.post_id] = e
        return WriteStats(calls=-(-len(entries) // 25), items=len(entries))

    def delete_entries(self, keys):
        for reader, post in keys:
            self.feeds.get(reader, {}).pop(post, None)
        return WriteStats(calls=-(-len(keys) // 25), items=len(keys))

    def readers_having(self, post_id, reader_ids):
        return {r for r in reader_ids if post_id in self.feeds.get(r, {})}, 1

    def post_ids_of_shop(self, reader_id, shop_id):
        return [e.post_id for e in self.feeds.get(reader_id, {}).values() if e.shop_id == shop_id]

    def trim(self, reader_id, keep):
        self.trimmed.append(reader_id)
        ids = sorted(self.feeds.get(reader_id, {}), reverse=True)[keep:]
        return self.delete_entries([(reader_id, pid) for pid in ids])


class MemoryGraph:
    def __init__(self) -> None:
        self.edges: set[tuple[str, str]] = set()

    def follower_ids(self, shop_id):
        return sorted(u for s, u in self.edges if s == shop_id)

    def get_edge(self, shop_id, user_id):
        return Follow(shop_id, user_id, 0.0) if (shop_id, user_id) in self.edges else None


class MemoryPosts:
    def __init__(self) -> None:
        self.posts: dict[str, Post] = {}

    def get_post(self, post_id, consistent=False):
        return self.posts.get(post_id)

    def recent_posts(self, shop_id, count):
        return sorted((p for p in self.posts.values() if p.shop_id == shop_id), key=lambda p: p.post_id,
                      reverse=True)[:count]


def make_post(shop_id: str, n: int, text: str = "글") -> Post:
    at = 1795400000.0 + n
    # Fixed ids, so the trim sampling (a hash of reader and post) is the same on every run.
    return Post(post_id=f"01J{shop_id}{n:020d}", shop_id=shop_id, author_id="owner", shop_name="가게",
                shop_handle="shop", text=f"{text} {n}", photos=[], product_ids=[], hashtags=[], like_count=0, comment_count=0,
                share_count=0, version=1, created_at=at, updated_at=at)


def world(**limits):
    feed, graph, posts = MemoryFeed(), MemoryGraph(), MemoryPosts()
    return FeedManager(feed, graph, posts, **limits), feed, graph, posts


def test_the_limits_are_mastodons():
    assert MAX_ITEMS == 400 and MERGE_ITEMS == 100 and ENTRY_TTL_SECONDS == 90 * 86400


def test_push_copies_to_every_follower():
    manager, feed, graph, posts = world()
    graph.edges |= {("s1", f"u{i}") for i in range(60)}
    post = make_post("s1", 1)
    posts.posts[post.post_id] = post
    outcome = manager.post_written(post, None)
    assert outcome.action == "push" and outcome.readers == 60
    assert outcome.writes.items >= 60 and all(post.post_id in feed.feeds[f"u{i}"] for i in range(60))


def test_the_cap_holds_after_trims():
    manager, feed, graph, posts = world(max_items=5, trim_every=1)
    graph.edges.add(("s1", "reader"))
    for n in range(12):
        post = make_post("s1", n)
        posts.posts[post.post_id] = post
        manager.post_written(post, None)
    kept = [e.text for e in feed.page("reader", 100, None).items]
    assert kept == [f"글 {n}" for n in range(11, 6, -1)]


def test_trimming_is_sampled_and_deterministic():
    ids = [(f"user{i}", id_at(1795400000 + i)) for i in range(5000)]
    due = [pair for pair in ids if due_for_trim(*pair, every=25)]
    assert 120 < len(due) < 280  # about 1 in 25
    assert due == [pair for pair in ids if due_for_trim(*pair, every=25)]  # same answer on replay
    assert all(due_for_trim(*pair, every=1) for pair in ids[:10])


def test_a_feed_overshoots_the_cap_by_about_trim_every_at_most_on_average():
    manager, feed, graph, posts = world(max_items=50, trim_every=10)
    graph.edges.add(("s1", "reader"))
    sizes = []
    for n in range(300):
        post = make_post("s1", n)
        posts.posts[post.post_id] = post
        manager.post_written(post, None)
        sizes.append(len(feed.feeds["reader"]))
    assert max(sizes[100:]) < 50 + 60 and sum(sizes[100:]) / 200 < 50 + 15


def test_merge_is_bounded_and_trims():
    manager, feed, graph, posts = world(max_items=30, merge_items=10)
    for n in range(25):
        post = make_post("s1", n)
        posts.posts[post.post_id] = post
    graph.edges.add(("s1", "reader"))
    outcome = manager.follow_added(Follow("s1", "reader", 0.0))
    assert outcome.action == "merge" and feed.trimmed == ["reader"]
    assert [e.text for e in feed.page("reader", 100, None).items] == [f"글 {n}" for n in range(24, 14, -1)]


def test_unmerge_removes_one_shop_only():
    manager, feed, graph, posts = world()
    for shop in ("s1", "s2"):
        post = make_post(shop, 1 if shop == "s1" else 2)
        posts.posts[post.post_id] = post
        graph.edges.add((shop, "reader"))
        manager.follow_added(Follow(shop, "reader", 0.0))
    graph.edges.discard(("s1", "reader"))
    manager.follow_removed(Follow("s1", "reader", 0.0))
    assert {e.shop_id for e in feed.page("reader", 100, None).items} == {"s2"}


def test_entries_carry_what_the_feed_shows():
    post = replace(make_post("s1", 3), photos=["uploads/o/01JDQ3ZK8X9V5W4T3S2R1P0N9M.jpg"], product_ids=["p1"],
                   hashtags=["두부"], like_count=4, comment_count=2, version=3)
    entry = entry_for("reader", post)
    assert (entry.reader_id, entry.post_id, entry.shop_name, entry.shop_handle, entry.text) == \
        ("reader", post.post_id, "가게", "shop", "글 3")
    assert (entry.photos, entry.product_ids, entry.hashtags, entry.like_count, entry.comment_count) == \
        (post.photos, ["p1"], ["두부"], 4, 2)
    assert entry.version == 3 and entry.expires_at == post.created_at + ENTRY_TTL_SECONDS


def test_edit_refreshes_only_where_the_entry_is():
    manager, feed, graph, posts = world()
    post = make_post("s1", 1)
    posts.posts[post.post_id] = post
    graph.edges |= {("s1", "a"), ("s1", "b")}
    manager.post_written(post, None)
    feed.feeds["b"].clear()  # trimmed from b's feed
    edited = replace(post, text="고침", version=2)
    posts.posts[post.post_id] = edited
    outcome = manager.post_written(edited, post)
    assert outcome.action == "refresh" and outcome.readers == 1
    assert feed.feeds["a"][post.post_id].text == "고침" and feed.feeds["b"] == {}
