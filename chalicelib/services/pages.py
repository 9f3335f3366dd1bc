"""What the sharing pages show: a shop (``/s/{handle}``), a post (``/p/{post_id}``) and a store
link (``/l/{code}``), each as plain data the HTML edge renders (``api.pages``).

* **Public only.** A page shows what the public JSON shows of a shop, a post or a link's
  landing, less every person: never a customer's name, e-mail or phone (a store link's page
  says "a friend recommends", not who).
* **Gone is gone.** A shop whose owner closed their account, a deleted post (or one of such a
  shop), an unknown handle, post or code: ``NotFound`` (the edge answers its 404 page).
* **Bounded.** A shop by handle is the handle's uniqueness guard (``UNIQUE#handle#<h>``, one
  GetItem) then the shop; no index, no scan.
* **URLs.** ``shop_url``, ``post_url`` and ``store_links.link_url`` are the absolute addresses
  ``share_url`` and the pages' ``og:url`` use (``public_base_url``); ``app_url`` the app's deep
  link (``dongne://``).

Nothing here knows HTTP, HTML or DynamoDB; stores are passed in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from chalicelib.errors import NotFound
from chalicelib.records.accounts import Shop, User
from chalicelib.records.common import Page
from chalicelib.records.social import Post

APP_SCHEME = "dongne"
# Posts a shop's page shows (newest first): one Query page.
SHOP_PAGE_POSTS = 6
# How much of a text goes into og:description (KakaoTalk shows about two lines).
DESCRIPTION_CHARS = 100


class Shops(Protocol):
    def shop_id_for_handle(self, handle: str) -> str | None: ...
    def get_shop(self, shop_id: str) -> Shop | None: ...


class Accounts(Protocol):
    def get_user(self, user_id: str, consistent: bool = False) -> User | None: ...


class Posts(Protocol):
    def get_post(self, post_id: str, consistent: bool = False) -> Post | None: ...
    def shop_posts(self, shop_id: str, limit: int, start_key: dict | None) -> Page: ...


@dataclass(frozen=True)
class ShopPage:
    shop: Shop
    posts: tuple[Post, ...]


@dataclass(frozen=True)
class PostPage:
    post: Post
    shop: Shop


def shop_url(public_base_url: str, handle: str) -> str:
    return f"{public_base_url.rstrip('/')}/s/{handle}"


def post_url(public_base_url: str, post_id: str) -> str:
    return f"{public_base_url.rstrip('/')}/p/{post_id}"


def app_url(kind: str, ident: str) -> str:
    """The app's deep link: ``dongne://shops/<id>``, ``dongne://posts/<id>``, ``dongne://store-links/<code>``."""
    return f"{APP_SCHEME}://{kind}/{ident}"


def excerpt(text: str, limit: int = DESCRIPTION_CHARS) -> str:
    """One line of at most ``limit`` characters, cut at a space where one is near."""
    line = " ".join(text.split())
    if len(line) <= limit:
        return line
    cut = line[: limit - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut).rstrip() + "…"


def _open_shop(shops: Shops, accounts: Accounts, shop_id: str) -> Shop:
    """The shop, if it exists and its owner's account is open (a closed account's shop has no page)."""
    shop = shops.get_shop(shop_id)
    if shop is None or accounts.get_user(shop.owner_id) is None:
        raise NotFound("No such shop.")
    return shop


def shop_page(shops: Shops, accounts: Accounts, posts: Posts, handle: str) -> ShopPage:
    """GetItem the handle's guard, GetItem the shop, GetItem its owner, one Query of its posts."""
    shop_id = shops.shop_id_for_handle(handle)
    if shop_id is None:
        raise NotFound("No such shop.")
    shop = _open_shop(shops, accounts, shop_id)
    recent = posts.shop_posts(shop.shop_id, SHOP_PAGE_POSTS, None).items
    return ShopPage(shop=shop, posts=tuple(recent))


def post_page(shops: Shops, accounts: Accounts, posts: Posts, post_id: str) -> PostPage:
    """GetItem the post, GetItem its shop, GetItem the shop's owner."""
    post = posts.get_post(post_id)
    if post is None:
        raise NotFound("No such post.")
    return PostPage(post=post, shop=_open_shop(shops, accounts, post.shop_id))
