"""The address book through the HTTP API: my addresses, one default, at most 20, nobody else's.

GIVEN a signed-in user, WHEN they save, edit and delete addresses, THEN the list shows them oldest
first with exactly one default, bad input is a 422 problem with stable field codes, another user's
address is a 404, the 21st is a 409 ``too_many_addresses``, and closing the account erases the book.
"""

from __future__ import annotations

import threading

import pytest

from tests.api.conftest import assert_problem, real_dynamodb_only

HOME = {"label": "집", "recipient": "김민지", "phone": "010-1234-5678", "postal_code": "04003",
        "address1": "서울 마포구 망원로 12", "address2": "3층 301호"}
OFFICE = {"label": "회사", "recipient": "김민지", "phone": "+82 10 1234 5678", "postal_code": "06236",
          "address1": "서울 강남구 테헤란로 1"}


def add(api, token, body=None, **extra) -> dict:
    answer = api.post("/me/addresses", {**(body or HOME), **extra}, token=token)
    assert answer.status == 201, answer.body
    return answer.body


def book(api, token) -> list[dict]:
    answer = api.get("/me/addresses", token=token)
    assert answer.status == 200, answer.body
    return answer.body["items"]


def defaults(api, token) -> list[str]:
    return [a["address_id"] for a in book(api, token) if a["is_default"]]


def test_the_first_address_is_the_default_and_reads_back_normalised(api, user):
    assert api.get("/me/addresses", token=user["token"]).body == {"items": [], "next_cursor": None}
    home = add(api, user["token"], is_default=False)
    assert home["is_default"] is True  # the first one always is
    assert home["phone"] == "+821012345678" and home["postal_code"] == "04003" and home["label"] == "집"
    office = add(api, user["token"], OFFICE)
    assert office["is_default"] is False and office["phone"] == "+821012345678" and office["address2"] == ""
    assert [a["address_id"] for a in book(api, user["token"])] == [home["address_id"], office["address_id"]]
    assert defaults(api, user["token"]) == [home["address_id"]]


def test_a_new_default_unsets_the_old_one(api, user):
    home = add(api, user["token"])
    office = add(api, user["token"], OFFICE, is_default=True)
    assert office["is_default"] is True
    assert defaults(api, user["token"]) == [office["address_id"]]
    back = api.patch(f"/me/addresses/{home['address_id']}", {"is_default": True}, token=user["token"])
    assert back.status == 200 and back.body["is_default"] is True
    assert defaults(api, user["token"]) == [home["address_id"]]


def test_the_default_cannot_be_unset_by_itself(api, user):
    home = add(api, user["token"])
    refused = assert_problem(api.patch(f"/me/addresses/{home['address_id']}", {"is_default": False},
                                       token=user["token"]), 422)
    assert refused["code"] == "validation_failed"
    assert [(e["field"], e["code"]) for e in refused["errors"]] == [("body.is_default", "default_required")]
    korean = api.patch(f"/me/addresses/{home['address_id']}", {"is_default": False}, token=user["token"],
                       headers={"Accept-Language": "ko"})
    assert korean.body["errors"][0]["message"].startswith("기본 배송지는 항상 하나")
    assert defaults(api, user["token"]) == [home["address_id"]]


def test_edit_changes_only_what_is_sent(api, user):
    home = add(api, user["token"])
    edited = api.patch(f"/me/addresses/{home['address_id']}", {"address2": "4층", "phone": "01099998888"},
                       token=user["token"])
    assert edited.status == 200, edited.body
    assert edited.body["address2"] == "4층" and edited.body["phone"] == "+821099998888"
    assert edited.body["recipient"] == HOME["recipient"] and edited.body["is_default"] is True
    assert api.patch(f"/me/addresses/{home['address_id']}", {}, token=user["token"]).body == edited.body
    assert book(api, user["token"]) == [edited.body]


def test_deleting_the_default_makes_the_oldest_remaining_one_the_default(api, user):
    first, second, third = (add(api, user["token"], {**HOME, "label": str(n)}) for n in range(3))
    api.patch(f"/me/addresses/{third['address_id']}", {"is_default": True}, token=user["token"])
    assert api.delete(f"/me/addresses/{third['address_id']}", token=user["token"]).status == 204
    assert defaults(api, user["token"]) == [first["address_id"]]
    assert api.delete(f"/me/addresses/{second['address_id']}", token=user["token"]).status == 204
    assert api.delete(f"/me/addresses/{first['address_id']}", token=user["token"]).status == 204
    assert book(api, user["token"]) == []
    again = add(api, user["token"])
    assert again["is_default"] is True
    assert_problem(api.delete(f"/me/addresses/{first['address_id']}", token=user["token"]), 404)


