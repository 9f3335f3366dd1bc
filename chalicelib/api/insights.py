"""Insights: what the owner learns about their shop over time (owner only).

The owner check reads nothing: the signed-in account names its shop (``ctx.account.shop_id``);
only a request for another shop reads it, to answer 404 or 403. So a series of up to 366 days is
the token check and one Query, whatever the granularity.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

from chalice import Blueprint, Response

from chalicelib.api.edge import Ctx, Router
from chalicelib.api.spec import Header, lazy_models
from chalicelib.errors import Forbidden

if TYPE_CHECKING:
    from chalicelib.schemas.insights import InsightsOut, InsightsQuery, PostInsightsOut, PostInsightsQuery
else:  # pydantic models, imported on the first request that needs them
    (InsightsOut, InsightsQuery, PostInsightsOut, PostInsightsQuery) = lazy_models(
        "chalicelib.schemas.insights", "InsightsOut", "InsightsQuery", "PostInsightsOut", "PostInsightsQuery")

insights_blueprint = Blueprint(__name__)
route = Router(insights_blueprint, "insights")

EXCERPT_CHARS = 80


def _owner(ctx: Ctx, shop_id: str) -> None:
    if ctx.account is not None and ctx.account.shop_id == shop_id:
        return
    from chalicelib.services.shops import owned_shop

    owned_shop(ctx.deps.shops, ctx.user, shop_id)  # 404 for no such shop, 403 for another's


def _range(ctx: Ctx, query: InsightsQuery) -> tuple[str, str]:
    from chalicelib.errors import FieldProblem, Invalid
    from chalicelib.schemas.insights import DEFAULT_RANGE_DAYS, MAX_RANGE_DAYS
    from chalicelib.services.insights import kst_day

    last = query.to or date.fromisoformat(kst_day(ctx.now))
    first = query.from_ or (last - timedelta(days=DEFAULT_RANGE_DAYS - 1))
    if last < first:
        raise Invalid("The request query has invalid fields.",
                      errors=[FieldProblem("query.to", "`to` is before `from`.", code="range_reversed")])
    if (last - first).days + 1 > MAX_RANGE_DAYS:
        raise Invalid("The request query has invalid fields.",
                      errors=[FieldProblem("query.to", f"At most {MAX_RANGE_DAYS} days at a time.",
                                           code="range_too_long", params={"max_days": MAX_RANGE_DAYS})])
    return first.isoformat(), last.isoformat()


def _series(ctx: Ctx, shop_id: str, query: InsightsQuery) -> dict:
    from chalicelib.services import insights

    _owner(ctx, shop_id)
    first, last = _range(ctx, query)
    points, totals = insights.series(ctx.deps.insights.days(shop_id, first, last), first, last, query.granularity)
    return {"shop_id": shop_id, "from": first, "to": last, "granularity": query.granularity,
            "series": [p.view() for p in points], "totals": totals.view(), "_points": (points, totals)}


@route.route("GET", "/shops/{shop_id}/insights", query=InsightsQuery, response=InsightsOut, errors=(Forbidden,),
             summary="The shop's orders, revenue, followers, customers, regulars, store links, subscriptions and "
                     "posts by day, week or month (owner only)",
             description="KST days, at most 366 at a time (default: the last 30 days); every period of the range is "
                         "in `series`, zeros where nothing happened. Paid orders only: an order counts on the day it "
                         "was paid, and a cancellation or refund takes it back from that day. Counters follow the "
                         "events within seconds (they are kept from the table's stream).")
def get_shop_insights(ctx: Ctx, shop_id: str, query: InsightsQuery) -> dict:
    out = _series(ctx, shop_id, query)
    out.pop("_points")
    return out


@route.route("GET", "/shops/{shop_id}/insights.csv", query=InsightsQuery, errors=(Forbidden,),
             produces="text/csv; charset=utf-8",
             response_headers=(Header("Content-Disposition", required=True,
                                      description="`attachment; filename=\"dongne-insights-<from>-<to>-<granularity>.csv\"`"),),
             summary="The same series as a CSV file for a spreadsheet (owner only)",
             description="`text/csv; charset=utf-8` with a byte order mark (Excel then reads the Korean headers), "
                         "CRLF line ends, one row per period and a last `합계` (total) row; headers in Korean with "
                         "the API's field names in brackets.")
def get_shop_insights_csv(ctx: Ctx, shop_id: str, query: InsightsQuery) -> Response:
    from chalicelib.services import insights

    out = _series(ctx, shop_id, query)
    points, totals = out["_points"]
    name = f"dongne-insights-{out['from']}-{out['to']}-{query.granularity}.csv"
    return Response(body=insights.to_csv(points, totals), status_code=200,
                    headers={"Content-Type": "text/csv; charset=utf-8",
                             "Content-Disposition": f'attachment; filename="{name}"',
                             "Cache-Control": "private, no-store"})


@route.route("GET", "/shops/{shop_id}/insights/posts", query=PostInsightsQuery, response=PostInsightsOut,
             errors=(Forbidden,),
             summary="The range's posts ranked by the orders and revenue they brought, with likes and comments "
                     "(owner only)",
             description="Posts published in the range (KST days, at most 366; default the last 30) that still exist; "
                         "an order counts for the post it was placed from (`via_post_id`) once paid, and is taken "
                         "back if cancelled. One Query for the range's figures and one BatchGetItem for the posts "
                         "returned.")
def list_shop_post_insights(ctx: Ctx, shop_id: str, query: PostInsightsQuery) -> dict:
    from chalicelib.services import insights

    _owner(ctx, shop_id)
    first, last = _range(ctx, query)
    ranked = insights.rank_posts(ctx.deps.insights.post_figures(shop_id, first, last), query.limit)
    posts = ctx.deps.posts.get_posts([f.post_id for f in ranked]) if ranked else {}
    media = ctx.deps.media
    items = []
    for figures in ranked:
        post = posts.get(figures.post_id)
        if post is None:
            continue  # deleted a moment ago
        items.append({"post_id": post.post_id, "created_at": post.created_at, "text": post.text[:EXCERPT_CHARS],
                      "photo_url": media.url(post.photos[0]) if post.photos else None, "orders": figures.orders,
                      "revenue": figures.revenue, "likes": post.like_count, "comments": post.comment_count,
                      "shares": post.share_count})
    return {"shop_id": shop_id, "from": first, "to": last, "posts": items}
