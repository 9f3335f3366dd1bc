"""The feed: fan-out on write in bounded chunks, one Query per page.

This module owns the feed's rules and limits, after Mastodon's ``FeedManager``: paired
verbs (``push``/``unpush`` a post to/from every follower's feed, ``merge``/``unmerge`` a
shop into/out of one reader's feed, ``trim``), and the stream reactions that call them.

Bounded work, as a tree. A post reaches its followers ``CHUNK_FOLLOWERS`` at a time. A
chunk covers the followers in a key range ``(after, until]``; the post's own stream record
runs the first (all followers). A chunk delivers the first page of its range, in follower
order, and when followers remain it hands the rest on to up to ``BRANCHES`` children — work items
``FanoutWork`` on the main table, each covering a disjoint slice of what is left, cut in key
value (``services.fanout_tree``); each child's stream record runs it, and it splits again if
its slice still holds more than a page. So the stream hops between a post and its last
follower grow with the logarithm of the follower count (≈ log8(N/1000): four for a million)
instead of one hop per chunk, and the chunks of one post run side by side: each work item
has its own partition key, so they spread over the stream's shards. One record still costs
at most one chunk (≈ 40 BatchWriteItem calls, two one-key follower Queries, one
TransactWriteItems of at most ``BRANCHES`` small items), and a chunk also stops early, handing
the rest of its range on to one child, when the invocation's time budget (``deadline``)
runs out.

Replays. Children are named by their place in the tree (``path``) and written together, in
one TransactWriteItems with ``attribute_not_exists`` on each: a replayed or duplicated chunk
finds them written and hands on nothing — even if the followers changed meanwhile and it
computed other split points. Every write a chunk makes is idempotent (a Put of the same
entry, a Delete of a key), so running a chunk twice changes nothing, and each follower is in
exactly one chunk's range, so gets one entry. Edits (``refresh``) and deletions (``unpush``)
travel the same way.

Why work items on the main table rather than an SQS queue: the chunks then run through the
stream function that already exists, with its partial-batch retries and failure queue, and
``make run`` and the tests exercise exactly the deployed path through DynamoDB Local's own
stream — there is no queue to emulate locally, no second event source to deploy and no
second IAM surface. The tree gives what a queue's concurrent consumers would (chunks in
parallel, few hops) for about one work item per chunk, ≈ 2 WCU per 1,000 followers (a
transaction's 2 units per small item), against the 1,000 WCU of the entries themselves.

The reactions run from the main table's stream, off the request path, and must be safe
to run twice or out of order (Lambda retries records). They never trust the stream image
alone — they re-read what decides the outcome (does the post still exist, at which
version; does the follow edge still exist), so a replayed INSERT after a REMOVE writes
nothing, and whichever record of a post is processed last leaves its current content in
the feeds. A push chunk re-reads the post after writing: if it was deleted meanwhile, the
chunk deletes what it just wrote (the deletion's own fan-out may already have passed those
followers), and every later chunk stops; if it was edited, the chunk re-copies it.

Known window: a chunk reads its followers, then writes. A reader who unfollows in between
(and whose unfollow is handled in between) can keep that one entry until it is trimmed or
expires. Closing it would cost a re-read per reader per post.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from chalicelib import clock as app_clock
from chalicelib.errors import InvalidCursor
from chalicelib.records.common import Page
from chalicelib.records.social import FanoutWork, FeedEntry, Follow, Post, WriteStats
from chalicelib.services import ranking
from chalicelib.services.fanout_tree import BRANCHES, child_ranges

# Mastodon keeps 400 items per home feed (FeedManager::MAX_ITEMS): people read the top of
# a feed and almost nobody scrolls past a few hundred items; older posts stay reachable on
# each shop's page. A bounded partition also bounds what unfollow and trim read.
MAX_ITEMS = 400
# A new follow copies the shop's newest posts in, like Mastodon's merge_into_home
# (MAX_ITEMS / 4): the feed fills at once, and a follow costs at most four batch writes.
MERGE_ITEMS = MAX_ITEMS // 4
# Trimming reads the reader's whole feed (keys), so a post's fan-out trims each reader
# about once per TRIM_EVERY entries written to them, chosen by a hash of (reader, post)
# so that a replay trims the same feeds. Between trims a feed can run past MAX_ITEMS by
# about that much; a merge always trims.
TRIM_EVERY = 25
# Entries expire after 90 days (TTL): readers who stop coming back stop costing storage,
# and the TTL is a backstop, not the cap (that is MAX_ITEMS).
ENTRY_TTL_SECONDS = 90 * 24 * 3600
# Followers per fan-out chunk: one Query of follower ids (keys only) and 40 BatchWriteItem
# calls, well under a second on DynamoDB; a 1,000,000-follower shop is ~1,100 chunks, in a
# tree four levels deep (up to ``BRANCHES`` children per chunk that finds more followers).
CHUNK_FOLLOWERS = 1000
# Within a chunk, followers are written this many at a time, checking the deadline between
# steps: 4 BatchWriteItem calls, the smallest unit of progress.
STEP_FOLLOWERS = 100
# The feed item shows the first characters of the text; the post has the rest ("more").
EXCERPT_CHARS = 140
# At most this many hashtags and tagged products ride along in an entry (the post has them all).
ENTRY_HASHTAGS = 5
ENTRY_PRODUCTS = 3


class FeedStore(Protocol):
    def page(self, reader_id: str, limit: int, start_key: dict | None) -> Page: ...
    def put_entries(self, entries: list[FeedEntry]) -> WriteStats: ...
    def delete_entries(self, keys: list[tuple[str, str]]) -> WriteStats: ...
    def readers_having(self, post_id: str, reader_ids: list[str]) -> tuple[set[str], int]: ...
    def post_ids_of_shop(self, reader_id: str, shop_id: str) -> list[str]: ...
    def trim(self, reader_id: str, keep: int) -> WriteStats: ...


class FollowGraph(Protocol):
    def follower_page(self, shop_id: str, after: str | None, limit: int,
                      until: str | None = None) -> tuple[list[str], str | None]:
        """Up to ``limit`` followers in ``(after, until]`` in id order, and the next one after them (None: no more)."""

    def last_follower(self, shop_id: str, until: str | None = None) -> str | None: ...
    def get_edge(self, shop_id: str, user_id: str) -> Follow | None: ...


class PostSource(Protocol):
    def get_post(self, post_id: str, consistent: bool = False) -> Post | None: ...
    def recent_posts(self, shop_id: str, count: int) -> list[Post]: ...


class WorkQueue(Protocol):
    def enqueue(self, works: Sequence[FanoutWork]) -> bool:
        """Write a chunk's children together, once; False when they exist already (a replay)."""


