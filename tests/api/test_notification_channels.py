"""Preferences, push devices and outbound delivery (SNS push and SMS, SES e-mail) on moto.

GIVEN platform applications and a verified sender in moto, WHEN people register devices and
turn channels on, THEN devices follow AWS's endpoint sequence, each notification reaches the
channels its recipient chose — queued by the stream, sent by the outbound function
(``outbound()`` runs it on the queue) — and a failing channel never fails the order or the inbox.

Outbound channels behind a queue, end to end (the last tests): GIVEN a shop owner who turned
e-mail on and an SES that throttles and times out, WHEN orders come in, THEN the stream queues the
e-mails without calling SES and handles the order records behind them; the outbound function
tries each e-mail, the queue retries it and finally keeps it in the dead-letter queue; once SES is
back, the documented redrive command (``python -m devtools.redrive --stage local``) moves the
messages back and each e-mail goes out exactly once — a replayed stream record or another redrive
sends nothing twice.
"""

from __future__ import annotations

import logging

import boto3
import pytest
from botocore.exceptions import ClientError, ReadTimeoutError

from chalicelib.events.outbound import MAX_RECEIVE_COUNT
from chalicelib.events.stream import dispatch
from chalicelib.outbound import Ses, Sns
from chalicelib.wiring import container
from devtools import redrive
from tests.api.commerce import make_product, paid, placed
from tests.api.conftest import assert_problem

SENDER = "noreply@dongne.app"


@pytest.fixture
def channels(monkeypatch):
    """SNS with an APNs and an FCM application, SES with a verified sender, in the container."""
    deps = container()
    region = deps.settings.region
    sns = boto3.client("sns", region_name=region)
    ios = sns.create_platform_application(Name="dongne-ios", Platform="APNS",
                                          Attributes={"PlatformCredential": "key", "PlatformPrincipal": "cert"})
    android = sns.create_platform_application(Name="dongne-android", Platform="GCM",
                                              Attributes={"PlatformCredential": "server-key"})
    ses = boto3.client("sesv2", region_name=region)
    ses.create_email_identity(EmailIdentity=SENDER)
    monkeypatch.setattr(deps, "sns", Sns(region, {"ios": ios["PlatformApplicationArn"],
                                                  "android": android["PlatformApplicationArn"]}, client=sns))
    monkeypatch.setattr(deps, "ses", Ses(region, SENDER, client=ses))
    yield sns
    for app in (ios, android):
        sns.delete_platform_application(PlatformApplicationArn=app["PlatformApplicationArn"])


def sns_backend():
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sns.models import sns_backends

    return sns_backends[DEFAULT_ACCOUNT_ID][container().settings.region]


def ses_messages():
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    return ses_backends[DEFAULT_ACCOUNT_ID][container().settings.region].sent_messages


def endpoint_of(user_id: str, device_id: str) -> str | None:
    return next(d.endpoint_arn for d in container().notifications.devices(user_id) if d.device_id == device_id)


def a_phone(api, account) -> str:
    """Give ``account`` a phone number no other test's account has (DynamoDB Local keeps them all)."""
    import random

    local = f"010{random.randrange(10**8):08d}"
    answer = api.patch("/me", {"phone": local}, token=account["token"])
    assert answer.status == 200, answer.body
    return "+82" + local[1:]


def verified(account, *kinds: str) -> None:
    """Mark the account's current e-mail and/or phone verified, as a confirmed code does (the
    code flow itself is tests/api/test_recovery.py): outbound e-mail and SMS go only there."""
    deps = container()
    user_id = account["user"]["user_id"]
    user = deps.accounts.get_user(user_id, consistent=True)
    for kind in kinds:
        assert deps.codes.mark_verified(user_id, kind, getattr(user, kind), 0.0)


def turn_on(api, token, **channels):
    answer = api.put("/me/notification-settings", {"channels": channels}, token=token)
    assert answer.status == 200, answer.body
    return answer.body


# --- preferences ---------------------------------------------------------------------------------


def test_outbound_channels_are_off_until_turned_on(api, user):
    answer = api.get("/me/notification-settings", token=user["token"])
    assert answer.status == 200
    assert answer.body["channels"] == {"push": False, "email": False, "sms": False}
    assert answer.body["types"]["new_follower"] is True and answer.body["types"]["like"] is True
    body = api.put("/me/notification-settings", {"channels": {"push": True}, "types": {"like": False}},
                   token=user["token"]).body
    assert body["channels"] == {"push": True, "email": False, "sms": False} and body["types"]["like"] is False
    assert api.get("/me/notification-settings", token=user["token"]).body == body
    for bad in ({"types": {"spam": True}}, {"channels": {"fax": True}}, {"channels": {"push": "maybe"}}):
        assert_problem(api.put("/me/notification-settings", bad, token=user["token"]), 422)


