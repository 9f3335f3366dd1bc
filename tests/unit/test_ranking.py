"""Ranked feed ordering and paging (pure)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.services.ranking import (
    FEED_HALF_LIFE_SECONDS,
    Candidate,
    decode_shown,
    encode_shown,
    rank_page,
    score_key,
)

DAY = 24 * 3600.0


def test_stronger_relationship_ranks_first_at_equal_age_and_engagement():
    a = Candidate("01A", "regular-shop", created_at=1000.0)
    b = Candidate("01B", "stranger-shop", created_at=1000.0)
    page, _, more = rank_page([a, b], {"regular-shop": 40.0}, set(), limit=2)
    assert [c.post_id for c in page] == ["01A", "01B"] and not more


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


def test_shown_set_round_trips():
    shown = {b"abcde", b"12345"}
    assert decode_shown(encode_shown(shown)) == shown


candidates_st = st.lists(
    st.builds(Candidate, post_id=st.text("0123456789ABCDEFGHJKMNPQRSTVWXYZ", min_size=26, max_size=26),
              shop_id=st.sampled_from(["s1", "s2", "s3", "s4"]), created_at=st.floats(0, 30 * DAY),
              like_count=st.integers(0, 500), comment_count=st.integers(0, 50)),
    max_size=60, unique_by=lambda c: c.post_id)
affinity_st = st.dictionaries(st.sampled_from(["s1", "s2", "s3", "s4"]), st.floats(0, 1000))


@settings(max_examples=150, deadline=None)
@given(candidates_st, st.lists(affinity_st, min_size=1, max_size=12), st.integers(1, 25), st.data())
def test_every_post_appears_exactly_once_whatever_changes_between_pages(candidates, affinity_per_page, limit, data):
    """Affinities and like counts change between page requests; pages still partition the window."""
    shown: set[bytes] = set()
    seen: list[str] = []
    page_no = 0
    current = list(candidates)
    while True:
        affinities = affinity_per_page[page_no % len(affinity_per_page)]
        page, shown, more = rank_page(current, affinities, decode_shown(encode_shown(shown)), limit)
        seen.extend(c.post_id for c in page)
        page_no += 1
        if not more:
            break
        # engagement moves too
        current = [Candidate(c.post_id, c.shop_id, c.created_at,
                             c.like_count + data.draw(st.integers(0, 3)), c.comment_count) for c in current]
    assert sorted(seen) == sorted(c.post_id for c in candidates)
    assert len(seen) == len(set(seen))
