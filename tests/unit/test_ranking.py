"""Ranked feed: the order (pure) and the paging through windows (``services.feed.ranked_page``
on an in-memory feed that records every read)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ulid import ULID

from chalicelib.errors import BadRequest
from chalicelib.records.social import FeedEntry
from chalicelib.schemas.feed import FeedQuery
from chalicelib.services.feed import RankedFeedStore, ranked_page
from chalicelib.services.ranking import (
    AFFINITY_SHOPS,
    FEED_HALF_LIFE_SECONDS,
    RANKED_WINDOW,
    Affinities,
    Candidate,
    RankedCursor,
    pack_ids,
    rank,
    score_key,
    unpack_ids,
    window_size,
)
from chalicelib.services.signing import CursorCodec

DAY = 24 * 3600.0
T0 = 1_795_000_000.0  # 2026-11-18
READER = "01READER000000000000000000"


def post_id(at: float, salt: int = 0) -> str:
    return str(ULID.from_bytes(int(at * 1000).to_bytes(6, "big") + salt.to_bytes(10, "big")))


# --- the order ---------------------------------------------------------------------------------


def test_stronger_relationship_ranks_first_at_equal_age_and_engagement():
    a = Candidate("01A", "regular-shop", created_at=1000.0)
    b = Candidate("01B", "stranger-shop", created_at=1000.0)
    assert [c.post_id for c in rank([b, a], Affinities({"regular-shop": 40.0}))] == ["01A", "01B"]


def test_a_day_of_age_halves_the_score():
    fresh = Candidate("01B", "s", created_at=FEED_HALF_LIFE_SECONDS)
    old = Candidate("01A", "s", created_at=0.0)
    assert abs((score_key(fresh, 1.0) - score_key(old, 1.0)) - 1.0) < 1e-9


def test_engagement_has_diminishing_returns():
    base = Candidate("01A", "s", 0.0)
    assert score_key(Candidate("01B", "s", 0.0, like_count=1), 0) > score_key(base, 0)
    gain_first = score_key(Candidate("01B", "s", 0.0, like_count=10), 0) - score_key(base, 0)
    gain_next = score_key(Candidate("01B", "s", 0.0, like_count=20), 0) - score_key(
        Candidate("01B", "s", 0.0, like_count=10), 0)
    assert gain_next < gain_first


def test_equal_scores_keep_one_order_newest_first():
    same = [Candidate(f"01{n}", "s", 0.0) for n in range(5)]
    assert [c.post_id for c in rank(same, Affinities())] == ["014", "013", "012", "011", "010"]


def test_a_shop_beyond_the_strongest_counts_as_strong_as_the_weakest_of_them():
    cut = Affinities.from_strongest({"a": 40.0, "b": 7.5}, complete=False)
    assert (cut.of("a"), cut.of("b"), cut.of("elsewhere")) == (40.0, 7.5, 7.5)
    everything = Affinities.from_strongest({"a": 40.0, "b": 7.5}, complete=True)
    assert everything.of("elsewhere") == 0.0  # the reader has no other relationship
    assert Affinities.from_strongest({}, complete=False).of("x") == 0.0


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.sampled_from("abcdefgh"), st.floats(0, 500), min_size=1), st.integers(1, 7))
def test_cutting_the_strongest_list_never_inverts_two_shops(true_strengths, count):
    """Whatever the cut, a stronger shop's post never ranks below a weaker shop's identical post."""
    strongest = dict(sorted(true_strengths.items(), key=lambda kv: kv[1], reverse=True)[:count])
    affinities = Affinities.from_strongest(strongest, complete=len(true_strengths) <= count)
    for a, sa in true_strengths.items():
        for b, sb in true_strengths.items():
            if sa > sb:
                assert affinities.of(a) >= affinities.of(b)


def test_windows_hold_whole_pages_of_about_sixty_posts():
    assert RANKED_WINDOW == 60 and AFFINITY_SHOPS == 16
    assert [window_size(n) for n in (1, 7, 20, 25, 60, 61, 100)] == [60, 56, 60, 50, 60, 61, 100]


# --- the cursor --------------------------------------------------------------------------------


def test_ids_travel_as_sixteen_bytes_each():
    ids = tuple(post_id(T0 + n, n) for n in range(10))
    packed = pack_ids(ids)
    assert unpack_ids(packed) == ids and len(packed) == -(-160 * 4 // 3)


def test_cursor_state_round_trips():
    ids = tuple(post_id(T0 + n, n) for n in range(5))
    for cursor in (RankedCursor(ids[:4], ids[4]), RankedCursor((), ids[0]), RankedCursor(ids, None)):
        assert RankedCursor.from_state(cursor.to_state()) == cursor


@pytest.mark.parametrize("state", [
    {}, [], "x", {"v": 1, "top": "01A", "shown": ""},  # the previous design's cursor
    {"v": 2}, {"v": 2, "r": 5}, {"v": 2, "r": "!!"}, {"v": 2, "r": "AAAA"},  # 3 bytes: not whole ids
    {"v": 2, "r": "", "b": ""}, {"v": 2, "r": "", "b": 7},
    {"v": 2, "r": pack_ids([post_id(T0)] * 2)},  # the same post twice
    {"v": 2, "r": pack_ids([post_id(T0 + n, n) for n in range(RANKED_WINDOW + 1)])},
])
def test_a_malformed_cursor_state_is_refused(state):
    with pytest.raises(ValueError):
        RankedCursor.from_state(state)
    with pytest.raises(BadRequest):
        ranked_page(MemoryFeed([]), lambda n: ({}, True), READER, 20, state)


def test_only_canonical_ulids_are_packed():
    with pytest.raises(ValueError):
        pack_ids([post_id(T0).lower()])
    with pytest.raises(ValueError):
        pack_ids(["not-a-ulid"])


def test_the_longest_cursor_fits_the_query_limit():
    """Pages of 1 leave 59 posts of a 60-post window in the cursor: the worst case."""
    ids = tuple(post_id(T0 + n, n) for n in range(RANKED_WINDOW))
    state = RankedCursor(ids[1:], ids[0]).to_state()
    token = CursorCodec("a-secret-for-the-test-only-0123456789").encode(state, f"feed-ranked:{READER}")
    limit = FeedQuery.model_fields["cursor"].metadata[0].max_length
    assert len(token) <= limit and limit <= 2048
    FeedQuery(cursor=token, order="ranked")  # accepted


# --- paging through windows ----------------------------------------------------------------------


def entry(pid: str, shop: str, at: float, likes: int = 0) -> FeedEntry:
    return FeedEntry(reader_id=READER, post_id=pid, shop_id=shop, shop_name=shop, shop_handle=shop, excerpt="",
                     more=False, photo=None, photo_count=0, product_ids=[], hashtags=[], like_count=likes,
                     comment_count=0, created_at=at, version=1, expires_at=at + 90 * DAY)


class MemoryFeed:
    """The reader's feed in memory, recording each read as the repository would make it."""

    def __init__(self, entries: list[FeedEntry]) -> None:
        self.rows = {e.post_id: e for e in entries}
        self.reads: list[tuple[str, list[str]]] = []

    def window(self, reader_id, below, size):
        ids = sorted((pid for pid in self.rows if below is None or pid < below), reverse=True)[:size]
        self.reads.append(("Query", ids))
        return [self.rows[pid] for pid in ids]

    def entries(self, reader_id, post_ids):
        assert len(post_ids) <= 100
        self.reads.append(("BatchGetItem", list(post_ids)))
        return [self.rows[pid] for pid in reversed(post_ids) if pid in self.rows]  # any order


