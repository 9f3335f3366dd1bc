"""Logins: an hour's access token, a 60-day refresh token that works once, reuse detection,
logout, and signing keys that rotate without logging anyone out.

GIVEN a login, WHEN its refresh token is exchanged, THEN a new pair works and the old refresh
token is spent; WHEN a spent one comes back (a thief, or a client racing itself), THEN the
whole login ends: every token of it, old and new, is refused from the next request on.
"""

from __future__ import annotations

import json
import threading
from datetime import datetime

import pytest

from chalicelib import clock
from chalicelib import wiring
from chalicelib.services.signing import key_id, token_kid
from devtools.callcount import dynamodb_calls
from tests.api.conftest import assert_problem, real_dynamodb_only
from tests.clock import TestClock

HOUR, DAY = 3600, 86400
KEY_A = "first-signing-key-for-the-session-tests-" + "a" * 16
KEY_B = "second-signing-key-for-the-session-tests-" + "b" * 16


def login(api, account: dict) -> dict:
    answer = api.post("/auth/login", {"email": account["email"], "password": account["password"]})
    assert answer.status == 200, answer.body
    return answer.body


def refresh(api, refresh_token: str):
    return api.post("/auth/refresh", {"refresh_token": refresh_token})


def alive(api, token: str) -> bool:
    status = api.get("/me", token=token).status
    assert status in (200, 401), status
    return status == 200


@pytest.fixture
def shipped_lifetimes(monkeypatch):
    """The token lifetimes every stage runs with (the suite's own default is longer)."""
    monkeypatch.delenv("DONGNE_TOKEN_TTL_SECONDS", raising=False)
    monkeypatch.delenv("DONGNE_REFRESH_TTL_SECONDS", raising=False)
    wiring.reset()
    yield
    monkeypatch.undo()
    wiring.reset()


# --- signing in -------------------------------------------------------------------------------


def test_signup_and_login_answer_an_access_token_and_a_refresh_token(api, user, shipped_lifetimes):
    assert user["token"] and user["refresh_token"] and user["token"] != user["refresh_token"]
    assert alive(api, user["token"])
    assert_problem(api.get("/me", token=user["refresh_token"]), 401)  # a refresh token is no bearer token
    again = login(api, user)
    assert set(again) >= {"user", "token", "expires_at", "refresh_token", "refresh_expires_at"}
    assert again["refresh_token"] != user["refresh_token"]  # a login of its own


# --- rotation and reuse -----------------------------------------------------------------------


def test_refresh_rotates_the_pair(api, user):
    first = refresh(api, user["refresh_token"])
    assert first.status == 200, first.body
    assert set(first.body) == {"token", "expires_at", "refresh_token", "refresh_expires_at"}
    assert alive(api, first.body["token"])
    second = refresh(api, first.body["refresh_token"])
    assert second.status == 200 and alive(api, second.body["token"])
    assert len({user["refresh_token"], first.body["refresh_token"], second.body["refresh_token"]}) == 3


def test_a_replayed_refresh_token_ends_its_whole_login(api, user):
    other_device = login(api, user)
    rotated = refresh(api, user["refresh_token"]).body
    assert alive(api, rotated["token"]) and alive(api, user["token"])
    replay = assert_problem(refresh(api, user["refresh_token"]), 401)  # the spent one, again
    assert replay["code"] == "refresh_token_reused"
    # Both tokens of that login are dead at once, the old and the new, access and refresh alike.
    assert not alive(api, rotated["token"]) and not alive(api, user["token"])
    assert assert_problem(refresh(api, rotated["refresh_token"]), 401)["code"] == "unauthorized"
    assert assert_problem(refresh(api, user["refresh_token"]), 401)["code"] == "unauthorized"
    # Another login of the account is not touched.
    assert alive(api, other_device["token"])
    assert refresh(api, other_device["refresh_token"]).status == 200


