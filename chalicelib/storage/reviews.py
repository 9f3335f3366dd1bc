"""Reviews: written with the order's "reviewed" mark and the products' rating counters."""

from __future__ import annotations

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.records.commerce import Order, Review
from chalicelib.errors import AlreadyReviewed
from chalicelib.records.common import Page
from chalicelib.storage.accounts import _connection
from chalicelib.storage.models.orders import ORDER, OrderItem, order_pk
from chalicelib.storage.models.products import REVIEW_PREFIX, ProductItem, ReviewItem, product_pk, review_sk
from chalicelib.storage.orders import CHECK_FAILED
from chalicelib.storage.paging import page_of
from chalicelib.storage.products import product_key
from chalicelib.storage.retry import with_retries

DELIVERED = "delivered"


def to_review(item: ReviewItem) -> Review:
    return Review(review_id=item.review_id, order_id=item.order_id, shop_id=item.shop_id, user_id=item.user_id,
                  author_name=item.author_name, product_ids=tuple(item.product_ids), rating=int(item.rating),
                  text=item.text, created_at=item.created_at)


class ReviewsRepository:
    def create_review(self, order: Order, review: Review) -> None:
        """One transaction: the order gets ``review_id`` (only if delivered, bought by the
        reviewer and not reviewed yet), each product of the order gets a review entry and its
        ``rating_sum`` / ``rating_count`` grow — so the counters always match the entries."""
        entries = [
            ReviewItem(product_pk(pid), review_sk(review.review_id), review_id=review.review_id,
                       order_id=review.order_id, product_id=pid, product_ids=list(review.product_ids),
                       shop_id=review.shop_id, user_id=review.user_id, author_name=review.author_name,
                       rating=review.rating, text=review.text, primary=(i == 0), created_at=review.created_at)
            for i, pid in enumerate(review.product_ids)
        ]
        condition = ((OrderItem.status == DELIVERED) & OrderItem.review_id.does_not_exist()
                     & (OrderItem.buyer_id == review.user_id))

        def write() -> None:
            with TransactWrite(connection=_connection()) as tx:
                for entry in entries:  # puts go first in the request
                    tx.save(entry, condition=ReviewItem.pk.does_not_exist())
                tx.update(OrderItem(order_pk(order.order_id), ORDER),
                          actions=OrderItem.quietly([OrderItem.review_id.set(review.review_id)]),
                          condition=condition)
                for pid in review.product_ids:
                    tx.update(ProductItem(*product_key(pid)),
                              actions=[ProductItem.rating_sum.add(review.rating), ProductItem.rating_count.add(1)],
                              condition=ProductItem.pk.exists())

        try:
            with_retries(write)
        except TransactWriteError as error:
            reasons = error.cancellation_reasons
            at_order = len(entries)
            reason = reasons[at_order] if len(reasons) > at_order else None
            if reason is not None and reason.code == CHECK_FAILED:
                raise AlreadyReviewed("This order was reviewed meanwhile.") from error
            raise

    def list_reviews(self, product_id: str, start_key: dict | None, limit: int) -> Page:
        """A product's reviews, newest first: one Query in the product's partition."""
        def read() -> Page:
            results = ReviewItem.query(product_pk(product_id), ReviewItem.sk.startswith(REVIEW_PREFIX),
                                       scan_index_forward=False, limit=limit, last_evaluated_key=start_key)
            return page_of(results, limit, to_review)

        return with_retries(read)
