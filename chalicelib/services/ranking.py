"""The ranked feed: EdgeRank-style ordering with pages that never repeat or skip a post.

Score of a post for a reader (EdgeRank: affinity × weight × time decay)::

    score = (1 + A) · W · 2^(−age / H_feed)
    A = the reader's relationship strength to the post's shop, now (0 for no relationship)
    W = 1 + log2(1 + likes + 2·comments)      engagement, with diminishing returns
    H_feed = 24 hours                          a day-old post needs twice the affinity·weight

Ranking uses the log form ``log2(1 + A) + log2(W) + created_at / H_feed``: the common
factor ``2^(−now/H_feed)`` drops out, so the order does not depend on the moment of
reading (forward decay again, as for relationships).

Candidates are a window of the reader's newest feed entries (one Query). Stable paging:
scores can change between two page requests (a like, a purchase), so "the next 20 by
score after the last one" could skip or repeat posts. Instead the cursor pins the window
(its newest post id) and carries a compact set of the posts already shown (5-byte hashes);
each page is the best ``limit`` posts of the window not yet shown, ranked with the data
of that moment. Every post of the window appears exactly once, whatever changes between
pages. This module is pure: no I/O.
"""

from __future__ import annotations

import base64
import hashlib
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

FEED_HALF_LIFE_SECONDS = 24 * 3600
# Candidates per ranked read: one Query of the reader's newest entries. 200 compact
# entries are ~60 KB (≈ 8 RCU, eventually consistent) and cover days of posts from the
# shops a household follows; older posts are reached through ?order=recent.
RANKED_WINDOW = 200
_HASH_BYTES = 5  # 40-bit hashes: the chance of any collision among 200 posts is ~2e-8


@dataclass(frozen=True)
class Candidate:
    post_id: str
    shop_id: str
    created_at: float
    like_count: int = 0
    comment_count: int = 0


def engagement_weight(likes: int, comments: int) -> float:
    return 1.0 + math.log2(1 + max(0, likes) + 2 * max(0, comments))


def score_key(candidate: Candidate, affinity: float) -> float:
    """log2 of the EdgeRank score, up to a term common to all posts at a given time."""
    return (math.log2(1.0 + max(0.0, affinity))
            + math.log2(engagement_weight(candidate.like_count, candidate.comment_count))
            + candidate.created_at / FEED_HALF_LIFE_SECONDS)


def post_hash(post_id: str) -> bytes:
    return hashlib.blake2b(post_id.encode(), digest_size=_HASH_BYTES).digest()


def encode_shown(shown: Iterable[bytes]) -> str:
    return base64.urlsafe_b64encode(b"".join(sorted(shown))).decode().rstrip("=")


def decode_shown(text: str) -> set[bytes]:
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if len(raw) % _HASH_BYTES:
        raise ValueError("malformed shown-set")
    return {raw[i:i + _HASH_BYTES] for i in range(0, len(raw), _HASH_BYTES)}


def rank_page(candidates: Iterable[Candidate], affinities: Mapping[str, float], shown: set[bytes],
              limit: int) -> tuple[list[Candidate], set[bytes], bool]:
    """The next page: the best ``limit`` candidates not shown yet.

    Returns the page, the new shown-set and whether anything is left after it. Ties are
    broken by post id (newest first) so equal scores still have one order.
    """
    remaining = [c for c in candidates if post_hash(c.post_id) not in shown]
    remaining.sort(key=lambda c: (score_key(c, affinities.get(c.shop_id, 0.0)), c.post_id), reverse=True)
    page = remaining[:limit]
    return page, shown | {post_hash(c.post_id) for c in page}, len(remaining) > limit
