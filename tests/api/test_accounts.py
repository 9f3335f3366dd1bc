"""Accounts through the HTTP API: sign-up, login, tokens, profile."""

from __future__ import annotations

from tests.api.conftest import assert_problem


def test_signup_returns_user_and_token_and_me_answers(api):
    answer = api.post("/auth/signup", {"name": "이서연", "email": "Seoyeon@Example.kr", "password": "tofu-lover-9"})
    assert answer.status == 201
    user, token = answer.body["user"], answer.body["token"]
    assert user["name"] == "이서연" and user["email"] == "seoyeon@example.kr" and user["shop_id"] is None
    assert user["created_at"].endswith("Z")
    me = api.get("/me", token=token)
    assert me.status == 200 and me.body == user


def test_signup_with_phone_and_login_by_phone(api):
    answer = api.post("/auth/signup", {"name": "최", "phone": "010-5555-0101", "password": "pw-12345678"})
    assert answer.status == 201 and answer.body["user"]["phone"] == "+821055550101"
    login = api.post("/auth/login", {"phone": "01055550101", "password": "pw-12345678"})
    assert login.status == 200 and login.body["user"]["user_id"] == answer.body["user"]["user_id"]


def test_duplicate_email_is_409_even_with_other_case(api):
    first = api.signup()
    again = api.post("/auth/signup", {"name": "x", "email": first["email"].upper(), "password": "another-pass"})
    assert_problem(again, 409)


def _fresh_digits() -> str:
    """Four digits no other test uses (DynamoDB Local keeps one database for the whole run)."""
    import random

    return f"{random.randrange(10_000):04d}"


def test_one_phone_number_in_two_spellings_is_one_account(api):
    digits = _fresh_digits()
    first = api.post("/auth/signup", {"name": "가", "phone": f"010-4321-{digits}", "password": "password-1"})
    assert first.status == 201 and first.body["user"]["phone"] == f"+82104321{digits}"
    again = api.post("/auth/signup", {"name": "나", "phone": f"+82104321{digits}", "password": "password-2"})
    assert_problem(again, 409)
    login = api.post("/auth/login", {"phone": f"+82 10-4321-{digits}", "password": "password-1"})
    assert login.status == 200 and login.body["user"]["user_id"] == first.body["user"]["user_id"]


def _full_width(text: str) -> str:
    return "".join(chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ch for ch in text)


def test_full_width_look_alike_email_is_the_same_account(api):
    local = "minji" + "".join(chr(ord("a") + int(d)) for d in _fresh_digits())  # ｍｉｎｊｉ... as in issue 14
    first = api.post("/auth/signup", {"name": "민지", "email": f"{local}@dongne.kr", "password": "password-1"})
    assert first.status == 201
    twin = api.post("/auth/signup", {"name": "가짜 민지", "email": f"{_full_width(local)}@dongne.kr",
                                     "password": "password-2"})
    assert_problem(twin, 409)
    login = api.post("/auth/login", {"email": f"{_full_width(local.upper())}@Dongne.kr", "password": "password-1"})
    assert login.status == 200 and login.body["user"]["email"] == f"{local}@dongne.kr"


def test_mixed_script_email_is_refused(api):
    answer = api.post("/auth/signup", {"name": "x", "email": "mіnji@dongne.kr", "password": "password-1"})
    assert assert_problem(answer, 422)["errors"][0]["field"] == "body.email"


def test_wrong_password_and_unknown_user_get_the_same_401(api):
    account = api.signup()
    wrong = api.post("/auth/login", {"email": account["email"], "password": "not the password"})
    unknown = api.post("/auth/login", {"email": "nobody@example.kr", "password": "not the password"})
    assert_problem(wrong, 401)
    assert_problem(unknown, 401)
    assert wrong.body == unknown.body


def test_login_with_right_password(api):
    account = api.signup()
    answer = api.post("/auth/login", {"email": account["email"], "password": account["password"]})
    assert answer.status == 200 and answer.body["user"]["user_id"] == account["user"]["user_id"]


def test_missing_token_is_401(api):
    assert api.get("/me").status == 401


def test_garbage_and_forged_tokens_are_401_problems(api):
    account = api.signup()
    assert_problem(api.get("/me", token="garbage"), 401)
    header, body, mac = account["token"].split(".")
    assert_problem(api.get("/me", token=f"{header}.{body}.{mac[:-2]}xx"), 401)
    assert_problem(api.get("/me", headers={"Authorization": f"Basic {account['token']}"}), 401)


def test_expired_token_is_401(api, monkeypatch):
    from chalicelib import wiring as deps

    account = api.signup()
    tokens = deps.container().tokens
    old = tokens.issue(account["user"]["user_id"], now=1_000_000)
    assert_problem(api.get("/me", token=old), 401)


def test_patch_me_changes_name_and_email(api):
    account = api.signup()
    answer = api.patch("/me", {"name": "새 이름", "email": "new-address@example.kr"}, token=account["token"])
    assert answer.status == 200 and answer.body["name"] == "새 이름"
    assert answer.body["email"] == "new-address@example.kr"
    # the old address is free again, the new one logs in
    assert api.post("/auth/login", {"email": "new-address@example.kr", "password": account["password"]}).status == 200
    assert api.post("/auth/login", {"email": account["email"], "password": account["password"]}).status == 401


def test_patch_me_to_a_taken_email_is_409_and_changes_nothing(api):
    a, b = api.signup(), api.signup()
    answer = api.patch("/me", {"name": "바뀌면 안됨", "email": b["email"]}, token=a["token"])
    assert_problem(answer, 409)
    assert api.get("/me", token=a["token"]).body["name"] == a["user"]["name"]


def test_patch_me_rejects_unknown_fields(api):
    account = api.signup()
    answer = api.patch("/me", {"shop_id": "01HXXXXXXXXXXXXXXXXXXXXXXX"}, token=account["token"])
    problem = assert_problem(answer, 422)
    assert problem["errors"][0]["field"] == "body.shop_id"


def test_patch_me_with_a_taken_phone_and_a_new_email_is_409_not_500(api):
    """Mixed deletes and puts in one transaction: the failing guard must be named right."""
    taken = api.post("/auth/signup", {"name": "a", "phone": "010-7777-0001", "password": "password-1"})
    assert taken.status == 201
    me = api.signup()
    answer = api.patch("/me", {"email": "brand-new@example.kr", "phone": "01077770001"}, token=me["token"])
    problem = assert_problem(answer, 409)
    assert "phone" in problem["detail"]
    assert api.get("/me", token=me["token"]).body["email"] == me["email"]
