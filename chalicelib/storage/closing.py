"""What closing an account needs of storage beyond the domains' own repositories: its steps,
retiring a store link, and which of some accounts are still open."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from pynamodb.exceptions import PutError, UpdateError

from chalicelib.records.closing import ClosingStep
from chalicelib.storage.accounts import PROFILE, CONDITION_FAILED
from chalicelib.storage.models.accounts import UserItem, user_pk
from chalicelib.storage.models.closing import ClosingStepItem, closing_pk, step_sk
from chalicelib.storage.models.store_links import StoreLinkItem, link_pk, LINK_SK
from chalicelib.storage.retry import with_retries

# A step is needed until it has run; TTL tidies it up after this long.
STEP_KEPT_SECONDS = 30 * 24 * 3600


class ClosingRepository:
    def enqueue(self, step: ClosingStep) -> bool:
        """Write the step once: ``False`` when it was already written (a replay)."""
        item = ClosingStepItem(closing_pk(step.user_id), step_sk(step.kind, step.seq), user_id=step.user_id,
                               kind=step.kind, seq=step.seq, shop_id=step.shop_id, shop_name=step.shop_name,
                               closed_at=step.closed_at, after=step.after,
                               expires_at=datetime.fromtimestamp(step.closed_at + STEP_KEPT_SECONDS, UTC))
        try:
            with_retries(lambda: item.save(condition=ClosingStepItem.pk.does_not_exist()))
        except PutError as error:
            if error.cause_response_code == CONDITION_FAILED:
                return False
            raise
        return True

    def retire_link(self, code: str, owner_id: str, now: float) -> bool:
        """Mark the link retired (once: a replay keeps the first time); its counts stay.
        ``False`` when it was retired already or is not the owner's."""
        item = StoreLinkItem(link_pk(code), LINK_SK)
        try:
            with_retries(lambda: item.update(
                actions=[StoreLinkItem.retired_at.set(now)],
                condition=StoreLinkItem.pk.exists() & (StoreLinkItem.owner_id == owner_id)
                & StoreLinkItem.retired_at.does_not_exist()))
        except UpdateError as error:
            if error.cause_response_code == CONDITION_FAILED:
                return False
            raise
        return True

    def open_accounts(self, user_ids: Iterable[str]) -> set[str]:
        """Which of ``user_ids`` still have a profile: one BatchGetItem per 100 ids."""
        keys = [(user_pk(user_id), PROFILE) for user_id in dict.fromkeys(user_ids)]
        if not keys:
            return set()
        return {item.user_id for item in with_retries(lambda: list(UserItem.batch_get(keys)))}
