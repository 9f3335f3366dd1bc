"""The sharing pages: ``GET /s/{handle}`` (a shop), ``/p/{post_id}`` (a post), ``/l/{code}`` (a
store link). Small mobile pages in Korean, rendered on the server with Jinja2 (templates in
``chalicelib/templates/``, autoescaped), with Open Graph tags for a KakaoTalk preview, the app's
deep link, and nothing about any person. See docs/sharing.md.

They are pages, not API operations: left out of ``/openapi.json`` (``document=False``, like
``/docs``), and every problem they meet is answered as an HTML page with its status (an
unknown or closed shop, a deleted post, an unknown code: the 404 page), never problem+json.

Caching: the shop's and the post's pages are public for 5 minutes (a CDN or KakaoTalk's
scraper may keep them; ``ETag`` / ``If-None-Match`` → 304). The store link's page counts a
visit and leaves the visitor cookie, so it is ``private, no-cache``: the browser keeps it but
asks again, and each asking is a visit (counted once per visitor and day).

Jinja2 and the templates load on the first page request, never on the cold start of the API.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from chalice import Blueprint, Response

from chalicelib.api.edge import Ctx, Router
from chalicelib.errors import DomainError, NotFound

if TYPE_CHECKING:
    from jinja2 import Environment

pages_blueprint = Blueprint(__name__)
route = Router(pages_blueprint, "pages")

HTML = "text/html; charset=utf-8"
VISITOR_COOKIE = "dongne_visitor"
PUBLIC_CACHE = "public, max-age=300, stale-while-revalidate=600"
VISIT_CACHE = "private, no-cache"
ERROR_CACHE = "public, max-age=60"
# A handle may hold a dot (``schemas.shops.Handle``); every other path segment is an id or a code.
HANDLE_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.]{1,28}[A-Za-z0-9]$")
KST = timezone(timedelta(hours=9))


@lru_cache(maxsize=1)
def environment() -> Environment:
    from pathlib import Path

    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(loader=FileSystemLoader(Path(__file__).resolve().parent.parent / "templates"),
                      autoescape=True, undefined=StrictUndefined, trim_blocks=False, auto_reload=False)
    env.filters["won"] = lambda amount: f"{int(amount):,}원"
    env.filters["count"] = lambda n: f"{int(n):,}"
    return env


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)


def _headers(ctx_media_origin: str, cache: str) -> dict[str, str | list[str]]:
    return {
        "Content-Type": HTML,
        "Cache-Control": cache,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "strict-origin-when-cross-origin",
        # No script at all; images only from the media CDN; styles inline.
        "Content-Security-Policy": f"default-src 'none'; img-src {ctx_media_origin} data:; "
                                   "style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; "
                                   "frame-ancestors 'none'",
    }


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _common(ctx: Ctx) -> dict[str, Any]:
    settings = ctx.deps.settings
    return {"home_url": settings.app_install_url, "install_url": settings.app_install_url,
            "android_package": settings.app_android_package, "app_url": None}


def _page(ctx: Ctx, template: str, cache: str, status: int = 200, **context: Any) -> Response:
    body = render(template, **{**_common(ctx), **context})
    return Response(body=body, status_code=status, headers=_headers(_origin(ctx.deps.media.base_url), cache))


def error_page(error: DomainError, lang: str) -> Response:
    """Any problem of a page route, as a small HTML page with the problem's status."""
    from chalicelib.wiring import container

    deps = container()
    settings = deps.settings
    if isinstance(error, NotFound):
        heading, message = "페이지를 찾을 수 없어요", "주소가 바뀌었거나, 가게가 문을 닫았거나, 글이 지워졌어요."
    else:
        heading, message = "잠시 후 다시 열어 주세요", "지금은 페이지를 보여 드릴 수 없어요."
    og = {"title": heading, "description": message, "image": share_image(settings, deps.media),
          "url": settings.public_base_url.rstrip("/") + "/", "type": "website"}
    common = {"home_url": settings.app_install_url, "install_url": settings.app_install_url,
              "android_package": settings.app_android_package, "app_url": None}
    headers = _headers(_origin(deps.media.base_url), ERROR_CACHE if error.status == 404 else "no-store")
    if error.status in (429, 503):
        headers["Retry-After"] = str((error.params or {}).get("retry_after") or 5)
    status = error.status if error.status in (404, 429, 503) or error.status >= 500 else 404
    return Response(body=render("not_found.html", og=og, heading=heading, message=message, **common),
                    status_code=status, headers=headers)


def share_image(settings: Any, media: Any) -> str:
    """The picture of a preview that has no photo of its own."""
    return settings.share_image_url or media.url("share/dongne.png")


def _photo(ctx: Ctx, key: str | None) -> str | None:
    return ctx.deps.media.url(key) if key else None


# --- the pages ----------------------------------------------------------------------------------


@route.route("GET", "/s/{handle}", auth=False, document=False, etag=True, error_page=error_page,
             path_param=HANDLE_SEGMENT, summary="A shop's sharing page (HTML)")
def get_shop_page(ctx: Ctx, handle: str) -> Response:
    from chalicelib.services import pages

    d = ctx.deps
    page = pages.shop_page(d.shops, d.accounts, d.posts, handle.lower())
    shop, base = page.shop, d.settings.public_base_url
    posts = [{"url": pages.post_url(base, post.post_id), "excerpt": pages.excerpt(post.text, 40),
              "photo_url": _photo(ctx, post.photos[0] if post.photos else None)} for post in page.posts]
    cover = next((p["photo_url"] for p in posts if p["photo_url"]), None)
    description = pages.excerpt(shop.bio) if shop.bio.strip() else f"{shop.region} 동네 가게, 동네에서 만나요."
    og = {"title": shop.name, "description": description.strip(), "url": pages.shop_url(base, shop.handle),
          "image": cover or share_image(d.settings, d.media), "type": "profile"}
    return _page(ctx, "shop.html", PUBLIC_CACHE, og=og, shop=shop, posts=posts,
                 app_url=pages.app_url("shops", shop.shop_id))


