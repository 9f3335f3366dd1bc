"""A shop's aftercare automations: the owner's words for three moments (services.automations)."""

from __future__ import annotations

from pynamodb.attributes import BooleanAttribute, MapAttribute, NumberAttribute, UnicodeAttribute

from chalicelib.storage.base import MainItem

AUTOMATIONS_SK = "AUTOMATIONS"
# The review requests' due items (``storage.models.due.DueItem`` of this kind).
REVIEW_DUE = "review_request"


class AutomationMap(MapAttribute):
    enabled = BooleanAttribute()
    text = UnicodeAttribute()
    after_days = NumberAttribute(null=True)  # review_request only
    since = NumberAttribute(null=True)  # switched on at; absent while off


class AutomationsItem(MainItem, discriminator="automations"):
    """The shop's three automations, replaced whole by the owner.

    Key design: ``pk = SHOP#<shop_id>``, ``sk = AUTOMATIONS`` — in the shop's partition, one
    GetItem whenever a moment is handled (the owner's words as they are then). Absent until the
    owner first saves them (the defaults: all off). What they send is guarded by ``SentItem``
    (``pk = AFTERCARE#<shop_id>#<customer_id>``, ``sk = first_order_thanks`` |
    ``review_request#<order_id>`` | ``welcome_back#<lapse time>``), written in the message's own
    transaction; a review request waits as a ``DueItem`` (``pk = DUE#review_request#<yyyy-mm-dd>#<shard>``,
    ``sk = <iso due time>#<order_id>``) that the ``aftercare`` job reads one day bucket (every
    shard of it: ``storage.buckets``) at a time.
    """

    shop_id = UnicodeAttribute()
    first_order_thanks = AutomationMap()
    review_request = AutomationMap()
    welcome_back = AutomationMap()
    updated_at = NumberAttribute()
