"""The one-person store: store links, their visits, remembered visitors and the reward ledger."""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import (BooleanAttribute, MapAttribute, NumberAttribute, TTLAttribute, UnicodeAttribute,
                                 UnicodeSetAttribute)

from chalicelib.storage.base import MainItem

LINK_SK = "LINK"
SUMMARY_SK = "SUMMARY"
ENTRY_PREFIX = "ENTRY#"


def link_pk(code: str) -> str:
    return f"LINK#{code}"


def owner_sk(shop_id: str) -> str:
    return f"STORELINK#{shop_id}"


def my_links_pk(user_id: str) -> str:
    return f"USER#{user_id}#LINKS"


def visit_sk(day: str, visitor: str) -> str:
    return f"VISIT#{day}#{visitor}"


def remembered_sk(shop_id: str) -> str:
    return f"VIA#{shop_id}"


def rewards_pk(user_id: str) -> str:
    return f"USER#{user_id}#REWARDS"


def entry_sk(entry_id: str) -> str:
    return f"{ENTRY_PREFIX}{entry_id}"


def shop_referrals_pk(shop_id: str) -> str:
    """gsi4 of the orders a link brought to a shop (set on the order item; see ``OrderItem``)."""
    return f"SHOP#{shop_id}#REFERRALS"


class StoreLinkItem(MainItem, discriminator="store_link"):
    """A buyer's link for one shop.

    Key design: ``pk = LINK#<code>``, ``sk = LINK``: found by its code with one GetItem (the
    landing, a visit, an order's ``via_store_link``, read in the same BatchGetItem as the
    products). Keyed by the code, the item is its own uniqueness guard: it is put with
    ``attribute_not_exists(pk)``, so two links can never share a code (a collision cancels
    the issuing transaction and a new code is drawn). gsi1 ``USER#<owner_id>#LINKS`` /
    ``<created_at>#<shop_id>``: my links, newest first, one Query with the counters (no
    hydration). ``owner_id`` and ``shop_id`` never change; ``give_to_friend`` changes by PATCH;
    the counters change only inside the transaction that causes them (a visit's guard, the
    order, its delivery or cancellation), so they stay exact under replays and races.
    """

    code = UnicodeAttribute()
    owner_id = UnicodeAttribute()
    owner_name = UnicodeAttribute(default="")
    shop_id = UnicodeAttribute()
    shop_name = UnicodeAttribute(default="")
    give_to_friend = BooleanAttribute(default=False)
    visits = NumberAttribute(default=0)
    orders = NumberAttribute(default=0)
    rewards = NumberAttribute(default=0)
    pending_rewards = NumberAttribute(default=0)
    products = UnicodeSetAttribute(null=True)
    recommended = UnicodeSetAttribute(null=True)
    notes: MapAttribute[str, Any] = MapAttribute(default=dict)  # product id -> the owner's review text, abridged
    created_at = NumberAttribute()
    # Set once when the owner closed their account (``services.closing``); the counts stay.
    retired_at = NumberAttribute(null=True)


class LinkOwnerItem(MainItem, discriminator="store_link_owner"):
    """The guard "``owner_id`` has a link for ``shop_id``": one link per buyer and shop.

    Key design: ``pk = USER#<owner_id>``, ``sk = STORELINK#<shop_id>``, holding the code: put
    with ``attribute_not_exists(pk)`` in the link's issuing transaction, so two order
    records processed at once issue one link. A share looks the sharer's code up here
    (GetItem), and so does the stream handler that issues links.
    """

    owner_id = UnicodeAttribute()
    shop_id = UnicodeAttribute()
    code = UnicodeAttribute()
    issued_by = UnicodeAttribute(null=True)  # the paid order whose record issued the link


class VisitItem(MainItem, discriminator="store_link_visit"):
    """One visitor's visit of a link on one UTC day: the guard that makes visits distinct.

    Key design: ``pk = LINK#<code>``, ``sk = VISIT#<yyyy-mm-dd>#<visitor>`` (in the link's
    partition). Put with ``attribute_not_exists(sk)`` in the transaction that adds 1 to the
    link's ``visits``: a thousand calls of one visitor on one day count once. ``visitor`` is
    ``u:<user_id>`` signed in, else a keyed hash of the client's address and user agent (no
    address is stored). TTL removes it two days later.
    """

    expires_at = TTLAttribute()


