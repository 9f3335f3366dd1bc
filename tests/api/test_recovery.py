"""Password reset and verification codes, end to end (both backends).

GIVEN accounts with an e-mail or a phone, WHEN someone asks for a reset code and confirms it,
THEN the code arrives by the outbound path (queued, sent once by the outbound function), the
right code sets the new password and kills every earlier token, a wrong one is counted (the
sixth try is locked even with the right code), a code dies after 15 minutes, and an address
nobody has answers exactly like one that exists. Verification codes mark the e-mail or phone
verified; only verified addresses receive e-mail and SMS notifications.
"""

from __future__ import annotations

import re

import pytest

from chalicelib.services.recovery import CODE_SECONDS, MAX_TRIES
from tests.api.conftest import assert_problem
from tests.api.test_notification_channels import (  # noqa: F401
    a_phone,
    channels,
    ses_messages,
    sns_backend,
    turn_on,
)
from tests.clock import TestClock

# SNS and SES in moto for every test here (the fixture of the notification channel tests).
pytestmark = pytest.mark.usefixtures("channels")

T0 = 1_900_000_000.0
CODE = re.compile(r"\b(\d{6})\b")


@pytest.fixture
def clock(monkeypatch):
    return TestClock(monkeypatch, T0)


def mailed_code(to: str, before: int) -> str:
    """The code in the one e-mail sent to ``to`` since ``before`` e-mails."""
    [mail] = [m for m in ses_messages()[before:] if m.destinations["ToAddresses"] == [to]]
    return CODE.search(mail.body).group(1)


def texted_code(to: str, before: int) -> str:
    [(sent_to, text)] = list(sns_backend().sms_messages.values())[before:]
    assert sent_to == to and text.startswith("[동네]")
    return CODE.search(text).group(1)


def ask_reset(api, **who) -> dict:
    answer = api.post("/auth/password-reset", who)
    assert answer.status == 202, answer.body
    return answer.body


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


# --- password reset ----------------------------------------------------------------------------------


def test_a_reset_code_by_email_sets_the_password_and_kills_every_earlier_token(api, outbound, clock):
    account = api.signup(password="forgotten pw 1")
    other_device = api.post("/auth/login", {"email": account["email"], "password": "forgotten pw 1"}).body["token"]
    before = len(ses_messages())
    body = ask_reset(api, email=account["email"])
    assert body["channel"] == "email" and body["expires_at"].startswith("2030-03-17T")  # T0 + 15 minutes
    assert outbound() == 1
    code = mailed_code(account["email"], before)
    assert ses_messages()[-1].subject == "동네 비밀번호 재설정 코드"

    answer = api.post("/auth/password-reset/confirm", {"email": account["email"], "code": code,
                                                       "new_password": "a brand new one 2"})
    assert answer.status == 204, answer.body
    for token in (account["token"], other_device):  # every earlier token is dead
        assert_problem(api.get("/me", token=token), 401)
    assert_problem(api.post("/auth/login", {"email": account["email"], "password": "forgotten pw 1"}), 401)
    login = api.post("/auth/login", {"email": account["email"], "password": "a brand new one 2"})
    assert login.status == 200 and login.body["user"]["email_verified"] is True  # the code proved the address
    # The code is used up: a second confirm with it fails.
    again = api.post("/auth/password-reset/confirm", {"email": account["email"], "code": code,
                                                      "new_password": "yet another one 3"})
    assert assert_problem(again, 400)["code"] == "code_invalid"


def test_a_reset_code_by_sms_reaches_the_phone(api, outbound, clock):
    account = api.signup()
    phone = a_phone(api, account)
    before = len(sns_backend().sms_messages)
    assert ask_reset(api, phone=phone)["channel"] == "phone"
    assert outbound() == 1
    code = texted_code(phone, before)
    answer = api.post("/auth/password-reset/confirm", {"phone": phone, "code": code, "new_password": "by text 12345"})
    assert answer.status == 204, answer.body
    assert api.post("/auth/login", {"phone": phone, "password": "by text 12345"}).status == 200


def test_the_sixth_try_is_locked_even_with_the_right_code(api, outbound, clock):
    account = api.signup()
    before = len(ses_messages())
    ask_reset(api, email=account["email"])
    outbound()
    code = mailed_code(account["email"], before)
    attempt = lambda c: api.post("/auth/password-reset/confirm",
                                 {"email": account["email"], "code": c, "new_password": "never set 123"})
    for n in range(MAX_TRIES):
        problem = assert_problem(attempt(wrong(code)), 400)
        assert problem["code"] == "code_invalid" and problem["tries_left"] == MAX_TRIES - n - 1
    assert assert_problem(attempt(code), 403)["code"] == "code_locked"
    assert api.get("/me", token=account["token"]).status == 200  # nothing changed
    assert api.post("/auth/login", {"email": account["email"], "password": account["password"]}).status == 200
    # A new code starts again.
    before = len(ses_messages())
    ask_reset(api, email=account["email"])
    outbound()
    assert attempt(mailed_code(account["email"], before)).status == 204