# --- devices: AWS's token-management sequence ----------------------------------------------------------


def test_a_device_gets_one_endpoint_kept_current(api, user, channels):
    user_id = user["user"]["user_id"]
    put = lambda token, platform="ios": api.put("/me/devices/phone-1", {"platform": platform, "token": token},
                                                token=user["token"])
    answer = put("a" * 64)
    assert answer.status == 200 and answer.body == {"device_id": "phone-1", "platform": "ios", "token": "a" * 64}
    arn = endpoint_of(user_id, "phone-1")
    assert arn and channels.get_endpoint_attributes(EndpointArn=arn)["Attributes"]["CustomUserData"] == user_id
    # Registering again changes nothing: same endpoint, still one.
    assert put("a" * 64).status == 200 and endpoint_of(user_id, "phone-1") == arn
    assert len(sns_backend().platform_endpoints) == 1
    # A new token: the same endpoint, updated.
    assert put("b" * 64).status == 200 and endpoint_of(user_id, "phone-1") == arn
    assert channels.get_endpoint_attributes(EndpointArn=arn)["Attributes"]["Token"] == "b" * 64
    # SNS disabled it (the platform said the token was invalid): registering enables it again.
    channels.set_endpoint_attributes(EndpointArn=arn, Attributes={"Enabled": "false"})
    assert put("b" * 64).status == 200
    assert channels.get_endpoint_attributes(EndpointArn=arn)["Attributes"]["Enabled"].lower() == "true"
    # Deleted in SNS meanwhile: created again.
    channels.delete_endpoint(EndpointArn=arn)
    assert put("b" * 64).status == 200
    again = endpoint_of(user_id, "phone-1")
    assert again and again != arn and channels.get_endpoint_attributes(EndpointArn=again)["Attributes"]["Token"] == "b" * 64
    # Removing the device deletes its endpoint; removing it twice is fine.
    assert api.delete("/me/devices/phone-1", token=user["token"]).status == 204
    assert api.delete("/me/devices/phone-1", token=user["token"]).status == 204
    assert container().notifications.devices(user_id) == [] and sns_backend().platform_endpoints == {}


def test_a_phone_that_changes_hands_stops_reaching_its_first_owner(api, channels):
    first, second = api.signup(name="김민지"), api.signup(name="최서연")
    token = "c" * 64
    assert api.put("/me/devices/minji-phone", {"platform": "android", "token": token}, token=first["token"]).status == 200
    arn = endpoint_of(first["user"]["user_id"], "minji-phone")
    assert api.put("/me/devices/seoyeon-phone", {"platform": "android", "token": token},
                   token=second["token"]).status == 200
    assert container().notifications.devices(first["user"]["user_id"]) == []
    assert endpoint_of(second["user"]["user_id"], "seoyeon-phone") == arn
    attributes = channels.get_endpoint_attributes(EndpointArn=arn)["Attributes"]
    assert attributes["CustomUserData"] == second["user"]["user_id"]


def test_device_input_is_checked(api, user, channels):
    for body in ({"platform": "windows", "token": "a" * 64}, {"platform": "ios"}, {"platform": "ios", "token": "short"},
                 {"platform": "ios", "token": "has space " * 4}, {"platform": "ios", "token": "a" * 64, "x": 1}):
        assert_problem(api.put("/me/devices/phone-1", body, token=user["token"]), 422)
    assert_problem(api.put("/me/devices/bad%20id", {"platform": "ios", "token": "a" * 64}, token=user["token"]), 404)


def test_without_a_platform_application_the_device_is_kept_without_an_endpoint(api, user):
    answer = api.put("/me/devices/phone-1", {"platform": "ios", "token": "d" * 64}, token=user["token"])
    assert answer.status == 200
    [device] = container().notifications.devices(user["user"]["user_id"])
    assert device.endpoint_arn is None


# --- delivery ------------------------------------------------------------------------------------------


def shop_with_a_first_order(api, owner, drain_stream):
    tofu = make_product(api, owner, name="손두부 (500g)", stock=20)
    paid(api, owner, api.signup(name="박하늘"), owner["shop"]["shop_id"], (tofu["product_id"], 1))  # the milestone's
    drain_stream()
    return tofu