class RememberedItem(MainItem, discriminator="store_link_remembered"):
    """A signed-in visitor's link for a shop, for 14 days: their next order is credited to it.

    Key design: ``pk = USER#<user_id>``, ``sk = VIA#<shop_id>``. Written conditionally
    (absent, expired or the same code): the first link wins. Every order's transaction
    reads it by condition: ``attribute_not_exists(pk) OR until <= now`` without a link (a
    failed check hands the order the link), and it is deleted by the order it credits.
    ``until`` is exact; ``expires_at`` (TTL) only tidies up later.
    """

    user_id = UnicodeAttribute()
    shop_id = UnicodeAttribute()
    code = UnicodeAttribute()
    until = NumberAttribute()
    expires_at = TTLAttribute()


class LedgerEntryItem(MainItem, discriminator="reward_entry"):
    """One entry of a link owner's reward ledger; never updated, never deleted.

    Key design: ``pk = USER#<owner_id>#REWARDS``, ``sk = ENTRY#<entry_id>`` (a ULID: one Query,
    newest first). Written only inside the transaction of the order change it records (the
    placing transaction: pending; the delivery: confirmed; the cancellation: cancelled), whose
    conditional status write makes each at most once per order.
    """

    entry_id = UnicodeAttribute()
    user_id = UnicodeAttribute()
    code = UnicodeAttribute()
    order_id = UnicodeAttribute()
    shop_id = UnicodeAttribute()
    amount = NumberAttribute()
    status = UnicodeAttribute()
    reason = UnicodeAttribute()
    created_at = NumberAttribute()


class RewardsSummaryItem(MainItem, discriminator="reward_summary"):
    """The owner's ledger totals: ``balance`` (confirmed won) and ``pending`` won.

    Key design: ``pk = USER#<owner_id>#REWARDS``, ``sk = SUMMARY``. Changed only by ``ADD`` in the
    same transactions that append ledger entries, so it always equals the ledger's sums.
    """

    balance = NumberAttribute(default=0)
    pending = NumberAttribute(default=0)


def first_buy_sk(shop_id: str) -> str:
    return f"FIRSTBUY#{shop_id}"


class FirstBuyItem(MainItem, discriminator="first_buy"):
    """A customer's first purchase at a shop, as far as store links are concerned.

    Key design: ``pk = USER#<buyer_id>``, ``sk = FIRSTBUY#<shop_id>``. Every paid order sets
    ``paid`` (and ``first_order_id`` once). An order credited to a store link is placed only if
    this item is absent, or unpaid with its hold (``until``, the holding order's payment
    deadline) over; it then holds it with its own ``order_id`` and deadline. So a link rewards or
    discounts only a customer's first paid order at a shop, once per friend, however many
    orders, links or accounts' links they try at once.
    """

    order_id = UnicodeAttribute(null=True)  # the credited order holding it
    until = NumberAttribute(null=True)  # that order's payment deadline
    paid = BooleanAttribute(default=False)
    first_order_id = UnicodeAttribute(null=True)


def visitor_pk(visitor_id: str) -> str:
    return f"VISITOR#{visitor_id}"


VISITOR_ACCOUNT_SK = "ACCOUNT"


class VisitorViaItem(MainItem, discriminator="visitor_via"):
    """An anonymous visitor's first store link for a shop (a web page visit, or the app's visit
    without a token), kept until they sign up or log in with their visitor id.

    Key design: ``pk = VISITOR#<visitor_id>``, ``sk = VIA#<shop_id>``: the visitor's links are
    one Query of their own partition (a visitor id is random, issued by the server, and
    bound to one account at most). Written conditionally like ``RememberedItem`` (absent,
    expired or the same code): the first link wins. ``until`` is the visit's time + 14 days;
    binding copies it to the account's ``RememberedItem`` unchanged, so the 14 days run from the
    visit, not from the sign-up. ``owner_id`` is the link's owner (their own link binds nothing).
    """

    shop_id = UnicodeAttribute()
    code = UnicodeAttribute()
    owner_id = UnicodeAttribute()
    until = NumberAttribute()
    expires_at = TTLAttribute()


class VisitorAccountItem(MainItem, discriminator="visitor_account"):
    """The one account a visitor id is bound to.

    Key design: ``pk = VISITOR#<visitor_id>``, ``sk = ACCOUNT``. Put with
    ``attribute_not_exists(pk) OR user_id = :me`` before any of the visitor's links are
    remembered for the account: a second account offering the same visitor id binds nothing,
    and the same account again is a no-op (idempotent). TTL a year after the binding.
    """

    user_id = UnicodeAttribute()
    bound_at = NumberAttribute()
    expires_at = TTLAttribute()
