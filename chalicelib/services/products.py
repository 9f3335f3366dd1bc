"""Products: what a shop sells, edited by its owner only, read by anyone.

Also the one place other domains ask about products: ``resolve_products`` checks that ids a
post tags (or any other caller names) are the shop's own products and returns what a feed
entry shows of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Protocol

from chalicelib.records.commerce import CURRENCY, Product, ProductSummary
from chalicelib.errors import FieldProblem, Forbidden, Invalid, NotFound
from chalicelib.ids import new_id
from chalicelib.records.common import Page
from chalicelib.services.shops import ShopsStore, get_shop, owned_shop
from chalicelib.services.uploads import MediaStore, check_photos

ESSENTIAL, TREAT = "essential", "treat"
KINDS = (ESSENTIAL, TREAT)

# Money is integer won. The upper bound keeps every order total far inside exact integers
# (40 lines x 999 x 10,000,000 < 2^53) and stops a typo from listing a 10-billion-won tofu.
MIN_PRICE, MAX_PRICE = 1, 10_000_000
MAX_STOCK = 1_000_000
MAX_REORDER_DAYS = 365
MAX_PHOTOS = 10
# BatchGetItem reads at most 100 keys in one call.
MAX_RESOLVE = 100


class ProductsStore(Protocol):
    def create_product(self, product: Product) -> None: ...
    def get_product(self, product_id: str) -> Product | None: ...
    def get_products(self, product_ids: Sequence[str]) -> dict[str, Product]: ...
    def update_product(self, current: Product, changes: dict, now: float) -> Product: ...
    def list_products(self, shop_id: str, start_key: dict | None, limit: int) -> Page: ...


def photo_prefix(user_id: str) -> str:
    """Where ``POST /uploads`` puts a user's photos; a product may only show its owner's."""
    return f"uploads/{user_id}/"


def _check_photos(media: MediaStore, owner_id: str, photos: Sequence[str], already: Sequence[str] = ()) -> None:
    """As a post's photos (``services.uploads.check_photos``): the owner's own uploads
    (``photo_prefix``), really uploaded, allowed images within the size cap. Until 0.7 only the
    prefix was checked, so a key that was never uploaded made a broken picture. New keys cost
    one HeadObject each, in parallel; the product's current photos were checked when first used."""
    check_photos(media, owner_id, list(photos), already=already)


def _check_kind(kind: str, reorder_days: int | None) -> None:
    """Essentials are bought again on a cycle (``reorder_days``); treats have none."""
    if kind == ESSENTIAL and reorder_days is None:
        raise Invalid("An essential needs reorder_days: how many days one purchase usually lasts.",
                      errors=[FieldProblem("body.reorder_days", "required when kind is 'essential'",
                                           code="required_for_essential")])
    if kind == TREAT and reorder_days is not None:
        raise Invalid("A treat has no reorder cycle.",
                      errors=[FieldProblem("body.reorder_days", "must be null when kind is 'treat'",
                                           code="not_for_treat")])


def create_product(shops: ShopsStore, store: ProductsStore, user_id: str, shop_id: str, *, name: str,
                   description: str, price: int, stock: int, kind: str, reorder_days: int | None,
                   photos: Sequence[str], now: float, media: MediaStore) -> Product:
    owned_shop(shops, user_id, shop_id)
    _check_kind(kind, reorder_days)
    if photos:
        _check_photos(media, user_id, photos)
    product = Product(product_id=new_id(), shop_id=shop_id, owner_id=user_id, name=name, description=description,
                      price=price, stock=stock, kind=kind, reorder_days=reorder_days, photos=tuple(photos),
                      created_at=now, updated_at=now, currency=CURRENCY)
    store.create_product(product)
    return product


def get_product(store: ProductsStore, product_id: str) -> Product:
    product = store.get_product(product_id)
    if product is None:
        raise NotFound("No such product.")
    return product


def edit_product(store: ProductsStore, user_id: str, product_id: str, changes: dict, now: float,
                 media: MediaStore) -> Product:
    """Owner-only edit. Turning a product into a treat drops its reorder cycle; turning it into
    an essential needs one. Setting ``stock`` is conditional on the stock the edit was based on
    (storage answers 409 if an order changed it meanwhile)."""
    product = get_product(store, product_id)
    if product.owner_id != user_id:
        raise Forbidden("Only the shop's owner can edit its products.")
    changes = dict(changes)
    if changes.get("kind") == TREAT and "reorder_days" not in changes:
        changes["reorder_days"] = None
    merged = replace(product, **changes)
    _check_kind(merged.kind, merged.reorder_days)
    if "photos" in changes:
        _check_photos(media, user_id, changes["photos"], already=product.photos)
        changes["photos"] = tuple(changes["photos"])
    changes = {k: v for k, v in changes.items() if getattr(product, k) != v}
    if not changes:
        return product
    return store.update_product(product, changes, now)


def list_products(shops: ShopsStore, store: ProductsStore, shop_id: str, start_key: dict | None,
                  limit: int) -> Page:
    get_shop(shops, shop_id)  # an unknown shop is a 404, not an empty list
    return store.list_products(shop_id, start_key, limit)


def summary(product: Product) -> ProductSummary:
    return ProductSummary(product_id=product.product_id, name=product.name, price=product.price,
                          currency=product.currency, kind=product.kind,
                          photo=product.photos[0] if product.photos else None)


def resolve_products(store: ProductsStore, shop_id: str, product_ids: Sequence[str], *,
                     field: str = "body.product_ids") -> list[ProductSummary]:
    """The summaries of ``product_ids`` (duplicates dropped, order kept): one BatchGetItem.

    Raises ``Invalid`` (422) naming every id that is unknown or belongs to another shop, so a
    post can only tag its own shop's products. ``field`` names the request field in the problem.
    """
    wanted = list(dict.fromkeys(product_ids))
    if len(wanted) > MAX_RESOLVE:
        raise Invalid(f"At most {MAX_RESOLVE} products.", errors=[FieldProblem(field, f"at most {MAX_RESOLVE}", code="too_many",
                                                                                params={"max_length": MAX_RESOLVE})])
    if not wanted:
        return []
    found = store.get_products(wanted)
    problems = [FieldProblem(f"{field}.{i}", "not a product of this shop", code="not_shop_product", params={"id": pid})
                for i, pid in enumerate(product_ids) if pid not in found or found[pid].shop_id != shop_id]
    if problems:
        raise Invalid("Only the shop's own products can be tagged.", errors=problems)
    return [summary(found[pid]) for pid in wanted]
