"""Posts tag the shop's own products and show their name and price as of posting or editing."""

from __future__ import annotations

from devtools.callcount import dynamodb_calls
from tests.api.commerce import make_product, placed
from tests.api.conftest import TOKEN_CHECK, assert_problem, create_post

UNKNOWN = "01JDQ3ZK8X9V5W4T3S2R1P0N9M"  # well-formed, never created


def summary(product: dict) -> dict:
    return {k: product[k] for k in ("product_id", "name", "price", "currency")}


def nothing_posted(api, owner) -> bool:
    shop_id = owner["shop"]["shop_id"]
    return (api.get(f"/shops/{shop_id}/posts").body["items"] == []
            and api.get(f"/shops/{shop_id}").body["post_count"] == 0)


def test_a_post_shows_its_tagged_products_in_order(api, owner):
    tofu = make_product(api, owner, name="손두부 (500g)", price=4500)
    milk = make_product(api, owner, name="콩물 (1L)", price=6000)
    post = create_post(api, owner, "손두부와 콩물 나왔어요", product_ids=[milk["product_id"], tofu["product_id"]])
    assert post["products"] == [summary(milk), summary(tofu)]
    assert post["products"][0] == {"product_id": milk["product_id"], "name": "콩물 (1L)", "price": 6000,
                                   "currency": "KRW"}
    assert api.get(f"/posts/{post['post_id']}").body["products"] == post["products"]
    listed = api.get(f"/shops/{owner['shop']['shop_id']}/posts").body["items"]
    assert listed[0]["products"] == post["products"]
    assert create_post(api, owner, "태그 없는 글")["products"] == []


def test_unknown_and_other_shops_products_are_422_naming_each_index_and_nothing_is_written(api, owner):
    rival = api.signup(name="이사장")
    rival = {**rival, "shop": api.open_shop(rival["token"], name="옆집 두부")}
    ours = make_product(api, owner)["product_id"]
    theirs = make_product(api, rival)["product_id"]
    answer = api.post(f"/shops/{owner['shop']['shop_id']}/posts",
                      {"text": "남의 상품 태그", "product_ids": [ours, theirs, UNKNOWN, "01JDQ3ZK8X9V5W4T3S2R1P0N8K"]},
                      token=owner["token"])
    problem = assert_problem(answer, 422)
    assert [e["field"] for e in problem["errors"]] == ["body.product_ids.1", "body.product_ids.2",
                                                       "body.product_ids.3"]
    assert nothing_posted(api, owner)
    # The rival cannot tag our product either.
    problem = assert_problem(api.post(f"/shops/{rival['shop']['shop_id']}/posts",
                                      {"text": "x", "product_ids": [ours]}, token=rival["token"]), 422)
    assert [e["field"] for e in problem["errors"]] == ["body.product_ids.0"]


def test_an_edit_with_foreign_products_is_422_and_changes_nothing(api, owner, user):
    ours = make_product(api, owner)["product_id"]
    post = create_post(api, owner, "원래 글", product_ids=[ours])
    for bad in ([UNKNOWN], [ours, UNKNOWN]):
        problem = assert_problem(api.patch(f"/posts/{post['post_id']}", {"text": "고친 글", "product_ids": bad},
                                           token=owner["token"]), 422)
        assert [e["field"] for e in problem["errors"]] == [f"body.product_ids.{len(bad) - 1}"]
    assert api.get(f"/posts/{post['post_id']}").body == post


def test_tags_can_be_changed_and_cleared(api, owner):
    tofu, milk = make_product(api, owner), make_product(api, owner)
    post = create_post(api, owner, "두부", product_ids=[tofu["product_id"]])
    edited = api.patch(f"/posts/{post['post_id']}", {"product_ids": [milk["product_id"], tofu["product_id"]]},
                       token=owner["token"]).body
    assert edited["products"] == [summary(milk), summary(tofu)]
    cleared = api.patch(f"/posts/{post['post_id']}", {"product_ids": []}, token=owner["token"]).body
    assert cleared["product_ids"] == [] and cleared["products"] == []
    assert api.get(f"/posts/{post['post_id']}").body["products"] == []


def test_the_price_shown_is_as_of_posting_and_an_edit_refreshes_it(api, owner, user):
    tofu = make_product(api, owner, price=4500)
    post = create_post(api, owner, "손두부 4,500원", product_ids=[tofu["product_id"]])
    assert api.patch(f"/products/{tofu['product_id']}", {"price": 5000, "name": "손두부 (600g)"},
                     token=owner["token"]).status == 200
    assert api.get(f"/posts/{post['post_id']}").body["products"][0]["price"] == 4500  # as of posting
    order = placed(api, user, owner["shop"]["shop_id"], (tofu["product_id"], 1), via_post_id=post["post_id"])
    assert order["total"] == 5000  # an order is always priced on the server, today
    edited = api.patch(f"/posts/{post['post_id']}", {"text": "손두부 5,000원으로 올랐어요"}, token=owner["token"]).body
    assert edited["products"] == [{"product_id": tofu["product_id"], "name": "손두부 (600g)", "price": 5000,
                                   "currency": "KRW"}]


