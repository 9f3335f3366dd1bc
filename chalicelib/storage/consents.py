"""Advertising consents (``storage/models/consents.py``): read, change with a record, list, forget."""

from __future__ import annotations

from chalicelib.errors import AccountClosed
from chalicelib.ids import iso, new_id
from chalicelib.records.common import Page
from chalicelib.records.consents import ConsentRecord, ShopPreference
from chalicelib.storage.accounts import PROFILE, _connection
from chalicelib.storage.base import MainItem
from chalicelib.storage.models.accounts import UserItem, user_pk
from chalicelib.storage.models.consents import (PREF_PREFIX, RECORD_PREFIX, ConsentRecordItem, ShopPrefItem,
                                                consenting_pk, pref_sk)
from chalicelib.storage.retry import with_retries
from chalicelib.storage.transactions import Cancelled, Transaction


class StaleConsent(Exception):
    """Another request changed the consent between this one's read and its write."""


def to_pref(item: ShopPrefItem) -> ShopPreference:
    return ShopPreference(user_id=item.user_id, shop_id=item.shop_id, marketing=bool(item.marketing),
                          marketing_at_night=bool(item.marketing_at_night),
                          consented_at=None if item.consented_at is None else float(item.consented_at),
                          night_consented_at=None if item.night_consented_at is None else float(item.night_consented_at),
                          updated_at=float(item.updated_at))


class ConsentsRepository:
    def get(self, user_id: str, shop_id: str) -> ShopPreference | None:
        """One strongly consistent GetItem."""
        try:
            return to_pref(with_retries(lambda: ShopPrefItem.get(user_pk(user_id), pref_sk(shop_id),
                                                                 consistent_read=True)))
        except ShopPrefItem.DoesNotExist:
            return None

    def save(self, current: ShopPreference | None, updated: ShopPreference) -> None:
        """The new settings and their record in one TransactWriteItems, conditional on the
        settings read (absent, or the ``updated_at`` read) and on the account still existing;
        ``StaleConsent`` if another change came first."""
        assert updated.updated_at is not None
        user, shop = updated.user_id, updated.shop_id
        item = ShopPrefItem(user_pk(user), pref_sk(shop), user_id=user, shop_id=shop, marketing=updated.marketing,
                            marketing_at_night=updated.marketing_at_night, consented_at=updated.consented_at,
                            night_consented_at=updated.night_consented_at, updated_at=updated.updated_at)
        if updated.marketing:
            item.gsi2pk, item.gsi2sk = consenting_pk(shop), user
        condition = (ShopPrefItem.pk.does_not_exist() if current is None
                     else ShopPrefItem.updated_at == current.updated_at)
        record = ConsentRecordItem(user_pk(user), f"{RECORD_PREFIX}{shop}#{iso(updated.updated_at)}#{new_id()}",
                                   user_id=user, shop_id=shop, marketing=updated.marketing,
                                   marketing_at_night=updated.marketing_at_night, at=updated.updated_at)
        tx = (Transaction(_connection(), return_consumed_capacity="NONE")
              .put(item, condition=condition, label="pref")
              .put(record, label="record")
              .check(UserItem, user_pk(user), PROFILE, condition=UserItem.pk.exists(), label="profile"))
        try:
            tx.commit()
        except Cancelled as cancelled:
            if "profile" in cancelled:
                raise AccountClosed("The account no longer exists.") from None
            if "pref" in cancelled:
                raise StaleConsent("The consent was changed by another request.") from None
            raise

    def of_shop(self, shop_id: str, user_ids: list[str]) -> dict[str, ShopPreference]:
        """These customers' settings with the shop (those who never set any are absent): one
        BatchGetItem per 100 customers."""
        keys = [(user_pk(user_id), pref_sk(shop_id)) for user_id in dict.fromkeys(user_ids)]
        if not keys:
            return {}
        prefs = with_retries(lambda: [to_pref(item) for item in ShopPrefItem.batch_get(keys)])
        return {pref.user_id: pref for pref in prefs}

    def records(self, user_id: str, shop_id: str, limit: int = 100) -> list[ConsentRecord]:
        """The customer's consent history with the shop, oldest first."""
        items = with_retries(lambda: list(ConsentRecordItem.query(
            user_pk(user_id), ConsentRecordItem.sk.startswith(f"{RECORD_PREFIX}{shop_id}#"), limit=limit)))
        return [ConsentRecord(user_id=i.user_id, shop_id=i.shop_id, marketing=bool(i.marketing),
                              marketing_at_night=bool(i.marketing_at_night), at=float(i.at)) for i in items]

    def consenting(self, shop_id: str, start_key: dict | None, limit: int) -> Page:
        """A page of the customers consenting to the shop's advertising (user ids, by id)."""
        def page() -> Page:
            results = ShopPrefItem.gsi2.query(consenting_pk(shop_id), limit=limit, page_size=limit,
                                              last_evaluated_key=start_key)
            items = [item.gsi2sk for item in results]
            return Page(items, results.last_evaluated_key)

        return with_retries(page)

    def forget(self, user_id: str) -> int:
        """A closed account's consents go (it is sent nothing any more); idempotent."""
        gone = 0
        for prefix in (PREF_PREFIX, RECORD_PREFIX):
            def mine(prefix: str = prefix) -> list[MainItem]:
                return list(MainItem.query(user_pk(user_id), MainItem.sk.startswith(prefix)))

            for item in with_retries(mine):
                with_retries(item.delete)
                gone += 1
        return gone
