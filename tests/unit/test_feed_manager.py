"""The feed's rules on plain data: fan-out, cap and trim, merge bounds, replay safety."""

from __future__ import annotations

import bisect
import math
from collections import Counter
from dataclasses import replace
from typing import TYPE_CHECKING

from chalicelib.ids import id_at
from chalicelib.records.common import Page
from chalicelib.services.feed import (
    ENTRY_TTL_SECONDS, MAX_ITEMS, MERGE_ITEMS, FeedManager, FeedStore, FollowGraph, PostSource, WorkQueue, due_for_trim,
    entry_for,
)
from chalicelib.services.fanout_tree import BRANCHES
from chalicelib.records.social import FanoutWork, FeedEntry, Follow, Post, TaggedProduct, WriteStats


class MemoryFeed:
    def __init__(self) -> None:
        self.feeds: dict[str, dict[str, FeedEntry]] = {}
        self.trimmed: list[str] = []
        self.puts: Counter = Counter()  # (reader, post) -> entries written

    def page(self, reader_id, limit, start_key):
        items = sorted(self.feeds.get(reader_id, {}).values(), key=lambda e: e.post_id, reverse=True)
        return Page(items=items[:limit], last_key=None)

    def put_entries(self, entries):
        for e in entries:
            self.feeds.setdefault(e.reader_id, {})[e.post_id] = e
            self.puts[e.reader_id, e.post_id] += 1
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
    """Follow edges; ``queries`` counts the follower Queries (a page or a last key) made."""

    def __init__(self) -> None:
        self.edges: set[tuple[str, str]] = set()
        self.queries = 0
        self._sorted: tuple[int, dict[str, list[str]]] = (-1, {})

    def _range(self, shop_id, after, until):
        self.queries += 1
        if self._sorted[0] != len(self.edges):  # tests add or remove edges between runs
            by_shop: dict[str, list[str]] = {}
            for shop, user in self.edges:
                by_shop.setdefault(shop, []).append(user)
            self._sorted = (len(self.edges), {shop: sorted(users) for shop, users in by_shop.items()})
        ids = self._sorted[1].get(shop_id, [])
        lo = 0 if after is None else bisect.bisect_right(ids, after)
        hi = len(ids) if until is None else bisect.bisect_right(ids, until)
        return ids[lo:hi]

    def follower_page(self, shop_id, after, limit, until=None):
        ids = self._range(shop_id, after, until)
        return ids[:limit], (ids[limit] if len(ids) > limit else None)

    def last_follower(self, shop_id, until=None):
        ids = self._range(shop_id, None, until)
        return ids[-1] if ids else None

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


class MemoryQueue:
    """Work items as the table would hold them: written once, run when ``drain`` says so."""

    def __init__(self) -> None:
        self.written: dict[tuple, FanoutWork] = {}
        self.pending: list[FanoutWork] = []

    def enqueue(self, works):
        keys = [(w.post_id, w.path, w.action, w.version) for w in works]
        if not works or any(key in self.written for key in keys):
            return False  # one transaction: all or nothing
        for key, work in zip(keys, works):
            self.written[key] = work
            self.pending.append(work)
        return True

    def drain(self, manager, deadline=None) -> list:
        outcomes = []
        while self.pending:
            outcomes.append(manager.run(self.pending.pop(0), deadline))
        return outcomes


if TYPE_CHECKING:  # `make typecheck`: each fake keeps the contract of what it stands for
    _feed: FeedStore = MemoryFeed()
    _graph: FollowGraph = MemoryGraph()
    _posts: PostSource = MemoryPosts()
    _queue: WorkQueue = MemoryQueue()


def make_post(shop_id: str, n: int, text: str = "글") -> Post:
    at = 1795400000.0 + n
    # Fixed ids, so the trim sampling (a hash of reader and post) is the same on every run.
    return Post(post_id=f"01J{shop_id}{n:020d}", shop_id=shop_id, author_id="owner", shop_name="가게",
                shop_handle="shop", text=f"{text} {n}", photos=[], product_ids=[], hashtags=[], like_count=0, comment_count=0,
                share_count=0, version=1, created_at=at, updated_at=at)