def excerpt_of(text: str, limit: int = EXCERPT_CHARS) -> tuple[str, bool]:
    """The first ``limit`` characters, cut at a space when one is near the end; and whether
    anything was left out."""
    if len(text) <= limit:
        return text, False
    cut = text[:limit]
    space = cut.rfind(" ", limit * 3 // 4)
    return (cut[:space] if space > 0 else cut).rstrip() + "…", True


def entry_for(reader_id: str, post: Post) -> FeedEntry:
    """The compact copy of ``post`` for one reader: everything a feed item shows.

    Counts are as of this copy: likes and comments do not rewrite thousands of feed
    entries; an edit re-copies them, and the post itself (``GET /posts/{id}``) is exact.
    The tagged products' name and price come from the post (as of posting or its last
    edit), so a feed item shows them with no read of the products.
    """
    excerpt, more = excerpt_of(post.text)
    return FeedEntry(
        reader_id=reader_id, post_id=post.post_id, shop_id=post.shop_id, shop_name=post.shop_name,
        shop_handle=post.shop_handle, excerpt=excerpt, more=more, photo=post.photos[0] if post.photos else None,
        photo_count=len(post.photos), product_ids=[p.product_id for p in post.products[:ENTRY_PRODUCTS]],
        hashtags=list(post.hashtags[:ENTRY_HASHTAGS]), product_count=len(post.product_ids),
        like_count=post.like_count, comment_count=post.comment_count, created_at=post.created_at,
        version=post.version, expires_at=post.created_at + ENTRY_TTL_SECONDS,
        products=tuple(post.products[:ENTRY_PRODUCTS]),
    )


def due_for_trim(reader_id: str, post_id: str, every: int = TRIM_EVERY) -> bool:
    return every <= 1 or zlib.crc32(f"{reader_id}:{post_id}".encode()) % every == 0


@dataclass
class Outcome:
    """What a stream reaction did (logged, and read by tests and the benchmark)."""

    action: str
    readers: int = 0
    writes: WriteStats = field(default_factory=WriteStats)
    trims: int = 0
    continued: bool = False  # work items for the rest were written
    handed_on: int = 0  # how many (children of this chunk)


def page(store: FeedStore, reader_id: str, limit: int, start_key: dict | None) -> Page:
    """Newest first: one Query."""
    return store.page(reader_id, limit, start_key)


class RankedFeedStore(Protocol):
    def window(self, reader_id: str, below: str | None, size: int) -> list[FeedEntry]: ...
    def entries(self, reader_id: str, post_ids: Sequence[str]) -> list[FeedEntry]: ...


def ranked_page(store: RankedFeedStore, strongest: Callable[[int], tuple[dict[str, float], bool]], reader_id: str,
                limit: int, state: dict | None) -> tuple[list[FeedEntry], dict | None]:
    """One page of the ranked feed (see ``services.ranking`` for the order and the cost).

    ``state`` is what the previous page's cursor carried (``ranking.RankedCursor``), None
    for the first page. A page either serves the next ``limit`` posts of the window being
    paged, by key (1 BatchGetItem), or, when that window is used up, reads the next window
    below it (1 Query) and the reader's strongest shops (``strongest(n)``: their strengths
    now and whether that is all of them; 1 Query), ranks the window once and serves its best
    ``limit`` straight from the Query. Returns the page and the next state, or None at the
    end of the feed.
    """
    try:
        cursor = ranking.RankedCursor.from_state(state) if state is not None else None
    except ValueError:
        raise InvalidCursor("The cursor is not valid for this list.") from None
    if cursor is not None and cursor.remainder:
        wanted, rest = cursor.remainder[:limit], cursor.remainder[limit:]
        found = {e.post_id: e for e in store.entries(reader_id, wanted)}
        page = [found[post_id] for post_id in wanted if post_id in found]  # gone meanwhile: deleted, unfollowed
        return page, _ranked_state(rest, cursor.below)
    size = ranking.window_size(limit)
    window = store.window(reader_id, cursor.below if cursor else None, size)
    if not window:
        return [], None
    strengths, complete = strongest(ranking.AFFINITY_SHOPS)
    affinities = ranking.Affinities.from_strongest(strengths, complete)
    candidates = [ranking.Candidate(e.post_id, e.shop_id, e.created_at, e.like_count, e.comment_count)
                  for e in window]
    ids = [c.post_id for c in ranking.rank(candidates, affinities)]
    by_id = {e.post_id: e for e in window}
    below = window[-1].post_id if len(window) == size else None  # a short window is the end of the feed
    return [by_id[post_id] for post_id in ids[:limit]], _ranked_state(tuple(ids[limit:]), below)


def _ranked_state(remainder: tuple[str, ...], below: str | None) -> dict | None:
    if not remainder and below is None:
        return None
    return ranking.RankedCursor(remainder, below).to_state()


class FeedManager:
    def __init__(self, feed: FeedStore, follows: FollowGraph, posts: PostSource, queue: WorkQueue, *,
                 max_items: int = MAX_ITEMS, merge_items: int = MERGE_ITEMS, trim_every: int = TRIM_EVERY,
                 chunk: int = CHUNK_FOLLOWERS, step: int = STEP_FOLLOWERS, branches: int = BRANCHES,
                 clock: Callable[[], float] = time.monotonic, now: Callable[[], float] = app_clock.now) -> None:
        self.feed = feed
        self.follows = follows
        self.posts = posts
        self.queue = queue
        self.max_items = max_items
        self.merge_items = merge_items
        self.trim_every = trim_every
        self.chunk = chunk
        self.step = step
        if not 1 <= branches <= 9:
            raise ValueError("branches: 1 to 9 (one digit of a chunk's path)")
        self.branches = branches
        self.clock = clock
        self.now = now

    # -- post fan-out, a tree of chunks -------------------------------------------------
    def run(self, work: FanoutWork, deadline: float | None = None) -> Outcome:
        """Deliver the first page of ``work``'s range; hand the rest on as children.

        Stops early (and hands the rest of its range on to one child) when ``deadline``
        (``clock()`` time) passes; a chunk that starts past its deadline only hands itself on.
        """
        post = None
        if work.action in ("push", "refresh"):
            post = self.posts.get_post(work.post_id, consistent=True)
            if post is None:
                return Outcome(f"{work.action}: stopped, post gone")
            if work.action == "refresh" and post.version != work.version:
                return Outcome("refresh: stopped, edited again")  # the newer edit's run takes over
        outcome = Outcome(work.action)
        if deadline is not None and self.clock() >= deadline:
            self._hand_on(outcome, [work.child(1, work.after, work.until, self.now())])
            outcome.action += ": deferred"
            return outcome
        readers, first_left = self.follows.follower_page(work.shop_id, work.after, self.chunk, work.until)
        done: list[str] = []
        for start in range(0, len(readers), self.step):
            if done and deadline is not None and self.clock() >= deadline:
                first_left = readers[start]  # hand the rest of this range on, whole
                break
            step = readers[start:start + self.step]
            self._deliver(work, post, step, outcome)
            done.extend(step)
        outcome.readers = len(done)
        if first_left is not None and len(done) < len(readers):
            self._hand_on(outcome, [work.child(1, done[-1], work.until, self.now())])
        elif first_left is not None:
            self._hand_on(outcome, self._children(work, done, first_left))
        if work.action == "push" and done:
            self._settle_push(work, post, done, outcome)
        return outcome

    def _children(self, work: FanoutWork, page: list[str], first_left: str) -> list[FanoutWork]:
        """The chunks that take over the followers after ``page`` (see ``fanout_tree``)."""
        upper = self.follows.last_follower(work.shop_id, work.until) if self.branches > 1 else None
        ranges = child_ranges(page, first_left, max(upper or first_left, first_left), work.until, self.chunk,
                              self.branches)
        at = self.now()
        return [work.child(n, after, until, at) for n, (after, until) in enumerate(ranges, start=1)]

    def _hand_on(self, outcome: Outcome, children: list[FanoutWork]) -> None:
        outcome.continued = self.queue.enqueue(children)
        outcome.handed_on = len(children) if outcome.continued else 0

    def _deliver(self, work: FanoutWork, post: Post | None, readers: list[str], outcome: Outcome) -> None:
        if work.action == "push":
            outcome.writes.add(self.feed.put_entries([entry_for(reader, post) for reader in readers]))
            for reader in readers:
                if due_for_trim(reader, post.post_id, self.trim_every):
                    outcome.writes.add(self.feed.trim(reader, self.max_items))
                    outcome.trims += 1
        elif work.action == "refresh":
            having, _ = self.feed.readers_having(post.post_id, readers)
            if having:
                outcome.writes.add(self.feed.put_entries([entry_for(reader, post) for reader in sorted(having)]))
        else:
            outcome.writes.add(self.feed.delete_entries([(reader, work.post_id) for reader in readers]))

    def _settle_push(self, work: FanoutWork, post: Post, readers: list[str], outcome: Outcome) -> None:
        """After writing, look again: a post deleted meanwhile is taken back out of these
        feeds (its deletion's fan-out may already have passed them); an edited one re-copied."""
        current = self.posts.get_post(work.post_id, consistent=True)
        if current is None:
            outcome.writes.add(self.feed.delete_entries([(reader, work.post_id) for reader in readers]))
            outcome.action += ": undone, post deleted meanwhile"
        elif current.version != post.version:
            outcome.writes.add(self.feed.put_entries([entry_for(reader, current) for reader in readers]))
            outcome.action += ": re-copied, post edited meanwhile"

    def push(self, post: Post, deadline: float | None = None) -> Outcome:
        """Copy ``post`` into its followers' feeds, the first chunk now."""
        return self.run(self._work(post.post_id, post.shop_id, "push", post.version), deadline)

    def refresh(self, post: Post, deadline: float | None = None) -> Outcome:
        """Re-copy an edited post where it is (not where it was trimmed or never went)."""
        return self.run(self._work(post.post_id, post.shop_id, "refresh", post.version), deadline)

    def unpush(self, post: Post, deadline: float | None = None) -> Outcome:
        """Remove a post from every follower's feed."""
        return self.run(self._work(post.post_id, post.shop_id, "unpush", post.version), deadline)

    def _work(self, post_id: str, shop_id: str, action: str, version: int) -> FanoutWork:
        return FanoutWork(post_id=post_id, shop_id=shop_id, action=action, version=version, path="", after=None,
                          until=None, created_at=self.now())

    # -- one reader ----------------------------------------------------------------------
    def merge(self, shop_id: str, reader_id: str) -> Outcome:
        """Copy the shop's newest posts into one reader's feed, then trim it."""
        posts = self.posts.recent_posts(shop_id, self.merge_items)
        outcome = Outcome("merge", readers=1)
        if posts:
            outcome.writes = self.feed.put_entries([entry_for(reader_id, post) for post in posts])
            outcome.writes.add(self.feed.trim(reader_id, self.max_items))
            outcome.trims = 1
        return outcome

    def unmerge(self, shop_id: str, reader_id: str) -> Outcome:
        """Remove one shop's entries from one reader's feed."""
        post_ids = self.feed.post_ids_of_shop(reader_id, shop_id)
        outcome = Outcome("unmerge", readers=1)
        if post_ids:
            outcome.writes = self.feed.delete_entries([(reader_id, pid) for pid in post_ids])
        return outcome

    # -- stream reactions ----------------------------------------------------------------
    def post_written(self, written: Post, previous: Post | None, deadline: float | None = None) -> Outcome:
        """INSERT (``previous`` None) or MODIFY of a post."""
        if previous is not None and previous.version == written.version:
            return Outcome("skip: counters only")  # a like/comment/share count changed
        current = self.posts.get_post(written.post_id, consistent=True)
        if current is None:
            return Outcome("skip: post gone")  # deleted since; its REMOVE cleans up
        if previous is None:
            return self.push(current, deadline)  # the current content, even if edited since
        if current.version != written.version:
            return Outcome("skip: stale edit")  # a later record carries the newer content
        return self.refresh(current, deadline)

    def post_removed(self, removed: Post, deadline: float | None = None) -> Outcome:
        return self.unpush(removed, deadline)

    def follow_added(self, edge: Follow) -> Outcome:
        if self.follows.get_edge(edge.shop_id, edge.user_id) is None:
            return Outcome("skip: unfollowed since")
        return self.merge(edge.shop_id, edge.user_id)

    def follow_removed(self, edge: Follow) -> Outcome:
        if self.follows.get_edge(edge.shop_id, edge.user_id) is not None:
            return Outcome("skip: followed again")
        return self.unmerge(edge.shop_id, edge.user_id)