def test_another_users_address_is_404_and_untouched(api, user):
    home = add(api, user["token"])
    other = api.signup()
    path = f"/me/addresses/{home['address_id']}"
    assert assert_problem(api.patch(path, {"label": "내 것"}, token=other["token"]), 404)["code"] == "not_found"
    assert_problem(api.delete(path, token=other["token"]), 404)
    assert book(api, other["token"]) == []
    assert book(api, user["token"]) == [home]
    assert api.get("/me/addresses").status == 401
    assert_problem(api.patch("/me/addresses/NOPE", {"label": "x"}, token=user["token"]), 404)


@pytest.mark.parametrize("change, field, code", [
    ({"postal_code": "0400"}, "body.postal_code", "too_short"),
    ({"postal_code": "04O03"}, "body.postal_code", "pattern"),
    ({"postal_code": 4003}, "body.postal_code", "wrong_type"),
    ({"phone": "12345"}, "body.phone", "pattern"),
    ({"recipient": "   "}, "body.recipient", "pattern"),
    ({"address1": ""}, "body.address1", "empty"),
    ({"address1": "가" * 201}, "body.address1", "too_long"),
    ({"label": "가" * 31}, "body.label", "too_long"),
    ({"is_default": "yes"}, "body.is_default", "wrong_type"),
    ({"note": "문 앞"}, "body.note", "unknown_field"),
])
def test_bad_input_is_a_422_with_the_field_and_its_code(api, user, change, field, code):
    answer = assert_problem(api.post("/me/addresses", {**HOME, **change}, token=user["token"]), 422)
    assert answer["code"] == "validation_failed"
    assert (field, code) in [(e["field"], e["code"]) for e in answer["errors"]]
    assert book(api, user["token"]) == []


def test_missing_fields_and_nulls_on_edit_are_422(api, user):
    missing = assert_problem(api.post("/me/addresses", {"label": "집"}, token=user["token"]), 422)
    assert {e["field"] for e in missing["errors"]} == {"body.recipient", "body.phone", "body.postal_code",
                                                      "body.address1"}
    home = add(api, user["token"])
    null = assert_problem(api.patch(f"/me/addresses/{home['address_id']}", {"recipient": None},
                                    token=user["token"]), 422)
    assert [(e["field"], e["code"]) for e in null["errors"]] == [("body.recipient", "not_null")]


def test_at_most_20_addresses(api, user):
    for n in range(20):
        add(api, user["token"], {**HOME, "label": f"{n}"})
    full = assert_problem(api.post("/me/addresses", OFFICE, token=user["token"]), 409)
    assert full["code"] == "too_many_addresses" and full["limit"] == 20
    korean = api.post("/me/addresses", OFFICE, token=user["token"], headers={"Accept-Language": "ko"})
    assert korean.body["detail"] == "배송지는 최대 20개까지 저장할 수 있어요. 하나를 지운 뒤에 추가해 주세요."
    assert len(book(api, user["token"])) == 20


def test_pages_of_the_book_are_bounded_and_signed(api, user):
    ids = [add(api, user["token"], {**HOME, "label": f"{n}"})["address_id"] for n in range(5)]
    first = api.get("/me/addresses?limit=2", token=user["token"]).body
    assert [a["address_id"] for a in first["items"]] == ids[:2] and first["next_cursor"]
    second = api.get(f"/me/addresses?limit=2&cursor={first['next_cursor']}", token=user["token"]).body
    third = api.get(f"/me/addresses?limit=2&cursor={second['next_cursor']}", token=user["token"]).body
    assert [a["address_id"] for a in second["items"] + third["items"]] == ids[2:] and third["next_cursor"] is None
    other = api.signup()
    assert_problem(api.get(f"/me/addresses?cursor={first['next_cursor']}", token=other["token"]), 400)
    assert_problem(api.get("/me/addresses?limit=0", token=user["token"]), 422)


def test_closing_the_account_erases_the_address_book(api, user, drain_stream):
    from chalicelib.wiring import container

    add(api, user["token"])
    user_id = user["user"]["user_id"]
    assert container().addresses.get_book(user_id).addresses
    assert api.delete("/me", token=user["token"]).status == 204
    drain_stream()
    assert container().addresses.get_book(user_id).addresses == ()
    drain_stream()  # a replay finds nothing left to erase


@real_dynamodb_only
def test_racing_adds_lose_nothing_and_keep_one_default(api, user):
    results: list[int] = []
    barrier = threading.Barrier(6)

    def attempt(n: int) -> None:
        barrier.wait()
        answer = api.post("/me/addresses", {**HOME, "label": f"{n}", "is_default": True}, token=user["token"])
        results.append(answer.status)

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    saved = book(api, user["token"])
    assert len(saved) == results.count(201) and results.count(201) >= 1
    assert set(results) <= {201, 503}
    assert sum(a["is_default"] for a in saved) == 1
