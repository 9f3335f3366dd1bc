"""``GET /me/export``: everything Dongne holds about me (개인정보 열람), in one answer.

Each list is read through the route that already lists it for me (``/me/orders``,
``/me/following``...), so the export shows exactly what I can already see, in the same shapes,
and nothing of other people's that those routes do not show. **Bound**: each list is read in
pages of 100, at most ``MAX_PAGES`` pages (1,000 items) per list, one Query (plus that route's own
lookups) per page. A longer list stops there and ``truncated`` names the route and cursor that
continue it; so an export costs at most ``MAX_PAGES`` pages per kind, whoever asks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from chalice import Blueprint

from chalicelib.api.edge import Ctx, Router
from chalicelib.api.spec import lazy_models

if TYPE_CHECKING:
    from chalicelib.schemas.export import ExportOut
else:  # pydantic models, imported on the first request that needs them
    (ExportOut,) = lazy_models("chalicelib.schemas.export", "ExportOut")

export_blueprint = Blueprint(__name__)
route = Router(export_blueprint, "accounts")

PAGE = 100
MAX_PAGES = 10
# Held about me, not listed by this export yet (no per-author index to find them by).
NOT_INCLUDED = (
    "comments: listed under each post (GET /posts/{post_id}/comments); there is no per-author index yet",
    "reviews: each order names its review_id; the review is listed under its products "
    "(GET /products/{product_id}/reviews)",
    "likes and shares of posts",
    "conversation messages: GET /conversations/{conversation_id}/messages for each conversation",
)


def _all(ctx: Ctx, kind: str, path: str, read: Callable[[Any], dict], truncated: list[dict]) -> list:
    """Up to MAX_PAGES pages of one of my lists, through its own view (``read(query)``)."""
    from chalicelib.schemas.common import ListQuery

    items: list = []
    cursor = None
    for _ in range(MAX_PAGES):
        page = read(ListQuery(limit=PAGE, cursor=cursor))
        items.extend(page["items"])
        cursor = page.get("next_cursor")
        if not cursor:
            return items
    truncated.append({"kind": kind, "path": path, "cursor": cursor})
    return items


@route.route("GET", "/me/export", response=ExportOut,
             summary="Everything Dongne holds about me (개인정보 열람): profile, follows, orders, links, rewards, "
                     "notifications, conversations, consents...",
             description="Each list as its own `/me/...` route shows it, read in pages of 100, at most 10 pages "
                         "(1,000 items) per list; a longer list is cut there and `truncated` names the route and "
                         "cursor that continue it. Never a secret (password hash, token state, billing key) and "
                         "nothing of other people's that those routes do not show me. `not_included` says what "
                         "is held but not listed here yet.")
def get_my_export(ctx: Ctx) -> ExportOut:
    from chalicelib.api import (addresses, conversations, coupons, follows, notifications, orders, payment_methods,
                                relationships, store_links, subscriptions)
    from chalicelib.api.accounts import get_me
    from chalicelib.schemas.notifications import NotificationsQuery
    from chalicelib.storage.export import consent_history

    cut: list[dict] = []
    rewards: dict = {}

    def rewards_page(query: Any) -> dict:
        page = store_links.list_my_rewards(ctx, query)
        rewards.setdefault("balance", page["balance"])
        rewards.setdefault("pending", page["pending"])
        return page

    def consents_page(query: Any) -> dict:
        from chalicelib.api.paging import page_out, start_key

        scope = f"export-consents:{ctx.user}"
        return page_out(ctx, consent_history(ctx.user, start_key(ctx, query.cursor, scope), query.limit), scope)

    def inbox_page(query: Any) -> dict:
        return notifications.list_my_notifications(ctx, NotificationsQuery(limit=query.limit, cursor=query.cursor, unread=False))

    out = {
        "exported_at": ctx.now,
        "profile": get_me(ctx),
        "following": _all(ctx, "following", "/me/following", lambda q: follows.list_my_followed_shops(ctx, q), cut),
        "my_shops": _all(ctx, "my_shops", "/me/shops", lambda q: _dumped(relationships.list_my_shops(ctx, q)), cut),
        "orders": _all(ctx, "orders", "/me/orders", lambda q: orders.list_my_orders(ctx, q), cut),
        "subscriptions": _all(ctx, "subscriptions", "/me/subscriptions",
                              lambda q: subscriptions.list_my_subscriptions(ctx, q), cut),
        "reorders": _all(ctx, "reorders", "/me/reorders", lambda q: subscriptions.list_my_reorders(ctx, q), cut),
        "store_links": _all(ctx, "store_links", "/me/store-links", lambda q: store_links.list_my_store_links(ctx, q),
                            cut),
        "rewards": _all(ctx, "rewards", "/me/rewards", rewards_page, cut),
        "notifications": _all(ctx, "notifications", "/me/notifications", inbox_page, cut),
        "notification_settings": notifications.get_notification_settings(ctx),
        "devices": ctx.deps.notifications.devices(ctx.user),
        "conversations": _all(ctx, "conversations", "/me/conversations",
                              lambda q: conversations.list_my_conversations(ctx, q), cut),
        "coupons": _all(ctx, "coupons", "/me/coupons", lambda q: coupons.list_my_coupons(ctx, q), cut),
        "addresses": _all(ctx, "addresses", "/me/addresses", lambda q: addresses.list_my_addresses(ctx, q), cut),
        "card": payment_methods.get_my_card(ctx),
        "consents": _all(ctx, "consents", "/me/export", consents_page, cut),
        "not_included": list(NOT_INCLUDED),
    }
    out["rewards_balance"] = rewards.get("balance", 0)
    out["rewards_pending"] = rewards.get("pending", 0)
    out["truncated"] = cut
    return ExportOut.model_validate(out)


def _dumped(page: Any) -> dict:
    """A page model (``Page[MyShop]``) as the dict the other views answer."""
    return page if isinstance(page, dict) else {"items": page.items, "next_cursor": page.next_cursor}
