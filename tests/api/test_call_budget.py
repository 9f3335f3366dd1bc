"""DynamoDB calls per request (budgets from ENGINEERING.md §4)."""

from __future__ import annotations

from devtools.callcount import dynamodb_calls
from tests.api.conftest import TOKEN_CHECK


def test_get_shop_is_one_getitem(api, owner):
    with dynamodb_calls() as calls:
        assert api.get(f"/shops/{owner['shop']['shop_id']}").status == 200
    assert calls.operations == ["GetItem"]


def test_open_shop_is_one_transaction(api, user):
    with dynamodb_calls() as calls:
        assert api.post("/shops", {"name": "한 번에", "handle": f"one_tx_{user['user']['user_id'][-6:].lower()}"},
                        token=user["token"]).status == 201
    assert calls.operations == TOKEN_CHECK + ["TransactWriteItems"]
