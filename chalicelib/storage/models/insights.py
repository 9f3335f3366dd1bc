"""Insights: a shop's counters per KST day, what each post brought, and the stream handler's
ledger per (shop, customer)."""

from __future__ import annotations

from pynamodb.attributes import BooleanAttribute, NumberAttribute, UnicodeAttribute, VersionAttribute

from chalicelib.storage.base import MainItem

DAY_PREFIX = "DAY#"
POST_PREFIX = "POST#"
LEDGER_SK = "LEDGER"

# Counter name -> its stored attribute: short names keep a day item near 150 bytes, so a year
# of days is one Query page of a few read units.
SHORT = {"orders": "o", "revenue": "r", "new_followers": "nf", "unfollows": "uf", "new_customers": "nc",
         "repeat_customers": "rc", "regulars": "rg", "lapsed": "lp", "store_link_orders": "sl",
         "reward_cost": "rw", "subscription_orders": "so", "posts": "ps"}


def insights_pk(shop_id: str) -> str:
    return f"INSIGHTS#{shop_id}"


def day_sk(day: str) -> str:
    return f"{DAY_PREFIX}{day}"


def post_sk(post_id: str) -> str:
    return f"{POST_PREFIX}{post_id}"


def ledger_pk(shop_id: str, user_id: str) -> str:
    return f"INSIGHT#{shop_id}#{user_id}"


class InsightDayItem(MainItem, discriminator="insight_day"):
    """One shop's counters of one KST day.

    Key design: ``pk = INSIGHTS#<shop_id>``, ``sk = DAY#<yyyy-mm-dd>``: a range of days is one
    Query (``BETWEEN``); a quiet day has no item. Only ever changed by ``ADD`` (in the ledger's
    transaction), so concurrent writers never lose an update. Its INSERT (the shop's first
    counted event of a day) schedules the shop's weekly summary.
    """

    shop_id = UnicodeAttribute()
    day = UnicodeAttribute()
    o = NumberAttribute(default=0)
    r = NumberAttribute(default=0)
    nf = NumberAttribute(default=0)
    uf = NumberAttribute(default=0)
    nc = NumberAttribute(default=0)
    rc = NumberAttribute(default=0)
    rg = NumberAttribute(default=0)
    lp = NumberAttribute(default=0)
    sl = NumberAttribute(default=0)
    rw = NumberAttribute(default=0)
    so = NumberAttribute(default=0)
    ps = NumberAttribute(default=0)


class InsightPostItem(MainItem, discriminator="insight_post"):
    """What one post brought: paid, uncancelled orders placed from it and their revenue.

    Key design: ``pk = INSIGHTS#<shop_id>``, ``sk = POST#<post_id>`` (post ids are ULIDs: a range
    of creation times is one Query). ``created_at`` is set once by the post's INSERT (the guard
    that counts the post once), ``live`` is cleared by its REMOVE; orders ``ADD`` to it whichever
    comes first.
    """

    shop_id = UnicodeAttribute(null=True)
    post_id = UnicodeAttribute(null=True)
    orders = NumberAttribute(default=0)
    revenue = NumberAttribute(default=0)
    live = BooleanAttribute(null=True)
    created_at = NumberAttribute(null=True)


class InsightLedgerItem(MainItem, discriminator="insight_ledger"):
    """What the insights handler has counted for one (shop, customer): ``records.insights.Ledger``
    as compact JSON (``{"o": {order_id: [paid_at, counted, history_len, updated_at, final]},
    "f": [created_at, kind, following, day, start], "t": [tier keys]}``).

    Key design: ``pk = INSIGHT#<shop_id>#<user_id>``, ``sk = LEDGER``. Written only in the
    transaction that adds its effect to the counters, conditional on ``version``. About 60 bytes
    per paid order: a customer with 15 orders at a shop fits one write unit.
    """

    shop_id = UnicodeAttribute()
    user_id = UnicodeAttribute()
    data = UnicodeAttribute()
    version = VersionAttribute()
