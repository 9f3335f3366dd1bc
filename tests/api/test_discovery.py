"""Discovery: shop search (prefix, inside a word, 초성), regions, hashtag pages, viewer state.

One small neighbourhood per test (each test starts from empty tables on moto): three shops in
Seoul, with followers so that ranking by followers shows.
"""

from __future__ import annotations

from urllib.parse import quote

from devtools.callcount import dynamodb_calls
from tests.api.conftest import TOKEN_CHECK, assert_problem, create_post


def _shop(api, name: str, handle: str, region: str) -> dict:
    account = api.signup(name="사장님")
    answer = api.post("/shops", {"name": name, "handle": handle, "region": region}, token=account["token"])
    assert answer.status == 201, answer.body
    return {**account, "shop": answer.body}


def neighbourhood(api, drain_stream) -> dict:
    """망원 (0 followers), 성수 (2: 온기's owner and 망원's), 온기 (1: 망원's owner)."""
    mangwon = _shop(api, "망원동 두부가게", "mangwon_tofu", "서울 마포구 망원동")
    seongsu = _shop(api, "성수 두부공방", "seongsu_dubu", "서울특별시 성동구 성수동")  # the official 시/도 name
    ongi = _shop(api, "Cafe 온기", "cafe_ongi", "서울 마포구 연남동")
    for reader, shop in ((ongi, seongsu), (mangwon, seongsu), (mangwon, ongi)):
        assert api.put(f"/shops/{shop['shop']['shop_id']}/follow", token=reader["token"]).status == 200
    drain_stream()
    return {"mangwon": mangwon, "seongsu": seongsu, "ongi": ongi}


def found(api, q: str, region: str | None = None, **params) -> list[str]:
    query = f"/search/shops?q={quote(q)}" + (f"&region={quote(region)}" if region is not None else "")
    query += "".join(f"&{k}={v}" for k, v in params.items())
    answer = api.get(query)
    assert answer.status == 200, answer.body
    return [hit["handle"] for hit in answer.body["items"]]


def test_search_by_prefix_infix_choseong_and_mixed_handles_ranked_then_narrowed(api, drain_stream):
    n = neighbourhood(api, drain_stream)
    assert n["seongsu"]["shop"]["region"] == "서울 성동구 성수동"  # stored in the short form
    assert found(api, "망원") == ["mangwon_tofu"]  # the start of the name
    assert found(api, "부가") == ["mangwon_tofu"]  # inside a word
    assert found(api, "두부") == ["seongsu_dubu", "mangwon_tofu"]  # both a word's start: more followers first
    assert found(api, "ㄷㅂ") == ["seongsu_dubu", "mangwon_tofu"]  # 초성
    assert found(api, "ㅁㅇㄷ") == ["mangwon_tofu"]
    assert found(api, "두") == ["seongsu_dubu", "mangwon_tofu"]  # one character: the start of a word
    assert found(api, "TOFU") == ["mangwon_tofu"] and found(api, "mangwon_tofu") == ["mangwon_tofu"]
    assert found(api, "cafe온") == ["cafe_ongi"] and found(api, "온기") == ["cafe_ongi"]  # Hangul and Latin
    assert found(api, "ongi") == ["cafe_ongi"] and found(api, "dubu") == ["seongsu_dubu"]
    assert found(api, "콩물") == []
    # A region narrows, with the regions inside it.
    assert found(api, "두부", "서울 마포구") == ["mangwon_tofu"]
    assert found(api, "두부", "서울") == ["seongsu_dubu", "mangwon_tofu"]
    assert found(api, "ㄷㅂ", "서울 마포구 망원동") == ["mangwon_tofu"]
    assert found(api, "두부", "부산") == []
    # Pages.
    first = api.get(f"/search/shops?q={quote('두부')}&limit=1").body
    assert [h["handle"] for h in first["items"]] == ["seongsu_dubu"] and first["items"][0]["follower_count"] == 2
    second = api.get(f"/search/shops?q={quote('두부')}&limit=1&cursor={first['next_cursor']}").body
    assert [h["handle"] for h in second["items"]] == ["mangwon_tofu"] and second["next_cursor"] is None
    other = api.get(f"/search/shops?q={quote('두')}&limit=1&cursor={first['next_cursor']}")
    assert assert_problem(other, 400)["code"] == "invalid_cursor"  # bound to its query
    # A rename leaves no stale key behind.
    shop_id = n["mangwon"]["shop"]["shop_id"]
    renamed = api.patch(f"/shops/{shop_id}", {"name": "망원동 콩물가게"}, token=n["mangwon"]["token"])
    assert renamed.status == 200
    drain_stream()
    assert found(api, "두부") == ["seongsu_dubu"] and found(api, "콩물") == ["mangwon_tofu"]
    assert found(api, "ㅋㅁ") == ["mangwon_tofu"]
    with dynamodb_calls() as calls:
        found(api, "ㄷㅂ", "서울")
    assert calls.operations == ["Query", "BatchGetItem"]


