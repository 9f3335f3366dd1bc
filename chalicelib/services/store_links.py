"""The one-person store (일인상점): every buyer's own store link, one-level rewards, the ledger.

* **Issuing.** A buyer's first order from a shop issues their link for that shop, from the
  order's stream record (``issue_for_order``), not in the order's transaction: a transaction
  cannot "put the link unless the buyer has one" without cancelling the order, and reading
  first would add a call to every order. The stream handler is idempotent (a guard item per
  buyer and shop; replays and racing records issue one link) and the link is there a moment
  after the order.
* **Codes** are 10 characters from a 31-letter alphabet without look-alikes (``0/o``,
  ``1/l/i``), drawn with ``secrets``: ~49 bits, unguessable, short enough to read out. The
  link item is keyed by its code and put with ``attribute_not_exists``, so a collision
  cancels the issue and a new code is drawn.
* **Attribution, one level.** An order names a link (``via_store_link``) or, without one,
  uses the link its buyer visited signed in within 14 days (the first link wins). The link
  must be the order's shop's (422 otherwise); its owner is credited, nobody above them; the
  owner's own orders are never credited. ``referral_for`` decides what the order earns.
* **Rewards.** The shop's setting: ``percent`` of the subtotal (1-30, rounded down) or a
  ``fixed`` sum (100-50,000 won, at most the subtotal; bounds in ``services.limits``, checked
  by the request schema). No setting, no reward: the link
  still counts the order. With ``give_reward_to_friend`` the reward is the friend's
  ``discount`` and the owner's entry is 0 with reason ``given_to_friend``.
* **The ledger** is append-only: the placing transaction writes the pending entry; delivery
  appends ``confirmed``, cancellation ``cancelled`` (``settlement_for``), each in the
  transaction of the conditional status change, so never twice.
* **Visits** are counted per distinct visitor per link and UTC day (``visitor_key``): a
  thousand calls of one visitor count once; the link's owner is not counted.

Nothing here knows HTTP or DynamoDB; stores are passed in.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from chalicelib.errors import FieldProblem, Forbidden, Invalid, NotFound
from chalicelib.ids import new_id
from chalicelib.records.accounts import Shop, User
from chalicelib.records.commerce import Order, Product
from chalicelib.records.common import Page
from chalicelib.records.store_links import (
    CANCELLED, CONFIRMED, PENDING, PERCENT, REASON_CANCELLED, REASON_DELIVERED, REASON_GIVEN,
    REASON_REFERRAL, Landing, LandingProduct, LedgerEntry, Referral, Remembered, RewardSetting, RewardsSummary,
    Settlement, StoreLink,
)
from chalicelib.services.limits import LINK_CODE_LENGTH, REWARD_FIXED, REWARD_PERCENT
from chalicelib.services.shops import ShopsStore, owned_shop

CODE_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
CODE_LENGTH = LINK_CODE_LENGTH
# Attempts at drawing a free code: with 31^10 codes a second draw is already a curiosity.
CODE_ATTEMPTS = 5
DAY_SECONDS = 24 * 3600
REMEMBER_SECONDS = 14 * DAY_SECONDS
# A visit guard is needed for its day only; TTL tidies it up a day later.
VISIT_GUARD_SECONDS = 2 * DAY_SECONDS
PERCENT_MIN, PERCENT_MAX = REWARD_PERCENT
FIXED_MIN, FIXED_MAX = REWARD_FIXED
# A landing shows at most this many products (recommended first, then the most recent buys);
# a link remembers at most PRODUCTS_MAX bought products (the item stays small).
LANDING_PRODUCTS = 12
PRODUCTS_MAX = 50
NOTE_MAX = 140
# Ratings that make a bought product "recommended" on the owner's landing, and that take it back.
RECOMMEND_AT, UNRECOMMEND_AT = 4, 2

DELIVERED, CANCELLED_STATUS, PAID_STATUS = "delivered", "cancelled", "paid"


class StoreLinksStore(Protocol):
    def get_link(self, code: str) -> StoreLink | None: ...
    def code_for(self, user_id: str, shop_id: str) -> str | None: ...
    def guard(self, user_id: str, shop_id: str) -> tuple[str, str | None] | None: ...
    def issue(self, link: StoreLink, issued_by: str | None = None) -> str: ...
    def add_products(self, code: str, product_ids: Sequence[str], cap: int) -> None: ...
    def recommend(self, code: str, product_id: str, note: str | None, recommended: bool) -> None: ...
    def count_visit(self, code: str, day: str, visitor: str, expires_at: float) -> bool: ...
    def remember(self, remembered: Remembered, now: float) -> bool: ...
    def set_give(self, link: StoreLink, give: bool) -> StoreLink: ...
    def list_links(self, user_id: str, start_key: dict | None, limit: int) -> Page: ...
    def summary(self, user_id: str) -> RewardsSummary: ...
    def ledger(self, user_id: str, start_key: dict | None, limit: int) -> Page: ...
    def shop_referrals(self, shop_id: str, start_key: dict | None, limit: int) -> Page: ...
    def landing_parts(self, link: StoreLink, product_ids: Sequence[str]) -> tuple[
        User | None, Shop | None, dict[str, Product]]: ...


class Accounts(Protocol):
    def get_user(self, user_id: str) -> User | None: ...


# --- pure rules ------------------------------------------------------------------------------


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def link_url(public_base_url: str, code: str) -> str:
    return f"{public_base_url.rstrip('/')}/store-links/{code}"


# The floor: a store link's reward (or the friend's discount) is never more than this share of
# the order's subtotal, so a fixed reward set near a product's price cannot make it free.
MAX_REWARD_PERCENT = 50


def reward_amount(setting: RewardSetting, subtotal: int) -> int:
    """Won a referred order earns: a percentage rounded down, or the fixed sum; never above
    half the order's subtotal (``MAX_REWARD_PERCENT``), so a discount never takes an order's
    goods below half their price."""
    amount = subtotal * setting.value // 100 if setting.kind == PERCENT else setting.value
    return max(0, min(amount, subtotal * MAX_REWARD_PERCENT // 100))


def referral_for(link: StoreLink | None, shop: Shop, buyer_id: str, order_id: str, subtotal: int,
                 now: float) -> Referral | None:
    """What an order through ``link`` earns, or None when it is not credited (no link, or the
    buyer's own link: a link owner's own orders earn nothing)."""
    if link is None or link.owner_id == buyer_id:
        return None
    setting = shop.referral_reward
    if setting is None:
        return Referral(code=link.code, owner_id=link.owner_id, owner_name=link.owner_name, shop_id=shop.shop_id,
                        give_reward_to_friend=link.give_reward_to_friend, setting=None, reward=None, discount=0,
                        entry=None)
    amount = reward_amount(setting, subtotal)
    given = link.give_reward_to_friend
    entry = LedgerEntry(entry_id=new_id(), user_id=link.owner_id, code=link.code, order_id=order_id,
                        shop_id=shop.shop_id, amount=0 if given else amount, status=PENDING,
                        reason=REASON_GIVEN if given else REASON_REFERRAL, created_at=now)
    return Referral(code=link.code, owner_id=link.owner_id, owner_name=link.owner_name, shop_id=shop.shop_id,
                    give_reward_to_friend=given, setting=setting, reward=entry.amount,
                    discount=amount if given else 0, entry=entry)


def settlement_for(order: Order, target: str, now: float) -> Settlement | None:
    """What moving a credited order to ``target`` writes to its link and its owner's ledger."""
    if order.via_store_link is None or order.referrer_id is None:
        return None
    reward = order.referral_reward

    def entry(status: str, reason: str) -> LedgerEntry:
        return LedgerEntry(entry_id=new_id(), user_id=order.referrer_id, code=order.via_store_link,
                           order_id=order.order_id, shop_id=order.shop_id, amount=reward or 0, status=status,
                           reason=reason, created_at=now)

    # Orders placed before checkout (no ``payment``) were credited when placed; every later
    # order is credited when it is paid.
    credited_when_paid = order.payment is not None
    if target == PAID_STATUS:
        if not credited_when_paid:
            return None
        # the order counts from its payment: the link's order and the owner's pending reward
        reason = REASON_GIVEN if order.reward_given else REASON_REFERRAL
        return Settlement(code=order.via_store_link, owner_id=order.referrer_id, orders=1, pending=reward or 0,
                          confirmed=0, entry=None if reward is None else entry(PENDING, reason))
    if credited_when_paid and order.paid_at is None:
        return None  # never paid: the link was never credited, so there is nothing to take back
    if target == DELIVERED:
        if reward is None:
            return None
        reason = REASON_GIVEN if order.reward_given else REASON_DELIVERED
        return Settlement(code=order.via_store_link, owner_id=order.referrer_id, orders=0, pending=-reward,
                          confirmed=reward, entry=entry(CONFIRMED, reason))
    if target == CANCELLED_STATUS:
        return Settlement(code=order.via_store_link, owner_id=order.referrer_id, orders=-1, pending=-(reward or 0),
                          confirmed=0, entry=None if reward is None else entry(CANCELLED, REASON_CANCELLED))
    return None


