"""The demo data `make run` loads goes through the real API and shows the social core."""

from __future__ import annotations

from devtools import demo


def test_seed_fills_feeds_with_korean_posts_likes_and_replies(api, drain_stream):
    seeded = demo.seed(demo.Caller(api.client))
    drain_stream()
    minji = seeded.tokens["minji@dongne.kr"]
    feed = api.get("/feed?limit=100", token=minji).body["items"]
    assert len(feed) == sum(len(texts) for texts in demo.POSTS.values())
    assert feed[0]["created_at"] >= feed[-1]["created_at"] and all(item["hashtags"] for item in feed)
    jiho = api.get("/feed?limit=100", token=seeded.tokens["jiho@dongne.kr"]).body["items"]
    assert {item["shop_handle"] for item in jiho} == {"seongsu_roasters"}
    tofu = seeded.posts["mangwon_tofu"][0]
    assert api.get(f"/posts/{tofu['post_id']}").body["like_count"] == 2
    comments = api.get(f"/posts/{tofu['post_id']}/comments").body["items"]
    assert [c["is_shop_reply"] for c in comments] == [False, True]
    shop = api.get(f"/shops/{tofu['shop_id']}").body
    assert (shop["follower_count"], shop["post_count"]) == (2, 3)
