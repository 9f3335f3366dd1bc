"""The regions a shop can name: a list shipped with the code (``chalicelib/data/regions.txt``).

A region is written as its levels separated by one space — 시/도, 시/군/구, 동:
``서울``, ``서울 마포구``, ``서울 마포구 망원동``. The 시/도 may also be given by its official
name (``서울특별시 마포구``); it is stored in the short form. Unknown → 422 ``unknown_region``.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from pathlib import Path

from chalicelib.errors import FieldProblem, UnknownRegion

DATA = Path(__file__).resolve().parent.parent / "data" / "regions.txt"
MAX_REGION_CHARS = 60

# Official 시/도 names → the short form the list uses (as addresses are usually written).
OFFICIAL = {
    "서울특별시": "서울", "부산광역시": "부산", "대구광역시": "대구", "인천광역시": "인천", "광주광역시": "광주",
    "대전광역시": "대전", "울산광역시": "울산", "세종특별자치시": "세종", "경기도": "경기", "강원특별자치도": "강원",
    "강원도": "강원", "충청북도": "충북", "충청남도": "충남", "전북특별자치도": "전북", "전라북도": "전북",
    "전라남도": "전남", "경상북도": "경북", "경상남도": "경남", "제주특별자치도": "제주", "제주도": "제주",
}


@lru_cache(maxsize=1)
def known() -> frozenset[str]:
    """Every region of the list (read once per container)."""
    regions: set[str] = set()
    for line in DATA.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parent = line.rpartition(" ")[0]
        if parent and parent not in regions:
            raise ValueError(f"regions.txt: {line!r} is listed before its parent {parent!r}")
        regions.add(line)
    return frozenset(regions)


def normal(region: str) -> str:
    """The region as the list writes it (NFC, single spaces, short 시/도), known or not."""
    parts = unicodedata.normalize("NFC", region).split()
    if parts:
        parts[0] = OFFICIAL.get(parts[0], parts[0])
    return " ".join(parts)


def canonical(region: str, field: str = "body.region") -> str:
    """``region`` as stored; ``""`` stays ``""`` (no region). Unknown → ``UnknownRegion``."""
    name = normal(region)
    if not name:
        return ""
    if len(name) > MAX_REGION_CHARS or name not in known():
        raise UnknownRegion(f"'{name[:MAX_REGION_CHARS]}' is not a region Dongne knows; write it as 시/도, "
                            "시/군/구 and 동 separated by spaces, e.g. '서울 마포구 망원동'.",
                            errors=[FieldProblem(field, "Not a known region.")], params={"region": name[:60]})
    return name


def levels(region: str) -> list[str]:
    """``서울 마포구 망원동`` → ``[서울, 서울 마포구, 서울 마포구 망원동]``: where the shop is listed."""
    parts = region.split()
    return [" ".join(parts[:i + 1]) for i in range(len(parts))]
