"""Abuse limits through the HTTP API: 429 ``rate_limited`` with Retry-After, kept in DynamoDB.

The suite raises the per-address limits (it signs up thousands of accounts from one test
client); these tests put the defaults back, or set their own, and move a fixed clock.
"""

from __future__ import annotations

import itertools

import pytest

from chalicelib import wiring as deps
from chalicelib.settings import Settings
from tests.api.conftest import assert_problem, create_post
from tests.clock import hold

T = 1_800_000_000.0 - 1_800_000_000.0 % 86400  # a fixed clock, at the start of every window used here
_emails = itertools.count()
_days = itertools.count()


@pytest.fixture
def clock(monkeypatch):
    """A clock of the test's own: each test starts on another day, so on DynamoDB Local (one
    table for the whole run) no test shares a window with another."""

    class Clock:
        now = T + next(_days) * 86400

    hold(monkeypatch, lambda: Clock.now)
    return Clock


@pytest.fixture
def limits(monkeypatch):
    """``limits(**settings)``: the default limits, with these DONGNE_* settings changed."""

    def apply(**overrides: str) -> None:
        for name in ("DONGNE_RATE_SIGNUP_IP", "DONGNE_RATE_LOGIN_IP"):
            monkeypatch.delenv(name, raising=False)
        for name, value in overrides.items():
            monkeypatch.setenv(f"DONGNE_{name.upper()}", value)
        deps.reset()

    yield apply
    monkeypatch.undo()
    deps.reset()


def assert_limited(answer, most: int) -> int:
    problem = assert_problem(answer, 429)
    seconds = int(answer.headers["Retry-After"])
    assert 1 <= seconds <= most and problem["title"]
    return seconds


def signup(api, password: str = "the right one 1") -> dict:
    email = f"limits-{next(_emails)}-{id(api)}@example.kr"
    answer = api.post("/auth/signup", {"name": "민지", "email": email, "password": password})
    assert answer.status == 201, answer.body
    return {**answer.body, "email": email, "password": password}


def test_the_default_address_limits_leave_room_for_carrier_nat():
    rules = {name: (r.limit, r.window) for name, r in deps.Container(Settings()).rate_rules.items()}
    assert rules["signup"][0] >= 100 and rules["signup"][1] == 600
    assert rules["login"][0] >= 500 and rules["login"][1] == 600


# --- login: per account ----------------------------------------------------------------------


def test_thirty_wrong_passwords_lock_the_account_and_the_owner_gets_in_after_the_window(api, clock, limits):
    limits()
    owner = signup(api)
    guesses = [api.post("/auth/login", {"email": owner["email"], "password": f"guess {n}"}) for n in range(30)]
    assert [g.status for g in guesses[:6]] == [401] * 6  # five free attempts, then one behind a lock
    for answer in guesses[6:]:
        assert_limited(answer, 30)
    # The attacker's right guess inside the window is refused without looking at the password.
    right = api.post("/auth/login", {"email": owner["email"], "password": owner["password"]})
    assert_limited(right, 30)
    clock.now += 31
    answer = api.post("/auth/login", {"email": owner["email"], "password": owner["password"]})
    assert answer.status == 200, answer.body
    # A success resets the count: five free attempts again.
    again = [api.post("/auth/login", {"email": owner["email"], "password": "wrong"}).status for _ in range(6)]
    assert again == [401] * 6


def test_locks_grow_with_each_failure_beyond_the_free_ones(api, clock, limits):
    limits()
    account = signup(api)
    wrong = {"email": account["email"], "password": "nope nope"}
    waits = []
    for _ in range(4):
        while (answer := api.post("/auth/login", wrong)).status == 401:
            pass
        waits.append(assert_limited(answer, 900))
        clock.now += waits[-1]
    assert waits == [30, 60, 120, 240]


