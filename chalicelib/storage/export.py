"""Reads of ``GET /me/export`` that no other route makes: a user's consent history, paged."""

from __future__ import annotations

from chalicelib.records.common import Page
from chalicelib.records.consents import ConsentRecord
from chalicelib.storage.models.accounts import user_pk
from chalicelib.storage.models.consents import RECORD_PREFIX, ConsentRecordItem
from chalicelib.storage.retry import with_retries


def consent_history(user_id: str, start_key: dict | None, limit: int) -> Page:
    """Every consent change of the user, all shops, one Query page (``USER#<id>`` / ``CONSENT#...``)."""
    def page() -> Page:
        results = ConsentRecordItem.query(user_pk(user_id), ConsentRecordItem.sk.startswith(RECORD_PREFIX),
                                          limit=limit, page_size=limit, last_evaluated_key=start_key)
        items = [ConsentRecord(user_id=i.user_id, shop_id=i.shop_id, marketing=bool(i.marketing),
                               marketing_at_night=bool(i.marketing_at_night), at=float(i.at)) for i in results]
        return Page(items, results.last_evaluated_key)

    return with_retries(page)