def test_a_code_expires_after_15_minutes(api, outbound, clock):
    account = api.signup()
    before = len(ses_messages())
    ask_reset(api, email=account["email"])
    outbound()
    code = mailed_code(account["email"], before)
    clock.now += CODE_SECONDS
    answer = api.post("/auth/password-reset/confirm", {"email": account["email"], "code": code,
                                                       "new_password": "too late 12345"})
    assert assert_problem(answer, 400)["code"] == "code_expired"
    clock.now -= 1  # a second before the end it still works (nothing was used up by the late try)
    answer = api.post("/auth/password-reset/confirm", {"email": account["email"], "code": code,
                                                       "new_password": "just in time 1"})
    assert answer.status == 204, answer.body


def test_an_unknown_address_answers_like_a_known_one_and_nothing_is_sent(api, outbound, clock):
    account = api.signup()
    known = api.post("/auth/password-reset", {"email": account["email"]})
    unknown = api.post("/auth/password-reset", {"email": "nobody-here@example.kr"})
    assert (known.status, unknown.status) == (202, 202)
    assert known.body == unknown.body and set(known.headers) == set(unknown.headers)
    assert outbound() == 1  # only the account's message
    # Confirming for the unknown address: the same wrong-code answer, tries counted alike.
    for n in range(MAX_TRIES):
        problem = assert_problem(api.post("/auth/password-reset/confirm", {
            "email": "nobody-here@example.kr", "code": "123456", "new_password": "whatever 1234"}), 400)
        assert problem["code"] == "code_invalid" and problem["tries_left"] == MAX_TRIES - n - 1
    assert assert_problem(api.post("/auth/password-reset/confirm", {
        "email": "nobody-here@example.kr", "code": "123456", "new_password": "whatever 1234"}), 403)["code"] == \
        "code_locked"


def test_reset_input_is_checked(api, clock):
    for body in ({}, {"email": "a@b.kr", "phone": "010-1234-5678"}, {"email": "not an address"},
                 {"email": "a@b.kr", "extra": 1}):
        assert assert_problem(api.post("/auth/password-reset", body), 422)["code"] == "validation_failed"
    for body in ({"email": "a@b.kr", "code": "12345", "new_password": "long enough 1"},
                 {"email": "a@b.kr", "code": "１２３４５６", "new_password": "long enough 1"},
                 {"email": "a@b.kr", "code": "123456", "new_password": "short"}):
        assert assert_problem(api.post("/auth/password-reset/confirm", body), 422)["code"] == "validation_failed"


def test_reset_codes_are_limited_per_address(api, clock):
    account = api.signup()
    for _ in range(5):
        ask_reset(api, email=account["email"])
    answer = api.post("/auth/password-reset", {"email": account["email"]})
    assert assert_problem(answer, 429)["code"] == "rate_limited" and int(answer.headers["Retry-After"]) >= 1
    # The same for an address nobody has (the limit tells nothing either).
    for _ in range(5):
        ask_reset(api, email="nobody-limited@example.kr")
    assert api.post("/auth/password-reset", {"email": "nobody-limited@example.kr"}).status == 429
    clock.now += 3600  # a new window
    assert api.post("/auth/password-reset", {"email": account["email"]}).status == 202


# --- verification ------------------------------------------------------------------------------------


def verify_email(api, account, outbound) -> None:
    before = len(ses_messages())
    answer = api.post("/me/verify", {}, token=account["token"])
    assert answer.status == 202 and answer.body["channel"] == "email", answer.body
    outbound()
    code = mailed_code(account["email"], before)
    assert api.post("/me/verify/confirm", {"code": code}, token=account["token"]).status == 204


