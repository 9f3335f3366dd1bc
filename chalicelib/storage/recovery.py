"""One-time codes in DynamoDB: one item per purpose and subject, tried by conditional writes."""

from __future__ import annotations

from datetime import UTC, datetime

from pynamodb.exceptions import DeleteError, UpdateError

from chalicelib.records.recovery import EXPIRED, LOCKED, MISSING, Code
from chalicelib.storage.accounts import PROFILE
from chalicelib.storage.models.accounts import UserItem, user_pk
from chalicelib.storage.models.recovery import CodeItem, code_pk
from chalicelib.storage.retry import with_retries

SK = "CODE"
CONDITION_FAILED = "ConditionalCheckFailedException"
KEEP_SECONDS = 86400  # the item outlives its code by a day (TTL deletion is lazy anyway)


def _to_code(purpose: str, subject: str, item: CodeItem) -> Code:
    return Code(purpose=purpose, subject=subject, user_id=item.user_id, channel=item.channel, target=item.target,
                code_hash=item.code_hash, issued_at=float(item.issued_at), valid_until=float(item.valid_until),
                tries=int(item.tries or 0))


class CodesRepository:
    def put(self, code: Code) -> None:
        """The subject's new code, replacing any earlier one (its tries with it): one PutItem."""
        item = CodeItem(code_pk(code.purpose, code.subject), SK, user_id=code.user_id, channel=code.channel,
                        target=code.target, code_hash=code.code_hash, tries=0, issued_at=code.issued_at,
                        valid_until=code.valid_until,
                        expires_at=datetime.fromtimestamp(code.valid_until + KEEP_SECONDS, UTC))
        with_retries(lambda: item.save())

    def try_code(self, purpose: str, subject: str, now: float, max_tries: int) -> Code | str:
        """Count one try of the subject's code — one conditional write, so parallel guesses
        cannot pass ``max_tries`` — and return the code to compare; else why not: ``MISSING``,
        ``LOCKED`` (``max_tries`` used) or ``EXPIRED``."""
        item = CodeItem(code_pk(purpose, subject), SK)
        try:
            with_retries(lambda: item.update(
                actions=[CodeItem.tries.add(1)],
                condition=CodeItem.pk.exists() & (CodeItem.tries < max_tries) & (CodeItem.valid_until > now)))
            return _to_code(purpose, subject, item)
        except UpdateError as error:
            if error.cause_response_code != CONDITION_FAILED:
                raise
        try:
            found = with_retries(lambda: CodeItem.get(code_pk(purpose, subject), SK, consistent_read=True))
        except CodeItem.DoesNotExist:
            return MISSING
        return LOCKED if int(found.tries or 0) >= max_tries else EXPIRED

    def use(self, code: Code) -> bool:
        """Delete the code if it is still this one: ``False`` when a parallel request used it, or
        a new code replaced it, meanwhile."""
        try:
            with_retries(lambda: CodeItem(code_pk(code.purpose, code.subject), SK).delete(
                condition=CodeItem.code_hash == code.code_hash))
        except DeleteError as error:
            if error.cause_response_code == CONDITION_FAILED:
                return False
            raise
        return True

    def mark_verified(self, user_id: str, kind: str, value: str, now: float) -> bool:
        """Record that the account's e-mail or phone (``kind``) received a code, if it is still
        ``value``: ``False`` when the account changed it (or closed) meanwhile."""
        attribute = getattr(UserItem, kind)
        try:
            with_retries(lambda: UserItem(user_pk(user_id), PROFILE).update(
                actions=[getattr(UserItem, f"{kind}_verified_at").set(now)],
                condition=UserItem.pk.exists() & (attribute == value)))
        except UpdateError as error:
            if error.cause_response_code == CONDITION_FAILED:
                return False
            raise
        return True
