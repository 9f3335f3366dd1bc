"""Store links, visits, remembered visitors, the reward ledger; and the items that orders'
transactions add for them (``add_referral``, ``add_remembered``, ``add_settlement``).

Access patterns (each one GetItem, Query or one transaction; see docs/store-links.md):

* a link by code: GetItem ``LINK#<code>`` / ``LINK`` (in the order's BatchGetItem when ordering);
* my links: Query gsi1 ``USER#<user_id>#LINKS``, newest first;
* a buyer's link for a shop (shares, issuing): GetItem ``USER#<user_id>`` / ``STORELINK#<shop_id>``;
* my rewards: GetItem ``USER#<user_id>#REWARDS`` / ``SUMMARY`` + Query its ``ENTRY#`` items;
* a shop's referrals: Query gsi4 ``SHOP#<shop_id>#REFERRALS`` (the credited orders themselves);
* a remembered link: read by the order's transaction as a condition, GetItem only when it hits.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from pynamodb.exceptions import PutError, UpdateError
from pynamodb.expressions.condition import size
from pynamodb.expressions.update import Action

from chalicelib.errors import NotFound
from chalicelib.records.accounts import Shop, User
from chalicelib.records.commerce import Order, Product
from chalicelib.records.common import Page
from chalicelib.records.store_links import (BuyerAtShop, LedgerEntry, Referral, Remembered, RewardsSummary,
                                            Settlement, ShopReferral, StoreLink, VisitorVia)
from chalicelib.storage.accounts import PROFILE, _connection, to_user
from chalicelib.storage.base import MainItem
from chalicelib.storage.models.accounts import ShopItem, UserItem, shop_pk, user_pk
from chalicelib.storage.models.orders import OrderItem
from chalicelib.storage.models.products import ProductItem
from chalicelib.storage.models.social import time_key
from chalicelib.storage.models.store_links import (
    ENTRY_PREFIX, LINK_SK, SUMMARY_SK, FirstBuyItem, LedgerEntryItem, first_buy_sk, LinkOwnerItem, RememberedItem, RewardsSummaryItem,
    VISITOR_ACCOUNT_SK, StoreLinkItem, VisitItem, VisitorAccountItem, VisitorViaItem, entry_sk, link_pk, my_links_pk,
    owner_sk, remembered_sk, rewards_pk, shop_referrals_pk, visit_sk, visitor_pk,
)
from chalicelib.storage.paging import page_of
from chalicelib.storage.products import product_key, to_product
from chalicelib.storage.retry import with_retries
from chalicelib.storage.shops import to_shop
from chalicelib.storage.transactions import Cancelled, Transaction

CONDITION_FAILED = "ConditionalCheckFailedException"

# Labels of the items store links add to an order's transactions.
SHOP_REWARD, LINK, LEDGER, SUMMARY = "shop-reward", "store-link", "ledger-entry", "rewards-summary"
REMEMBERED_CHECK, REMEMBERED_USE, REMEMBERED_DROP = "remembered-check", "remembered-use", "remembered-drop"
FIRST_BUY, FIRST_PAID = "first-buy", "first-paid"
REFERRER = "referrer"  # the link owner's profile: a closed account's link credits nothing


# --- conversions ------------------------------------------------------------------------------


def to_link(item: StoreLinkItem) -> StoreLink:
    return StoreLink(
        code=item.code, owner_id=item.owner_id, owner_name=item.owner_name or "", shop_id=item.shop_id,
        shop_name=item.shop_name or "", give_reward_to_friend=bool(item.give_to_friend), created_at=item.created_at,
        visits=int(item.visits or 0), orders=int(item.orders or 0), rewards=int(item.rewards or 0),
        pending_rewards=int(item.pending_rewards or 0), products=tuple(sorted(item.products or ())),
        recommended=tuple(sorted(item.recommended or ())),
        notes={key: str(value) for key, value in (item.notes.as_dict() if item.notes else {}).items()},
        retired_at=item.retired_at,
    )


def to_entry(item: LedgerEntryItem) -> LedgerEntry:
    return LedgerEntry(entry_id=item.entry_id, user_id=item.user_id, code=item.code, order_id=item.order_id,
                       shop_id=item.shop_id, amount=int(item.amount), status=item.status, reason=item.reason,
                       created_at=item.created_at)


def to_referral_row(item: OrderItem) -> ShopReferral:
    reward = None if item.referral_reward is None else int(item.referral_reward)
    return ShopReferral(order_id=item.order_id, code=item.via_store_link or "", referrer_id=item.referrer_id or "",
                        referrer_name=item.referrer_name or "", buyer_id=item.buyer_id, subtotal=int(item.subtotal),
                        discount=int(item.discount), total=int(item.total), reward=reward,
                        given_to_friend=bool(item.reward_given),
                        order_status=item.status, created_at=item.created_at)


def link_key(code: str) -> tuple[str, str]:
    return link_pk(code), LINK_SK


def remembered_key(user_id: str, shop_id: str) -> tuple[str, str]:
    return user_pk(user_id), remembered_sk(shop_id)


def _entry_item(entry: LedgerEntry) -> LedgerEntryItem:
    return LedgerEntryItem(rewards_pk(entry.user_id), entry_sk(entry.entry_id), entry_id=entry.entry_id,
                           user_id=entry.user_id, code=entry.code, order_id=entry.order_id, shop_id=entry.shop_id,
                           amount=entry.amount, status=entry.status, reason=entry.reason,
                           created_at=entry.created_at)


def _summary_actions(pending: int, balance: int) -> list:
    # An ADD creates the item on the owner's first reward; it carries its entity like any other.
    actions: list[Action] = [RewardsSummaryItem.entity.set(RewardsSummaryItem)]
    if pending:
        actions.append(RewardsSummaryItem.pending.add(pending))
    if balance:
        actions.append(RewardsSummaryItem.balance.add(balance))
    return actions


def _failed(error: Exception) -> bool:
    return getattr(error, "cause_response_code", None) == CONDITION_FAILED


# --- items of orders' transactions --------------------------------------------------------------


def add_referral(tx: Transaction, referral: Referral, shop_version: float | None = None, *,
                 buyer_id: str, order_id: str, hold_until: float, now: float) -> None:
    """The placing transaction's store-link items: the shop still has the reward setting the
    amount came from; the link is the shop's, its owner's, with the give flag as read; and the
    buyer's first-purchase slot at the shop is free (``FirstBuyItem``) and now held by this
    order until ``hold_until``. Nothing is credited yet: the link's counts, the ledger entry and
    the owner's pending total are written when the order is paid (``add_settlement``)."""
    setting = referral.setting
    if setting is None:
        shop_condition = ShopItem.referral_kind.does_not_exist()
    else:
        shop_condition = (ShopItem.referral_kind == setting.kind) & (ShopItem.referral_value == setting.value)
    if shop_version is not None:
        shop_condition = shop_condition & (ShopItem.updated_at == shop_version)
    tx.check(ShopItem, shop_pk(referral.shop_id), PROFILE, condition=shop_condition, label=SHOP_REWARD)
    tx.check(StoreLinkItem, *link_key(referral.code),
             condition=StoreLinkItem.pk.exists() & (StoreLinkItem.shop_id == referral.shop_id)
             & (StoreLinkItem.owner_id == referral.owner_id)
             & (StoreLinkItem.give_to_friend == referral.give_reward_to_friend),
             label=LINK)
    # the link's owner still has an account: from the close on, no order is credited to it, even
    # before the stream has retired its links
    tx.check(UserItem, user_pk(referral.owner_id), PROFILE, condition=UserItem.pk.exists(), label=REFERRER)
    tx.put(FirstBuyItem(user_pk(buyer_id), first_buy_sk(referral.shop_id), order_id=order_id, until=hold_until,
                        paid=False),
           condition=FirstBuyItem.pk.does_not_exist() | ((FirstBuyItem.paid == False) & (FirstBuyItem.until < now)),  # noqa: E712
           label=FIRST_BUY)


