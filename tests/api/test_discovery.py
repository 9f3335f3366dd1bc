"""Discovery: shop search (prefix, inside a word, 초성), regions, hashtag pages, viewer state.

On DynamoDB Local one table serves the whole run, where many shops are called 망원동 두부가게:
each test names its shops and tags with words of its own (random syllables whose initial
consonants are rare in other names, and a random Latin word), so what it finds is its own.
"""

from __future__ import annotations

import random
import string
from urllib.parse import quote

from chalicelib.storage.search_keys import choseong
from devtools.callcount import dynamodb_calls
from tests.api.conftest import TOKEN_CHECK, assert_problem, create_post

# ㅊ ㅋ ㅌ ㅍ: initial consonants few shop names of the other tests start a syllable with.
_RARE_INITIALS = (14, 15, 16, 17)


def word(syllables: int = 2) -> str:
    """Random Hangul syllables no other test names a shop with."""
    return "".join(chr(0xAC00 + (random.choice(_RARE_INITIALS) * 21 + random.randrange(21)) * 28 + random.randrange(28))
                   for _ in range(syllables))


def latin(letters: int = 6) -> str:
    return "q" + "".join(random.choice(string.ascii_lowercase) for _ in range(letters))


def _shop(api, name: str, handle: str, region: str) -> dict:
    account = api.signup(name="사장님")
    answer = api.post("/shops", {"name": name, "handle": handle, "region": region}, token=account["token"])
    assert answer.status == 201, answer.body
    return {**account, "shop": answer.body}


def neighbourhood(api, drain_stream) -> dict:
    """Three shops in 상암동 and 옥수동 (where no other test opens one), in this order: "상암 WV가게"
    (`L_t`), "성수 WV공방" (`L_d`, followed by 상암's owner) and "CafeL V온" (`L_o`), with W and V
    random words and L a random Latin word. (Few follows: each of a shop's first ones rewrites its
    search keys, and every write is a stream record the test drains.)"""
    w, v, tag = word(), word(), latin(4)
    # (Not "망원": every other test's shop is a 망원동 두부가게, and a search reads the 100 most
    # followed shops sharing the query's first two characters.)
    mangwon = _shop(api, f"상암 {w}{v}가게", f"{tag}_t", "서울 마포구 상암동")
    seongsu = _shop(api, f"성수 {w}{v}공방", f"{tag}_d", "서울특별시 성동구 옥수동")  # the official name
    ongi = _shop(api, f"Cafe{tag} {v}온", f"{tag}_o", "서울 마포구 상암동")
    assert api.put(f"/shops/{seongsu['shop']['shop_id']}/follow", token=mangwon["token"]).status == 200
    drain_stream()
    return {"mangwon": mangwon, "seongsu": seongsu, "ongi": ongi, "w": w, "v": v, "tag": tag}


def found(api, q: str, region: str | None = None) -> list[str]:
    query = f"/search/shops?q={quote(q)}&limit=100" + (f"&region={quote(region)}" if region is not None else "")
    answer = api.get(query)
    assert answer.status == 200, answer.body
    kinds = {"t": "tofu", "d": "dubu", "o": "ongi"}
    return [kinds[hit["handle"].rpartition("_")[2]] for hit in answer.body["items"]]


