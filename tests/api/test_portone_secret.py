"""PortOne's secrets come from Secrets Manager at run time, read by the functions that use them.

GIVEN ``DONGNE_PORTONE_SECRET_ARN`` naming a secret (moto's Secrets Manager) holding JSON
``{api_secret, webhook_secret}`` (here the stand-in's values), WHEN a buyer places and pays a card
order through the API and the deadline job runs in a fresh container, THEN both read the secret once
per container and reach PortOne with it. These calls are what the IAM check sees:
``secretsmanager:GetSecretValue`` on ``PortOneSecret`` by the API, ``order_deadlines`` and
``subscription_orders`` only (the job charges saved cards).
"""

from __future__ import annotations

import json
import os
import uuid

import boto3
import pytest

from chalicelib import clock, wiring
from chalicelib.settings import DEFAULT_PORTONE_API_SECRET, DEFAULT_PORTONE_WEBHOOK_SECRET
from tests.api.commerce import make_product, placed
from tests.portone import dev


@pytest.fixture
def portone_secret(aws_backend, portone, monkeypatch):
    from aws_lambda_powertools.utilities import parameters

    client = boto3.client("secretsmanager", region_name=os.environ["AWS_DEFAULT_REGION"])
    arn = client.create_secret(
        Name=f"dongne-test-portone-{uuid.uuid4()}",
        SecretString=json.dumps({"api_secret": DEFAULT_PORTONE_API_SECRET,
                                 "webhook_secret": DEFAULT_PORTONE_WEBHOOK_SECRET}))["ARN"]
    calls: list[str] = []
    monkeypatch.setenv("DONGNE_PORTONE_SECRET_ARN", arn)
    parameters.clear_caches()
    wiring.reset()
    real = parameters.SecretsProvider._get

    def counted(self, name, **kwargs):
        calls.append(name)
        return real(self, name, **kwargs)

    monkeypatch.setattr(parameters.SecretsProvider, "_get", counted)
    yield arn, calls
    monkeypatch.undo()
    parameters.clear_caches()
    wiring.reset()


def test_the_api_and_the_deadline_job_read_portones_secret_from_secrets_manager(api, owner, user, portone,
                                                                                 portone_secret):
    from aws_lambda_powertools.utilities import parameters

    from chalicelib.events.schedules import run_order_deadlines

    arn, calls = portone_secret
    shop_id = owner["shop"]["shop_id"]
    answer = api.patch(f"/shops/{shop_id}", {"fulfilment": {"delivery": None,
                                                           "pickup": {"address": "서울 마포구 망원로 1", "hours": "10-19"}}},
                       token=owner["token"])
    assert answer.status == 200, answer.body
    tofu = make_product(api, owner, name="손두부", price=4500, stock=5)
    order = placed(api, user, shop_id, (tofu["product_id"], 1), payment_method="card",
                   fulfilment={"method": "pickup"})
    status, body = dev(portone, f"/__dev/payments/{order['payment']['payment_id']}/pay", {})
    assert status == 200, body
    paid = api.post(f"/orders/{order['order_id']}/payment", {"payment_id": order["payment"]["payment_id"]},
                    token=user["token"])
    assert paid.status == 200 and paid.body["status"] == "paid", paid.body  # PortOne answered the API's key
    assert calls == [arn]  # once per container

    parameters.clear_caches()
    wiring.reset()  # the deadline job's own container
    run_order_deadlines(now=clock.now())  # on DynamoDB Local it may expire other tests' unpaid orders
    assert api.get(f"/orders/{order['order_id']}", token=user["token"]).body["status"] == "paid"
    assert calls == [arn, arn]


def test_the_subscription_job_reads_portones_secret_to_charge_a_saved_card(api, portone, portone_secret,
                                                                          monkeypatch):
    """The third reader: the subscription job charges a period on the subscriber's saved card."""
    from aws_lambda_powertools.utilities import parameters

    from tests.api.essentials_kit import T0, make_world
    from tests.api.test_subscription_billing import charges, order_of, save_card

    arn, calls = portone_secret
    world = make_world(api, monkeypatch, discount=10)
    save_card(world, portone)  # the API checks the key with PortOne: its container reads the secret
    sid = world.subscribed()["subscription_id"]
    assert calls == [arn]
    parameters.clear_caches()
    wiring.reset()  # the job's own container
    before = charges(portone)
    world.run(T0)
    assert charges(portone) - before == 1 and order_of(world, sid)["status"] == "paid"
    assert calls == [arn, arn]