def world(**limits):
    feed, graph, posts, queue = MemoryFeed(), MemoryGraph(), MemoryPosts(), MemoryQueue()
    manager = FeedManager(feed, graph, posts, queue, **limits)
    manager.queue_for_tests = queue
    return manager, feed, graph, posts


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
    kept = [e.excerpt for e in feed.page("reader", 100, None).items]
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
    assert [e.excerpt for e in feed.page("reader", 100, None).items] == [f"글 {n}" for n in range(24, 14, -1)]


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
                   products=(TaggedProduct("p1", "손두부", 4500, "KRW"),),
                   hashtags=["두부"], like_count=4, comment_count=2, version=3)
    entry = entry_for("reader", post)
    assert (entry.reader_id, entry.post_id, entry.shop_name, entry.shop_handle, entry.excerpt, entry.more) == \
        ("reader", post.post_id, "가게", "shop", "글 3", False)
    assert (entry.photo, entry.photo_count, entry.product_ids, entry.hashtags, entry.like_count,
            entry.comment_count) == (post.photos[0], 1, ["p1"], ["두부"], 4, 2)
    assert entry.product_count == 1 and entry.version == 3 and entry.expires_at == post.created_at + ENTRY_TTL_SECONDS


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
    assert outcome.action == "refresh" and outcome.readers == 2 and outcome.writes.items == 1
    assert feed.feeds["a"][post.post_id].excerpt == "고침" and feed.feeds["b"] == {}


# -- bounded fan-out: a tree of chunks, deadlines, replays -------------------------------


def big_world(followers: int, chunk: int = 10, step: int = 5, **limits):
    manager, feed, graph, posts = world(chunk=chunk, step=step, **limits)
    graph.edges |= {("s1", f"u{i:05d}") for i in range(followers)}
    post = make_post("s1", 1)
    posts.posts[post.post_id] = post
    return manager, feed, graph, posts, post


def holders(feed, post_id) -> set[str]:
    return {reader for reader, entries in feed.feeds.items() if post_id in entries}


def work(post, path="", after=None, until=None) -> FanoutWork:
    return FanoutWork(post.post_id, post.shop_id, "push", post.version, path, after, until, 0.0)


def run_tree(manager, post) -> list[tuple[FanoutWork, object]]:
    """The post's own record, then every chunk it hands on, in the order they were written."""
    root = work(post)
    ran = [(root, manager.run(root))]
    queue = manager.queue_for_tests
    while queue.pending:
        chunk = queue.pending.pop(0)
        ran.append((chunk, manager.run(chunk)))
    return ran


def test_a_post_reaches_every_follower_once_through_a_tree_of_chunks():
    manager, feed, graph, posts, post = big_world(450)
    ran = run_tree(manager, post)
    assert holders(feed, post.post_id) == {f"u{i:05d}" for i in range(450)}
    assert set(feed.puts.values()) == {1}  # every follower written exactly once
    assert sum(outcome.readers for _, outcome in ran) == 450
    first = ran[0][1]
    assert first.readers == 10 and first.continued and 2 <= first.handed_on <= BRANCHES
    assert max(chunk.hops for chunk, _ in ran) <= 4  # ~log8(45) + 2, not 44


def test_the_hops_grow_with_the_logarithm_of_the_followers():
    hops = {}
    for followers in (100, 1000, 10000):
        manager, feed, graph, posts, post = big_world(followers)
        ran = run_tree(manager, post)
        assert len(holders(feed, post.post_id)) == followers and set(feed.puts.values()) == {1}
        hops[followers] = max(chunk.hops for chunk, _ in ran)
        assert hops[followers] <= math.ceil(math.log(followers / 10, BRANCHES)) + 2
    assert hops[10000] - hops[100] <= math.ceil(math.log(100, BRANCHES)) + 1  # x100 followers: a few more hops


def test_one_branch_is_the_old_chain():
    manager, feed, graph, posts, post = big_world(45, branches=1)
    ran = run_tree(manager, post)
    assert [outcome.readers for _, outcome in ran] == [10, 10, 10, 10, 5]
    assert [chunk.path for chunk, _ in ran] == ["", "1", "11", "111", "1111"]


