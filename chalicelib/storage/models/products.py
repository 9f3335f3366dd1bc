"""Products of a shop and the reviews listed under them."""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import BooleanAttribute, ListAttribute, NumberAttribute, UnicodeAttribute

from chalicelib.storage.base import MainItem

PRODUCT = "PRODUCT"
REVIEW_PREFIX = "REVIEW#"


def product_pk(product_id: str) -> str:
    return f"PRODUCT#{product_id}"


def shop_products_pk(shop_id: str) -> str:
    return f"SHOP#{shop_id}#PRODUCTS"


def review_sk(review_id: str) -> str:
    return f"{REVIEW_PREFIX}{review_id}"


class ProductItem(MainItem, discriminator="product"):
    """Something a shop sells.

    Key design: ``pk = PRODUCT#<product_id>``, ``sk = PRODUCT``; the shop's products through
    ``gsi1pk = SHOP#<shop_id>#PRODUCTS``, ``gsi1sk = <product_id>`` (ULID: newest first with a
    descending Query). The partition also holds the product's reviews (``REVIEW#<review_id>``).

    ``stock`` only changes inside a conditional write: an order's transaction decrements it
    with ``stock >= :quantity``, a cancellation adds it back, an owner's edit sets it with a
    condition on the value the owner saw. ``rating_sum`` / ``rating_count`` change only in the
    transaction that writes a review, so the average (sum / count, on read) is exact.
    ``owner_id`` (shops never change hands) answers "may this user edit it" without reading
    the shop.
    """

    product_id = UnicodeAttribute()
    shop_id = UnicodeAttribute()
    owner_id = UnicodeAttribute()
    name = UnicodeAttribute()
    description = UnicodeAttribute(default="")
    price = NumberAttribute()
    currency = UnicodeAttribute(default="KRW")
    stock = NumberAttribute()
    kind = UnicodeAttribute()
    reorder_days = NumberAttribute(null=True)
    photos: ListAttribute[Any] = ListAttribute(of=UnicodeAttribute, default=list)
    rating_sum = NumberAttribute(default=0)
    rating_count = NumberAttribute(default=0)
    created_at = NumberAttribute()
    updated_at = NumberAttribute()


class ReviewItem(MainItem, discriminator="review"):
    """A buyer's review of a delivered order, listed under each product of the order.

    Key design: ``pk = PRODUCT#<product_id>``, ``sk = REVIEW#<review_id>`` (ULID: a product's
    reviews are one Query, newest first with a descending read). An order with n distinct
    products has one review written as n of these items (same ``review_id``; ``primary`` is
    true on exactly one of them), in the transaction that marks the order reviewed and adds
    the rating to each product's ``rating_sum`` / ``rating_count``.
    """

    review_id = UnicodeAttribute()
    order_id = UnicodeAttribute()
    product_id = UnicodeAttribute()
    product_ids: ListAttribute[Any] = ListAttribute(of=UnicodeAttribute)
    shop_id = UnicodeAttribute()
    user_id = UnicodeAttribute()
    author_name = UnicodeAttribute(default="")
    rating = NumberAttribute()
    text = UnicodeAttribute(default="")
    primary = BooleanAttribute(default=False)
    created_at = NumberAttribute()