def test_with_push_on_an_order_is_one_publish_to_the_owners_endpoint(api, owner, user, channels, drain_stream,
                                                                     outbound):
    tofu = shop_with_a_first_order(api, owner, drain_stream)
    turn_on(api, owner["token"], push=True)
    assert api.put("/me/devices/owner-phone", {"platform": "ios", "token": "e" * 64}, token=owner["token"]).status == 200
    endpoint = sns_backend().platform_endpoints[endpoint_of(owner["user"]["user_id"], "owner-phone")]

    sms_before, mail_before = len(sns_backend().sms_messages), len(ses_messages())
    placed(api, user, owner["shop"]["shop_id"], (tofu["product_id"], 2))
    drain_stream()
    assert len(endpoint.messages) == 0 and outbound.waiting() == 1  # queued by the stream, not sent by it
    assert outbound() == 1
    assert len(endpoint.messages) == 1
    import json

    [message] = [json.loads(m) for m in endpoint.messages.values()]
    apns = json.loads(message["APNS"])
    assert apns["aps"]["alert"]["title"] == "새 주문이 들어왔어요" and apns["type"] == "new_order"
    assert apns["aps"]["badge"] == api.get("/me/notifications", token=owner["token"]).body["unread_count"] == 3
    assert json.loads(message["GCM"])["notification"]["body"].startswith("김민지님이 손두부")
    # The customer turned nothing on: nothing went to them.
    assert (len(sns_backend().sms_messages), len(ses_messages())) == (sms_before, mail_before)


def test_a_type_turned_off_is_not_sent_but_stays_in_the_inbox(api, owner, user, channels, drain_stream, outbound):
    tofu = shop_with_a_first_order(api, owner, drain_stream)
    api.put("/me/notification-settings", {"channels": {"push": True}, "types": {"new_order": False}},
            token=owner["token"])
    api.put("/me/devices/owner-phone", {"platform": "ios", "token": "e" * 64}, token=owner["token"])
    placed(api, user, owner["shop"]["shop_id"], (tofu["product_id"], 1))
    drain_stream()
    assert outbound() == 0  # nothing was queued
    endpoint = sns_backend().platform_endpoints[endpoint_of(owner["user"]["user_id"], "owner-phone")]
    assert len(endpoint.messages) == 0
    assert api.get("/me/notifications", token=owner["token"]).body["unread_count"] == 3


def test_email_and_sms_reach_the_owner_when_turned_on(api, owner, user, channels, drain_stream, outbound):
    tofu = shop_with_a_first_order(api, owner, drain_stream)
    phone = a_phone(api, owner)
    turn_on(api, owner["token"], email=True, sms=True)
    verified(owner, "email", "phone")
    sms_before, mail_before = len(sns_backend().sms_messages), len(ses_messages())
    placed(api, user, owner["shop"]["shop_id"], (tofu["product_id"], 1))
    drain_stream()
    assert outbound() == 2  # one message per channel
    [mail] = ses_messages()[mail_before:]
    assert mail.source == SENDER and mail.destinations["ToAddresses"] == [owner["email"]]
    assert mail.subject == "새 주문이 들어왔어요" and "김민지님이" in mail.body
    [(sent_to, text)] = list(sns_backend().sms_messages.values())[sms_before:]
    assert sent_to == phone and text.startswith("[동네] 새 주문이 들어왔어요")


def test_with_sns_failing_the_order_succeeds_the_stream_never_calls_it_and_the_sender_retries(
        api, owner, user, channels, drain_stream, outbound, monkeypatch, caplog):
    tofu = shop_with_a_first_order(api, owner, drain_stream)
    turn_on(api, owner["token"], push=True, sms=True)
    a_phone(api, owner)
    verified(owner, "phone")
    api.put("/me/devices/owner-phone", {"platform": "android", "token": "f" * 64}, token=owner["token"])
    calls = []

    def throttled(**kwargs):
        calls.append(kwargs)
        raise ClientError({"Error": {"Code": "Throttling", "Message": "Rate exceeded"}}, "Publish")

    monkeypatch.setattr(channels, "publish", throttled)
    with caplog.at_level(logging.WARNING, logger="dongne.notifications"):
        order = placed(api, user, owner["shop"]["shop_id"], (tofu["product_id"], 1))
        drain_stream()  # the stream batch succeeds without a call to SNS: nothing blocks the shard
        assert calls == [] and outbound.waiting() == 2
        outbound()  # push and SMS each tried, retried by the queue, then kept in its dead-letter queue
    assert api.get(f"/orders/{order['order_id']}", token=user["token"]).status == 200
    body = api.get("/me/notifications", token=owner["token"]).body
    assert [n["data"].get("order_id") for n in body["items"] if n["type"] == "new_order"][0] == order["order_id"]
    assert len(calls) == 2 * MAX_RECEIVE_COUNT
    assert (outbound.waiting(), outbound.dead_letters()) == (0, 2)
    failed = [r for r in caplog.records if r.getMessage() == "delivery" and getattr(r, "status", None) == "failed"]
    assert len(failed) == 2 * MAX_RECEIVE_COUNT and all("Throttling" in r.detail for r in failed)
    assert sorted(r.receive_count for r in failed)[-1] == str(MAX_RECEIVE_COUNT)


