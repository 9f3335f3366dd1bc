"""Configuration: one validated object, the only reader of ``os.environ``.

Every setting is an environment variable prefixed ``DONGNE_`` (``DONGNE_TABLE_NAME``...).
``.chalice/config.json`` sets them per stage; the local runner and the tests set them
for DynamoDB Local or moto. ``get_settings()`` builds the object once per process.

A plain pydantic model fed from the environment rather than pydantic-settings: the same
validation, without ~50 ms of extra imports on every Lambda cold start.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# The development secret: fine on a laptop, refused anywhere else (see the validator).
DEFAULT_SECRET = "dongne-local-development-secret-change-me"
# PortOne's development values: what the local stand-in (devtools.portone_standin) expects and
# signs with by default. Refused off-laptop like DEFAULT_SECRET (chalicelib.secrets).
DEFAULT_PORTONE_API_SECRET = "dongne-local-portone-api-secret"
# Standard Webhooks form: "whsec_" + base64 of the key bytes (here b"dongne-local-portone-webhook-key!").
DEFAULT_PORTONE_WEBHOOK_SECRET = "whsec_ZG9uZ25lLWxvY2FsLXBvcnRvbmUtd2ViaG9vay1rZXkh"
DEFAULT_PORTONE_STORE_ID = "store-dongne-local"
LOCAL_STAGES = frozenset({"local", "test"})


ENV_PREFIX = "DONGNE_"


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    stage: Literal["local", "test", "dev", "prod"] = "local"
    region: str = "ap-northeast-2"
    table_name: str = "dongne-local"
    feed_table_name: str = "dongne-local-feed"
    media_bucket: str = "dongne-local-media"
    # Set for DynamoDB Local (http://127.0.0.1:8001); unset on AWS.
    dynamodb_endpoint: str | None = None
    s3_endpoint: str | None = None
    public_base_url: str = "http://127.0.0.1:8000"
    # Where photos are served from (a CDN in front of the bucket); derived when unset.
    media_base_url: str | None = None
    # The sharing pages (/s, /p, /l; docs/sharing.md): the preview picture of a page without a
    # photo of its own (unset: "share/dongne.png" under the media URL), and where "앱 설치" leads.
    share_image_url: str | None = None
    app_install_url: str = "https://dongne.app/app"
    app_android_package: str = "app.dongne"

    secret_key: str = Field(DEFAULT_SECRET, min_length=32)
    # On AWS the signing secret is not in the environment: the functions that sign or verify
    # tokens and cursors read this Secrets Manager secret at run time (chalicelib.secrets),
    # cached. Unset locally, where secret_key (the development default) is used.
    secret_arn: str | None = None
    # Key rotation without Secrets Manager: the signing secrets in force, newest first, as a
    # JSON array (the first signs; the others still verify until their tokens expire). Unset:
    # secret_key alone. On AWS the secret named by secret_arn may hold such an array too.
    secret_keys: tuple[str, ...] = ()
    # Access tokens live an hour; a login's refresh token 60 days from its last use (docs/trust.md).
    token_ttl_seconds: int = Field(3600, ge=60, le=90 * 24 * 3600)
    refresh_ttl_seconds: int = Field(60 * 24 * 3600, ge=3600, le=365 * 24 * 3600)
    # argon2id cost. RFC 9106's second recommended option is 64 MiB / t=3; Lambda at
    # 1 GB handles that in ~50 ms. Tests lower it through the environment.
    argon2_memory_kib: int = Field(64 * 1024, ge=8, le=1024 * 1024)
    argon2_time_cost: int = Field(3, ge=1, le=10)

    # Abuse limits, on in every stage (the reasons are in docs/trust.md). Each is
    # "<count>/<window>" with the window in s, m, h or d, counted in fixed windows in DynamoDB.
    # Per network address, only where there is no user yet, sized for carrier NAT and shared
    # Wi-Fi (hundreds of people behind one address):
    rate_signup_ip: str = "120/10m"
    rate_login_ip: str = "600/10m"
    # Per signed-in user:
    rate_post: str = "30/1h"
    rate_comment: str = "10/1m"
    rate_share: str = "10/1m"
    rate_follow: str = "30/1m"
    rate_like: str = "60/1m"
    rate_order: str = "10/1m"
    rate_webhook_ip: str = "600/1m"
    rate_payment: str = "30/1m"
    rate_message: str = "30/1m"
    rate_broadcast: str = "5/1d"  # an owner's broadcasts a day (a coupon sent with one included)
    rate_upload: str = "60/10m"  # POST /uploads: presigned forms (a post or a product shows at most 10 photos)
    rate_subscription: str = "10/1h"  # POST /subscriptions (replays with the same key count too)
    rate_review: str = "20/1h"  # POST /orders/{id}/review
    rate_note: str = "60/10m"  # an owner's notes about customers
    rate_device: str = "30/1h"  # PUT and DELETE /me/devices/{id}: each may call SNS
    rate_product: str = "100/1h"  # POST /shops/{id}/products: an owner setting up the catalogue
    rate_coupon: str = "20/1d"  # POST /shops/{id}/coupons: new coupons a day
    rate_coupon_grant: str = "60/1h"  # POST /shops/{id}/coupons/{id}/grants (each to at most 100 people)
    # Per network address: POST /store-links/{code}/visits (anonymous or not; visits count once
    # per visitor and day anyway, this bounds the writes).
    rate_visit_ip: str = "120/1m"
    # Codes (services.recovery): asking for a password-reset code per network address and per
    # e-mail/phone (known or not), trying one per network address, and asking for a
    # verification code per user.
    rate_reset_ip: str = "30/1h"
    rate_reset_address: str = "5/1h"
    rate_reset_confirm_ip: str = "60/1h"
    rate_verify: str = "5/1h"
    # A password-reset request is answered no sooner than this after its view starts, whether or
    # not an account has the address: the one step only a known address takes (queueing its
    # message, one SQS call) is hidden inside it (services.recovery, docs/trust.md).
    reset_answer_floor_ms: int = Field(250, ge=0, le=2000)
    # Per account (e-mail or phone, known or not): free login attempts, then a lock doubling
    # from login_lock_seconds up to login_lock_max_seconds; a success resets it.
    login_free_attempts: int = Field(5, ge=1, le=100)
    login_lock_seconds: int = Field(30, ge=1, le=3600)
    login_lock_max_seconds: int = Field(900, ge=1, le=86400)

    max_body_bytes: int = Field(64 * 1024, ge=1024)
    # Browser origins allowed to call the API (a shop owner's web dashboard), e.g.
    # DONGNE_CORS_ORIGINS="https://shop.dongne.app,http://localhost:5173". Empty: no CORS.
    cors_origins: tuple[str, ...] = ()
    # Seconds one stream invocation spends before long work (a big shop's fan-out) hands the
    # rest on to a work item; the function's timeout is the outer bound (see events.stream).
    stream_budget_seconds: float = Field(3.0, gt=0, le=60)
    # Customers one broadcast chunk goes through (one stream record's work: a page of the
    # audience, their consents and ⌈n/24⌉ delivery transactions), well within the budget above.
    broadcast_chunk_size: int = Field(200, ge=10, le=1000)
    # Seconds one run of the subscription job spends placing periods before it leaves the rest
    # for the next run (every 10 minutes); the function's 30 s timeout is the outer bound.
    subscription_budget_seconds: float = Field(20.0, gt=0, le=600)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # "json": one JSON object per line (Lambda, and the tests, which parse them); "text": one
    # readable line per record, for a terminal (`make run` sets it: chalicelib.logs).
    log_format: Literal["json", "text"] = "json"
    # X-Ray subsegments for the app's own work and its AWS calls (Powertools Tracer); the
    # template turns it on together with active tracing. Off locally: nothing receives them.
    tracing: bool = False

    # Outbound notifications (docs/notifications.md). Push: the SNS platform applications
    # (APNs and FCM) device tokens are registered with; unset, devices are kept without an
    # endpoint and nothing is pushed. E-mail: a sender verified in SES; unset, no e-mail.
    push_ios_application_arn: str | None = None
    push_android_application_arn: str | None = None
    email_sender: str | None = None
    # The queue the stream hands outbound work to (one message per notification and channel);
    # the ``outbound`` function sends from it (chalicelib/events/outbound.py). Unset, nothing is
    # sent outside the app (the inbox has every notification either way).
    outbound_queue_url: str | None = None
    # Set for a local SQS (moto's server under `make run`); unset on AWS and in tests.
    sqs_endpoint: str | None = None

    # Payments through PortOne V2 (chalicelib.payments; docs/checkout.md). The official SDK calls
    # portone_base_url: PortOne's API when deployed, the local stand-in in `make run` and the tests
    # (the same SDK code either way, only this URL differs).
    portone_base_url: str = "https://api.portone.io"
    # The store the client SDK opens payment windows for; webhooks name it in data.storeId.
    portone_store_id: str = DEFAULT_PORTONE_STORE_ID
    # The channel billing-key charges go through; needed only when a key was issued for several.
    portone_channel_key: str | None = None
    # Seconds one PortOne call may take (connect: at most 3 s) before it counts as unavailable.
    portone_timeout_seconds: float = Field(10.0, gt=0, le=60)
    # On AWS the API secret and the webhook secret are one Secrets Manager secret, JSON
    # {"api_secret": ..., "webhook_secret": "whsec_..."}, read at run time (chalicelib.secrets).
    # Unset locally, where the two values below (the stand-in's defaults) are used.
    portone_secret_arn: str | None = None
    portone_api_secret: str = DEFAULT_PORTONE_API_SECRET
    portone_webhook_secret: str = DEFAULT_PORTONE_WEBHOOK_SECRET

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(origin.strip().rstrip("/") for origin in value.split(",") if origin.strip())
        return value

    @field_validator("rate_signup_ip", "rate_login_ip", "rate_post", "rate_comment", "rate_share", "rate_follow",
                     "rate_like", "rate_order", "rate_webhook_ip", "rate_payment", "rate_message",
                     "rate_broadcast", "rate_upload", "rate_subscription", "rate_review", "rate_note",
                     "rate_device", "rate_visit_ip", "rate_reset_ip", "rate_reset_address", "rate_reset_confirm_ip",
                     "rate_verify", "rate_product", "rate_coupon", "rate_coupon_grant")
    @classmethod
    def _rate_spec(cls, value: str) -> str:
        from chalicelib.records.rates import parse_spec

        parse_spec(value)
        return value

    @field_validator("secret_keys", mode="before")
    @classmethod
    def _json_keys(cls, value: object) -> object:
        if isinstance(value, str):
            import json

            try:
                value = json.loads(value) if value.strip() else []
            except ValueError:
                raise ValueError("give the signing secrets as a JSON array of strings, newest first") from None
        return value

    @field_validator("secret_keys")
    @classmethod
    def _long_keys(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if any(len(key) < 32 for key in value):
            raise ValueError("every signing secret has at least 32 characters")
        return value

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> "Settings":
        if self.stage not in LOCAL_STAGES and DEFAULT_SECRET in self.secret_keys:
            raise ValueError(f"the development secret is only accepted on 'local' and 'test', not {self.stage!r}")
        if self.stage not in LOCAL_STAGES and self.secret_key == DEFAULT_SECRET and not self.secret_arn \
                and not self.secret_keys:
            raise ValueError(
                f"DONGNE_SECRET_ARN (or DONGNE_SECRET_KEY, a private value) must be set on stage {self.stage!r}; "
                "the development default is only accepted on 'local' and 'test'"
            )
        return self

    @property
    def is_local(self) -> bool:
        return self.stage in LOCAL_STAGES


    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> "Settings":
        values = {k[len(ENV_PREFIX):].lower(): v for k, v in environ.items() if k.startswith(ENV_PREFIX)}
        return cls.model_validate(values)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_env(os.environ)


def reset_settings() -> None:
    """Forget the cached settings (tests change the environment between runs)."""
    get_settings.cache_clear()