def test_each_chunk_is_bounded_and_in_follower_order():
    manager, feed, graph, posts, post = big_world(2000, trim_every=10**9)
    delivered: list[list[str]] = []
    real_put = feed.put_entries
    feed.put_entries = lambda entries: (delivered.append([e.reader_id for e in entries]), real_put(entries))[1]
    root = work(post)
    pending, ran = [root], 0
    while pending:
        chunk = pending.pop(0)
        queries, start = graph.queries, len(delivered)
        outcome = manager.run(chunk)
        readers = [r for step in delivered[start:] for r in step]
        assert readers == sorted(readers) and len(readers) <= 10  # one page, in follower order
        assert all((chunk.after is None or r > chunk.after) and (chunk.until is None or r <= chunk.until)
                   for r in readers)  # inside its own range
        assert graph.queries - queries <= 2 and outcome.handed_on <= BRANCHES and outcome.writes.calls <= 2
        pending.extend(manager.queue_for_tests.pending)
        manager.queue_for_tests.pending.clear()
        ran += 1
    assert len(holders(feed, post.post_id)) == 2000 and ran < 2000 // 10 * 2


def test_children_cover_the_rest_of_the_range_disjointly():
    manager, feed, graph, posts, post = big_world(300)
    run_tree(manager, post)
    for parent in [work(post), *manager.queue_for_tests.written.values()]:
        kids = sorted((w for w in manager.queue_for_tests.written.values()
                       if w.path[:-1] == parent.path and len(w.path) == len(parent.path) + 1), key=lambda w: w.path)
        if not kids:
            continue
        assert kids[-1].until == parent.until  # the last child keeps the parent's end
        assert all(a.until == b.after and a.until is not None for a, b in zip(kids, kids[1:]))  # no gap, no overlap


def test_a_small_shop_needs_no_work_item():
    manager, feed, graph, posts, post = big_world(7)
    outcome = manager.post_written(post, None)
    assert outcome.readers == 7 and not outcome.continued and manager.queue_for_tests.written == {}


def test_a_full_last_page_hands_nothing_on():
    manager, feed, graph, posts, post = big_world(10)
    outcome = manager.post_written(post, None)
    assert outcome.readers == 10 and not outcome.continued and manager.queue_for_tests.written == {}


def test_replaying_any_chunk_changes_nothing():
    manager, feed, graph, posts, post = big_world(250)
    ran = run_tree(manager, post)
    written = dict(manager.queue_for_tests.written)
    feeds = {r: dict(e) for r, e in feed.feeds.items()}
    for chunk, _ in ran:  # every record delivered again (the post's own too)
        again = manager.run(chunk)
        assert not again.continued and again.handed_on == 0
    assert manager.queue_for_tests.written == written and manager.queue_for_tests.pending == []
    assert feed.feeds == feeds


def test_a_replay_after_the_followers_changed_hands_on_nothing_new():
    manager, feed, graph, posts, post = big_world(45)
    root = work(post)
    manager.run(root)
    written = dict(manager.queue_for_tests.written)
    graph.edges |= {("s1", f"u{i:05d}x") for i in range(0, 45, 3)}  # other split points, were they cut again
    assert not manager.run(root).continued and manager.queue_for_tests.written == written


def test_a_replayed_post_record_starts_no_second_tree():
    manager, feed, graph, posts, post = big_world(25)
    manager.post_written(post, None)
    pending = list(manager.queue_for_tests.pending)
    manager.post_written(post, None)
    assert manager.queue_for_tests.pending == pending


def test_a_chunk_past_its_deadline_hands_the_rest_on():
    ticks = iter(range(1000))
    manager, feed, graph, posts, post = big_world(40, chunk=20, step=5)
    manager.clock = lambda: next(ticks)
    outcome = manager.run(work(post), deadline=2)
    assert 0 < outcome.readers < 20 and outcome.continued and outcome.handed_on == 1
    (rest,) = manager.queue_for_tests.pending
    assert rest.path == "1" and rest.until is None and rest.after == f"u{outcome.readers - 1:05d}"
    manager.clock = lambda: 0
    manager.queue_for_tests.drain(manager, deadline=None)
    assert holders(feed, post.post_id) == {f"u{i:05d}" for i in range(40)} and set(feed.puts.values()) == {1}


def test_a_chunk_starting_after_its_deadline_only_defers():
    manager, feed, graph, posts, post = big_world(40)
    manager.clock = lambda: 10.0
    outcome = manager.run(work(post, "2", "u00009", "u00029"), deadline=5.0)
    assert outcome.readers == 0 and outcome.continued and feed.feeds == {}
    (rest,) = manager.queue_for_tests.pending
    assert (rest.path, rest.after, rest.until) == ("21", "u00009", "u00029")
    manager.clock = lambda: 0.0
    manager.queue_for_tests.drain(manager)
    assert holders(feed, post.post_id) == {f"u{i:05d}" for i in range(10, 30)}


