"""Stream handlers of the one-person store: links are issued by orders, and reviews recommend.

* ``order`` paid (the stream contract: the record where ``paid_at`` first appears — an INSERT
  that has it, or a MODIFY whose old image lacks it): the buyer's link for the shop is issued
  if they have none, and the order's products join what the link shows as bought
  (``services.store_links.ensure_link``); the record that issued it hands the buyer their link
  (a ``store_link`` notification with share text). An order never paid (waiting, expired, cancelled
  unpaid) issues nothing. A paid order cancelled later keeps the link it issued (the link is
  the buyer's page, maybe shared already); a cancellation delivered before the payment's
  record changes nothing here, and the payment's record then issues the link as it would have.
* ``review`` INSERT (one item per product of the reviewed order): 4 or 5 stars recommend the
  product on the reviewer's landing, 1 or 2 take it back.

Both are idempotent: the issue is guarded per buyer and shop, products are a set. A record
that breaks the event contract is logged and skipped (retrying it could never succeed).
Referral scoring is not here: the order's ``referrer_id`` is read by ``services.signals``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from chalicelib import clock
from chalicelib.services import store_links
from chalicelib.storage.stream import Change

log = logging.getLogger("dongne.store_links")


def _deps():
    from chalicelib.wiring import container

    d = container()
    return d.store_links, d.accounts


def _text(image: Mapping[str, Any], name: str) -> str:
    value = image.get(name)
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty string, got {value!r}")
    return value


def paid_now(event_name: str, new: Mapping[str, Any] | None, old: Mapping[str, Any] | None) -> bool:
    """Whether this order record is the one where the order became paid (``paid_at`` first appears)."""
    if new is None or new.get("paid_at") is None or new.get("status") == "cancelled":
        return False
    if event_name == "INSERT":
        return True
    return event_name == "MODIFY" and (old or {}).get("paid_at") is None


def order_paid(change: Change, deadline: float | None = None) -> None:
    new = change.new
    if new is None or not paid_now(change.event_name, new, change.old):
        return
    try:
        buyer_id, shop_id = _text(new, "buyer_id"), _text(new, "shop_id")
        products = [_text(line, "product_id") for line in new.get("items") or [] if isinstance(line, Mapping)]
    except ValueError as error:
        log.warning("skipping an order record that breaks the event contract: %s (eventID %s)", error,
                    change.event_id)
        return
    links, accounts = _deps()
    shop_name = str(new.get("shop_name") or "")
    issued = store_links.ensure_link(links, accounts, buyer_id, shop_id, shop_name, products, clock.now(),
                                     order_id=str(new.get("order_id") or "") or None)
    if issued.by_this_order:
        _hand_over(buyer_id, shop_id, shop_name, issued.code, float(new.get("paid_at") or clock.now()))


def _hand_over(buyer_id: str, shop_id: str, shop_name: str, code: str, at: float) -> None:
    """``store_link`` to the buyer: their first paid order at the shop made them a link to share.
    One per buyer and shop (the notice's key); a replay of the issuing record adds nothing."""
    from chalicelib.records.notifications import Notice
    from chalicelib.wiring import container

    deps = container()
    url = store_links.link_url(deps.settings.public_base_url, code)
    data = {"shop_id": shop_id, "shop_name": shop_name, "code": code, "url": url,
            "share_text": store_links.share_text(shop_name, url)}
    deps.inbox.add(Notice(buyer_id, "store_link", shop_id, at + 0.002, data))


def review_written(change: Change, deadline: float | None = None) -> None:
    if change.event_name != "INSERT" or change.new is None:
        return
    new = change.new
    try:
        user_id, shop_id, product_id = _text(new, "user_id"), _text(new, "shop_id"), _text(new, "product_id")
        rating = int(new.get("rating"))
    except (TypeError, ValueError) as error:
        log.warning("skipping a review record that breaks the event contract: %s (eventID %s)", error,
                    change.event_id)
        return
    links, _ = _deps()
    store_links.remember_review(links, user_id, shop_id, product_id, rating, str(new.get("text") or ""))


HANDLERS = (("order", order_paid, ("INSERT", "MODIFY")), ("review", review_written, ("INSERT",)))
