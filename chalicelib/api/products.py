"""Products: a shop's catalogue (owner writes, anyone reads) and each product's reviews."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice import Blueprint

from chalicelib.api.edge import Ctx, Router, take_quota
from chalicelib.api.spec import lazy_models
from chalicelib.api.paging import page_out, start_key
from chalicelib.errors import Forbidden, StockChanged

if TYPE_CHECKING:
    from chalicelib.schemas.common import ListQuery, Page
    from chalicelib.schemas.orders import ReviewPage, ReviewPublic
    from chalicelib.schemas.products import ProductCreate, ProductPublic, ProductUpdate
else:  # pydantic models, imported on the first request that needs them
    ListQuery, Page = lazy_models("chalicelib.schemas.common", "ListQuery", "Page")
    ReviewPage, ReviewPublic = lazy_models("chalicelib.schemas.orders", "ReviewPage", "ReviewPublic")
    (ProductCreate, ProductPublic, ProductUpdate) = lazy_models(
        "chalicelib.schemas.products", "ProductCreate", "ProductPublic", "ProductUpdate")

products_blueprint = Blueprint(__name__)
route = Router(products_blueprint, "products")


def _product(product) -> dict:
    return ProductPublic.model_validate(product).model_dump()


@route.route("POST", "/shops/{shop_id}/products", status=201, body=ProductCreate, response=ProductPublic,
             errors=(Forbidden,), limit="product", summary="Add a product to the shop (owner only)")
def create_product(ctx: Ctx, shop_id: str, body: ProductCreate) -> ProductPublic:
    from chalicelib.services import products

    take_quota(ctx)  # before the photos are checked
    product = products.create_product(ctx.deps.shops, ctx.deps.products, ctx.user, shop_id, name=body.name,
                                      description=body.description, price=body.price, stock=body.stock,
                                      kind=body.kind.value, reorder_days=body.reorder_days, photos=body.photos,
                                      now=ctx.now, media=ctx.deps.media)
    return ProductPublic.model_validate(product)


@route.route("GET", "/shops/{shop_id}/products", auth=False, query=ListQuery, response=Page[ProductPublic],
             summary="A shop's products, newest first")
def list_shop_products(ctx: Ctx, shop_id: str, query: ListQuery) -> dict:
    from chalicelib.services import products

    scope = f"shop-products:{shop_id}"
    page = products.list_products(ctx.deps.shops, ctx.deps.products, shop_id,
                                  start_key(ctx, query.cursor, scope), query.limit)
    return page_out(ctx, page, scope, _product)


@route.route("GET", "/products/{product_id}", auth=False, response=ProductPublic, etag=True, summary="A product")
def get_product(ctx: Ctx, product_id: str) -> ProductPublic:
    from chalicelib.services import products

    return ProductPublic.model_validate(products.get_product(ctx.deps.products, product_id))


@route.route("PATCH", "/products/{product_id}", body=ProductUpdate, response=ProductPublic, errors=(Forbidden, StockChanged),
             etag=True, current=get_product,
             summary="Edit a product (owner only); a stock edit that raced an order is a 409")
def update_product(ctx: Ctx, product_id: str, body: ProductUpdate) -> ProductPublic:
    from chalicelib.services import products

    changes = body.model_dump(mode="json", exclude_unset=True)
    return ProductPublic.model_validate(products.edit_product(ctx.deps.products, ctx.user, product_id, changes,
                                                              ctx.now, media=ctx.deps.media))


@route.route("GET", "/products/{product_id}/reviews", auth=False, query=ListQuery, response=ReviewPage,
             summary="A product's reviews, newest first, with its exact rating count and average")
def list_product_reviews(ctx: Ctx, product_id: str, query: ListQuery) -> dict:
    from chalicelib.services import reviews

    scope = f"product-reviews:{product_id}"
    product, page = reviews.list_reviews(ctx.deps.products, ctx.deps.reviews, product_id,
                                         start_key(ctx, query.cursor, scope), query.limit)
    out = page_out(ctx, page, scope, lambda review: ReviewPublic.model_validate(review).model_dump())
    return {**out, "product_id": product.product_id, "rating_count": product.rating_count,
            "rating_average": product.rating_average}