def test_an_unknown_account_is_locked_the_same_way_before_any_argon2_work(api, clock, limits, monkeypatch):
    limits()
    from chalicelib.services.passwords import Passwords

    hashed = []
    verify = Passwords.verify
    monkeypatch.setattr(Passwords, "verify", lambda self, stored, pw: hashed.append(1) or verify(self, stored, pw))
    answers = [api.post("/auth/login", {"email": "nobody-here@example.kr", "password": "x"}) for _ in range(20)]
    assert [a.status for a in answers[:6]] == [401] * 6
    assert all(a.status == 429 for a in answers[6:])
    assert len(hashed) == 6  # the locked attempts cost no hash at all
    # Locking one address locks nobody else.
    other = signup(api)
    assert api.post("/auth/login", {"email": other["email"], "password": other["password"]}).status == 200


# --- sign-up and login: per address ------------------------------------------------------------


def test_a_hundred_signups_from_one_address_pass_and_the_window_then_refuses(api, clock, limits):
    limits(rate_signup_ip="100/10m")
    assert all(signup(api)["token"] for _ in range(100))
    answer = api.post("/auth/signup", {"name": "x", "email": "one-too-many@example.kr", "password": "password-1"})
    assert_limited(answer, 600)
    clock.now += 600
    assert api.post("/auth/signup", {"name": "x", "email": "one-too-many@example.kr",
                                     "password": "password-1"}).status == 201


def fill_window(rule: str, hits: int, now: float) -> None:
    """Record ``hits`` requests under ``rule`` from the test client's address in this window."""
    from chalicelib.services.rates import address_subject, ticket
    from chalicelib.storage.models.rates import RateWindowItem, rate_pk, window_sk

    container = deps.container()
    container.rates  # binds the models
    claim = ticket(container.rate_rules[rule], address_subject("127.0.0.1"), now)
    RateWindowItem(rate_pk(rule, claim.subject), window_sk(claim.window_start), hits=hits).save()


def test_five_hundred_logins_from_one_address_pass(api, clock, limits):
    """A carrier NAT: many people behind one address, each logging in with their own account.

    The window is filled to 499 logins directly (500 real logins take half a minute on moto);
    the 500th real one passes, and so does every one up to the limit of 600.
    """
    limits()
    people = [signup(api) for _ in range(3)]
    fill_window("login", 499, clock.now)
    assert api.post("/auth/login", {"email": people[0]["email"], "password": people[0]["password"]}).status == 200
    fill_window("login", 598, clock.now)
    for person in people[1:]:
        assert api.post("/auth/login", {"email": person["email"], "password": person["password"]}).status == 200
    assert_limited(api.post("/auth/login", {"email": people[0]["email"], "password": people[0]["password"]}), 600)


def test_the_login_window_per_address_counts_every_attempt(api, clock, limits):
    limits(rate_login_ip="3/10m")
    account = signup(api)
    body = {"email": account["email"], "password": account["password"]}
    assert [api.post("/auth/login", body).status for _ in range(3)] == [200] * 3
    assert_limited(api.post("/auth/login", body), 600)
    clock.now += 599
    assert_limited(api.post("/auth/login", body), 1)


# --- signed-in writes: per user ----------------------------------------------------------------


def test_twenty_comments_in_a_burst_ten_pass_and_the_rest_write_nothing(api, clock, limits, owner):
    limits()
    post = create_post(api, owner)
    user = signup(api)
    answers = [api.post(f"/posts/{post['post_id']}/comments", {"text": f"댓글 {n}"}, token=user["token"])
               for n in range(20)]
    assert [a.status for a in answers[:10]] == [201] * 10
    for answer in answers[10:]:
        assert_limited(answer, 60)
    assert api.get(f"/posts/{post['post_id']}").body["comment_count"] == 10
    # Another user's budget is their own.
    assert api.post(f"/posts/{post['post_id']}/comments", {"text": "저도요"}, token=signup(api)["token"]).status == 201
    clock.now += 60
    assert api.post(f"/posts/{post['post_id']}/comments", {"text": "다음 분"}, token=user["token"]).status == 201


