"""Storage helpers that need no table: the stored first answer and the request token."""

from __future__ import annotations

from chalicelib.records.commerce import Order, OrderLine, StatusChange
from chalicelib.storage.orders import order_from_json, order_to_json, request_token


def test_first_answer_round_trips_through_json():
    order = Order(order_id="O1", shop_id="S1", shop_name="망원동 두부가게", owner_id="U0", buyer_id="U1",
                  items=(OrderLine("P1", "손두부", 4500, 2, "essential", 7),
                         OrderLine("P2", "꽃", 20000, 1, "treat", None)),
                  subtotal=29000, discount=0, total=29000, status="pending_payment",
                  history=(StatusChange("pending_payment", 1.5, "U1"),), created_at=1.5, updated_at=1.5,
                  via_post_id="P9")
    assert order_from_json(order_to_json(order)) == order


def test_request_token_fits_dynamodb_and_differs_per_order_and_attempt():
    token = request_token("U1", "key-1", "O1", 0)
    assert len(token) <= 36
    assert token == request_token("U1", "key-1", "O1", 0)
    assert len({token, request_token("U1", "key-1", "O1", 1), request_token("U1", "key-1", "O2", 0),
                request_token("U2", "key-1", "O1", 0)}) == 4