def test_logout_ends_the_login_and_its_refresh_token(api, user):
    other_device = login(api, user)
    rotated = refresh(api, user["refresh_token"]).body
    assert api.post("/auth/logout", token=rotated["token"]).status == 204
    assert not alive(api, rotated["token"])
    assert not alive(api, user["token"])  # an earlier access token of the same login
    assert assert_problem(refresh(api, rotated["refresh_token"]), 401)["code"] == "unauthorized"
    assert alive(api, other_device["token"]) and refresh(api, other_device["refresh_token"]).status == 200


def test_a_password_change_ends_every_login_and_its_refresh_tokens(api, user):
    other_device = login(api, user)
    changed = api.put("/me/password", {"current_password": user["password"], "new_password": "brand new pass"},
                      token=user["token"])
    assert changed.status == 204
    for session in (user, other_device):
        assert not alive(api, session["token"])
        assert_problem(refresh(api, session["refresh_token"]), 401)
    fresh = api.post("/auth/login", {"email": user["email"], "password": "brand new pass"}).body
    assert refresh(api, fresh["refresh_token"]).status == 200


def test_closing_the_account_ends_its_refresh_tokens(api, user):
    assert api.delete("/me", token=user["token"]).status == 204
    assert_problem(refresh(api, user["refresh_token"]), 401)


def test_forged_or_malformed_refresh_tokens_are_401(api, user):
    header, body, mac = user["refresh_token"].split(".")
    for bad in ("garbage", f"{header}.{body}.{mac[:-2]}xx", user["token"]):
        assert assert_problem(refresh(api, bad), 401)["code"] == "unauthorized"
    assert_problem(api.post("/auth/refresh", {}), 422)
    assert_problem(api.post("/auth/refresh", {"refresh_token": "x", "extra": 1}), 422)


# --- lifetimes (the app's clock moves; never the real one) ------------------------------------


def test_access_tokens_live_an_hour_and_refresh_tokens_sixty_days(api, monkeypatch, shipped_lifetimes):
    time = TestClock(monkeypatch, clock.now())
    account = api.signup()
    time.now += HOUR - 1
    assert alive(api, account["token"])
    time.now += 1
    expired = assert_problem(api.get("/me", token=account["token"]), 401)
    assert expired["code"] == "unauthorized" and "expired" in expired["detail"]
    pair = refresh(api, account["refresh_token"]).body  # a refresh token outlives its access token
    lifetimes = [(datetime.fromisoformat(pair[k].replace("Z", "+00:00")).timestamp() - int(time.now))
                 for k in ("expires_at", "refresh_expires_at")]
    assert [round(t) for t in lifetimes] == [HOUR, 60 * DAY]
    assert alive(api, pair["token"])
    time.now += 60 * DAY - 1  # each refresh token lives 60 days from its own issue
    pair = refresh(api, pair["refresh_token"]).body
    assert alive(api, pair["token"])
    time.now += 60 * DAY
    late = assert_problem(refresh(api, pair["refresh_token"]), 401)
    assert late["code"] == "unauthorized" and "expired" in late["detail"]


# --- signing keys ------------------------------------------------------------------------------


def use_keys(monkeypatch, *keys: str) -> None:
    monkeypatch.setenv("DONGNE_SECRET_KEYS", json.dumps(list(keys)))
    wiring.reset()


def test_rotating_the_signing_key_keeps_existing_sessions_alive(api, monkeypatch):
    use_keys(monkeypatch, KEY_A)
    account = api.signup()
    assert token_kid(account["token"]) == key_id(KEY_A) == token_kid(account["refresh_token"])
    page = api.get("/me/following?limit=1", token=account["token"])  # a cursor-bearing list works too
    assert page.status == 200

    use_keys(monkeypatch, KEY_B, KEY_A)  # a new key signs; the old one still verifies
    assert alive(api, account["token"])
    pair = refresh(api, account["refresh_token"])
    assert pair.status == 200, pair.body
    assert token_kid(pair.body["token"]) == key_id(KEY_B) == token_kid(pair.body["refresh_token"])
    assert alive(api, pair.body["token"])
    newcomer = api.signup()
    assert token_kid(newcomer["token"]) == key_id(KEY_B)

    use_keys(monkeypatch, KEY_B)  # the old key retired: what only it signed is refused
    assert not alive(api, account["token"])
    assert alive(api, pair.body["token"]) and alive(api, newcomer["token"])
    monkeypatch.delenv("DONGNE_SECRET_KEYS")
    wiring.reset()


