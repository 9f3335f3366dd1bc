"""PortOne's webhook: a payment's news, verified before anything is read.

No bearer token (PortOne signs instead): the Standard Webhooks signature over the raw body is
checked first (``webhook-id``, ``webhook-timestamp``, ``webhook-signature``; 5 minutes'
tolerance), so a forged or stale call is a 401 that changed nothing. A verified
``Transaction.Paid`` confirms the order it names exactly as the buyer's own
``POST /orders/{id}/payment`` does — by asking PortOne, never by trusting the body — so a
replayed webhook finds the order paid and changes nothing. Every other verified event is
acknowledged (200) and ignored; PortOne retries only what we answer 5xx (the provider did not
answer us), so a webhook is never lost to a passing outage.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from chalice import Blueprint

from chalicelib.api.edge import Ctx, Router
from chalicelib.api.spec import lazy_models
from chalicelib.errors import (IllegalTransition, Invalid, NotFound, PaymentExpired, PaymentIncomplete, PaymentMismatch, PayloadTooLarge,
                               Unauthorized, Unavailable)

if TYPE_CHECKING:
    from chalicelib.schemas.orders import WebhookAnswer
else:  # pydantic models, imported on the first request that needs them
    (WebhookAnswer,) = lazy_models("chalicelib.schemas.orders", "WebhookAnswer")

log = logging.getLogger("dongne.payments")

payments_blueprint = Blueprint(__name__)
route = Router(payments_blueprint, "payments")

# PortOne's webhook bodies are a few hundred bytes.
MAX_WEBHOOK_BYTES = 16 * 1024


@route.route("POST", "/webhooks/portone", auth=False, response=WebhookAnswer, limit="webhook",
             errors=(Unauthorized, PayloadTooLarge, Unavailable),
             summary="PortOne's payment webhook (signed; no bearer token)",
             description="Verified with the Standard Webhooks scheme before anything is read (a bad or stale "
                         "signature → 401). `Transaction.Paid` confirms the order whose payment it names, after "
                         "asking PortOne; a replay changes nothing.")
def receive_portone_webhook(ctx: Ctx) -> dict:
    from chalicelib.payments import WebhookRejected, TRANSACTION_PAID
    from chalicelib.services import checkout

    raw = ctx.request.raw_body or b""
    if len(raw) > MAX_WEBHOOK_BYTES:
        raise PayloadTooLarge(f"A webhook is at most {MAX_WEBHOOK_BYTES} bytes.")
    try:
        event = ctx.deps.payments.verify_webhook(raw, dict(ctx.request.headers or {}))
    except WebhookRejected as error:
        log.warning("webhook rejected: %s", error.reason)
        raise Unauthorized("The webhook's signature is missing, wrong or too old.") from None
    if event.type != TRANSACTION_PAID or not event.payment_id:
        return {"outcome": "ignored"}
    try:
        checkout.confirm_payment(ctx.deps.checkout, ctx.deps.payments, event.payment_id, event.payment_id, ctx.now)
    except (NotFound, IllegalTransition, Invalid):
        return {"outcome": "not_ours"}  # no order of ours pays by card under this id
    except PaymentIncomplete:
        return {"outcome": "not_paid"}
    except PaymentMismatch:
        return {"outcome": "mismatch_cancelled"}
    except PaymentExpired:
        return {"outcome": "refunded"}
    return {"outcome": "paid"}
