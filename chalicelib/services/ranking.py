"""The ranked feed: EdgeRank-style order, ranked one window at a time, read once.

Score of a post for a reader (EdgeRank: affinity × weight × time decay)::

    score = (1 + A) · W · 2^(−age / H_feed)
    A = the reader's relationship strength to the post's shop, now (see "Affinity" below)
    W = 1 + log2(1 + likes + 2·comments)      engagement, with diminishing returns
    H_feed = 24 hours                          a day-old post needs twice the affinity·weight

Ranking uses the log form ``log2(1 + A) + log2(W) + created_at / H_feed``: the common
factor ``2^(−now/H_feed)`` drops out, so the order does not depend on the moment of
reading (forward decay, as for relationships). That is also why an order computed once
stays the right order while time passes: only new likes or purchases could change it.

Windows. The feed is ranked in consecutive windows of the reader's feed, newest window
first. A window is the next ``window_size(limit)`` entries (60 for pages of 20) below the
previous window, read with one Query; it is ranked once, and its pages are served best
first: the first page straight from the Query, the later ones by key (BatchGetItem). The
cursor carries what is left of the window, in ranked order, and where the window ended;
when the window is used up the next page reads the window below it. No entry is read by
two windows, so paging never repeats or skips a post whatever happens between two page
requests:

* likes and purchases do not re-rank a window being paged: its order is fixed when it is
  read (with the strengths and counts of that moment), which is what makes pages stable;
* new posts land above the first window, outside this paging session (a fresh first page
  shows them); a follow's merge copies older posts in, and those below the current window
  come in a later window, as on the recent feed;
* a post deleted or unfollowed meanwhile is missing from its page, which is then shorter
  than ``limit`` (so is the last page of a window that ends the feed, and a feed that ends
  exactly at a window's edge ends with an empty page): ``next_cursor`` says whether there
  is more.

A strong shop's post competes with the other posts of its window, not with the whole feed:
the price of a bounded window page. Pages larger than the window are a window each.

Affinity. ``A`` comes from one Query of the reader's ``AFFINITY_SHOPS`` strongest shops on
the "my shops" index (forward-decay key, so the top N by key are the top N by strength
now). A shop outside them is at most as strong as the weakest of them, and is ranked as
if it were exactly that strong (``Affinities.rest``): the order between two shops is never
inverted, and when the reader has fewer listed relationships than that every strength is
exact (any other shop has none: 0).

Cost, at 20 posts a page, eventually consistent reads, as DynamoDB Local's ConsumedCapacity
reports it (``bench/feed.py``; the 1 KB case in ``tests/api/test_feed_ranked.py``):

* a window page: 1 Query of ≤ 60 feed entries (each ≤ 1 KB by construction: ≤ 7.5 RCU;
  2.5 RCU for the benchmark's short posts) + 1 Query of 16 relationship pairs (≈ 1 KB each:
  2–2.5 RCU). 5 RCU in the benchmark, 9.5 RCU when every entry is a full kilobyte;
* a later page: 1 BatchGetItem of its ``limit`` keys. DynamoDB rounds every item of a
  batch read up to 4 KB, so this is 0.5 RCU a post whatever its size: 10 RCU for 20;
* the design before this one re-read a 200-entry window and BatchGot up to 100 pairs on
  every page: 58 RCU a page in the benchmark. A recent page (``order=recent``) is 1 RCU.

Cursor. ``RankedCursor`` is the page state: the remaining post ids as 16-byte binary
ULIDs (base64url) and the window's last id. It is signed and scoped to the reader and to
``ranked`` at the edge (``api.paging``), so it cannot be forged or replayed on another
feed. It holds at most ``RANKED_WINDOW - 1`` ids: 1.3 KB after a first page of 20, 1.85 KB
at worst (pages of 1), under the 2 KB the query accepts. This module is pure: no I/O.
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from ulid import ULID

FEED_HALF_LIFE_SECONDS = 24 * 3600
# Entries ranked together: one Query. 60 compact entries are at most 60 KB (7.5 RCU,
# eventually consistent), three pages of 20; with the affinity read a window page stays
# within 10 RCU even when every entry is a full kilobyte.
RANKED_WINDOW = 60
# Shops whose strength is read exactly (one Query on gsi3, pairs ≈ 1 KB: ≈ 2 RCU). A
# household's regulars are a handful; beyond 16 shops the differences are small and
# bounded by the 16th strength (see ``Affinities``).
AFFINITY_SHOPS = 16
_ID_BYTES = 16  # a ULID in binary
_CURSOR_VERSION = 2  # 1 was the re-read-the-window design (pinned top + shown hashes)


@dataclass(frozen=True)
class Candidate:
    post_id: str
    shop_id: str
    created_at: float
    like_count: int = 0
    comment_count: int = 0


@dataclass(frozen=True)
class Affinities:
    """The reader's strength to their strongest shops, and what any other shop counts as."""

    known: Mapping[str, float] = field(default_factory=dict)
    rest: float = 0.0

    def of(self, shop_id: str) -> float:
        return self.known.get(shop_id, self.rest)

    @classmethod
    def from_strongest(cls, strongest: Mapping[str, float], complete: bool) -> Affinities:
        """``strongest``: the top shops by strength; ``complete`` when they are all the reader has.

        Otherwise every other shop is at most as strong as the weakest of them and counts as that.
        """
        rest = 0.0 if complete or not strongest else max(0.0, min(strongest.values()))
        return cls(dict(strongest), rest)