def add_first_paid(tx: Transaction, order: Order) -> None:
    """A paid order: the buyer has bought at the shop, so no store link credits them again."""
    tx.update(FirstBuyItem(user_pk(order.buyer_id), first_buy_sk(order.shop_id)),
              [FirstBuyItem.entity.set(FirstBuyItem), FirstBuyItem.paid.set(True),
               FirstBuyItem.first_order_id.set(FirstBuyItem.first_order_id | order.order_id)],
              label=FIRST_PAID)


def add_remembered(tx: Transaction, order: Order, remembered: Remembered | None) -> None:
    """Every order's transaction settles the buyer's remembered link for the shop: an order
    using it deletes it (if it is still the one read); an order credited through a code it
    names deletes whatever is remembered (one link per order, and no second order from one
    visit); any other order checks that none is live, so a missed one cancels and is retried
    with it (``LinkRemembered``). A subscription's period order does none of this: it is the
    standing order the subscriber set up, not an order a link brought."""
    if order.subscription_id is not None:
        return
    key = remembered_key(order.buyer_id, order.shop_id)
    if remembered is not None:
        tx.delete(RememberedItem(*key),
                  condition=(RememberedItem.code == remembered.code) & (RememberedItem.until == remembered.until),
                  label=REMEMBERED_USE)
    elif order.via_store_link is not None:
        tx.delete(RememberedItem(*key), label=REMEMBERED_DROP)
    else:
        tx.check(RememberedItem, *key, condition=RememberedItem.pk.does_not_exist()
                 | (RememberedItem.until <= order.created_at), label=REMEMBERED_CHECK)


