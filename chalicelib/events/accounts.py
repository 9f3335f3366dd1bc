"""Stream handler that finishes closing an account.

``DELETE /me`` erases the profile and its logins in one transaction; the profile's REMOVE on
the stream then undoes what the account left elsewhere (``services.accounts.
erase_closed_account``): follows (with exact follower counts), relationship pairs and the
owners' notes, the buyer's name on orders, the account's inbox and reminders, its address
book, its saved card, its advertising consents and its coupons. Every step is idempotent, so a retried record
finds less to do and finishes; anything created for the account after its profile went is
refused (follows need the profile) or skipped (scoring needs the customer's name).
"""

from __future__ import annotations

import logging

from chalicelib.services.accounts import erase_closed_account
from chalicelib.storage.stream import Change

log = logging.getLogger("dongne.accounts")


def account_removed(change: Change, deadline: float | None = None) -> None:
    if change.event_name != "REMOVE" or not change.old or not change.old.get("user_id"):
        return
    from chalicelib.wiring import container

    deps = container()
    user_id = change.old["user_id"]
    erased = erase_closed_account(deps.follows, deps.relationships, deps.orders, user_id, deps.notifications,
                                  deps.addresses, deps.payment_methods, deps.consents, deps.coupons)
    log.info("closed account %s: %d follows undone, %d pairs removed, %d orders marked, %d inbox items deleted, "
             "%d address books deleted, %d cards deleted, %d consent items deleted, %d coupons deleted", user_id,
             erased.follows, erased.pairs, erased.orders, erased.notifications, erased.addresses, erased.cards,
             erased.consents, erased.coupons)


HANDLERS = (("user", account_removed, ("REMOVE",)),)
