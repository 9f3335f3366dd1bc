"""Abuse limits: which rule, whose budget, which window — pure arithmetic, no storage.

Every limit is a **fixed window** counter: at most ``limit`` requests per ``window`` seconds
per subject (a user, or a network address for the routes without a user), kept in DynamoDB
as one item per subject and window. Taking a request is **one conditional write** — add 1
if the count is still below the limit — so there is no read-then-write race: a hundred
concurrent requests get exactly ``limit`` successes. Signed-in writes put that write inside
the request's own transaction (``storage.rates.add_quota``), so it costs no extra call; the
routes without a user (sign-up, login) take it on its own, before any argon2 work.

A fixed window lets a client spend its budget at the end of one window and again at the start
of the next (at most twice the limit in a short burst); API Gateway's stage throttling bounds
bursts across all clients, and the per-account login lock (``LockPolicy``) is not windowed.

The rules and their reasons are settings, listed in ``docs/trust.md``.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from chalicelib.records.rates import ADDRESS, USER, LockPolicy, Rule, Ticket, parse_spec

if TYPE_CHECKING:
    from chalicelib.settings import Settings


# Rules by name: what the setting is called, and whose budget it is.
RULES: dict[str, tuple[str, str]] = {
    "signup": ("rate_signup_ip", ADDRESS),
    "login": ("rate_login_ip", ADDRESS),
    "post": ("rate_post", USER),
    "comment": ("rate_comment", USER),
    "share": ("rate_share", USER),
    "follow": ("rate_follow", USER),
    "like": ("rate_like", USER),
    "order": ("rate_order", USER),
    "webhook": ("rate_webhook_ip", ADDRESS),  # PortOne's webhooks: per sending address
    "payment": ("rate_payment", USER),  # POST /orders/{id}/payment: each one asks the provider
    "message": ("rate_message", USER),  # a message (문의) to a shop or a customer
    "broadcast": ("rate_broadcast", USER),  # an owner's broadcast to a segment of customers
    "upload": ("rate_upload", USER),  # a presigned upload form
    "subscription": ("rate_subscription", USER),  # a new subscription
    "review": ("rate_review", USER),  # a review of a delivered order
    "note": ("rate_note", USER),  # an owner's private note about a customer
    "device": ("rate_device", USER),  # a push token registered or removed (SNS endpoints)
    "visit": ("rate_visit_ip", ADDRESS),  # a store-link visit: per address, token or not
    "reset": ("rate_reset_ip", ADDRESS),  # POST /auth/password-reset
    "reset_address": ("rate_reset_address", ADDRESS),  # the same, per e-mail/phone asked about
    "reset_confirm": ("rate_reset_confirm_ip", ADDRESS),  # POST /auth/password-reset/confirm
    "verify": ("rate_verify", USER),
    "product": ("rate_product", USER),  # a new product in the owner's catalogue
    "coupon": ("rate_coupon", USER),  # a new coupon of the owner's shop
    "coupon_grant": ("rate_coupon_grant", USER),  # a coupon given to named customers  # POST /me/verify: a code to the account's e-mail or phone
}


def rules_from(settings: Settings) -> dict[str, Rule]:
    rules = {}
    for name, (setting, per) in RULES.items():
        limit, window = parse_spec(getattr(settings, setting))  # validated by Settings already
        rules[name] = Rule(name, limit, window, per)
    return rules


def ticket(rule: Rule, subject: str, now: float) -> Ticket:
    start = int(now // rule.window) * rule.window
    return Ticket(rule, subject, start)


def address_subject(source_ip: str | None) -> str:
    """The budget of a network address. IPv6 clients are grouped by /64 (one subscriber's
    prefix, whose addresses they may rotate freely). Stored hashed: the windows need to tell
    addresses apart, not to keep them."""
    text = (source_ip or "").strip()
    if ":" in text:
        import ipaddress  # only IPv6 clients pay for the import

        try:
            text = str(ipaddress.IPv6Network(f"{text}/64", strict=False))
        except ValueError:
            pass
    return "ip:" + hashlib.sha256((text or "unknown").encode()).hexdigest()[:24]


def identifier_subject(kind: str, value: str) -> str:
    """The login lock's key for an e-mail or phone, known or not (hashed: no addresses kept)."""
    return f"{kind}:" + hashlib.sha256(value.encode()).hexdigest()[:32]


def lock_policy(settings: Settings) -> LockPolicy:
    return LockPolicy(settings.login_free_attempts, settings.login_lock_seconds, settings.login_lock_max_seconds)
