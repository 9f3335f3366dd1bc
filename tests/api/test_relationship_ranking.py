"""Ranking at scale: a shop with 2,000 customers (100 on moto), paged through the API.

Each page is one Query on the forward-decay index, and the order of all pages together is
exactly the order of a brute-force recomputation of every pair's decayed strength — now, and
months later with no write in between (forward decay needs no re-ranking).
"""

from __future__ import annotations

import random

import pytest

from chalicelib.ids import id_at
from chalicelib.records.relationships import Pair
from chalicelib.services import relationships as rel
from chalicelib.services.scoring import DAY_SECONDS, strength_at, tier_at
from chalice.test import Client

from chalicelib.wiring import container
from devtools.callcount import dynamodb_calls
from devtools.histories import random_state
from tests.api.conftest import TOKEN_CHECK, Api
from tests.api.relationships_kit import NOW, Clock
from tests.conftest import BACKEND

# moto keeps every stream record and copies the whole table (stream included) for each
# transaction, so a big load slows every later test there: the full size runs on DynamoDB Local.
PAIRS = 2000 if BACKEND == "ddblocal" else 100
PAGE = 100 if BACKEND == "ddblocal" else 10


def _scope(fixture_name: str, config) -> str:
    # moto's tables are emptied before every API test (see tests/api/conftest.py).
    return "module" if BACKEND == "ddblocal" else "function"


@pytest.fixture(scope=_scope)
def big_shop(chalice_app):
    """Built once for the module: the shop through the API, the pairs with BatchWriteItem."""
    with pytest.MonkeyPatch.context() as patch, Client(chalice_app, stage_name="test") as client:
        Clock(patch)
        api = Api(client)
        owner = api.signup(name="박두부")
        shop = api.open_shop(owner["token"])
    rng = random.Random(20261123)
    pairs = []
    for n in range(PAIRS):
        user_id = id_at(NOW - n)
        pair = Pair(shop_id=shop["shop_id"], user_id=user_id, customer_name=f"손님{n:04d}", shop_name=shop["name"],
                    shop_handle=shop["handle"], state=random_state(rng, NOW), created_at=NOW)
        pair, _ = rel.settle(pair, NOW)
        pairs.append(pair)
    container().relationships.load([(p, rel.list_rank(p)) for p in pairs], NOW)
    yield owner, shop, pairs
    if BACKEND == "moto":
        # moto copies the whole table for every transaction: a big table slows every later test.
        from chalicelib.storage.models.relationships import RelationshipItem, rel_pk, rel_sk

        with RelationshipItem.batch_write() as batch:
            for pair in pairs:
                batch.delete(RelationshipItem(rel_pk(pair.shop_id), rel_sk(pair.user_id)))


@pytest.fixture
def clock(monkeypatch):
    return Clock(monkeypatch)


def page_through(api, owner, shop, query: str = "", limit: int = PAGE):
    """Every page of the customer list; returns the items and the DynamoDB calls per page."""
    items, calls_per_page, cursor = [], [], None
    while True:
        suffix = f"&cursor={cursor}" if cursor else ""
        with dynamodb_calls() as calls:
            answer = api.get(f"/shops/{shop['shop_id']}/customers?limit={limit}{query}{suffix}", token=owner["token"])
        assert answer.status == 200, answer.body
        items += answer.body["items"]
        calls_per_page.append(calls.operations)
        cursor = answer.body["next_cursor"]
        if not cursor:
            return items, calls_per_page


def brute_force(pairs, now, tier=None):
    """Recompute every pair's strength at ``now`` and sort: what the index must agree with."""
    chosen = [p for p in pairs if tier is None or tier_at(p.state, now) == tier]
    return [p.user_id for p in sorted(chosen, key=lambda p: strength_at(p.state, now), reverse=True)]


def assert_ranked(items, pairs, now, tier=None):
    """The listed customers are exactly the brute force's, strongest first. Pairs whose strength
    is equal (capped engagement in the same periods and nothing else: equal up to float noise,
    below the rank key's resolution) may come in either order, as they do in the index."""
    expected = brute_force(pairs, now, tier)
    ids = [i["user_id"] for i in items]
    assert sorted(ids) == sorted(expected) and len(ids) == len(expected)
    strength = {p.user_id: strength_at(p.state, now) for p in pairs}
    listed = [strength[i] for i in ids]
    assert listed == pytest.approx([strength[i] for i in expected], rel=1e-12)  # ties interchangeable


def test_pages_are_one_query_each_and_match_a_brute_force_ranking(api, big_shop, clock):
    owner, shop, pairs = big_shop
    items, calls = page_through(api, owner, shop)
    assert len(items) == PAIRS and len({i["user_id"] for i in items}) == PAIRS  # no gaps, no duplicates
    assert all(ops == TOKEN_CHECK + ["GetItem", "Query"] for ops in calls)  # the ownership check, then one Query
    # DynamoDB cannot know a full last page is the last (one empty page more); moto knows.
    assert len(calls) in (PAIRS // PAGE, PAIRS // PAGE + 1)
    assert_ranked(items, pairs, NOW)


def test_the_order_stays_exact_months_later_without_any_write(api, big_shop, clock):
    owner, shop, pairs = big_shop
    later = NOW + 75 * DAY_SECONDS
    clock.now = later
    answer = api.post("/auth/login", {"email": owner["email"], "password": owner["password"]})
    owner = {**owner, "token": answer.body["token"]}
    items, _ = page_through(api, owner, shop)
    assert_ranked(items, pairs, later)


def test_a_tier_page_matches_the_brute_force_tier(api, big_shop, clock):
    owner, shop, pairs = big_shop
    items, calls = page_through(api, owner, shop, query="&tier=regular", limit=PAGE // 2)
    expected = brute_force(pairs, NOW, tier="regular")
    assert len(expected) > PAGE // 2
    assert_ranked(items, pairs, NOW, tier="regular")
    assert all(ops == TOKEN_CHECK + ["GetItem", "Query"] for ops in calls)
