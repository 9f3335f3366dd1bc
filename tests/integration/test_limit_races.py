"""Abuse limits under real concurrency: one conditional write per request, no read-then-write
race, on the running API and DynamoDB Local (moto has no isolation)."""

from __future__ import annotations

import time
import uuid

from tests.api.conftest import real_dynamodb_only
from tests.integration.test_order_races import race

pytestmark = real_dynamodb_only


def clear_of_a_minute_boundary(margin: float = 15.0) -> None:
    """Per-minute windows are fixed: start a race well inside one."""
    while time.time() % 60 > 60 - margin:
        time.sleep(0.5)


def test_thirty_concurrent_comments_exactly_the_limit_pass(live_api):
    owner = live_api.signup("박사장")
    shop = live_api.post("/shops", {"name": "동네 빵집", "handle": f"lim_{uuid.uuid4().hex[:10]}"}, token=owner["token"])
    post = live_api.post(f"/shops/{shop.body['shop_id']}/posts", {"text": "갓 구운 식빵"}, token=owner["token"])
    assert post.status == 201, post.body
    user = live_api.signup("민지")
    clear_of_a_minute_boundary()
    replies = race([lambda n=n: live_api.post(f"/posts/{post.body['post_id']}/comments", {"text": f"{n}"},
                                              token=user["token"]) for n in range(30)])
    statuses = sorted(r.status for r in replies)
    assert statuses == [201] * 10 + [429] * 20, statuses
    assert all(r.headers.get("Retry-After") for r in replies if r.status == 429)
    assert live_api.get(f"/posts/{post.body['post_id']}").body["comment_count"] == 10


def test_twenty_concurrent_guesses_on_one_account_reach_the_password_check_at_most_six_times(live_api):
    account = live_api.signup("민지")
    email = account["user"]["email"]
    replies = race([lambda n=n: live_api.post("/auth/login", {"email": email, "password": f"guess {n}"})
                    for n in range(20)])
    statuses = [r.status for r in replies]
    assert set(statuses) <= {401, 429} and statuses.count(401) <= 6, statuses
    assert statuses.count(429) >= 14