def test_search_and_regions_prefix_infix_choseong_mixed_ranked_narrowed_and_kept_current(api, drain_stream):
    n = neighbourhood(api, drain_stream)
    w, v, tag = n["w"], n["v"], n["tag"]
    assert n["seongsu"]["shop"]["region"] == "서울 성동구 옥수동"  # stored in the short form
    assert found(api, f"상암{w}") == ["tofu"]  # the start of the name
    assert found(api, w) == ["dubu", "tofu"]  # both the start of a word: more followers first
    assert found(api, w[0]) == ["dubu", "tofu"]  # one character: the start of a word
    assert found(api, v) == ["ongi", "dubu", "tofu"]  # a word's start before inside a word, then followers
    assert found(api, f"{w[1]}{v[0]}") == ["dubu", "tofu"]  # inside a word
    initials = choseong(w + v)
    assert found(api, initials) == ["dubu", "tofu"] and found(api, "상" + w) == []  # 초성
    assert found(api, "ㅇ" + initials) == ["tofu"]  # 상암 → ㅅㅇ…
    assert found(api, f"{tag}_T") == ["tofu"] and found(api, f"{tag}d") == ["dubu"]  # handles
    assert found(api, f"cafe{tag}{v}") == ["ongi"] and found(api, f"Cafe{tag} {v}온") == ["ongi"]  # mixed
    # A region narrows, with the regions inside it.
    assert found(api, w, "서울 마포구") == ["tofu"] and found(api, initials, "서울 마포구 상암동") == ["tofu"]
    assert found(api, w, "서울") == ["dubu", "tofu"] and found(api, w, "부산") == []
    # Pages.
    first = api.get(f"/search/shops?q={quote(w)}&limit=1").body
    assert [h["name"] for h in first["items"]] == [n["seongsu"]["shop"]["name"]]
    assert first["items"][0]["follower_count"] == 1
    second = api.get(f"/search/shops?q={quote(w)}&limit=1&cursor={first['next_cursor']}").body
    assert [h["name"] for h in second["items"]] == [n["mangwon"]["shop"]["name"]] and second["next_cursor"] is None
    other = api.get(f"/search/shops?q={quote(v)}&limit=1&cursor={first['next_cursor']}")
    assert assert_problem(other, 400)["code"] == "invalid_cursor"  # bound to its query
    with dynamodb_calls() as calls:
        found(api, initials, "서울")
    assert calls.operations == ["Query", "BatchGetItem"]

    # A region's shops, most followed first, at every level (other tests' shops left out in 서울).
    mine = {n[k]["shop"]["shop_id"]: k for k in ("mangwon", "seongsu", "ongi")}

    def listed(region: str) -> list[str]:
        """This test's shops in the region's list, in its order, through every page (a shared
        DynamoDB Local table holds other tests' shops in 서울 too)."""
        out, cursor = [], None
        for _ in range(100):
            answer = api.get(f"/regions/{quote(region)}/shops?limit=100" + (f"&cursor={quote(cursor)}" if cursor else ""))
            assert answer.status == 200, answer.body
            out += [mine[hit["shop_id"]] for hit in answer.body["items"] if hit["shop_id"] in mine]
            cursor = answer.body.get("next_cursor")
            if not cursor:
                return out
        raise AssertionError("more than 100 pages")

    assert listed("서울") == ["seongsu", "mangwon", "ongi"]  # 1 follower, then 0 and 0: the older first
    assert listed("서울 마포구 상암동") == ["mangwon", "ongi"] and listed("서울 성동구") == ["seongsu"]
    assert listed("서울특별시 마포구 상암동") == ["mangwon", "ongi"]
    # Follower counts move the order (the stream keeps the entries current).
    fan = api.signup()
    api.put(f"/shops/{n['ongi']['shop']['shop_id']}/follow", token=fan["token"])
    drain_stream()
    assert listed("서울 마포구 상암동") == ["ongi", "mangwon"]
    page = api.get(f"/regions/{quote('서울 마포구 상암동')}/shops?limit=1").body
    assert [h["follower_count"] for h in page["items"]] == [1] and page["next_cursor"]
    rest = api.get(f"/regions/{quote('서울 마포구 상암동')}/shops?limit=1&cursor={page['next_cursor']}").body
    assert [mine[h["shop_id"]] for h in rest["items"]] == ["mangwon"]
    with dynamodb_calls() as calls:  # a page of a region's list is one Query
        assert api.get(f"/regions/{quote('서울')}/shops?limit=100").status == 200
    assert calls.operations == ["Query"]

    # A shop that moves leaves its old regions; a renamed one leaves no stale key behind.
    moved = api.patch(f"/shops/{n['ongi']['shop']['shop_id']}", {"region": "강원 양양군"}, token=n["ongi"]["token"])
    assert moved.status == 200 and moved.body["region"] == "강원 양양군"
    x = word()
    renamed = api.patch(f"/shops/{n['mangwon']['shop']['shop_id']}", {"name": f"망원 {x}콩물"},
                        token=n["mangwon"]["token"])
    assert renamed.status == 200
    drain_stream()
    assert listed("서울 마포구 상암동") == ["mangwon"] and listed("강원") == ["ongi"]
    assert found(api, v, "서울") == ["dubu"] and found(api, v, "강원 양양군") == ["ongi"]
    assert found(api, w) == ["dubu"] and found(api, x) == ["tofu"] and found(api, initials) == ["dubu"]
    assert found(api, choseong(x) + "ㅋ") == ["tofu"]


def test_bad_searches_and_regions_are_422_with_their_codes_and_change_nothing(api, user):
    for q in ("", "   ", "!#", "가" * 41):
        answer = api.get(f"/search/shops?q={quote(q)}")
        assert assert_problem(answer, 422)["code"] == "invalid_search_query", q
        assert answer.body["errors"][0]["field"] == "query.q"
    assert assert_problem(api.get("/search/shops?q=a&region=" + quote("서울 없는구")), 422)["code"] == "unknown_region"
    assert assert_problem(api.get("/regions/" + quote("화성 올림푸스") + "/shops"), 422)["code"] == "unknown_region"
    assert assert_problem(api.get("/regions/%FF%FE/shops"), 404)["code"] == "not_found"
    ko = api.get("/regions/" + quote("달나라") + "/shops", headers={"Accept-Language": "ko"})
    assert assert_problem(ko, 422)["title"] == "알 수 없는 지역"
    handle = f"{latin()}_nowhere"
    refused = api.post("/shops", {"name": "가게", "handle": handle, "region": "서울 마포구 없는동"}, token=user["token"])
    assert assert_problem(refused, 422)["code"] == "unknown_region"
    assert api.get("/me", token=user["token"]).body["shop_id"] is None  # nothing was opened
    shop = api.post("/shops", {"name": "가게", "handle": handle, "region": ""}, token=user["token"]).body
    edited = api.patch(f"/shops/{shop['shop_id']}", {"region": "Seoul"}, token=user["token"])
    assert assert_problem(edited, 422)["code"] == "unknown_region"
    assert api.get(f"/shops/{shop['shop_id']}").body["region"] == ""
    for tag in ("a%20b", "12345", "x" * 51):
        assert assert_problem(api.get(f"/hashtags/{tag}/posts"), 422)["code"] == "invalid_hashtag", tag