@route.route("GET", "/p/{post_id}", auth=False, document=False, etag=True, error_page=error_page,
             summary="A post's sharing page (HTML)")
def get_post_page(ctx: Ctx, post_id: str) -> Response:
    from chalicelib.services import pages

    d = ctx.deps
    page = pages.post_page(d.shops, d.accounts, d.posts, post_id)
    post, shop, base = page.post, page.shop, d.settings.public_base_url
    photo_urls = [d.media.url(key) for key in post.photos]
    image = photo_urls[0] if photo_urls else share_image(d.settings, d.media)
    og = {"title": f"{shop.name}의 소식", "description": pages.excerpt(post.text) or shop.name,
          "url": pages.post_url(base, post.post_id), "image": image, "type": "article"}
    day = datetime.fromtimestamp(post.created_at, KST)
    posted_on = f"{day.year}년 {day.month}월 {day.day}일"
    return _page(ctx, "post.html", PUBLIC_CACHE, og=og, post=post, shop=shop, photo_urls=photo_urls,
                 posted_on=posted_on, shop_url=pages.shop_url(base, shop.handle),
                 app_url=pages.app_url("posts", post.post_id))


def _discount(setting: Any) -> str | None:
    if setting is None:
        return None
    return f"{setting.value}%" if setting.kind == "percent" else f"{setting.value:,}원"


@route.route("GET", "/l/{code}", auth=False, document=False, error_page=error_page,
             summary="A store link's sharing page (HTML); counts a visit and leaves the visitor cookie")
def get_link_page(ctx: Ctx, code: str) -> Response:
    from chalicelib.services import store_links
    from chalicelib.services.pages import app_url, excerpt

    d = ctx.deps
    visitor = visitor_id = None
    if not store_links.is_preview_agent(ctx.header("User-Agent") or ""):  # a crawler drawing a preview is no visitor
        visitor = anonymous_key(ctx)
        visitor_id = visitor_from_cookie(ctx) or store_links.new_visitor_id(d.visitor_secret)
    landing = store_links.open_page(d.store_links, code, visitor, ctx.now, visitor_id)
    cookie = visitor_cookie(ctx, visitor_id) if visitor_id else None
    products = [{**p.__dict__, "photo_url": _photo(ctx, p.photo)} for p in landing.products]
    discount = _discount(landing.friend_discount)
    names = ", ".join(p.name for p in landing.products[:3])
    description = (f"이 링크로 처음 주문하면 {discount} 할인. " if discount else "") + (
        f"친구가 산 {names}" if names else f"{landing.shop_name}을(를) 친구가 추천해요")
    cover = next((p["photo_url"] for p in products if p["photo_url"]), None)
    og = {"title": f"친구가 추천하는 {landing.shop_name}", "description": excerpt(description),
          "url": store_links.link_url(d.settings.public_base_url, landing.code),
          "image": cover or share_image(d.settings, d.media), "type": "website"}
    response = _page(ctx, "link.html", VISIT_CACHE, og=og, landing=_LandingView(landing, products),
                     discount=discount, app_url=app_url("store-links", landing.code))
    if cookie:
        response.headers["Set-Cookie"] = cookie
    return response


class _LandingView:
    """The landing as the template reads it: the products with their photo URLs."""

    def __init__(self, landing: Any, products: list[dict]) -> None:
        self._landing = landing
        self.products = products

    def __getattr__(self, name: str) -> Any:
        return getattr(self._landing, name)


# --- the visitor id ------------------------------------------------------------------------------


def anonymous_key(ctx: Ctx) -> str:
    """How an anonymous visit is told apart for counting: a keyed hash of the network address
    (a client that drops its cookie or rotates its User-Agent still counts once a day)."""
    from chalicelib.services import store_links

    identity = (ctx.request.context or {}).get("identity") or {}
    return store_links.visitor_key(None, str(identity.get("sourceIp") or ""),
                                   ctx.deps.settings.secret_key)


def visitor_from_cookie(ctx: Ctx) -> str | None:
    """The visitor id in the ``dongne_visitor`` cookie, if it is one this server issued."""
    from http.cookies import CookieError, SimpleCookie

    from chalicelib.services import store_links

    raw = ctx.header("Cookie") or ""
    if VISITOR_COOKIE not in raw:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(raw)
    except CookieError:
        return None
    morsel = jar.get(VISITOR_COOKIE)
    return store_links.valid_visitor_id(morsel.value if morsel else None, ctx.deps.visitor_secret)


def visitor_cookie(ctx: Ctx, visitor_id: str) -> str:
    """``Set-Cookie`` for the visitor id: HttpOnly, SameSite=Lax, Secure off the laptop, 14 days."""
    from chalicelib.services.store_links import REMEMBER_SECONDS
    from chalicelib.settings import LOCAL_STAGES

    settings = ctx.deps.settings
    secure = settings.stage not in LOCAL_STAGES or settings.public_base_url.startswith("https://")
    return (f"{VISITOR_COOKIE}={visitor_id}; Max-Age={REMEMBER_SECONDS}; Path=/; HttpOnly; SameSite=Lax"
            + ("; Secure" if secure else ""))