def test_verifying_the_email_and_phone_shows_on_me_and_a_change_clears_it(api, outbound, clock):
    account = api.signup()
    me = api.get("/me", token=account["token"]).body
    assert (me["email_verified"], me["phone_verified"]) == (False, False)
    assert assert_problem(api.post("/me/verify", {"channel": "phone"}, token=account["token"]), 409)["code"] == \
        "nothing_to_verify"
    verify_email(api, account, outbound)
    assert api.get("/me", token=account["token"]).body["email_verified"] is True
    assert assert_problem(api.post("/me/verify", {"channel": "email"}, token=account["token"]), 409)["code"] == \
        "already_verified"

    phone = a_phone(api, account)
    before = len(sns_backend().sms_messages)
    answer = api.post("/me/verify", {}, token=account["token"])  # the e-mail is verified: the phone is next
    assert answer.status == 202 and answer.body["channel"] == "phone"
    outbound()
    code = texted_code(phone, before)
    assert assert_problem(api.post("/me/verify/confirm", {"code": wrong(code)}, token=account["token"]), 400)[
        "code"] == "code_invalid"
    assert api.post("/me/verify/confirm", {"code": code}, token=account["token"]).status == 204
    me = api.get("/me", token=account["token"]).body
    assert (me["email_verified"], me["phone_verified"]) == (True, True)

    answer = api.patch("/me", {"email": f"moved-{account['email']}"}, token=account["token"])
    assert answer.status == 200 and (answer.body["email_verified"], answer.body["phone_verified"]) == (False, True)
    assert api.get("/me", token=account["token"]).body["email_verified"] is False


def test_a_code_for_an_address_changed_since_proves_nothing(api, outbound, clock):
    account = api.signup()
    before = len(ses_messages())
    api.post("/me/verify", {}, token=account["token"])
    outbound()
    code = mailed_code(account["email"], before)
    assert api.patch("/me", {"email": f"other-{account['email']}"}, token=account["token"]).status == 200
    assert assert_problem(api.post("/me/verify/confirm", {"code": code}, token=account["token"]), 400)["code"] == \
        "code_invalid"
    assert api.get("/me", token=account["token"]).body["email_verified"] is False


# --- outbound e-mail and SMS only to verified addresses --------------------------------------------------


def test_notifications_reach_only_verified_addresses(clock, api, owner, user, drain_stream, outbound):
    phone = a_phone(api, owner)
    turn_on(api, owner["token"], email=True, sms=True)
    sms_before, mail_before = len(sns_backend().sms_messages), len(ses_messages())
    assert api.put(f"/shops/{owner['shop']['shop_id']}/follow", token=user["token"]).status in (200, 201, 204)
    drain_stream()
    assert outbound() >= 2  # queued for both channels (a follower, a milestone), sent on neither: unverified
    assert (len(sns_backend().sms_messages), len(ses_messages())) == (sms_before, mail_before)

    verify_email(api, owner, outbound)
    mail_before = len(ses_messages())
    second = api.signup(name="최서연")
    # Read: the next follower reopens the group, which is delivered again.
    assert api.post("/me/notifications/read", {"all": True}, token=owner["token"]).status == 200
    assert api.put(f"/shops/{owner['shop']['shop_id']}/follow", token=second["token"]).status in (200, 201, 204)
    drain_stream()
    assert outbound() >= 1
    mails = ses_messages()[mail_before:]
    assert mails and all(mail.destinations["ToAddresses"] == [owner["email"]] for mail in mails)
    assert len(sns_backend().sms_messages) == sms_before  # the phone is still unverified
    del phone


# --- no enumeration by timing ------------------------------------------------------------------------


def test_reset_answers_as_fast_for_an_unknown_address_as_for_a_known_one(api, outbound, clock, monkeypatch):
    """Interleaved, 50 tries each (after a warm-up): the medians are within 20% of each other."""
    import statistics
    import time

    from chalicelib import wiring

    monkeypatch.setenv("DONGNE_RATE_RESET_ADDRESS", "1000/1h")
    wiring.reset()
    account = api.signup()
    known, unknown = {"email": account["email"]}, {"email": "timing-nobody@example.kr"}
    times: dict[str, list[float]] = {"known": [], "unknown": []}
    for n in range(55):
        for name, body in (("known", known), ("unknown", unknown)) if n % 2 else (("unknown", unknown),
                                                                                  ("known", known)):
            started = time.perf_counter()
            answer = api.post("/auth/password-reset", body)
            elapsed = time.perf_counter() - started
            assert answer.status == 202
            if n >= 5:  # warm-up
                times[name].append(elapsed)
    medians = {name: statistics.median(values) for name, values in times.items()}
    ratio = medians["known"] / medians["unknown"]
    print(f"reset medians: known {medians['known'] * 1000:.2f} ms, unknown {medians['unknown'] * 1000:.2f} ms, "
          f"ratio {ratio:.3f}")
    assert 1 / 1.2 <= ratio <= 1.2
    monkeypatch.delenv("DONGNE_RATE_RESET_ADDRESS")
    wiring.reset()