if TYPE_CHECKING:  # `make typecheck`: each fake keeps the contract of what it stands for
    _feed: RankedFeedStore = MemoryFeed([])


def page_through(feed: MemoryFeed, limit: int, strengths: dict | None = None):
    """All pages (items, calls) until the cursor runs out."""
    state, first, pages = None, True, []
    while first or state is not None:
        first = False
        before = len(feed.reads)
        asked: list[int] = []

        def strongest(count: int) -> tuple[dict, bool]:
            asked.append(count)
            return dict(strengths or {}), True

        items, state = ranked_page(feed, strongest, READER, limit, state)
        reads = feed.reads[before:]
        pages.append(([e.post_id for e in items], [op for op, _ in reads] + ["gsi3"] * len(asked)))
    return pages


def test_a_feed_is_paged_window_by_window_with_two_reads_at_most():
    posts = [entry(post_id(T0 - n * 3600, n), f"s{n % 7}", T0 - n * 3600) for n in range(130)]
    pages = page_through(MemoryFeed(posts), 20)
    assert [len(items) for items, _ in pages] == [20, 20, 20, 20, 20, 20, 10]
    assert [calls for _, calls in pages] == [
        ["Query", "gsi3"], ["BatchGetItem"], ["BatchGetItem"],  # window 1: posts 1-60
        ["Query", "gsi3"], ["BatchGetItem"], ["BatchGetItem"],  # window 2: posts 61-120
        ["Query", "gsi3"],  # posts 121-130: a short window, the end
    ]
    seen = [pid for items, _ in pages for pid in items]
    assert sorted(seen) == sorted(e.post_id for e in posts) and len(seen) == len(set(seen))
    newest = sorted((e.post_id for e in posts), reverse=True)
    assert set(seen[:60]) == set(newest[:60]) and set(seen[60:120]) == set(newest[60:120])


