"""A shop's aftercare automations and the review requests waiting for their day."""

from __future__ import annotations

from collections.abc import Iterator

from chalicelib.records.automations import Automation, Automations, ReviewDue
from chalicelib.storage.models.accounts import shop_pk
from chalicelib.storage.models.automations import AUTOMATIONS_SK, REVIEW_DUE, AutomationMap, AutomationsItem
from chalicelib.storage.due import drop_due, due_items
from chalicelib.storage.models.due import due_item
from chalicelib.storage.retry import with_retries

# Day buckets the job looks back over (as the deadline job does): a job down for longer leaves
# older requests unsent, which is better than a review request weeks late.
LOOK_BACK_DAYS = 8


def _setting(value: AutomationMap) -> Automation:
    return Automation(enabled=bool(value.enabled), text=str(value.text),
                      after_days=None if value.after_days is None else int(value.after_days),
                      since=None if value.since is None else float(value.since))


def _map(setting: Automation) -> AutomationMap:
    return AutomationMap(enabled=setting.enabled, text=setting.text, after_days=setting.after_days,
                         since=setting.since)


class AutomationsRepository:
    def get(self, shop_id: str) -> Automations | None:
        """One strongly consistent GetItem (a moment reads the owner's words as just saved)."""
        try:
            item = with_retries(lambda: AutomationsItem.get(shop_pk(shop_id), AUTOMATIONS_SK, consistent_read=True))
        except AutomationsItem.DoesNotExist:
            return None
        return Automations(shop_id=item.shop_id, first_order_thanks=_setting(item.first_order_thanks),
                           review_request=_setting(item.review_request), welcome_back=_setting(item.welcome_back),
                           updated_at=float(item.updated_at))

    def save(self, automations: Automations) -> None:
        """One PutItem: the three replaced whole."""
        a = automations
        item = AutomationsItem(shop_pk(a.shop_id), AUTOMATIONS_SK, shop_id=a.shop_id,
                               first_order_thanks=_map(a.first_order_thanks), review_request=_map(a.review_request),
                               welcome_back=_map(a.welcome_back), updated_at=a.updated_at)
        with_retries(lambda: item.save())

    # -- review requests due ---------------------------------------------------------------
    def add_due(self, due: ReviewDue) -> None:
        """One PutItem; the same order and time is the same item (a replay writes it again)."""
        item = due_item(REVIEW_DUE, due.at, due.order_id)
        with_retries(lambda: item.save())

    def due(self, now: float, look_back_days: int = LOOK_BACK_DAYS) -> Iterator[ReviewDue]:
        """Requests due by ``now``, oldest day first: one Query page (``storage.due.DUE_PAGE``) at a time,
        the next read only when the caller wants more."""
        for item in due_items(REVIEW_DUE, now, look_back_days):
            yield ReviewDue(order_id=item.order_id, at=float(item.at))

    def drop_due(self, due: ReviewDue) -> None:
        """One DeleteItem (idempotent; a second for an item written before the buckets were sharded)."""
        drop_due(REVIEW_DUE, due.at, due.order_id)