def test_bad_searches_and_regions_are_422_with_their_codes_and_change_nothing(api, user, drain_stream):
    for q in ("", "   ", "!#", "가" * 41):
        answer = api.get(f"/search/shops?q={quote(q)}")
        assert assert_problem(answer, 422)["code"] == "invalid_search_query", q
        assert answer.body["errors"][0]["field"] == "query.q"
    assert assert_problem(api.get("/search/shops?q=a&region=" + quote("서울 없는구")), 422)["code"] == "unknown_region"
    assert assert_problem(api.get("/regions/" + quote("화성 올림푸스") + "/shops"), 422)["code"] == "unknown_region"
    assert assert_problem(api.get("/regions/%FF%FE/shops"), 404)["code"] == "not_found"
    ko = api.get("/regions/" + quote("달나라") + "/shops", headers={"Accept-Language": "ko"})
    assert assert_problem(ko, 422)["title"] == "알 수 없는 지역"
    refused = api.post("/shops", {"name": "가게", "handle": "nowhere_shop", "region": "서울 마포구 없는동"},
                       token=user["token"])
    assert assert_problem(refused, 422)["code"] == "unknown_region"
    assert api.get("/me", token=user["token"]).body["shop_id"] is None  # nothing was opened
    shop = api.post("/shops", {"name": "가게", "handle": "nowhere_shop", "region": ""}, token=user["token"]).body
    edited = api.patch(f"/shops/{shop['shop_id']}", {"region": "Seoul"}, token=user["token"])
    assert assert_problem(edited, 422)["code"] == "unknown_region"
    assert api.get(f"/shops/{shop['shop_id']}").body["region"] == ""
    for tag in ("a%20b", "12345", "x" * 51):
        assert assert_problem(api.get(f"/hashtags/{tag}/posts"), 422)["code"] == "invalid_hashtag", tag