def add_settlement(tx: Transaction, settlement: Settlement, with_link: bool = True) -> None:
    """A status change's store-link items: the ledger entry, the link's and the owner's totals."""
    if settlement.entry is not None:
        tx.put(_entry_item(settlement.entry), condition=LedgerEntryItem.pk.does_not_exist(), label=LEDGER)
    if settlement.pending or settlement.confirmed:
        tx.update(RewardsSummaryItem(rewards_pk(settlement.owner_id), SUMMARY_SK),
                  _summary_actions(settlement.pending, settlement.confirmed), label=SUMMARY)
    actions = [attr.add(delta) for attr, delta in ((StoreLinkItem.orders, settlement.orders),
                                                   (StoreLinkItem.pending_rewards, settlement.pending),
                                                   (StoreLinkItem.rewards, settlement.confirmed)) if delta]
    if with_link and actions:
        tx.update(StoreLinkItem(*link_key(settlement.code)), actions, condition=StoreLinkItem.pk.exists(), label=LINK)


def buyer_keys(user_id: str, shop_id: str) -> list[tuple[str, str]]:
    """The buyer's items an order reads with the catalogue: the remembered link, the first-purchase slot."""
    return [remembered_key(user_id, shop_id), (user_pk(user_id), first_buy_sk(shop_id))]


def buyer_at_shop(items: list, user_id: str, shop_id: str, now: float) -> BuyerAtShop:
    """What ``items`` (read with ``buyer_keys``) say, by the same rules as the placing
    transaction's conditions: a remembered link is live while ``until > now``; the slot is free
    when absent, or unpaid with its hold over (``until < now``)."""
    remembered, free = None, True
    for item in items:
        if isinstance(item, RememberedItem) and item.until > now:
            remembered = Remembered(user_id=user_id, shop_id=shop_id, code=item.code, until=item.until)
        elif isinstance(item, FirstBuyItem):
            free = not item.paid and item.until is not None and item.until < now
    return BuyerAtShop(remembered=remembered, first_buy_free=free)


def read_remembered(user_id: str, shop_id: str, now: float) -> Remembered | None:
    """The live remembered link of a buyer for a shop (strongly consistent), or None."""
    try:
        item = with_retries(lambda: RememberedItem.get(*remembered_key(user_id, shop_id), consistent_read=True))
    except RememberedItem.DoesNotExist:
        return None
    if item.until <= now:
        return None
    return Remembered(user_id=user_id, shop_id=shop_id, code=item.code, until=item.until)


def link_from_raw(raw: dict | None) -> StoreLink | None:
    return to_link(StoreLinkItem.from_raw_data(raw)) if raw else None


# --- the repository ---------------------------------------------------------------------------


