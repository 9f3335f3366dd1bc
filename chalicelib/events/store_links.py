"""Stream handlers of the one-person store: links are issued by orders, and reviews recommend.

* ``order`` INSERT: the buyer's link for the shop is issued if they have none, and the
  order's products join what the link shows as bought (``services.store_links.ensure_link``).
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


def order_placed(change: Change, deadline: float | None = None) -> None:
    if change.event_name != "INSERT" or change.new is None:
        return
    new = change.new
    try:
        buyer_id, shop_id = _text(new, "buyer_id"), _text(new, "shop_id")
        products = [_text(line, "product_id") for line in new.get("items") or [] if isinstance(line, Mapping)]
    except ValueError as error:
        log.warning("skipping an order record that breaks the event contract: %s (eventID %s)", error,
                    change.event_id)
        return
    links, accounts = _deps()
    store_links.ensure_link(links, accounts, buyer_id, shop_id, str(new.get("shop_name") or ""), products, clock.now())


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


HANDLERS = (("order", order_placed), ("review", review_written))
