"""Outbound channels: push and SMS through SNS, e-mail through SES, behind small classes; and
the SQS queue the stream hands that work to (``OutboundQueue``).

Like ``media.py``: the boto3 client is injected (tests) or created on first use and cached
(a warm Lambda keeps it). botocore's standard retry mode retries throttling and transient
errors (3 attempts); whatever still fails is raised as ``ChannelFailed`` for the caller to
log and drop. Push endpoints follow AWS's token-management sequence for SNS mobile push
("Mobile token management with Amazon SNS"): create once and store the ARN; read its
attributes; re-create when it is gone; set the latest token and enable it when the token
changed or SNS disabled it.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from chalicelib.records.notifications import ChannelFailed

log = logging.getLogger("dongne.outbound")

# CreatePlatformEndpoint answers this when an endpoint with the token exists with other
# attributes (another CustomUserData): the existing ARN is in the message.
_EXISTING_ENDPOINT = re.compile(r"Endpoint (arn:[^\s]+) already exists with the same [Tt]oken")


def _client(service: str, region: str, endpoint: str | None = None) -> Any:
    import boto3
    from botocore.config import Config

    config = Config(connect_timeout=2, read_timeout=5, retries={"max_attempts": 3, "mode": "standard"})
    return boto3.client(service, region_name=region, endpoint_url=endpoint, config=config)


def _code(error: Exception) -> str:
    response = getattr(error, "response", None) or {}
    return (response.get("Error") or {}).get("Code") or type(error).__name__


class Sns:
    """Push (platform endpoints) and SMS through one SNS client."""

    def __init__(self, region: str, applications: dict[str, str | None], client: Any = None) -> None:
        self.region = region
        self.applications = {platform: arn for platform, arn in applications.items() if arn}
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = _client("sns", self.region)
        return self._client

    def configured(self, platform: str) -> bool:
        return platform in self.applications

    # --- endpoints: the documented sequence ------------------------------------------------

    def ensure_endpoint(self, platform: str, token: str, endpoint_arn: str | None, user_data: str) -> str | None:
        if not self.configured(platform):
            log.info("push is not configured for %s: the device is kept without an endpoint", platform)
            return None
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            if endpoint_arn is None:  # first registration
                endpoint_arn = self._create(platform, token, user_data)
            try:
                attributes = self.client.get_endpoint_attributes(EndpointArn=endpoint_arn)["Attributes"]
            except ClientError as error:
                if _code(error) != "NotFound":
                    raise
                return self._create(platform, token, user_data)  # deleted meanwhile: create it again
            enabled = str(attributes.get("Enabled", "true")).lower() == "true"
            if attributes.get("Token") != token or not enabled or attributes.get("CustomUserData") != user_data:
                self.client.set_endpoint_attributes(
                    EndpointArn=endpoint_arn,
                    Attributes={"Token": token, "Enabled": "true", "CustomUserData": user_data})
            return endpoint_arn
        except (BotoCoreError, ClientError) as error:
            raise ChannelFailed(_code(error), str(error)) from error

    def _create(self, platform: str, token: str, user_data: str) -> str:
        from botocore.exceptions import ClientError

        try:
            return self.client.create_platform_endpoint(PlatformApplicationArn=self.applications[platform],
                                                        Token=token, CustomUserData=user_data)["EndpointArn"]
        except ClientError as error:
            found = _EXISTING_ENDPOINT.search(str(error))
            if _code(error) == "InvalidParameter" and found:
                return found.group(1)  # the caller's attribute check brings it up to date
            raise

    def delete_endpoint(self, endpoint_arn: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.delete_endpoint(EndpointArn=endpoint_arn)
        except (BotoCoreError, ClientError) as error:
            raise ChannelFailed(_code(error), str(error)) from error

    # --- sending -----------------------------------------------------------------------------

    def push(self, endpoint_arn: str, title: str, body: str, data: dict, badge: int) -> None:
        apns = json.dumps({"aps": {"alert": {"title": title, "body": body}, "badge": badge, "sound": "default"},
                           **data}, ensure_ascii=False)
        fcm = json.dumps({"notification": {"title": title, "body": body},
                          "data": {**{k: str(v) for k, v in data.items()}, "badge": str(badge)}}, ensure_ascii=False)
        message = {"default": body, "APNS": apns, "APNS_SANDBOX": apns, "GCM": fcm}
        self._publish(TargetArn=endpoint_arn, Message=json.dumps(message, ensure_ascii=False),
                      MessageStructure="json")

    def sms(self, phone: str, text: str) -> None:
        self._publish(PhoneNumber=phone, Message=text, MessageAttributes={
            "AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"}})

    def _publish(self, **kwargs: Any) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.publish(**kwargs)
        except (BotoCoreError, ClientError) as error:
            raise ChannelFailed(_code(error), str(error)) from error


class Ses:
    """E-mail through SES (API v2), from one verified sender."""

    def __init__(self, region: str, sender: str | None, client: Any = None) -> None:
        self.region = region
        self.sender = sender
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = _client("sesv2", self.region)
        return self._client

    def configured(self) -> bool:
        return bool(self.sender)

    def email(self, to: str, subject: str, body: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        if not self.sender:
            raise ChannelFailed("NotConfigured", "no e-mail sender is set (DONGNE_EMAIL_SENDER)")
        content = {"Simple": {"Subject": {"Data": subject, "Charset": "UTF-8"},
                              "Body": {"Text": {"Data": body, "Charset": "UTF-8"}}}}
        try:
            self.client.send_email(FromEmailAddress=self.sender, Destination={"ToAddresses": [to]}, Content=content)
        except (BotoCoreError, ClientError) as error:
            raise ChannelFailed(_code(error), str(error)) from error


class QueueFailed(Exception):
    """SQS did not take every message of a batch: the caller fails (and retries) its record."""


class OutboundQueue:
    """The queue of outbound jobs (``services.notification_delivery.Job``), one SQS message each.

    A notification's jobs (one per channel, at most three) go in one ``SendMessageBatch``. A
    batch SQS takes only partly raises ``QueueFailed``: the stream record is retried and queues
    them all again, which the sender's once-only markers make harmless."""

    def __init__(self, url: str | None, region: str, endpoint: str | None = None, client: Any = None) -> None:
        self.url = url
        self.region = region
        self.endpoint = endpoint
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = _client("sqs", self.region, self.endpoint)
        return self._client

    def configured(self) -> bool:
        return bool(self.url)

    def enqueue(self, bodies: dict[str, str]) -> None:
        """Queue ``{entry id: message body}`` (ids: letters, digits, ``-`` and ``_``; ≤ 10)."""
        if not bodies:
            return
        answer = self.client.send_message_batch(
            QueueUrl=self.url, Entries=[{"Id": entry, "MessageBody": body} for entry, body in bodies.items()])
        failed = answer.get("Failed") or []
        if failed:
            raise QueueFailed("SQS did not take " + ", ".join(
                f"{f.get('Id')} ({f.get('Code')}: {f.get('Message', '')})" for f in failed))