def test_a_window_is_ranked_once_and_served_best_first():
    posts = [entry(post_id(T0 - n * 600, n), "regular" if n % 10 == 9 else f"s{n}", T0 - n * 600) for n in range(60)]
    pages = page_through(MemoryFeed(posts), 20, strengths={"regular": 100.0})
    expected = [c.post_id for c in rank([Candidate(e.post_id, e.shop_id, e.created_at) for e in posts],
                                        Affinities({"regular": 100.0}))]
    assert [pid for items, _ in pages for pid in items] == expected
    regulars = {e.post_id for e in posts if e.shop_id == "regular"}
    assert regulars <= set(pages[0][0])  # a regular's posts from hours ago outrank the newest


def test_a_feed_that_ends_at_a_window_edge_ends_with_an_empty_page():
    posts = [entry(post_id(T0 - n, n), "s", T0 - n) for n in range(60)]
    pages = page_through(MemoryFeed(posts), 20)
    assert [len(items) for items, _ in pages] == [20, 20, 20, 0]
    assert pages[-1][1] == ["Query"]  # nothing to rank: no affinity read


def test_an_empty_feed_is_one_query():
    assert page_through(MemoryFeed([]), 20) == [([], ["Query"])]


event_st = st.sampled_from(["like", "new post", "delete", "affinity", "limit"])


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 150), st.integers(1, 25), st.lists(st.lists(event_st, max_size=4), max_size=40), st.data())
def test_pages_never_repeat_or_skip_whatever_happens_between_them(size, limit, events, data):
    """Likes, new posts, deletions, changing affinities and page sizes between page requests:
    every post of the feed as it was is served exactly once unless it was deleted first, no
    post arriving meanwhile is, each page is at most two reads, and no entry is read twice."""
    shops = ["a", "b", "c", "d", "e"]
    draw = data.draw
    posts = [entry(post_id(T0 - draw(st.floats(0, 30 * DAY)), n), draw(st.sampled_from(shops)), 0.0)
             for n in range(size)]
    posts = [entry(e.post_id, e.shop_id, ULID.from_str(e.post_id).timestamp, draw(st.integers(0, 50)))
             for e in posts]
    feed = MemoryFeed(posts)
    original = {e.post_id for e in feed.rows.values()}
    deleted_unseen: set[str] = set()
    seen: list[str] = []
    strengths = {s: draw(st.floats(0, 100)) for s in shops}
    state, page_no = None, 0
    while True:
        before = len(feed.reads)
        items, state = ranked_page(feed, lambda n: (dict(strengths), True), READER, limit, state)
        reads = feed.reads[before:]
        assert len(reads) == 1 and len(items) <= limit
        seen.extend(e.post_id for e in items)
        if state is None:
            break
        for event in events[page_no] if page_no < len(events) else []:
            if event == "like" and feed.rows:
                pid = draw(st.sampled_from(sorted(feed.rows)))
                old = feed.rows[pid]
                feed.rows[pid] = entry(pid, old.shop_id, old.created_at, old.like_count + 100)
            elif event == "new post":
                at = T0 + 3600 * (page_no + 1)
                feed.rows[post_id(at, 10_000 + page_no)] = entry(post_id(at, 10_000 + page_no), "a", at)
            elif event == "delete" and feed.rows:
                pid = draw(st.sampled_from(sorted(feed.rows)))
                del feed.rows[pid]
                if pid in original and pid not in seen:
                    deleted_unseen.add(pid)
            elif event == "affinity":
                strengths[draw(st.sampled_from(shops))] = draw(st.floats(0, 1000))
            elif event == "limit":
                limit = draw(st.integers(1, 25))
        page_no += 1
    assert len(seen) == len(set(seen)), "a post was repeated"
    assert set(seen) == original - deleted_unseen, "a post was skipped, or a new one slipped in"
    windows = [pid for op, ids in feed.reads if op == "Query" for pid in ids]
    assert len(windows) == len(set(windows)), "an entry was read by two windows"