def engagement_weight(likes: int, comments: int) -> float:
    return 1.0 + math.log2(1 + max(0, likes) + 2 * max(0, comments))


def score_key(candidate: Candidate, affinity: float) -> float:
    """log2 of the EdgeRank score, up to a term common to all posts at a given time."""
    return (math.log2(1.0 + max(0.0, affinity))
            + math.log2(engagement_weight(candidate.like_count, candidate.comment_count))
            + candidate.created_at / FEED_HALF_LIFE_SECONDS)


def rank(candidates: Iterable[Candidate], affinities: Affinities) -> list[Candidate]:
    """Best first. Ties are broken by post id (newest first) so equal scores still have one order."""
    return sorted(candidates, key=lambda c: (score_key(c, affinities.of(c.shop_id)), c.post_id), reverse=True)


def window_size(limit: int) -> int:
    """Entries ranked together for pages of ``limit``: a whole number of pages, about
    ``RANKED_WINDOW`` (one page when pages are larger than that)."""
    return limit * max(1, RANKED_WINDOW // limit)


# --- the cursor ------------------------------------------------------------------------------


def _id_bytes(post_id: str) -> bytes:
    raw = ULID.from_str(post_id).bytes
    if str(ULID.from_bytes(raw)) != post_id:
        raise ValueError(f"not a canonical ULID: {post_id!r}")
    return raw


def pack_ids(post_ids: Sequence[str]) -> str:
    """Post ids as concatenated 16-byte ULIDs, base64url without padding (≈ 21.3 characters an id)."""
    return base64.urlsafe_b64encode(b"".join(_id_bytes(p) for p in post_ids)).decode().rstrip("=")


def unpack_ids(text: str) -> tuple[str, ...]:
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("malformed id list") from None
    if len(raw) % _ID_BYTES:
        raise ValueError("malformed id list")
    return tuple(str(ULID.from_bytes(raw[i:i + _ID_BYTES])) for i in range(0, len(raw), _ID_BYTES))


@dataclass(frozen=True)
class RankedCursor:
    """Where a ranked paging session is: what is left of the current window, best first,
    and the id the window ended at (the next window starts below it; None: nothing below)."""

    remainder: tuple[str, ...]
    below: str | None

    def to_state(self) -> dict:
        state: dict = {"v": _CURSOR_VERSION, "r": pack_ids(self.remainder)}
        if self.below is not None:
            state["b"] = pack_ids([self.below])
        return state

    @classmethod
    def from_state(cls, state: object) -> RankedCursor:
        """The cursor from a (verified) state; ValueError when it is not one of ours."""
        if not isinstance(state, dict) or state.get("v") != _CURSOR_VERSION or not isinstance(state.get("r"), str):
            raise ValueError("not a ranked-feed cursor")
        remainder = unpack_ids(state["r"])
        if len(remainder) > RANKED_WINDOW or len(set(remainder)) != len(remainder):
            raise ValueError("malformed ranked-feed cursor")
        below = None
        if "b" in state:
            if not isinstance(state["b"], str):
                raise ValueError("malformed ranked-feed cursor")
            ids = unpack_ids(state["b"])
            if len(ids) != 1:
                raise ValueError("malformed ranked-feed cursor")
            below = ids[0]
        return cls(remainder, below)
