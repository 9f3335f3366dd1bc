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
* **Anonymous visits** (the link's web page, or the app without a token) carry a visitor id: a
  random id the server issues (``new_visitor_id``, signed so the server knows its own; never
  derived from the address or the user agent). The visitor's first link per shop is kept for
  14 days from the visit; signing up or logging in with the visitor id binds it to that account
  (``bind_visitor``: one account per visitor id, first link wins), after which it credits the
  friend's first paid order exactly as a signed-in visit does (the account's ``Remembered``).

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
    Settlement, StoreLink, VisitorVia,
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
    def note_visitor(self, via: VisitorVia, now: float) -> bool: ...
    def visitor_links(self, visitor_id: str, limit: int) -> list[VisitorVia]: ...
    def claim_visitor(self, visitor_id: str, user_id: str, now: float, keep_seconds: float) -> bool: ...
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
    """The link's web page (``GET /l/{code}``: a small page with a preview, see ``api.pages``)."""
    return f"{public_base_url.rstrip('/')}/l/{code}"


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
    if link is None or link.owner_id == buyer_id or link.retired_at is not None:
        return None  # a retired link (its owner closed their account) credits nothing
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


def visitor_key(user_id: str | None, address: str, secret: str) -> str:
    """Who a visit is from, for counting distinct visitors: the account when signed in, else a
    keyed hash of the client's network address alone (IPv6: its /64, which one subscriber may
    rotate freely; the address itself is not stored). Nothing the client chooses, such as the
    User-Agent or a cookie, takes part: rotating them does not make a second visitor. People
    behind one carrier NAT count as one visitor a day; visits are a signal to the link's owner,
    never money (rewards come from orders)."""
    if user_id:
        return f"u:{user_id}"
    text = address.strip()
    if ":" in text:
        import ipaddress

        try:
            text = str(ipaddress.IPv6Network(f"{text}/64", strict=False))
        except ValueError:
            pass
    digest = hmac.new(secret.encode(), f"store-link-visitor\x00{text}".encode(), hashlib.sha256)
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
    if link is None or link.retired_at is not None:  # retired: its owner closed their account
        raise NotFound("No such store link.")
    return link


def landing(store: StoreLinksStore, code: str) -> Landing:
    """The public page of a link: one GetItem and one BatchGetItem (owner, shop, products)."""
    link = get_link(store, code)
    owner, shop, products = store.landing_parts(link, _landing_order(link))
    return landing_of(link, owner, shop, products)


def open_page(store: StoreLinksStore, code: str, visitor: str | None, now: float,
              visitor_id: str | None = None) -> Landing:
    """The link's web page: the landing (as ``landing``) and, for a ``visitor`` (None: a
    preview crawler), an anonymous visit with its ``visitor_id`` (as ``visit``), the link read
    once. A link with no page (its owner closed the account) counts no visit."""
    link = get_link(store, code)
    owner, shop, products = store.landing_parts(link, _landing_order(link))
    page = landing_of(link, owner, shop, products)
    if visitor is not None:
        visit_link(store, link, None, visitor, now, visitor_id)
    return page


def visit(store: StoreLinksStore, code: str, user_id: str | None, visitor: str, now: float,
          visitor_id: str | None = None) -> StoreLink:
    """Count a visit (once per visitor and UTC day) and, signed in, remember the link for the
    visitor's next order from the shop for 14 days (the first link wins). Anonymous with a
    ``visitor_id``, the link is kept for that visitor id the same way, until a sign-up or a
    login binds it (``bind_visitor``). The owner's own visits count for nothing."""
    link = get_link(store, code)
    visit_link(store, link, user_id, visitor, now, visitor_id)
    return link


def visit_link(store: StoreLinksStore, link: StoreLink, user_id: str | None, visitor: str, now: float,
               visitor_id: str | None = None) -> None:
    """``visit`` for a link already read (the web page reads it for the landing)."""
    if user_id == link.owner_id:
        return
    store.count_visit(link.code, utc_day(now), visitor, now + VISIT_GUARD_SECONDS)
    if user_id:
        store.remember(Remembered(user_id=user_id, shop_id=link.shop_id, code=link.code,
                                  until=now + REMEMBER_SECONDS), now)
    elif visitor_id:
        store.note_visitor(VisitorVia(visitor_id=visitor_id, shop_id=link.shop_id, code=link.code,
                                      owner_id=link.owner_id, until=now + REMEMBER_SECONDS), now)


# --- visitor ids ------------------------------------------------------------------------------

# A visitor id: 20 random characters (120 bits) and 12 characters of the server's MAC over them,
# all URL- and cookie-safe. The MAC lets the server ignore ids it never issued.
VISITOR_RANDOM_CHARS = 20
VISITOR_MAC_CHARS = 12
VISITOR_ID_LENGTH = VISITOR_RANDOM_CHARS + VISITOR_MAC_CHARS
VISITOR_ID_PATTERN = f"^[A-Za-z0-9_-]{{{VISITOR_ID_LENGTH}}}$"
# How many shops' links of one visitor a binding carries over (one Query page, bounded).
VISITOR_LINKS_MAX = 20
# How long a visitor id stays bound to its account (then TTL tidies the binding up).
VISITOR_BINDING_SECONDS = 365 * DAY_SECONDS


def _visitor_mac(random_part: str, secret: str) -> str:
    import base64

    digest = hmac.new(secret.encode(), f"dongne-visitor\x00{random_part}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode()[:VISITOR_MAC_CHARS]


def new_visitor_id(secret: str) -> str:
    random_part = secrets.token_urlsafe(16)[:VISITOR_RANDOM_CHARS]
    return random_part + _visitor_mac(random_part, secret)


def valid_visitor_id(value: str | None, secret: str) -> str | None:
    """``value`` if it is a visitor id this server issued, else None (ignored, never an error)."""
    if not value or len(value) != VISITOR_ID_LENGTH or not value.isascii():
        return None
    random_part, mac = value[:VISITOR_RANDOM_CHARS], value[VISITOR_RANDOM_CHARS:]
    if not all(ch.isalnum() or ch in "-_" for ch in value):
        return None
    return value if hmac.compare_digest(mac, _visitor_mac(random_part, secret)) else None


def bind_visitor(store: StoreLinksStore, visitor_id: str, user_id: str, now: float) -> int:
    """Bind an anonymous visitor's kept links to the account that signed up or logged in with
    the visitor id: each live one (``until`` from the visit) is remembered for the account as
    a signed-in visit is (first link wins; the account's own links are skipped). A visitor id
    binds to one account only: another account offering it gets nothing. Idempotent. Returns
    how many links were remembered (the caller says nothing of it: no enumeration)."""
    kept = [via for via in store.visitor_links(visitor_id, VISITOR_LINKS_MAX)
            if via.until > now and via.owner_id != user_id]
    if not kept or not store.claim_visitor(visitor_id, user_id, now, VISITOR_BINDING_SECONDS):
        return 0
    return sum(1 for via in kept
               if store.remember(Remembered(user_id=user_id, shop_id=via.shop_id, code=via.code, until=via.until),
                                 now))


# Link-preview crawlers (KakaoTalk's, messengers', social networks'): they open a shared link to
# draw its preview, which is no visit by a person.
_PREVIEW_AGENTS = ("kakaotalk-scrap", "facebookexternalhit", "twitterbot", "slackbot", "discordbot",
                   "telegrambot", "whatsapp", "linkedinbot", "line-poker", "yeti", "daumoa", "googlebot", "bingbot")


def is_preview_agent(agent: str) -> bool:
    lowered = agent.lower()
    return any(name in lowered for name in _PREVIEW_AGENTS)


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