# --- DynamoDB calls on the request path --------------------------------------------------------

def test_create_post_calls_without_and_with_products(api, owner):
    shop_id = owner["shop"]["shop_id"]
    tofu = make_product(api, owner)["product_id"]
    with dynamodb_calls() as calls:
        assert api.post(f"/shops/{shop_id}/posts", {"text": "태그 없음"}, token=owner["token"]).status == 201
    assert calls.operations == TOKEN_CHECK + ["GetItem", "TransactWriteItems"]
    with dynamodb_calls() as calls:
        assert api.post(f"/shops/{shop_id}/posts", {"text": "태그", "product_ids": [tofu]},
                        token=owner["token"]).status == 201
    assert calls.operations == TOKEN_CHECK + ["GetItem", "BatchGetItem", "TransactWriteItems"]
    with dynamodb_calls() as calls:
        assert api.post(f"/shops/{shop_id}/posts", {"text": "없는 상품", "product_ids": [UNKNOWN]},
                        token=owner["token"]).status == 422
    assert calls.operations == TOKEN_CHECK + ["GetItem", "BatchGetItem"]  # refused before any write


def test_edit_post_calls_without_and_with_products(api, owner):
    tofu = make_product(api, owner)["product_id"]
    plain = create_post(api, owner, "태그 없음")
    tagged = create_post(api, owner, "태그", product_ids=[tofu])
    with dynamodb_calls() as calls:
        assert api.patch(f"/posts/{plain['post_id']}", {"text": "고침"}, token=owner["token"]).status == 200
    # ... and the answer's `liked` (one BatchGetItem of the editor's like: docs/discovery.md)
    assert calls.operations == TOKEN_CHECK + ["GetItem", "UpdateItem", "BatchGetItem"]
    with dynamodb_calls() as calls:
        assert api.patch(f"/posts/{tagged['post_id']}", {"text": "고침"}, token=owner["token"]).status == 200
    assert calls.operations == TOKEN_CHECK + ["GetItem", "BatchGetItem", "UpdateItem", "BatchGetItem"]


# --- the feed ---------------------------------------------------------------------------------

def feed_items(api, token) -> list[dict]:
    answer = api.get("/feed?limit=100", token=token)
    assert answer.status == 200, answer.body
    return answer.body["items"]


def test_a_feed_item_shows_the_tagged_products_and_the_page_stays_one_query(api, owner, user, drain_stream):
    shop_id = owner["shop"]["shop_id"]
    tofu = make_product(api, owner, name="손두부 (500g)", price=4500)
    milk = make_product(api, owner, name="콩물 (1L)", price=6000)
    before = create_post(api, owner, "팔로우 전 글: 콩물", product_ids=[milk["product_id"]])
    assert api.put(f"/shops/{shop_id}/follow", token=user["token"]).status == 200
    drain_stream()  # the follow merges the earlier post
    after = create_post(api, owner, "오늘 손두부와 콩물", product_ids=[tofu["product_id"], milk["product_id"]])
    plain = create_post(api, owner, "태그 없는 글")
    drain_stream()  # the new posts fan out
    with dynamodb_calls() as calls:
        items = feed_items(api, user["token"])
    assert calls.operations == TOKEN_CHECK + ["Query", "BatchGetItem"]  # the page, and the reader's likes of it
    by_id = {item["post_id"]: item for item in items}
    assert by_id[before["post_id"]]["products"] == [summary(milk)]
    assert by_id[after["post_id"]]["products"] == [summary(tofu), summary(milk)] == after["products"]
    assert by_id[plain["post_id"]]["products"] == []


def test_an_edit_refreshes_the_products_in_the_feed(api, owner, user, drain_stream):
    shop_id = owner["shop"]["shop_id"]
    tofu = make_product(api, owner, price=4500)
    milk = make_product(api, owner, price=6000)
    api.put(f"/shops/{shop_id}/follow", token=user["token"])
    post = create_post(api, owner, "손두부", product_ids=[tofu["product_id"]])
    drain_stream()
    api.patch(f"/products/{tofu['product_id']}", {"price": 5000}, token=owner["token"])
    drain_stream()
    assert feed_items(api, user["token"])[0]["products"][0]["price"] == 4500  # as of posting
    api.patch(f"/posts/{post['post_id']}", {"text": "손두부 5,000원"}, token=owner["token"])
    drain_stream()
    assert feed_items(api, user["token"])[0]["products"] == [{**summary(tofu), "price": 5000}]
    api.patch(f"/posts/{post['post_id']}", {"product_ids": [milk["product_id"]]}, token=owner["token"])
    drain_stream()
    assert feed_items(api, user["token"])[0]["products"] == [summary(milk)]