def test_a_regions_shops_most_followed_first_at_every_level(api, drain_stream):
    n = neighbourhood(api, drain_stream)

    def listed(region: str, **params) -> list[str]:
        query = "".join(f"&{k}={v}" for k, v in params.items())
        answer = api.get(f"/regions/{quote(region)}/shops?{query}")
        assert answer.status == 200, answer.body
        return [hit["handle"] for hit in answer.body["items"]]

    assert listed("서울") == ["seongsu_dubu", "cafe_ongi", "mangwon_tofu"]
    assert listed("서울 마포구") == ["cafe_ongi", "mangwon_tofu"]
    assert listed("서울 마포구 망원동") == ["mangwon_tofu"] and listed("서울 마포구 상암동") == []
    assert listed("서울특별시 마포구") == ["cafe_ongi", "mangwon_tofu"]
    # Follower counts move the order (the stream keeps the entries current).
    fans = [api.signup() for _ in range(2)]
    for fan in fans:
        api.put(f"/shops/{n['mangwon']['shop']['shop_id']}/follow", token=fan["token"])
    drain_stream()
    assert listed("서울 마포구") == ["mangwon_tofu", "cafe_ongi"]
    page = api.get(f"/regions/{quote('서울')}/shops?limit=2").body
    assert [h["follower_count"] for h in page["items"]] == [2, 2] and page["next_cursor"]
    rest = api.get(f"/regions/{quote('서울')}/shops?limit=2&cursor={page['next_cursor']}").body
    assert [h["handle"] for h in rest["items"]] == ["cafe_ongi"] and rest["next_cursor"] is None
    # A shop that moves leaves its old regions.
    moved = api.patch(f"/shops/{n['ongi']['shop']['shop_id']}", {"region": "부산 해운대구"}, token=n["ongi"]["token"])
    assert moved.status == 200 and moved.body["region"] == "부산 해운대구"
    drain_stream()
    assert listed("서울 마포구") == ["mangwon_tofu"] and listed("부산") == ["cafe_ongi"]
    assert found(api, "온기", "서울") == [] and found(api, "온기", "부산 해운대구") == ["cafe_ongi"]
    with dynamodb_calls() as calls:
        listed("서울")
    assert calls.operations == ["Query"]


def test_hashtag_pages_newest_first_and_a_deleted_post_leaves_them_even_when_replayed(api, owner, drain_stream):
    from chalicelib.events.stream import dispatch
    from chalicelib.storage.models.social import POST_SK, PostItem, post_pk

    first = create_post(api, owner, "아침 두부 #두부 #망원동")
    second = create_post(api, owner, "저녁 두부 #두부")
    third = create_post(api, owner, "콩물 #Kongmul")
    drain_stream()

    def page(tag: str, **params) -> list[str]:
        query = "".join(f"&{k}={v}" for k, v in params.items())
        answer = api.get(f"/hashtags/{quote(tag)}/posts?{query}")
        assert answer.status == 200, answer.body
        return [p["post_id"] for p in answer.body["items"]]

    assert page("두부") == [second["post_id"], first["post_id"]] and page("망원동") == [first["post_id"]]
    assert page("kongmul") == page("KONGMUL") == [third["post_id"]]  # tags are case-folded
    one = api.get(f"/hashtags/{quote('두부')}/posts?limit=1").body
    assert api.get(f"/hashtags/{quote('두부')}/posts?limit=1&cursor={one['next_cursor']}").body["items"][0][
        "post_id"] == first["post_id"]
    with dynamodb_calls() as calls:
        page("두부")
    assert calls.operations == ["Query", "BatchGetItem"]

    image = PostItem.get(post_pk(second["post_id"]), POST_SK).serialize()
    assert api.delete(f"/posts/{second['post_id']}", token=owner["token"]).status == 204
    drain_stream()
    assert page("두부") == [first["post_id"]]
    # The post's stream records again, after it is gone: its INSERT writes nothing, its REMOVE is a no-op.
    for n, (name, images) in enumerate((("INSERT", {"NewImage": image}), ("REMOVE", {"OldImage": image}))):
        assert dispatch([{"eventID": f"replay-{n}", "eventName": name,
                          "dynamodb": {"SequenceNumber": f"9{n}", **images}}]) == []
    from chalicelib.storage.models.discovery import HashtagPostItem, hashtag_pk

    assert [i.post_id for i in HashtagPostItem.query(hashtag_pk("두부"), consistent_read=True)] == [first["post_id"]]
    # An edit that takes a tag out takes the post off that page.
    assert api.patch(f"/posts/{first['post_id']}", {"text": "아침 두부 #망원동"}, token=owner["token"]).status == 200
    drain_stream()
    assert page("두부") == [] and page("망원동") == [first["post_id"]]


def test_viewer_state_on_a_shop_a_post_and_the_feed_in_one_batch_read(api, owner, user, drain_stream):
    shop_id = owner["shop"]["shop_id"]
    posts = [create_post(api, owner, f"글 {n} #두부") for n in range(3)]
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
