"""Forward-decay rank keys as index sort keys: fixed-width strings that sort as the numbers do.

``services.scoring.rank_key`` computes the key; this module is how storage writes it into a
GSI sort key and reads it back.
"""

from __future__ import annotations

import math
from decimal import ROUND_FLOOR, Context, Decimal

from chalicelib.records.relationships import RANK_KEY_FLOOR

# encode_rank_key: key + 1e9, floored to 12 decimals, zero-padded to 10 integer digits:
# "0000000000.000000000000" (the floor) to "9999999999.999999999999". Non-negative,
# fixed-width decimals sort as strings exactly as they sort as numbers. 12 decimals resolve
# keys below a double's own precision near today's keys (~700, ulp ~1e-13 to 1e-10), and the
# arithmetic is exact decimal (no float addition of 1e9, which would blur keys to ~1e-7).
_RANK_OFFSET = Decimal(1_000_000_000)
_RANK_QUANTUM = Decimal("1e-12")
_RANK_LIMIT = Decimal(10) ** 10
_RANK_CONTEXT = Context(prec=60)  # exact for every float key in range; round-half-even keeps 0 unsigned
RANK_KEY_WIDTH = 23


def encode_rank_key(key: float) -> str:
    """A fixed-width string that sorts lexicographically as ``key`` sorts numerically.

    Keys below ``RANK_KEY_FLOOR`` encode as the floor; keys at or above 9e9 or NaN are rejected.
    """
    if math.isnan(key):
        raise ValueError("rank key is NaN")
    shifted = _RANK_CONTEXT.add(Decimal(max(key, RANK_KEY_FLOOR)), _RANK_OFFSET)
    if shifted >= _RANK_LIMIT:
        raise ValueError(f"rank key {key!r} is too large to encode")
    text = f"{shifted.quantize(_RANK_QUANTUM, rounding=ROUND_FLOOR, context=_RANK_CONTEXT):f}"
    return text.zfill(RANK_KEY_WIDTH)


def decode_rank_key(text: str) -> float:
    """Inverse of ``encode_rank_key`` up to its 1e-12 resolution."""
    if len(text) != RANK_KEY_WIDTH or text[10] != "." or not (text[:10] + text[11:]).isdigit():
        raise ValueError(f"not an encoded rank key: {text!r}")
    return float(_RANK_CONTEXT.subtract(Decimal(text), _RANK_OFFSET))
