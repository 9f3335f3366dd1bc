"""The fan-out tree's key arithmetic: split points, how many children, and ranges that cover
the rest of a chunk's range exactly once."""

from __future__ import annotations

import bisect
import random

from chalicelib.ids import id_at
from chalicelib.services.fanout_tree import BRANCHES, alphabet_of, child_ranges, children_needed, split_points


def ulids(count: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    return sorted(id_at(1795400000 - rng.uniform(0, 3 * 365 * 86400)) for _ in range(count))


def test_split_points_lie_strictly_between_in_order():
    for low, high in [("u00009", "u00010"), ("01J0000000", "01JZZZZZZZ"), ("a", "b"), ("a", "a~~~")]:
        points = split_points(low, high, 8)
        assert points and all(low < p < high for p in points) and points == sorted(set(points))


def test_wide_ranges_get_every_point_and_close_ones_fewer_or_none():
    assert len(split_points("01J0000000", "01JZZZZZZZ", 8)) == 7
    assert split_points("a", "a", 4) == [] and split_points("b", "a", 4) == [] and split_points("a", "z", 1) == []


def test_points_cut_even_slices_of_evenly_spread_ids():
    keys = ulids(8000)
    points = split_points(keys[0], keys[-1], 4, alphabet_of(keys[:100]))
    sizes = [b - a for a, b in zip([0, *[bisect.bisect_right(keys, p) for p in points]],
                                   [*[bisect.bisect_right(keys, p) for p in points], len(keys)])]
    assert len(sizes) == 4 and min(sizes) > 1500  # about 2,000 each


def test_points_are_the_same_on_every_call():
    assert split_points("01JA", "01JZ", 5, "0123456789ABCDEFGHJKMNPQRSTVWXYZ") == \
        split_points("01JA", "01JZ", 5, "0123456789ABCDEFGHJKMNPQRSTVWXYZ")


def test_children_needed_follows_the_density_of_the_page():
    keys = ulids(5000)
    page, rest = keys[:100], keys[100:]
    assert children_needed(page, rest[0], rest[-1], chunk=100) == BRANCHES  # ~49 pages left
    few = keys[:250]
    assert children_needed(few[:100], few[100], few[-1], chunk=100) in (1, 2, 3)  # ~1.5 pages left
    assert children_needed(page, rest[0], rest[0], chunk=100) == 1  # one follower left
    assert children_needed(page, rest[0], rest[-1], chunk=100, branches=1) == 1


def test_child_ranges_cover_the_rest_exactly_once():
    rng = random.Random(3)
    for _ in range(50):
        keys = ulids(rng.randint(30, 600), seed=rng.randint(0, 10**6))
        cut = rng.randint(1, 20)
        page, first_left = keys[:cut], keys[cut]
        until = rng.choice([None, keys[-1], keys[-1] + "Z"])
        upper = keys[-1]
        ranges = child_ranges(page, first_left, upper, until, chunk=20)
        assert 1 <= len(ranges) <= BRANCHES and ranges[0][0] == page[-1] and ranges[-1][1] == until
        for key in keys[cut:]:
            owners = [r for r in ranges if r[0] < key and (r[1] is None or key <= r[1])]
            assert len(owners) == 1  # every follower left is in one child's range
        for key in page:
            assert not any(r[0] < key for r in ranges)  # nobody delivered is handed on


def test_keys_outside_ascii_split_too():
    points = split_points("가나다", "하", 4)
    assert points and all("가나다" < p < "하" for p in points)