class StoreLinksRepository:
    def get_link(self, code: str) -> StoreLink | None:
        try:
            return to_link(with_retries(lambda: StoreLinkItem.get(*link_key(code), consistent_read=True)))
        except StoreLinkItem.DoesNotExist:
            return None

    def code_for(self, user_id: str, shop_id: str) -> str | None:
        try:
            return with_retries(lambda: LinkOwnerItem.get(user_pk(user_id), owner_sk(shop_id),
                                                          consistent_read=True)).code
        except LinkOwnerItem.DoesNotExist:
            return None

    def guard(self, user_id: str, shop_id: str) -> tuple[str, str | None] | None:
        """The buyer's link code for the shop and the order that issued it (None for a link
        issued before that was recorded), or None without a link."""
        try:
            item = with_retries(lambda: LinkOwnerItem.get(user_pk(user_id), owner_sk(shop_id), consistent_read=True))
        except LinkOwnerItem.DoesNotExist:
            return None
        return item.code, item.issued_by

    def issue(self, link: StoreLink, issued_by: str | None = None) -> str:
        """``"issued"``, ``"owner_has_link"`` (one exists for the owner and shop) or ``"code_taken"``."""
        item = StoreLinkItem(
            *link_key(link.code), code=link.code, owner_id=link.owner_id, owner_name=link.owner_name,
            shop_id=link.shop_id, shop_name=link.shop_name, give_to_friend=link.give_reward_to_friend, visits=0,
            orders=0, rewards=0, pending_rewards=0, products=set(link.products) or None, recommended=None,
            notes={}, created_at=link.created_at,
            gsi1pk=my_links_pk(link.owner_id), gsi1sk=time_key(link.created_at, link.shop_id),
        )
        guard = LinkOwnerItem(user_pk(link.owner_id), owner_sk(link.shop_id), owner_id=link.owner_id,
                              shop_id=link.shop_id, code=link.code, issued_by=issued_by)
        tx = (Transaction(_connection())
              .put(guard, condition=LinkOwnerItem.pk.does_not_exist(), label="owner")
              .put(item, condition=StoreLinkItem.pk.does_not_exist(), label="code"))
        try:
            tx.commit()
        except Cancelled as cancelled:
            return "owner_has_link" if "owner" in cancelled else "code_taken"
        return "issued"

    def add_products(self, code: str, product_ids: Sequence[str], cap: int) -> None:
        """Add bought products (a set: replays add nothing); beyond ``cap`` products, no more."""
        target = StoreLinkItem(*link_key(code))
        condition = StoreLinkItem.pk.exists() & (StoreLinkItem.products.does_not_exist()
                                                 | (size(StoreLinkItem.products) < cap))
        try:
            with_retries(lambda: target.update(actions=[StoreLinkItem.products.add(set(product_ids))],
                                               condition=condition))
        except UpdateError as error:
            if not _failed(error):
                raise

    def recommend(self, code: str, product_id: str, note: str | None, recommended: bool) -> None:
        actions: list[Action]
        if recommended:
            actions = [StoreLinkItem.recommended.add({product_id})]
            if note:
                actions.append(StoreLinkItem.notes[product_id].set(note))
        else:
            actions = [StoreLinkItem.recommended.delete({product_id}), StoreLinkItem.notes[product_id].remove()]
        target = StoreLinkItem(*link_key(code))
        try:
            with_retries(lambda: target.update(actions=actions, condition=StoreLinkItem.pk.exists()))
        except UpdateError as error:
            if not _failed(error):
                raise

    def count_visit(self, code: str, day: str, visitor: str, expires_at: float) -> bool:
        """One transaction: the day's guard for this visitor and the link's ``visits`` + 1.
        ``False`` when the visitor was already counted today."""
        guard = VisitItem(link_pk(code), visit_sk(day, visitor), expires_at=datetime.fromtimestamp(expires_at, UTC))
        tx = (Transaction(_connection())
              .put(guard, condition=VisitItem.sk.does_not_exist(), label="visit")
              .update(StoreLinkItem(*link_key(code)), [StoreLinkItem.visits.add(1)],
                      condition=StoreLinkItem.pk.exists(), label=LINK))
        try:
            tx.commit()
        except Cancelled as cancelled:
            if "visit" in cancelled:
                return False
            raise NotFound("No such store link.") from None
        return True

    def remember(self, remembered: Remembered, now: float) -> bool:
        """Remember the link unless another live one is (the first link wins); the same link
        visited again is remembered for another 14 days. ``False`` when another one is kept."""
        item = RememberedItem(*remembered_key(remembered.user_id, remembered.shop_id), user_id=remembered.user_id,
                              shop_id=remembered.shop_id, code=remembered.code, until=remembered.until,
                              expires_at=datetime.fromtimestamp(remembered.until, UTC))
        condition = (RememberedItem.pk.does_not_exist() | (RememberedItem.until <= now)
                     | (RememberedItem.code == remembered.code))
        try:
            with_retries(lambda: item.save(condition=condition))
        except PutError as error:
            if not _failed(error):
                raise
            return False
        return True

    def note_visitor(self, via: VisitorVia, now: float) -> bool:
        """Keep an anonymous visitor's link for the shop unless another live one is kept (the
        first link wins, as ``remember``). ``False`` when another one is kept."""
        item = VisitorViaItem(visitor_pk(via.visitor_id), remembered_sk(via.shop_id), shop_id=via.shop_id,
                              code=via.code, owner_id=via.owner_id, until=via.until,
                              expires_at=datetime.fromtimestamp(via.until, UTC))
        condition = (VisitorViaItem.pk.does_not_exist() | (VisitorViaItem.until <= now)
                     | (VisitorViaItem.code == via.code))
        try:
            with_retries(lambda: item.save(condition=condition))
        except PutError as error:
            if not _failed(error):
                raise
            return False
        return True

    def visitor_links(self, visitor_id: str, limit: int) -> list[VisitorVia]:
        """The visitor's kept links, at most ``limit`` (one Query of the visitor's partition)."""
        def read() -> list[VisitorVia]:
            return [VisitorVia(visitor_id=visitor_id, shop_id=item.shop_id, code=item.code, owner_id=item.owner_id,
                               until=item.until)
                    for item in VisitorViaItem.query(visitor_pk(visitor_id), VisitorViaItem.sk.startswith("VIA#"),
                                                     limit=limit, consistent_read=True)]

        return with_retries(read)

    def claim_visitor(self, visitor_id: str, user_id: str, now: float, keep_seconds: float) -> bool:
        """Bind the visitor id to the account: ``True`` if it is now (or already was) this
        account's, ``False`` if another account has it."""
        item = VisitorAccountItem(visitor_pk(visitor_id), VISITOR_ACCOUNT_SK, user_id=user_id, bound_at=now,
                                  expires_at=datetime.fromtimestamp(now + keep_seconds, UTC))
        condition = VisitorAccountItem.pk.does_not_exist() | (VisitorAccountItem.user_id == user_id)
        try:
            with_retries(lambda: item.save(condition=condition))
        except PutError as error:
            if not _failed(error):
                raise
            return False
        return True

    def set_give(self, link: StoreLink, give: bool) -> StoreLink:
        target = StoreLinkItem(*link_key(link.code))
        try:
            with_retries(lambda: target.update(actions=[StoreLinkItem.give_to_friend.set(give)],
                                               condition=StoreLinkItem.owner_id == link.owner_id))
        except UpdateError as error:
            if not _failed(error):
                raise
            raise NotFound("No such store link.") from None  # gone meanwhile
        return to_link(target)

    def list_links(self, user_id: str, start_key: dict | None, limit: int) -> Page:
        def read() -> Page:
            results = StoreLinkItem.gsi1.query(my_links_pk(user_id), scan_index_forward=False, limit=limit,
                                               last_evaluated_key=start_key)
            return page_of(results, limit, to_link)

        return with_retries(read)

    def summary(self, user_id: str) -> RewardsSummary:
        try:
            item = with_retries(lambda: RewardsSummaryItem.get(rewards_pk(user_id), SUMMARY_SK, consistent_read=True))
        except RewardsSummaryItem.DoesNotExist:
            return RewardsSummary()
        return RewardsSummary(balance=int(item.balance or 0), pending=int(item.pending or 0))

    def ledger(self, user_id: str, start_key: dict | None, limit: int) -> Page:
        def read() -> Page:
            results = LedgerEntryItem.query(rewards_pk(user_id), LedgerEntryItem.sk.startswith(ENTRY_PREFIX),
                                            scan_index_forward=False, limit=limit, consistent_read=True,
                                            last_evaluated_key=start_key)
            return page_of(results, limit, to_entry)

        return with_retries(read)

    def shop_referrals(self, shop_id: str, start_key: dict | None, limit: int) -> Page:
        def read() -> Page:
            results = OrderItem.gsi4.query(shop_referrals_pk(shop_id), scan_index_forward=False, limit=limit,
                                           last_evaluated_key=start_key)
            return page_of(results, limit, to_referral_row)

        return with_retries(read)

    def landing_parts(self, link: StoreLink, product_ids: Sequence[str]) -> tuple[
            User | None, Shop | None, dict[str, Product]]:
        """The owner, the shop and the products a landing shows: one BatchGetItem."""
        keys = [(user_pk(link.owner_id), PROFILE), (shop_pk(link.shop_id), PROFILE),
                *(product_key(pid) for pid in dict.fromkeys(product_ids))]
        owner, shop, products = None, None, {}
        for item in with_retries(lambda: list(MainItem.batch_get(keys))):
            if isinstance(item, UserItem):
                owner = to_user(item)
            elif isinstance(item, ShopItem):
                shop = to_shop(item)
            elif isinstance(item, ProductItem):
                products[item.product_id] = to_product(item)
        return owner, shop, products