def test_a_token_naming_an_unknown_key_is_refused(api, monkeypatch, user):
    from chalicelib.services.signing import TokenService

    use_keys(monkeypatch, KEY_A)
    signed_elsewhere = TokenService(KEY_B, HOUR).issue(user["user"]["user_id"], clock.now())
    assert token_kid(signed_elsewhere) == key_id(KEY_B)
    assert assert_problem(api.get("/me", token=signed_elsewhere), 401)["code"] == "unauthorized"
    monkeypatch.delenv("DONGNE_SECRET_KEYS")
    wiring.reset()


# --- the token check: overlapped on reads, first on writes -------------------------------------


def test_a_read_runs_its_token_check_beside_its_own_reads_and_a_write_runs_it_first(api, owner, user):
    assert api.put(f"/shops/{owner['shop']['shop_id']}/follow", token=user["token"]).status == 200
    sent: list[tuple[str, str]] = []

    def record(model, **_):
        sent.append((model.name, threading.current_thread().name))

    from devtools.callcount import _clients

    for client in _clients():
        client.meta.events.register("before-call.dynamodb.*", record, unique_id="sessions-test-threads")
    try:
        with dynamodb_calls() as calls:
            assert api.get("/feed", token=user["token"]).status == 200
        assert calls.operations == ["GetItem", "Query"]  # the check goes out first; the answers overlap
        check = [thread for op, thread in sent if op == "GetItem"]
        assert len(check) == 1 and check[0].startswith("token-check")
        sent.clear()
        with dynamodb_calls() as calls:
            assert api.delete(f"/shops/{owner['shop']['shop_id']}/follow", token=user["token"]).status == 204
        assert calls.operations[0] == "GetItem" and not sent[0][1].startswith("token-check")
    finally:
        for client in _clients():
            client.meta.events.unregister("before-call.dynamodb.*", unique_id="sessions-test-threads")


def test_a_read_with_a_dead_token_answers_401_and_nothing_it_read(api, owner, user):
    shop_id = owner["shop"]["shop_id"]
    assert api.put(f"/shops/{shop_id}/follow", token=user["token"]).status == 200
    assert api.post("/auth/logout", token=user["token"]).status == 204
    for path in ("/feed", "/me/following", "/me", "/me/notifications"):
        answer = assert_problem(api.get(path, token=user["token"]), 401)
        assert "items" not in answer and shop_id not in json.dumps(answer)


# --- races (real DynamoDB semantics) -----------------------------------------------------------


@real_dynamodb_only
def test_two_refreshes_racing_with_one_token_end_the_login(api):
    for _ in range(4):
        account = api.signup()
        barrier = threading.Barrier(2)
        answers: list = []

        def go() -> None:
            barrier.wait()
            answers.append(refresh(api, account["refresh_token"]))

        threads = [threading.Thread(target=go) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        # Exactly one exchange wins; the other is a reuse, which ends the login — the winner's
        # new tokens included.
        assert sorted(a.status for a in answers) == [200, 401]
        [won] = [a.body for a in answers if a.status == 200]
        [lost] = [a.body for a in answers if a.status == 401]
        assert lost["code"] == "refresh_token_reused"
        assert not alive(api, won["token"]) and not alive(api, account["token"])
        assert_problem(refresh(api, won["refresh_token"]), 401)