def visitor_key(user_id: str | None, address: str, agent: str, secret: str) -> str:
    """Who a visit is from, for counting distinct visitors: the account when signed in, else a
    keyed hash of the client's address and user agent (the address itself is not stored)."""
    if user_id:
        return f"u:{user_id}"
    digest = hmac.new(secret.encode(), f"store-link-visitor\x00{address}\x00{agent}".encode(), hashlib.sha256)
    return f"a:{digest.hexdigest()[:24]}"


def utc_day(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d")


def landing_of(link: StoreLink, owner: User | None, shop: Shop | None, products: dict[str, Product]) -> Landing:
    if owner is None or shop is None:
        raise NotFound("No such store link.")  # the owner closed their account, or the shop is gone
    friend = shop.referral_reward if link.give_reward_to_friend else None
    shown = []
    for pid in _landing_order(link):
        product = products.get(pid)
        if product is None or product.shop_id != link.shop_id:
            continue
        shown.append(LandingProduct(
            product_id=pid, name=product.name, price=product.price, currency=product.currency, kind=product.kind,
            photo=product.photos[0] if product.photos else None, in_stock=product.stock > 0,
            bought=pid in link.products, recommended=pid in link.recommended, note=link.notes.get(pid)))
    return Landing(code=link.code, owner_name=owner.name, shop_id=shop.shop_id, shop_name=shop.name,
                   shop_handle=shop.handle, shop_region=shop.region, products=tuple(shown), friend_discount=friend)


def _landing_order(link: StoreLink) -> list[str]:
    """Recommended products first, then the other bought ones; at most LANDING_PRODUCTS."""
    ordered = [*sorted(link.recommended), *sorted(p for p in link.products if p not in link.recommended)]
    return ordered[:LANDING_PRODUCTS]


# --- use cases -------------------------------------------------------------------------------


def get_link(store: StoreLinksStore, code: str) -> StoreLink:
    link = store.get_link(code)
    if link is None:
        raise NotFound("No such store link.")
    return link


def landing(store: StoreLinksStore, code: str) -> Landing:
    """The public page of a link: one GetItem and one BatchGetItem (owner, shop, products)."""
    link = get_link(store, code)
    owner, shop, products = store.landing_parts(link, _landing_order(link))
    return landing_of(link, owner, shop, products)


def visit(store: StoreLinksStore, code: str, user_id: str | None, visitor: str, now: float) -> None:
    """Count a visit (once per visitor and UTC day) and, signed in, remember the link for the
    visitor's next order from the shop for 14 days (the first link wins). The owner's own
    visits count for nothing."""
    link = get_link(store, code)
    if user_id == link.owner_id:
        return
    store.count_visit(link.code, utc_day(now), visitor, now + VISIT_GUARD_SECONDS)
    if user_id:
        store.remember(Remembered(user_id=user_id, shop_id=link.shop_id, code=link.code,
                                  until=now + REMEMBER_SECONDS), now)


def my_links(store: StoreLinksStore, user_id: str, start_key: dict | None, limit: int) -> Page:
    return store.list_links(user_id, start_key, limit)


def set_give_reward(store: StoreLinksStore, user_id: str, code: str, give: bool) -> StoreLink:
    link = get_link(store, code)
    if link.owner_id != user_id:
        raise Forbidden("Only the link's owner can change it.")
    if link.give_reward_to_friend == give:
        return link
    return store.set_give(link, give)


def my_rewards(store: StoreLinksStore, user_id: str, start_key: dict | None,
               limit: int) -> tuple[RewardsSummary, Page]:
    return store.summary(user_id), store.ledger(user_id, start_key, limit)


def shop_referrals(shops: ShopsStore, store: StoreLinksStore, user_id: str, shop_id: str,
                   start_key: dict | None, limit: int) -> Page:
    owned_shop(shops, user_id, shop_id)
    return store.shop_referrals(shop_id, start_key, limit)


def share_code(store: StoreLinksStore, user_id: str, shop_id: str) -> str | None:
    """The sharer's own link code for the shop, if they have one (one GetItem)."""
    return store.code_for(user_id, shop_id)


def unknown_link(detail: str, message: str, code: str) -> Invalid:
    return Invalid(detail, errors=[FieldProblem("body.via_store_link", message, code=code)])


# --- stream use cases ------------------------------------------------------------------------


@dataclass(frozen=True)
class Issued:
    """The buyer's link for the shop, and whether the order asking issued it (its record and
    every replay of that record say so; any later order does not)."""

    code: str
    by_this_order: bool


def ensure_link(store: StoreLinksStore, accounts: Accounts, user_id: str, shop_id: str, shop_name: str,
                product_ids: Iterable[str], now: float, order_id: str | None = None) -> Issued:
    """The buyer's link for the shop, issued if they have none (recording ``order_id`` as the
    order that issued it). Idempotent: replays find the guard; two records racing issue one
    link (the loser reads the winner's)."""
    bought = tuple(dict.fromkeys(product_ids))[:PRODUCTS_MAX]
    found = store.guard(user_id, shop_id)
    if found is not None:
        code, issued_by = found
        if bought:
            store.add_products(code, bought, PRODUCTS_MAX)
        return Issued(code, order_id is not None and issued_by == order_id)
    user = accounts.get_user(user_id)
    for _ in range(CODE_ATTEMPTS):
        link = StoreLink(code=new_code(), owner_id=user_id, owner_name=user.name if user else "", shop_id=shop_id,
                         shop_name=shop_name, give_reward_to_friend=False, created_at=now, products=bought)
        outcome = store.issue(link, order_id)
        if outcome == "issued":
            return Issued(link.code, order_id is not None)
        if outcome == "owner_has_link":  # a racing record issued it first
            return ensure_link(store, accounts, user_id, shop_id, shop_name, bought, now, order_id)
        # "code_taken": draw again
    raise RuntimeError(f"no free store-link code in {CODE_ATTEMPTS} draws")


def share_text(shop_name: str, url: str) -> str:
    """What the buyer's "share my store link" sends: short, in the buyer's voice."""
    return f"{shop_name}에서 제가 산 것들이에요. 이 링크로 둘러보세요: {url}"


def remember_review(store: StoreLinksStore, user_id: str, shop_id: str, product_id: str, rating: int,
                    text: str) -> None:
    """A 4- or 5-star review recommends the product on the reviewer's landing (with a line of
    the review); a 1- or 2-star review takes the recommendation back. A review follows a
    delivered order, whose record issued the link long before; without a link there is nothing
    to recommend on."""
    if UNRECOMMEND_AT < rating < RECOMMEND_AT:
        return
    code = store.code_for(user_id, shop_id)
    if code is None:
        return
    note = text.strip()[:NOTE_MAX] or None
    store.recommend(code, product_id, note, recommended=rating >= RECOMMEND_AT)