def test_a_post_deleted_while_its_chunks_run_stops_them_and_leaves_nothing():
    manager, feed, graph, posts, post = big_world(450)
    manager.post_written(post, None)  # the first chunk delivered, its children written
    assert manager.queue_for_tests.pending
    del posts.posts[post.post_id]
    manager.post_removed(post)  # the REMOVE's own fan-out (a tree too)
    outcomes = manager.queue_for_tests.drain(manager)
    stopped = [o for o in outcomes if "post gone" in o.action]
    assert stopped and all(not o.continued and o.readers == 0 for o in stopped)  # no push chunk runs on
    assert holders(feed, post.post_id) == set()


def test_a_chunk_that_raced_the_deletion_takes_its_entries_back():
    manager, feed, graph, posts, post = big_world(8)

    class Vanishing(MemoryPosts):
        calls = 0

        def get_post(self, post_id, consistent=False):
            self.calls += 1
            return post if self.calls == 1 else None  # deleted between the chunk's read and its re-check

    manager.posts = Vanishing()
    outcome = manager.run(work(post))
    assert "undone" in outcome.action and holders(feed, post.post_id) == set()


def test_an_edit_while_chunks_run_leaves_the_new_text_everywhere():
    manager, feed, graph, posts, post = big_world(45)
    manager.post_written(post, None)
    edited = replace(post, text="고침", version=2)
    posts.posts[post.post_id] = edited
    manager.post_written(edited, post)  # the edit's refresh tree, racing the push tree
    manager.queue_for_tests.drain(manager)
    assert {feed.feeds[r][post.post_id].excerpt for r in holders(feed, post.post_id)} == {"고침"}
    assert len(holders(feed, post.post_id)) == 45


def test_the_branches_fit_a_path_digit():
    for branches in (0, 10):
        try:
            world(branches=branches)
        except ValueError:
            continue
        raise AssertionError(f"branches={branches} accepted")


def test_long_text_becomes_an_excerpt_with_more():
    long = replace(make_post("s1", 1), text="두부 " * 500)
    entry = entry_for("reader", long)
    assert entry.more and len(entry.excerpt) <= 141 and entry.excerpt.endswith("…")


def test_the_largest_post_there_can_be_still_makes_a_one_unit_entry():
    from chalicelib.records.social import TaggedProduct
    from chalicelib.services.limits import MAX_HASHTAG_CHARS, MAX_HASHTAGS, MAX_PRODUCTS, MAX_TEXT_CHARS
    from chalicelib.storage.feed import MAX_ENTRY_BYTES, compact_item, entry_from_raw, item_bytes

    products = tuple(TaggedProduct(f"01J{n:023d}", "가" * 100, 50_000_000, "KRW") for n in range(MAX_PRODUCTS))
    post = replace(make_post("s1", 1), shop_name="망" * 60, shop_handle="h" * 30, text="두" * MAX_TEXT_CHARS,
                   photos=["uploads/" + "u" * 64 + "/" + "p" * 200] * 10, product_ids=[p.product_id for p in products],
                   products=products, hashtags=["태" * MAX_HASHTAG_CHARS] * MAX_HASHTAGS, like_count=10**9,
                   comment_count=10**9)
    raw = compact_item(entry_for("01J" + "R" * 23, post))
    assert item_bytes(raw) <= MAX_ENTRY_BYTES
    back = entry_from_raw(raw)
    assert back.more and back.product_count == MAX_PRODUCTS and back.photo_count == 10
    assert 1 <= len(back.products) <= 3 and back.product_ids == [p.product_id for p in back.products]


def test_an_ordinary_post_keeps_its_excerpt_whole():
    from chalicelib.storage.feed import compact_item, entry_from_raw

    post = replace(make_post("s1", 1), text="오늘 아침 손두부 나왔어요 #두부", hashtags=["두부"])
    back = entry_from_raw(compact_item(entry_for("reader", post)))
    assert (back.excerpt, back.more, back.hashtags) == (post.text, False, ["두부"])
