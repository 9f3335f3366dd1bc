"""The demo data `make run` loads goes through the real API and shows the social core.

Runs on moto (in `make test`, 400 days ahead). On DynamoDB Local the demo is loaded and its
story read back today by `tests/devtools/test_demo_refresh.py` (and served by `make run` in
`tests/devtools/test_run.py`), so the DynamoDB Local pass does not seed it a third time.
"""

from __future__ import annotations

import pytest

from devtools import demo
from tests.conftest import BACKEND

pytestmark = pytest.mark.skipif(BACKEND == "ddblocal", reason="the demo on DynamoDB Local: tests/devtools")


def test_seed_shows_the_social_core_and_the_corner_store_memory(api, drain_stream):
    seeded = demo.seed(demo.Caller(api.client), settle=drain_stream)
    drain_stream()
    minji = seeded.tokens["minji@dongne.kr"]
    feed = api.get("/feed?limit=100", token=minji).body["items"]
    assert len(feed) == sum(len(texts) for texts in demo.POSTS.values()) + len(seeded.week_posts)  # the roaster's weeks
    assert feed[0]["created_at"] >= feed[-1]["created_at"] and all(item["hashtags"] for item in feed)
    jiho = api.get("/feed?limit=100", token=seeded.tokens["jiho@dongne.kr"]).body["items"]
    assert {item["shop_handle"] for item in jiho} == {"seongsu_roasters"}
    tofu = seeded.posts["mangwon_tofu"][0]
    assert api.get(f"/posts/{tofu['post_id']}").body["like_count"] == 4
    comments = api.get(f"/posts/{tofu['post_id']}/comments").body["items"]
    assert [c["is_shop_reply"] for c in comments] == [False, True]
    shop = api.get(f"/shops/{tofu['shop_id']}").body
    assert (shop["follower_count"], shop["post_count"]) == (3, 3)
    # The tofu shop's posts tag its products; the feed shows their name and price, and
    # Minji's first tofu order was placed from the 손두부 post.
    tofu_items = {item["post_id"]: item for item in feed if item["shop_handle"] == "mangwon_tofu"}
    first, second = (tofu_items[p["post_id"]] for p in seeded.posts["mangwon_tofu"][:2])
    assert [(p["name"], p["price"]) for p in first["products"]] == [("손두부 (500g)", 4500)]
    assert [(p["name"], p["price"]) for p in second["products"]] == [("콩물 (1L)", 6000)]
    minji_orders = api.get("/me/orders?limit=100", token=minji).body["items"]
    from_post = [o for o in minji_orders if o["via_post_id"]]
    assert [(o["shop_id"], o["via_post_id"]) for o in from_post] == [(tofu["shop_id"], tofu["post_id"])]
    assert first["products"][0]["product_id"] in {line["product_id"] for line in from_post[0]["items"]}
    # (One test: the seed's fixed e-mails can be loaded once per database.)

    # The corner-store memory. Minji follows, likes, comments, buys twice and reviews: the
    # tofu shop's first regular. Haneul only follows: potential. The card explains why.
    owner = seeded.tokens["tofu@dongne.kr"]
    tofu = seeded.shops["mangwon_tofu"]["shop_id"]
    customers = api.get(f"/shops/{tofu}/customers", token=owner).body["items"]
    by_name = {c["name"]: c for c in customers}
    assert customers[0]["name"] == "김민지" and customers[0]["tier"] == "regular"
    assert by_name["박하늘"]["tier"] == "potential"
    assert by_name["최서연"]["tier"] == "first_time"
    assert customers[-1]["name"] == "박하늘"
    card = api.get(f"/shops/{tofu}/customers/{customers[0]['user_id']}", token=owner).body
    assert card["order_count"] == 4 and card["tier"] == "regular" and card["usual_interval_days"] == 7.0
    assert abs(sum(card["breakdown"].values()) - card["strength"]) < 1e-6
    assert all(card["breakdown"][part] > 0 for part in ("follow", "engagement", "orders", "money", "reviews"))
    assert card["favourite_products"][0]["name"].startswith("손두부")
    minji_shops = api.get("/me/shops", token=seeded.tokens["minji@dongne.kr"]).body["items"]
    assert minji_shops[0]["handle"] == "mangwon_tofu"

    # The one-person store: Minji's tofu link brought a delivered order (confirmed) and a paid
    # one (pending, through a remembered visit); Seoyeon gives her flower-shop reward away.
    rewards = api.get("/me/rewards", token=minji).body
    assert (rewards["balance"], rewards["pending"]) == ((2 * 4500 + 6000) // 10, 2 * 3500 // 10)
    assert sorted(e["status"] for e in rewards["items"]) == ["confirmed", "pending", "pending"]
    links = {link["shop_id"]: link for link in api.get("/me/store-links", token=minji).body["items"]}
    assert (links[tofu]["orders"], links[tofu]["visits"]) == (2, 2)
    seoyeon = seeded.tokens["seoyeon@dongne.kr"]
    flowers = seeded.shops["yeonnam_flowers"]["shop_id"]
    given = next(link for link in api.get("/me/store-links", token=seoyeon).body["items"] if link["shop_id"] == flowers)
    assert given["give_reward_to_friend"] is True and given["orders"] == 1
    bouquet = next(o for o in seeded.orders if o.get("via_store_link") == given["code"])
    assert (bouquet["discount"], bouquet["total"]) == (2000, 15000 - 2000)
    assert [e["reason"] for e in api.get("/me/rewards", token=seoyeon).body["items"]] == ["given_to_friend"]
    referrals = api.get(f"/shops/{tofu}/referrals", token=owner).body["items"]
    assert sorted(r["reward_status"] for r in referrals) == ["confirmed", "pending"]

    # The story over the past weeks: the owner's inbox tells it, newest first, and Minji's
    # 손두부 is about to run out.
    from datetime import datetime

    notes = api.get("/me/notifications?limit=100", token=owner).body
    assert notes["unread_count"] == len(notes["items"]) and notes["next_cursor"] is None
    kinds = [(n["type"], n["data"].get("milestone")) for n in notes["items"]]
    [lapsed] = [n for n in notes["items"] if n["type"] == "regular_lapsed"]
    assert lapsed["data"]["customer_name"] == "오영수" and lapsed["title"] == "단골 오영수님이 한동안 오지 않았어요"
    assert kinds[-2:] == [("milestone", "first_order"), ("new_order", None)]
    assert notes["items"][-1]["data"]["customer_name"] == "오영수"
    milestones = {(m, n["data"]["customer_name"]) for n in notes["items"] if (m := n["data"].get("milestone"))}
    assert milestones == {("first_order", "오영수"), ("became_regular", "오영수"), ("first_follower", "김민지"),
                          ("first_review", "김민지"), ("became_regular", "김민지")}
    post_id = seeded.posts["mangwon_tofu"][0]["post_id"]
    [likes] = [n for n in notes["items"] if n["type"] == "like" and n["data"]["post_id"] == post_id]
    assert likes["title"] == "김민지 외 3명이 좋아해요" and likes["data"]["count"] == 4
    [follows] = [n for n in notes["items"] if n["type"] == "new_follower"]
    assert follows["data"]["count"] == 3 and follows["title"] == "고객님이 팔로잉 하셨습니다"
    days = {round((datetime.now().timestamp() - datetime.fromisoformat(n["created_at"]).timestamp()) / 86_400)
            for n in notes["items"]}
    assert max(days) >= 84 and min(days) <= 12 and len(days) >= 6  # spread over the weeks, not all "now"
    by_name = {c["name"]: c for c in api.get(f"/shops/{tofu}/customers?limit=100", token=owner).body["items"]}
    assert [by_name[n]["tier"] for n in ("김민지", "오영수", "최서연", "박하늘")] == [
        "regular", "lapsed", "first_time", "potential"]
    mine = api.get("/me/notifications?limit=100", token=seeded.tokens["minji@dongne.kr"]).body["items"]
    [due] = [n for n in mine if n["type"] == "reorder_due"]
    assert due["data"]["product_name"] == "손두부 (500g)" and due["data"]["shop_name"] == "망원동 두부가게"
    assert "손두부 (500g)" in [r["name"] for r in card["reorder_due"]]

    # Essentials. Minji's tofu, bought 9 days ago, has run out: one tap on her reorders buys it
    # again. Jiho subscribed to the roaster's house blend every 14 days at the shop's 10%
    # discount 20 days ago: two periods have passed (he was told of the second a day before),
    # the next is 8 days ahead.
    due = api.get("/me/reorders", token=minji).body["items"]
    tofu_due = next(item for item in due if item["name"].startswith("손두부"))
    assert tofu_due["shop_name"] == "망원동 두부가게" and tofu_due["overdue_days"] > 0
    assert [item["due_at"] for item in due] == sorted(item["due_at"] for item in due)
    tap = api.post(f"/orders/{tofu_due['last_order_id']}/reorder", token=minji,
                   headers={"Idempotency-Key": "demo-test-one-tap"})
    assert tap.status == 201 and any(line["name"].startswith("손두부") for line in tap.body["items"])
    drain_stream()
    assert "손두부 (500g)" in {item["name"] for item in api.get("/me/reorders", token=minji).body["items"]}
    paid = api.post(f"/orders/{tap.body['order_id']}/status", {"status": "paid"}, token=owner)
    assert paid.status == 200, paid.body  # bought once paid
    drain_stream()
    assert "손두부 (500g)" not in {item["name"] for item in api.get("/me/reorders", token=minji).body["items"]}
    jiho_token = seeded.tokens["jiho@dongne.kr"]
    (sub,) = api.get("/me/subscriptions", token=jiho_token).body["items"]
    assert (sub["status"], sub["every_days"], sub["period"], sub["discount_percent"]) == ("active", 14, 3, 10)
    assert sub["items"][0]["name"] == "원두 200g (하우스 블렌드)"
    assert [(h["period"], h["outcome"]) for h in sub["history"]] == [(1, "ordered"), (2, "ordered")]
    periods = [o for o in api.get("/me/orders?limit=100", token=jiho_token).body["items"] if o["subscription_id"]]
    assert sorted(o["status"] for o in periods) == ["delivered", "paid"]
    assert all(o["discount"] == o["subtotal"] // 10 and o["total"] == o["subtotal"] - o["discount"] for o in periods)
    roaster = seeded.shops["seongsu_roasters"]["shop_id"]
    card = api.get(f"/shops/{roaster}/customers/{sub['subscriber_id']}", token=seeded.tokens["coffee@dongne.kr"]).body
    assert [s["subscription_id"] for s in card["subscriptions"]] == [sub["subscription_id"]]
    assert card["order_count"] == 2  # the two periods, paid; his beans and drip bags wait for payment
    told = [n for n in api.get("/me/notifications?limit=100", token=jiho_token).body["items"]
            if n["type"] == "subscription_upcoming"]
    assert [n["data"]["period"] for n in told] == [2]

    # Checkout. Every shop set how it hands orders over and its bank account; the orders the story
    # counts are paid (bank transfers confirmed by the owner, Daon's bouquet by card through the
    # PortOne stand-in). Haneul's bank transfer at the flower shop waits for her deposit, the shop's
    # account on the order; Jiho's unpaid card order expired and gave its stock back; Minji's
    # flowers, paid by card and cancelled by the florist, were refunded through PortOne.
    story = demo.read_story(demo.Caller(api.client))
    # (Minji's 손두부 is no longer due: this test reordered it above.)
    assert set(story.missing()) & set(demo.CHECKOUT_STORY.values()) == set(), story.missing()
    paid, waiting = story.checkout["card_paid"], story.checkout["transfer_waiting"]
    assert (paid["status"], paid["payment"]["method"], paid["payment"]["status"]) == ("paid", "card", "paid")
    assert paid["paid_at"] and paid["total"] == 15000 - 2000
    assert (waiting["status"], waiting["payment"]["method"], waiting["fulfilment"]["method"]) == (
        "pending_payment", "bank_transfer", "pickup")
    assert waiting["payment"]["bank_account"]["number"] == demo.CHECKOUT["yeonnam_flowers"]["bank_account"]["number"]
    # Placed this morning (or now, before 07:00 KST): 72 hours to pay, still open whatever the hour.
    deadline = datetime.fromisoformat(waiting["payment"]["deadline_at"]).timestamp()
    assert deadline - datetime.fromisoformat(waiting["created_at"]).timestamp() == 72 * 3600
    assert deadline > datetime.now().timestamp() + 48 * 3600
    expired = story.checkout["expired"]
    assert expired["status"] == "expired" and expired["paid_at"] is None
    drip = seeded.products["seongsu_roasters"][2]
    assert api.get(f"/products/{drip['product_id']}").body["stock"] == demo.PRODUCTS["seongsu_roasters"][2]["stock"]
    refunded = story.checkout["refunded"]
    assert (refunded["status"], refunded["refund"]["status"], refunded["refund"]["amount"]) == (
        "cancelled", "done", refunded["total"])
    lines = demo.story_lines(story, datetime.now().timestamp())
    for words in ("윤다온 paid 13,000 won by card", "박하늘's bank transfer of", "한지호's card order for 드립백",
                  "refunded through PortOne"):
        assert any(words in line for line in lines), (words, lines)

    # Talking back. Minji asked the tofu shop something yesterday evening and the owner wrote back
    # in their conversation, where the shop's review requests (the owner's own words, two days after
    # each delivery) reached her before; the owner welcomed back the regular who lapsed with a
    # 2,000-won coupon (he said yes to the shop's news while he still came); and this morning
    # Minji's order carries her 5% regular perk.
    talk_gaps = [g for g in story.missing() if g not in demo.CHECKOUT_STORY.values() and "손두부" not in g]
    assert talk_gaps == [], talk_gaps
    shop_side = [m["text"] for m in story.minji_talk if m["sender"] == "shop"]
    assert shop_side.count(demo.AFTERCARE["review_request"]["text"]) == 2 and shop_side[-1] == demo.QUESTION[3]
    assert story.youngsoo_last["text"].startswith("(광고) 망원동 두부가게\n" + demo.WELCOME_BACK["text"])
    [coupon] = story.youngsoo_coupons
    assert (coupon["name"], coupon["value"]) == ("다시 만나요 쿠폰", 2000)
    perk = story.perk_order
    assert [(d["kind"], d["amount"]) for d in perk["discounts"]] == [("regular_perk", 18000 * 5 // 100)]
    assert perk["total"] == 18000 - 900 + perk["shipping_fee"]
    for words in ("김민지 asked 망원동 두부가게", "오영수, the lapsed regular", "her regular perk"):
        assert any(words in line for line in lines), (words, lines)

    # Insights. Over the last 13 weeks the roaster posted most weeks and the neighbours bought,
    # often from a post; four weeks ago he posted nothing, and the orders fell until he wrote again.
    # What GET /shops/{id}/insights answers is what the stream counted from those requests.
    weekly = story.insights
    series, totals = weekly["series"], weekly["totals"]
    assert weekly["granularity"] == "week" and len(series) >= demo.INSIGHT_WEEKS
    assert [p["period"] for p in series] == sorted(p["period"] for p in series)
    quiet = demo.week_monday(datetime.now().timestamp(), demo.QUIET_WEEK).date().isoformat()
    [(point, around)] = demo.quiet_weeks(series)
    assert point["period"] == quiet and point["posts"] == 0 and point["orders"] < around
    assert sum(p["posts"] > 0 for p in series) >= 10 and totals["posts"] >= 11
    for name in ("orders", "revenue", "posts", "new_followers", "new_customers", "repeat_customers", "regulars",
                 "subscription_orders"):
        assert totals[name] == sum(p[name] for p in series), name
    assert totals["orders"] >= 20 and totals["new_followers"] == 5 and totals["subscription_orders"] == 2
    from_posts = api.get(f"/shops/{story.roaster_id}/insights/posts?from={series[0]['period']}&limit=50",
                         token=seeded.tokens["coffee@dongne.kr"]).body["posts"]
    assert sum(p["orders"] for p in from_posts) >= 18  # most came straight from a post
    assert story.insights_csv.startswith("\ufeff기간 (period),주문 (orders)")
    rows = story.insights_csv.strip().split("\r\n")
    assert len(rows) == len(series) + 2 and rows[-1].startswith(f"합계,{totals['orders']},{totals['revenue']},")
    for words in ("성수 커피로스터스, the last", f"The week of {quiet} 정로스터 posted nothing"):
        assert any(words in line for line in lines), (words, lines)
