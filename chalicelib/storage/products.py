"""Products: one item each, listed per shop through gsi1."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from pynamodb.exceptions import UpdateError
from pynamodb.expressions.update import Action

from chalicelib.records.commerce import Product
from chalicelib.errors import NotFound, StockChanged
from chalicelib.records.common import Page
from chalicelib.storage.models.products import PRODUCT, ProductItem, product_pk, shop_products_pk
from chalicelib.storage.paging import page_of
from chalicelib.storage.retry import with_retries

CONDITION_FAILED = "ConditionalCheckFailedException"


def to_product(item: ProductItem) -> Product:
    return Product(
        product_id=item.product_id, shop_id=item.shop_id, owner_id=item.owner_id, name=item.name,
        description=item.description, price=int(item.price), stock=int(item.stock), kind=item.kind,
        reorder_days=None if item.reorder_days is None else int(item.reorder_days),
        photos=tuple(item.photos or ()), created_at=item.created_at, updated_at=item.updated_at,
        rating_sum=int(item.rating_sum or 0), rating_count=int(item.rating_count or 0), currency=item.currency,
    )


def product_key(product_id: str) -> tuple[str, str]:
    return product_pk(product_id), PRODUCT


class ProductsRepository:
    def create_product(self, product: Product) -> None:
        item = ProductItem(
            *product_key(product.product_id),
            product_id=product.product_id, shop_id=product.shop_id, owner_id=product.owner_id, name=product.name,
            description=product.description, price=product.price, currency=product.currency, stock=product.stock,
            kind=product.kind, reorder_days=product.reorder_days, photos=list(product.photos),
            rating_sum=0, rating_count=0, created_at=product.created_at, updated_at=product.updated_at,
            gsi1pk=shop_products_pk(product.shop_id), gsi1sk=product.product_id,
        )
        with_retries(lambda: item.save(condition=ProductItem.pk.does_not_exist()))

    def get_product(self, product_id: str) -> Product | None:
        try:
            return to_product(ProductItem.get(*product_key(product_id), consistent_read=True))
        except ProductItem.DoesNotExist:
            return None

    def get_products(self, product_ids: Sequence[str]) -> dict[str, Product]:
        """One BatchGetItem (ids must be distinct, at most 100); missing ids are left out."""
        keys = [product_key(pid) for pid in dict.fromkeys(product_ids)]
        found = with_retries(lambda: list(ProductItem.batch_get(keys, consistent_read=True)))
        return {item.product_id: to_product(item) for item in found if isinstance(item, ProductItem)}

    def update_product(self, current: Product, changes: dict, now: float) -> Product:
        """Apply allow-listed ``changes``. A new ``stock`` is written only if the stock is still
        what the edit was based on: an order sold some meanwhile → 409 with the current stock."""
        actions: list[Action] = [ProductItem.updated_at.set(now)]
        for name, value in changes.items():
            attribute = getattr(ProductItem, name)
            if value is None:
                actions.append(attribute.remove())
            else:
                actions.append(attribute.set(list(value) if name == "photos" else value))
        condition = ProductItem.pk.exists()
        if "stock" in changes:
            condition &= ProductItem.stock == current.stock
        item = ProductItem(*product_key(current.product_id))
        try:
            with_retries(lambda: item.update(actions=actions, condition=condition))
        except UpdateError as error:
            if error.cause_response_code != CONDITION_FAILED:
                raise
            latest = self.get_product(current.product_id)
            if latest is None:
                raise NotFound("No such product.") from error
            raise StockChanged(f"The stock changed while you were editing (now {latest.stock}); send the edit "
                               "again.", extra={"stock": latest.stock}) from error
        return replace(current, **changes, updated_at=now)

    def list_products(self, shop_id: str, start_key: dict | None, limit: int) -> Page:
        """A shop's products, newest first: one Query on gsi1."""
        def read() -> Page:
            results = ProductItem.gsi1.query(shop_products_pk(shop_id), scan_index_forward=False, limit=limit,
                                             last_evaluated_key=start_key)
            return page_of(results, limit, to_product)

        return with_retries(read)
