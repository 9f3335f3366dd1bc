"""How a post's fan-out splits a shop's followers into a tree of chunks: pure key arithmetic.

A chunk covers the followers in a key range ``(after, until]`` (``after`` None: from the
first; ``until`` None: to the last). It delivers the first page of that range and, when
followers remain, hands the rest on as up to ``BRANCHES`` children covering disjoint
sub-ranges. DynamoDB cannot skip to "the 500,000th follower", so the split points are cut
in **key value**, not by count: the remaining range, from the first follower left to the
last one there (both read: the page's one extra key and a one-key descending Query), is
divided into equal slices of key space. A slice that holds few followers ends at once; a
dense one splits again. Each level also shrinks a range to the keys really there, so empty
stretches of key space cost nothing.

Two things keep the slices even:

* Keys are read as numbers written in the **alphabet they use** (the characters of the page
  and of the bounds: for ULIDs, Crockford's 32), not in all of ASCII, where the gaps between
  the characters ids use would make slices that hold nobody.
* The page just delivered measures the density of followers in key space, which estimates
  how many are left: the chunk hands on only as many children as that needs (one per page
  left, at most ``BRANCHES``), so the tree's leaves are nearly full pages.

With ids spread evenly in key space (ULIDs: a time, then 80 random bits) each level divides
the followers by about ``BRANCHES``, so the depth is about log8(N / chunk); followers made in
one burst cost a few levels more (the estimate is off, and the dense slice splits again).

Keys compare as DynamoDB compares strings (UTF-8 bytes: code points, Python's own order).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

# Children a chunk hands on, at most: the depth is ~log8(N/1000), four levels for a million
# followers spread evenly (nine when nine in ten came in one hour: bench.fanout's model), and a
# chunk's hand-on is one TransactWriteItems of at most 8 small items. The work items in all
# are one per chunk whatever this is; it only sets how many run side by side.
BRANCHES = 8

_SPARE_DIGITS = 2  # extra precision, so neighbouring keys still have room between them


def alphabet_of(keys: Iterable[str]) -> str:
    """The characters these keys use, in order: the digits key values are read in."""
    return "".join(sorted(set("".join(keys))))


def _number(key: str, width: int, digits: dict[str, int]) -> int:
    value = 0
    for c in key.ljust(width, next(iter(digits))):
        value = value * len(digits) + digits[c]
    return value


def _key(value: int, width: int, alphabet: str) -> str:
    out = []
    for _ in range(width):
        value, digit = divmod(value, len(alphabet))
        out.append(alphabet[digit])
    return "".join(reversed(out)).rstrip(alphabet[0])


def _digits(alphabet: str, *keys: str) -> dict[str, int]:
    return {c: n for n, c in enumerate(alphabet_of([alphabet, *keys]))}


def key_value(key: str, width: int, alphabet: str) -> int:
    """``key`` as a number of ``width`` digits of ``alphabet`` (its own characters added)."""
    return _number(key, width, _digits(alphabet, key))


def split_points(low: str, high: str, parts: int, alphabet: str = "") -> list[str]:
    """Up to ``parts - 1`` keys strictly between ``low`` and ``high``, increasing, cutting
    the key space between them into ``parts`` about equal slices (fewer, or none, when the
    two are too close to fit them).

    The keys are read as numbers in ``alphabet`` plus their own characters. Padding with the
    alphabet's smallest character keeps the order (a key padded to the width compares with
    another padded key as the two keys compare), so a point whose value lies strictly between
    the bounds' lies strictly between the bounds.
    """
    if parts < 2 or not low < high:
        return []
    digits = _digits(alphabet, low, high)
    ordered = "".join(digits)
    width = max(len(low), len(high)) + _SPARE_DIGITS
    lo, hi = _number(low, width, digits), _number(high, width, digits)
    points: list[str] = []
    for i in range(1, parts):
        point = _key(lo + (hi - lo) * i // parts, width, ordered)
        if low < point < high and (not points or point > points[-1]):
            points.append(point)
    return points


def children_needed(page: list[str], first_left: str, upper: str, chunk: int, branches: int = BRANCHES) -> int:
    """How many children to hand the followers in ``[first_left, upper]`` on to: the pages
    left, estimated from the density of the page just delivered (its followers per unit of
    key value), at least one and at most ``branches``."""
    if branches <= 1 or not page or upper <= first_left:
        return 1
    alphabet = alphabet_of([*page, first_left, upper])
    width = max(len(k) for k in (*page, first_left, upper)) + _SPARE_DIGITS
    seen = key_value(first_left, width, alphabet) - key_value(page[0], width, alphabet)
    left = key_value(upper, width, alphabet) - key_value(first_left, width, alphabet)
    if seen <= 0:
        return branches
    estimate = len(page) * left / seen + 1  # the followers left, first_left and upper included
    return max(1, min(branches, math.ceil(estimate / chunk)))


def child_ranges(page: list[str], first_left: str, upper: str, until: str | None, chunk: int,
                 branches: int = BRANCHES) -> list[tuple[str, str | None]]:
    """The ``(after, until]`` ranges of the children that take over after ``page``.

    ``page`` is the page just delivered (in order, not empty), ``first_left`` the first
    follower after it, ``upper`` the last follower of the range as read now, ``until`` the
    range's own end (None: open, so followers added meanwhile are still reached). The
    children cover exactly ``(page[-1], until]``, in order and disjoint: the first starts
    after the page (so it holds ``first_left``), the last keeps the parent's ``until``.
    """
    parts = children_needed(page, first_left, upper, chunk, branches)
    alphabet = alphabet_of([*page, first_left, upper])
    bounds: list[str] = [page[-1], *split_points(first_left, upper, parts, alphabet)]
    return [(bounds[i], bounds[i + 1] if i + 1 < len(bounds) else until) for i in range(len(bounds))]
