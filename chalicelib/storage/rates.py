"""Abuse limits in DynamoDB: one conditional write per request, never a read first.

* ``take(ticket)`` — a standalone ``UpdateItem``: ``ADD hits 1`` if ``hits < limit``. Used by
  the routes without a user (sign-up, login), before any other work.
* ``add_quota(tx, ticket)`` — the same update as one more item of the request's own
  transaction (follow, like, comment, share, post, order), so the limit costs no extra call
  and a refused request changes nothing; ``raise_if_limited`` reads the cancellation.
* the login lock (``LoginLocks``): see ``services.rates.LockPolicy``.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from pynamodb.exceptions import UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from chalicelib.errors import RateLimited
from chalicelib.records.rates import LockPolicy, Ticket
from chalicelib.storage.models.rates import LoginLockItem, RateWindowItem, day_sk, login_pk, rate_pk, window_sk
from chalicelib.storage.retry import with_retries
from chalicelib.storage.transactions import Cancelled, Transaction

QUOTA = "rate-limit"  # the label of the quota item in a transaction
CONDITION_FAILED = "ConditionalCheckFailedException"
# Counters outlive their window by a minute (TTL deletion is lazy anyway; nothing reads them).
WINDOW_GRACE_SECONDS = 60
LOCK_RETENTION_SECONDS = 2 * 86400


def _expiry(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _window(ticket: Ticket) -> tuple[RateWindowItem, list[Action], Condition]:
    item = RateWindowItem(rate_pk(ticket.rule.name, ticket.subject), window_sk(ticket.window_start))
    actions: list[Action] = [RateWindowItem.hits.add(1),
               RateWindowItem.expires_at.set(_expiry(ticket.window_end + WINDOW_GRACE_SECONDS))]
    condition = RateWindowItem.hits.does_not_exist() | (RateWindowItem.hits < ticket.rule.limit)
    return item, actions, condition


def limited(ticket: Ticket, now: float) -> RateLimited:
    seconds = ticket.retry_after(now)
    return RateLimited(f"Too many {ticket.rule.name} requests: at most {ticket.rule.limit} every "
                       f"{ticket.rule.window} seconds. Try again in {seconds} seconds.", retry_after=seconds)


def add_quota(tx: Transaction, ticket: Ticket | None) -> Transaction:
    """Count this request against ``ticket``'s window inside ``tx`` (nothing when None)."""
    if ticket is not None:
        item, actions, condition = _window(ticket)
        tx.update(item, actions, condition=condition, label=QUOTA)
    return tx


def raise_if_limited(cancelled: Cancelled, ticket: Ticket | None, now: float) -> None:
    """``RateLimited`` when the quota is what cancelled the transaction."""
    if ticket is not None and QUOTA in cancelled:
        raise limited(ticket, now) from None


class RateWindows:
    def take(self, ticket: Ticket, now: float) -> None:
        """Count one request, or raise ``RateLimited`` (with the seconds left in the window)."""
        item, actions, condition = _window(ticket)
        try:
            with_retries(lambda: item.update(actions=actions, condition=condition))
        except UpdateError as error:
            if error.cause_response_code == CONDITION_FAILED:
                raise limited(ticket, now) from None
            raise


class LoginLocks:
    """Attempts per account identifier: free ones, then one at a time behind a growing lock."""

    def __init__(self, policy: LockPolicy) -> None:
        self.policy = policy

    def attempt(self, subject: str, now: float) -> int:
        """Claim one login attempt before any password work; its number today, counted from 1.

        ``RateLimited`` (with the seconds left) while the identifier is locked. At most three
        conditional writes, each deciding atomically: a free attempt, else a claim of the lock
        (only when it has expired, so parallel guesses get one through), else refused.
        """
        key = (login_pk(subject), day_sk(int(now // 86400)))
        keep = LoginLockItem.expires_at.set(_expiry(now + LOCK_RETENTION_SECONDS))
        free = LoginLockItem(*key)
        try:
            with_retries(lambda: free.update(
                actions=[LoginLockItem.tries.add(1), keep],
                condition=LoginLockItem.tries.does_not_exist() | (LoginLockItem.tries < self.policy.free)))
            return int(free.tries)
        except UpdateError as error:
            if error.cause_response_code != CONDITION_FAILED:
                raise
        claim = LoginLockItem(*key)
        try:
            with_retries(lambda: claim.update(
                actions=[LoginLockItem.tries.add(1), LoginLockItem.locked_until.set(now + self.policy.base), keep],
                condition=LoginLockItem.locked_until.does_not_exist() | (LoginLockItem.locked_until <= now)))
        except UpdateError as error:
            if error.cause_response_code != CONDITION_FAILED:
                raise
            raise self._locked(key, now) from None
        tries = int(claim.tries)
        lock = self.policy.lock_seconds(tries)
        if lock > self.policy.base:
            # Only this attempt holds the lock now; lengthen it to what its number deserves.
            try:
                with_retries(lambda: claim.update(actions=[LoginLockItem.locked_until.set(now + lock)],
                                                  condition=LoginLockItem.tries == tries))
            except UpdateError as error:
                if error.cause_response_code != CONDITION_FAILED:  # else: a new day began meanwhile
                    raise
        return tries

    def succeeded(self, subject: str, now: float) -> None:
        """A correct password: forget today's attempts (the lock with them)."""
        with_retries(lambda: LoginLockItem(login_pk(subject), day_sk(int(now // 86400))).delete())

    def _locked(self, key: tuple[str, str], now: float) -> RateLimited:
        try:
            until = float(with_retries(lambda: LoginLockItem.get(*key, consistent_read=True)).locked_until or now)
        except LoginLockItem.DoesNotExist:
            until = now
        seconds = max(1, math.ceil(until - now))
        return RateLimited(f"Too many login attempts for this account; try again in {seconds} seconds.",
                           retry_after=seconds)
