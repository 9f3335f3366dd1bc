"""Search keys, relevance and the region list: pure rules, no storage."""

from __future__ import annotations

import pytest

from chalicelib.errors import InvalidHashtag, InvalidSearchQuery, UnknownRegion
from chalicelib.services import discovery, regions
from chalicelib.storage.search_keys import (MAX_KEYS, choseong, fold, follower_bucket, keys_of, query_key,
                                            relevance)


def test_folding_and_initial_consonants():
    assert fold("  Mangwon_Tofu.1 ") == "mangwontofu1" and fold("망원동 두부가게!") == "망원동두부가게"
    assert choseong("두부가게") == "ㄷㅂㄱㄱ" and choseong("cafe온기") == "cafeㅇㄱ"
    assert fold("\u1103\u1107") == "ㄷㅂ"  # conjoining jamo, as some keyboards send them


@pytest.mark.parametrize("q, score", [
    ("망원동 두부가게", 6), ("mangwon_tofu", 6), ("망원", 5), ("MANG", 5), ("두부", 4), ("tofu", 4), ("두", 4),
    ("부가", 3), ("wontof", 3), ("ㅁㅇㄷ", 2), ("ㄷㅂ", 1), ("ㄷ", 2), ("콩물", 0), ("부", 0),
])
def test_relevance_and_every_match_is_in_its_keys_partition(q, score):
    name, handle = "망원동 두부가게", "mangwon_tofu"
    folded = fold(q)
    assert relevance(folded, name, handle) == score
    if score:
        assert query_key(folded) in keys_of(name, handle)


def test_keys_per_shop_are_bounded_whatever_the_name():
    long_name = "".join(chr(0xAC00 + 37 * i) for i in range(60))
    assert len(keys_of(long_name, "abcdefghijklmnopqrstuvwxyz0123")) == MAX_KEYS
    assert len(keys_of("망원동 두부가게", "mangwon_tofu")) == 28
    assert keys_of("가" * 60, "a" * 30) == ["가", "ㄱ", "a", "aa", "가가", "ㄱㄱ"]  # deduplicated


def test_follower_steps_grow_slowly():
    assert [follower_bucket(n) for n in (0, 1, 2, 3, 4, 5, 6, 7, 10, 11)] == [0, 2, 3, 4, 4, 5, 5, 6, 6, 7]
    changes = sum(follower_bucket(n) != follower_bucket(n - 1) for n in range(1, 10_001))
    assert changes == 25 and follower_bucket(-3) == 0


def test_the_region_list_holds_seoul_the_metropolitan_cities_and_mapo():
    known = regions.known()
    assert len([r for r in known if r.startswith("서울 ") and r.count(" ") == 1]) == 25
    assert len([r for r in known if r.startswith("서울 마포구 ")]) == 26
    for city, count in (("부산", 16), ("대구", 9), ("인천", 10), ("광주", 5), ("대전", 5), ("울산", 5)):
        assert len([r for r in known if r.startswith(city + " ") and r.count(" ") == 1]) == count, city
    assert all(r.rpartition(" ")[0] in known for r in known if " " in r)  # every parent is listed
    assert regions.canonical(" 서울특별시  마포구   망원동 ") == "서울 마포구 망원동" and regions.canonical("") == ""
    assert regions.levels("서울 마포구 망원동") == ["서울", "서울 마포구", "서울 마포구 망원동"]
    with pytest.raises(UnknownRegion):
        regions.canonical("서울 마포구 없는동")


def test_queries_and_tags_are_checked():
    for bad in ("", "  ", "?!", "가" * 41):
        with pytest.raises(InvalidSearchQuery):
            discovery.search_query(bad)
    assert discovery.search_query("ㄷㅂ") == "ㄷㅂ"
    assert discovery.hashtag("#KongMul") == "kongmul" and discovery.hashtag("두부") == "두부"
    for bad in ("a b", "123", "x" * 51, "#"):
        with pytest.raises(InvalidHashtag):
            discovery.hashtag(bad)