def test_hashtag_pages_newest_first_and_a_deleted_post_leaves_them_even_when_replayed(api, owner, drain_stream):
    from chalicelib.events.stream import dispatch
    from chalicelib.storage.models.discovery import HashtagPostItem, hashtag_pk
    from chalicelib.storage.models.social import POST_SK, PostItem, post_pk

    tofu, place, drink = word(), word(), latin()
    first = create_post(api, owner, f"아침 두부 #{tofu} #{place}")
    second = create_post(api, owner, f"저녁 두부 #{tofu}")
    third = create_post(api, owner, f"콩물 #{drink.upper()}")
    drain_stream()

    def page(tag: str) -> list[str]:
        answer = api.get(f"/hashtags/{quote(tag)}/posts")
        assert answer.status == 200, answer.body
        return [p["post_id"] for p in answer.body["items"]]

    assert page(tofu) == [second["post_id"], first["post_id"]] and page(place) == [first["post_id"]]
    assert page(drink) == page(drink.upper()) == [third["post_id"]]  # tags are case-folded
    one = api.get(f"/hashtags/{quote(tofu)}/posts?limit=1").body
    rest = api.get(f"/hashtags/{quote(tofu)}/posts?limit=1&cursor={one['next_cursor']}").body
    assert [p["post_id"] for p in one["items"] + rest["items"]] == [second["post_id"], first["post_id"]]
    with dynamodb_calls() as calls:
        page(tofu)
    assert calls.operations == ["Query", "BatchGetItem"]

    image = PostItem.get(post_pk(second["post_id"]), POST_SK).serialize()
    assert api.delete(f"/posts/{second['post_id']}", token=owner["token"]).status == 204
    drain_stream()
    assert page(tofu) == [first["post_id"]]
    # The post's stream records again, after it is gone: its INSERT writes nothing, its REMOVE is a no-op.
    for n, (name, images) in enumerate((("INSERT", {"NewImage": image}), ("REMOVE", {"OldImage": image}))):
        assert dispatch([{"eventID": f"replay-{n}", "eventName": name,
                          "dynamodb": {"SequenceNumber": f"9{n}", **images}}]) == []
    assert [i.post_id for i in HashtagPostItem.query(hashtag_pk(tofu), consistent_read=True)] == [first["post_id"]]
    # An edit that takes a tag out takes the post off that page.
    assert api.patch(f"/posts/{first['post_id']}", {"text": f"아침 #{place}"}, token=owner["token"]).status == 200
    drain_stream()
    assert page(tofu) == [] and page(place) == [first["post_id"]]


def test_viewer_state_on_a_shop_a_post_and_the_feed_in_one_batch_read(api, owner, user, drain_stream):
    shop_id = owner["shop"]["shop_id"]
    posts = [create_post(api, owner, f"글 {n}") for n in range(3)]
    other = api.signup()
    api.put(f"/shops/{shop_id}/follow", token=user["token"])
    api.put(f"/posts/{posts[1]['post_id']}/like", token=user["token"])
    drain_stream()
    assert api.get(f"/shops/{shop_id}", token=user["token"]).body["following"] is True
    assert api.get(f"/shops/{shop_id}", token=other["token"]).body["following"] is False
    assert api.get(f"/shops/{shop_id}").body["following"] is False  # anonymous: false
    assert api.get(f"/posts/{posts[1]['post_id']}", token=user["token"]).body["liked"] is True
    assert api.get(f"/posts/{posts[0]['post_id']}", token=user["token"]).body["liked"] is False
    assert api.get(f"/posts/{posts[1]['post_id']}").body["liked"] is False
    assert api.get(f"/posts/{posts[1]['post_id']}", token="not-a-token").status == 401
    assert api.get(f"/shops/{shop_id}", token="not-a-token").status == 401
    with dynamodb_calls() as calls:
        feed = api.get("/feed?limit=20", token=user["token"]).body["items"]
    assert [(i["post_id"], i["liked"]) for i in feed] == [(p["post_id"], p is posts[1]) for p in reversed(posts)]
    assert calls.operations == TOKEN_CHECK + ["Query", "BatchGetItem"]  # the page, then my likes of it
    ranked = api.get("/feed?order=ranked", token=user["token"]).body["items"]
    assert {i["post_id"] for i in ranked if i["liked"]} == {posts[1]["post_id"]}
    with dynamodb_calls() as calls:
        assert api.get(f"/shops/{shop_id}", token=user["token"]).status == 200
        assert api.get(f"/posts/{posts[0]['post_id']}", token=user["token"]).status == 200
    assert calls.operations == (TOKEN_CHECK + ["BatchGetItem"]) * 2  # the item and my edge, one read
