"""Product rules on plain data: kinds, photos, and resolving a post's tagged products."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from chalicelib.records.commerce import Product
from chalicelib.records.common import Page
from chalicelib.errors import Invalid
from chalicelib.services import products


def _product(pid: str, shop: str = "S1", photos: tuple[str, ...] = ()) -> Product:
    return Product(product_id=pid, shop_id=shop, owner_id="O", name=f"상품 {pid}", description="", price=3000,
                   stock=5, kind="essential", reorder_days=7, photos=photos, created_at=0.0, updated_at=0.0)


class FakeProducts:
    def __init__(self, *items: Product) -> None:
        self.items = {p.product_id: p for p in items}
        self.calls: list[list[str]] = []

    def get_products(self, product_ids):
        self.calls.append(list(product_ids))
        return {pid: self.items[pid] for pid in product_ids if pid in self.items}

    def create_product(self, product: Product) -> None:
        raise NotImplementedError('FakeProducts does not create_product')

    def get_product(self, product_id: str) -> Product | None:
        raise NotImplementedError('FakeProducts does not get_product')

    def update_product(self, current: Product, changes: dict, now: float) -> Product:
        raise NotImplementedError('FakeProducts does not update_product')

    def list_products(self, shop_id: str, start_key: dict | None, limit: int) -> Page:
        raise NotImplementedError('FakeProducts does not list_products')


if TYPE_CHECKING:  # `make typecheck`: each fake keeps the contract of what it stands for
    _products: products.ProductsStore = FakeProducts()


def test_resolve_keeps_order_drops_duplicates_and_reads_once():
    store = FakeProducts(_product("a", photos=("uploads/O/1.jpg", "uploads/O/2.jpg")), _product("b"))
    found = products.resolve_products(store, "S1", ["b", "a", "b"])
    assert [s.product_id for s in found] == ["b", "a"]
    assert found[1].photo == "uploads/O/1.jpg" and found[0].photo is None
    assert (found[1].name, found[1].price, found[1].currency) == ("상품 a", 3000, "KRW")
    assert store.calls == [["b", "a"]]


def test_resolve_names_unknown_and_foreign_ids():
    store = FakeProducts(_product("a"), _product("f", shop="S2"))
    with pytest.raises(Invalid) as error:
        products.resolve_products(store, "S1", ["a", "f", "x"])
    assert [p.field for p in error.value.errors] == ["body.product_ids.1", "body.product_ids.2"]


def test_resolve_nothing_reads_nothing():
    store = FakeProducts()
    assert products.resolve_products(store, "S1", []) == []
    assert store.calls == []


@pytest.mark.parametrize("kind,days,ok", [("essential", 7, True), ("essential", None, False),
                                          ("treat", None, True), ("treat", 3, False)])
def test_kind_and_reorder_days(kind, days, ok):
    if ok:
        products._check_kind(kind, days)
    else:
        with pytest.raises(Invalid):
            products._check_kind(kind, days)


class FakeMedia:
    """S3 as ``check_photos`` asks it: which keys were really uploaded."""

    def __init__(self, *uploaded: str) -> None:
        from chalicelib.records.social import StoredObject

        self.stored = {key: StoredObject(key=key, size=1000, content_type="image/jpeg") for key in uploaded}
        self.asked: list[str] = []

    def presign_post(self, *args, **kwargs):
        raise NotImplementedError

    def stat_many(self, keys: list[str]) -> dict:
        self.asked += keys
        return {key: self.stored.get(key) for key in keys}


A = "uploads/U1/01JDQ80A1B2C3D4E5F6G7H8J9K.jpg"
B = "uploads/U1/01JDQ80A1B2C3D4E5F6G7H8J9M.jpg"


def test_photos_must_be_the_owners_uploads():
    products._check_photos(FakeMedia(A), "U1", [A])
    with pytest.raises(Invalid) as error:
        products._check_photos(FakeMedia(A), "U1", [A, "uploads/U2/01JDQ80A1B2C3D4E5F6G7H8J9K.jpg",
                                                    "uploads/U10/01JDQ80A1B2C3D4E5F6G7H8J9K.jpg"])
    assert [p.field for p in error.value.errors] == ["body.photos.1", "body.photos.2"]


def test_photos_that_were_never_uploaded_are_refused():
    with pytest.raises(Invalid) as error:
        products._check_photos(FakeMedia(A), "U1", [A, B])
    assert [(p.field, p.code) for p in error.value.errors] == [("body.photos.1", "not_uploaded")]
    media = FakeMedia()
    products._check_photos(media, "U1", [A], already=[A])  # a product's current photo: checked when first used
    assert media.asked == []


def test_average_is_exact_sum_over_count():
    p = _product("a")
    assert p.rating_average is None
    from dataclasses import replace

    assert replace(p, rating_sum=14, rating_count=3).rating_average == 4.67