def test_a_flash_sale_many_buyers_behind_one_address_all_get_their_orders(api, clock, limits, owner):
    limits()
    product = api.post(f"/shops/{owner['shop']['shop_id']}/products",
                       {"name": "한정 두부", "price": 3000, "stock": 100, "kind": "treat"}, token=owner["token"])
    assert product.status == 201, product.body
    buyers = [signup(api) for _ in range(30)]
    for n, buyer in enumerate(buyers):
        answer = api.post("/orders", {"shop_id": owner["shop"]["shop_id"],
                                      "items": [{"product_id": product.body["product_id"], "quantity": 1}]},
                          token=buyer["token"], headers={"Idempotency-Key": f"flash-{n}"})
        assert answer.status == 201, answer.body


LIMITED_WRITES = {
    "follow": lambda api, w: api.put(f"/shops/{w['shop']}/follow", token=w["token"]),
    "unfollow": lambda api, w: api.delete(f"/shops/{w['shop']}/follow", token=w["token"]),
    "like": lambda api, w: api.put(f"/posts/{w['post']}/like", token=w["token"]),
    "unlike": lambda api, w: api.delete(f"/posts/{w['post']}/like", token=w["token"]),
    "comment": lambda api, w: api.post(f"/posts/{w['post']}/comments", {"text": "!"}, token=w["token"]),
    # A second share of one post writes nothing (and counts nothing): share another post each time.
    "share": lambda api, w: api.post(f"/posts/{w['posts'].pop()}/shares", token=w["token"]),
    "post": lambda api, w: api.post(f"/shops/{w['shop']}/posts", {"text": "또 올려요"}, token=w["owner_token"]),
    "order": lambda api, w: api.post("/orders", {"shop_id": w["shop"], "items": [{"product_id": w["product"],
                                                                                    "quantity": 1}]},
                                     token=w["token"], headers={"Idempotency-Key": f"k-{next(_emails)}"}),
}


@pytest.mark.parametrize("write", list(LIMITED_WRITES))
def test_every_limited_write_is_refused_past_its_window_and_refused_writes_change_nothing(api, clock, limits,
                                                                                          owner, write):
    limits(**{f"rate_{rule}": "2/1m" for rule in ("post", "comment", "share", "follow", "like", "order")})
    post = create_post(api, owner)
    product = api.post(f"/shops/{owner['shop']['shop_id']}/products",
                       {"name": "두부", "price": 3000, "stock": 100, "kind": "treat"}, token=owner["token"]).body
    user = signup(api)
    world = {"shop": owner["shop"]["shop_id"], "post": post["post_id"], "product": product["product_id"],
             "token": user["token"], "owner_token": owner["token"],
             "posts": [post["post_id"]]}
    for _ in range(2):  # two more posts to share, each in a window of its own
        clock.now += 60
        world["posts"].append(create_post(api, owner)["post_id"])
    clock.now += 60  # a fresh window: the setup above used some of the owner's posts
    call = LIMITED_WRITES[write]
    # Toggle writes alternate, so that each request really writes something.
    pair = {"follow": "unfollow", "unfollow": "follow", "like": "unlike", "unlike": "like"}.get(write)
    if write in ("unfollow", "unlike"):
        LIMITED_WRITES[pair](api, world)
        clock.now += 60
    first = call(api, world)
    assert first.status < 300, first.body
    if pair:
        assert LIMITED_WRITES[pair](api, world).status < 300
    else:
        assert call(api, world).status < 300
    target = world["posts"][-1] if write == "share" else post["post_id"]
    before = api.get(f"/posts/{target}").body
    assert_limited(call(api, world), 60)
    assert api.get(f"/posts/{target}").body == before


def test_the_openapi_document_declares_429_with_retry_after_on_limited_routes(api):
    from tests.openapi_refs import inline_shared

    paths = inline_shared(api.get("/openapi.json").body)["paths"]
    for path, method in [("/auth/login", "post"), ("/auth/signup", "post"), ("/posts/{post_id}/comments", "post"),
                         ("/posts/{post_id}/shares", "post"), ("/shops/{shop_id}/follow", "put"),
                         ("/shops/{shop_id}/posts", "post"), ("/orders", "post"), ("/me/password", "put")]:
        answer = paths[path][method]["responses"]["429"]
        assert "rate_limited" in answer["x-problem-codes"] and "Retry-After" in answer["headers"], (method, path)