# --- outbound channels behind a queue: retries, dead letters, redrive ---------------------------


class FailingSes:
    """SES's SendEmail answering like a provider in trouble: throttled, then timing out, in turn."""

    def __init__(self, client) -> None:
        self.client, self.calls, self.failing = client, 0, True

    def send_email(self, **kwargs):
        self.calls += 1
        if not self.failing:
            return self.client.__class__.send_email(self.client, **kwargs)
        if self.calls % 2:
            raise ClientError({"Error": {"Code": "Throttling", "Message": "Maximum sending rate exceeded."}},
                              "SendEmail")
        raise ReadTimeoutError(endpoint_url="https://email.us-east-1.amazonaws.com/v2/email/outbound-emails")


def new_order_ids(api, owner) -> set[str]:
    body = api.get("/me/notifications", token=owner["token"]).body
    return {n["data"].get("order_id") for n in body["items"] if n["type"] == "new_order"}


def position(records, entity: str, key: str, value: str) -> int:
    return next(i for i, r in enumerate(records)
                if r["dynamodb"].get("NewImage", {}).get("entity", {}).get("S") == entity
                and r["dynamodb"]["NewImage"].get(key, {}).get("S") == value)


def test_a_failing_email_provider_delays_no_order_and_dead_letters_are_redriven_once(
        api, owner, user, channels, drain_stream, stream, outbound, monkeypatch, capsys):
    tofu = shop_with_a_first_order(api, owner, drain_stream)
    turn_on(api, owner["token"], email=True)
    verified(owner, "email")
    ses = FailingSes(container().ses.client)
    monkeypatch.setattr(container().ses.client, "send_email", ses.send_email)
    mail_before = len(ses_messages())

    first = placed(api, user, owner["shop"]["shop_id"], (tofu["product_id"], 1))
    stream()  # the order's record: the owner's new_order notification is written
    second = placed(api, user, owner["shop"]["shop_id"], (tofu["product_id"], 2))
    stream()  # the notification's record (e-mail queued), then the second order's record behind it
    stream()  # the second notification's record
    records = stream.seen
    [first_notice] = [r["dynamodb"]["NewImage"]["notification_id"]["S"] for r in records
                      if r["dynamodb"].get("NewImage", {}).get("entity", {}).get("S") == "notification"
                      and r["dynamodb"]["NewImage"]["data"]["M"].get("order_id", {}).get("S") == first["order_id"]
                      and r["eventName"] == "INSERT"]
    # The stream never called SES, and the order record after the first e-mail was handled.
    assert ses.calls == 0
    assert position(records, "notification", "notification_id", first_notice) < \
        position(records, "order", "order_id", second["order_id"])
    assert {first["order_id"], second["order_id"]} <= new_order_ids(api, owner)
    assert outbound.waiting() == 2  # one e-mail job per new_order notification

    # The outbound function tries each, the queue retries it, then keeps it in the dead-letter queue.
    assert outbound() == 2 * MAX_RECEIVE_COUNT
    assert ses.calls == 2 * MAX_RECEIVE_COUNT and len(ses_messages()) == mail_before
    assert (outbound.waiting(), outbound.dead_letters()) == (0, 2)  # the alarm's metric is above 0

    # SES is back: the documented command moves them back; each e-mail goes out once.
    ses.failing = False
    assert redrive.main(["--stage", "local"]) == 0
    assert "redrive: moved 2 message(s)" in capsys.readouterr().out
    assert (outbound.waiting(), outbound.dead_letters()) == (2, 0)
    assert outbound() == 2
    sent = ses_messages()[mail_before:]
    assert len(sent) == 2 and {m.destinations["ToAddresses"][0] for m in sent} == {owner["email"]}

    # Replayed stream records queue the e-mails again; the sender sends nothing twice.
    dispatch([r for r in records if r["dynamodb"].get("NewImage", {}).get("entity", {}).get("S") == "notification"])
    assert outbound.waiting() == 2 and outbound() == 2
    assert len(ses_messages()) == mail_before + 2 and outbound.dead_letters() == 0
    assert redrive.main(["--stage", "local"]) == 0
    assert "redrive: moved 0 message(s)" in capsys.readouterr().out


@pytest.mark.parametrize("body", ["not json", '{"channel": "email"}'])
def test_a_message_that_is_not_a_job_is_dropped_not_retried(outbound, body):
    settings = container().settings
    boto3.client("sqs", region_name=settings.region).send_message(QueueUrl=settings.outbound_queue_url,
                                                                  MessageBody=body)
    assert outbound() == 1 and (outbound.waiting(), outbound.dead_letters()) == (0, 0)
