"""Saved cards: one item per user, beside the profile."""

from __future__ import annotations

from pynamodb.exceptions import DeleteError

from chalicelib.errors import AccountClosed
from chalicelib.records.payment_methods import SavedCard
from chalicelib.storage.accounts import PROFILE, _connection
from chalicelib.storage.models.accounts import UserItem, user_pk
from chalicelib.storage.models.payment_methods import SAVED_CARD, SavedCardItem
from chalicelib.storage.retry import with_retries
from chalicelib.storage.transactions import Cancelled, Transaction

CONDITION_FAILED = "ConditionalCheckFailedException"


def to_card(item: SavedCardItem) -> SavedCard:
    return SavedCard(user_id=item.user_id, billing_key=item.billing_key, saved_at=float(item.saved_at),
                     issuer=item.issuer, last4=item.last4)


class PaymentMethodsRepository:
    def get_card(self, user_id: str) -> SavedCard | None:
        """One strongly consistent GetItem (a card just saved or removed is read as it is now)."""
        try:
            return to_card(with_retries(lambda: SavedCardItem.get(user_pk(user_id), SAVED_CARD,
                                                                  consistent_read=True)))
        except SavedCardItem.DoesNotExist:
            return None

    def save_card(self, card: SavedCard) -> None:
        """Write (or replace) the card if the account still exists: one TransactWriteItems (the
        card, a check of the profile), so nothing is saved for an account closed meanwhile."""
        item = SavedCardItem(user_pk(card.user_id), SAVED_CARD, user_id=card.user_id, billing_key=card.billing_key,
                             issuer=card.issuer, last4=card.last4, saved_at=card.saved_at)
        tx = (Transaction(_connection(), return_consumed_capacity="NONE")
              .put(item, label="card")
              .check(UserItem, user_pk(card.user_id), PROFILE, condition=UserItem.pk.exists(), label="profile"))
        try:
            tx.commit()
        except Cancelled as cancelled:
            if "profile" in cancelled:
                raise AccountClosed("The account no longer exists.") from None
            raise

    def delete_card(self, user_id: str) -> bool:
        """Remove the card (idempotent): True if there was one."""
        try:
            with_retries(lambda: SavedCardItem(user_pk(user_id), SAVED_CARD).delete(
                condition=SavedCardItem.pk.exists()))
        except DeleteError as error:
            if error.cause_response_code == CONDITION_FAILED:
                return False
            raise
        return True

    def forget(self, user_id: str) -> int:
        """A closed account's card goes (idempotent): 1 if there was one, else 0."""
        return int(self.delete_card(user_id))
