"""Reviews: one per delivered order, by its buyer, shown under each product of the order."""

from __future__ import annotations

from typing import Protocol

from chalicelib.records.commerce import Order, Product, Review
from chalicelib.errors import AlreadyReviewed, Forbidden, OrderNotDelivered
from chalicelib.ids import new_id
from chalicelib.records.common import Page
from chalicelib.services.accounts import AccountsStore, get_user
from chalicelib.services.orders import OrdersStore, Status, get_order
from chalicelib.services.products import ProductsStore, get_product


class ReviewsStore(Protocol):
    def create_review(self, order: Order, review: Review) -> None: ...
    def list_reviews(self, product_id: str, start_key: dict | None, limit: int) -> Page: ...


def review_order(orders: OrdersStore, reviews: ReviewsStore, accounts: AccountsStore, user_id: str,
                 order_id: str, *, rating: int, text: str, now: float) -> Review:
    """Write the review and add its rating to every product of the order, in one transaction
    conditional on the order being delivered and not yet reviewed (storage answers 409 if a
    racing review won)."""
    order = get_order(orders, user_id, order_id)
    if order.buyer_id != user_id:
        raise Forbidden("Only the buyer can review an order.")
    if order.status != Status.DELIVERED:
        raise OrderNotDelivered(f"Only a delivered order can be reviewed; this one is {order.status}.",
                       extra={"order_status": order.status})
    if order.review_id is not None:
        raise AlreadyReviewed("This order already has a review.", extra={"review_id": order.review_id})
    author = get_user(accounts, user_id)
    review = Review(review_id=new_id(), order_id=order.order_id, shop_id=order.shop_id, user_id=user_id,
                    author_name=author.name, product_ids=tuple(dict.fromkeys(line.product_id for line in order.items)),
                    rating=rating, text=text, created_at=now)
    reviews.create_review(order, review)
    return review


def list_reviews(products: ProductsStore, reviews: ReviewsStore, product_id: str, start_key: dict | None,
                 limit: int) -> tuple[Product, Page]:
    """A product (for its exact rating count and average) and one page of its reviews, newest first."""
    product = get_product(products, product_id)
    return product, reviews.list_reviews(product_id, start_key, limit)
