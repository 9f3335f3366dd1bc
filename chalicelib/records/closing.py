"""What closing an account leaves for the stream to finish: its steps, and what a write learns."""

from __future__ import annotations

from dataclasses import dataclass

# The kinds of work a closed account leaves, each walked a page per step (``services.closing``).
SUBSCRIPTIONS = "subscriptions"
STORE_LINKS = "store_links"
# An owner's close also leaves the subscriptions to the shop and the shop's conversations.
SHOP_SUBSCRIPTIONS = "shop_subscriptions"
CONVERSATIONS = "conversations"
ACCOUNT_KINDS = (SUBSCRIPTIONS, STORE_LINKS)
OWNER_KINDS = (*ACCOUNT_KINDS, SHOP_SUBSCRIPTIONS, CONVERSATIONS)


class SubscriberClosed(Exception):
    """A subscription's period was being placed for a subscriber whose profile is gone: the
    placing transaction checks the profile, so no order is written after the close."""


@dataclass(frozen=True)
class ClosingStep:
    """One page of one kind of work a closed account left.

    ``seq`` counts the steps of that kind (0 first); ``after`` is where the page starts (the
    list's DynamoDB key, as JSON; None: from the top). Each step is one item with a key made of
    the account, the kind and ``seq``, put on condition it does not exist: a replay of the
    record that enqueues a step enqueues nothing, and a step's own INSERT runs it once more at
    worst, finding its writes done.
    """

    user_id: str
    kind: str
    seq: int
    shop_id: str | None
    shop_name: str
    closed_at: float
    after: str | None = None
