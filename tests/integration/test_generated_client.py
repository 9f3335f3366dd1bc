"""A client generated from the served /openapi.json, as a mobile developer would make one,
drives the product's main path through the running API with typed results.

``openapi-python-client`` generates the package into a temporary directory (nothing is
committed) and must print no warning; the test then signs up a shop owner and a neighbour,
opens a shop, adds a product, follows, posts, reads the feed, orders, and runs out of stock
(409 ``out_of_stock`` with its ``shortages``). A rename, a wrong type, a missing status or an
undeclared field in the document breaks the build here, as it would break the app.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
import urllib.request
import uuid
from pathlib import Path

import pytest

from tests.conftest import BACKEND

pytestmark = pytest.mark.skipif(BACKEND != "ddblocal", reason="the live server needs DynamoDB Local")

GENERATOR_CONFIG = """\
project_name_override: dongne-client
package_name_override: dongne_client
post_hooks: []
"""


@pytest.fixture(scope="module")
def generated(served, tmp_path_factory):
    """The generated package, imported; yields the module namespace and the generator's output."""
    root = tmp_path_factory.mktemp("client")
    spec = root / "openapi.json"
    with urllib.request.urlopen(f"{served.base_url}/openapi.json", timeout=30) as response:
        spec.write_bytes(response.read())
    (root / "config.yaml").write_text(GENERATOR_CONFIG)
    result = subprocess.run(
        [str(Path(sys.executable).parent / "openapi-python-client"), "generate", "--path", str(spec),
         "--output-path", str(root / "out"), "--config", str(root / "config.yaml")],
        capture_output=True, text=True, timeout=300, cwd=root)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    sys.path.insert(0, str(root / "out"))
    try:
        yield importlib.import_module("dongne_client"), output
    finally:
        sys.path.remove(str(root / "out"))
        for name in [n for n in sys.modules if n == "dongne_client" or n.startswith("dongne_client.")]:
            del sys.modules[name]


@pytest.fixture
def drain(aws_backend):
    """Runs the stream handler on what the API wrote (``chalice local`` runs no stream handler)."""
    import boto3

    from chalicelib import wiring
    from chalicelib.events.stream import stream
    from devtools.stream_poller import StreamPoller

    settings = wiring.container().settings
    poller = StreamPoller(boto3.client("dynamodb", region_name=settings.region, endpoint_url=aws_backend),
                          boto3.client("dynamodbstreams", region_name=settings.region, endpoint_url=aws_backend),
                          settings.table_name, lambda event, context: None, start_at="LATEST")
    poller.drain()  # position after everything written so far
    poller.handler = stream
    return poller.drain


def test_generation_prints_no_warning(generated):
    _, output = generated
    assert "warning" not in output.lower() and "error" not in output.lower(), output
    print(output)


def test_the_main_path_through_a_generated_client(served, generated, drain):
    package, _ = generated
    from dongne_client import AuthenticatedClient, Client
    from dongne_client.api.accounts import sign_up
    from dongne_client.api.feed import get_feed
    from dongne_client.api.follows import follow_shop
    from dongne_client.api.orders import place_order
    from dongne_client.api.posts import create_post
    from dongne_client.api.products import create_product
    from dongne_client.api.shops import get_shop, open_shop
    from dongne_client.models import (
        AuthOut, FeedPage, FollowOut, OrderCreate, OrderLineIn, OrderPublic, OrderStatus, PostCreate, PostView,
        Problem, ProductCreate, ProductKind, ProductPublic, ShopCreate, ShopView, SignupIn,
    )

    anyone = Client(base_url=served.base_url, raise_on_unexpected_status=True)
    run = uuid.uuid4().hex[:8]

    def account(name: str) -> AuthOut:
        made = sign_up.sync(client=anyone, body=SignupIn(name=name, email=f"{run}-{len(name)}@example.kr",
                                                          password="correct horse 1"))
        assert isinstance(made, AuthOut), made
        return made

    owner, neighbour = account("박사장님"), account("김민지")
    as_owner = AuthenticatedClient(base_url=served.base_url, token=owner.token, raise_on_unexpected_status=True)
    as_neighbour = AuthenticatedClient(base_url=served.base_url, token=neighbour.token,
                                       raise_on_unexpected_status=True)

    shop = open_shop.sync(client=as_owner, body=ShopCreate(name="망원동 두부가게", handle=f"tofu_{run}",
                                                            region="서울 마포구 망원동"))
    assert isinstance(shop, ShopView) and shop.handle == f"tofu_{run}" and shop.follower_count == 0

    tofu = create_product.sync(shop.shop_id, client=as_owner, body=ProductCreate(
        name="손두부 (500g)", price=4500, stock=2, kind=ProductKind.ESSENTIAL, reorder_days=7))
    assert isinstance(tofu, ProductPublic) and tofu.kind is ProductKind.ESSENTIAL and tofu.currency == "KRW"

    followed = follow_shop.sync(shop.shop_id, client=as_neighbour)
    assert isinstance(followed, FollowOut) and followed.following is True

    post = create_post.sync(shop.shop_id, client=as_owner, body=PostCreate(
        text="오늘 아침 손두부 나왔어요 #망원동", product_ids=[tofu.product_id]))
    assert isinstance(post, PostView) and post.hashtags == ["망원동"] and post.products[0].price == 4500
    assert drain() > 0

    feed = get_feed.sync(client=as_neighbour, limit=20)
    assert isinstance(feed, FeedPage)
    assert [item.post_id for item in feed.items] == [post.post_id]
    assert feed.items[0].shop_name == "망원동 두부가게" and feed.items[0].products[0].name == "손두부 (500g)"

    line = OrderLineIn(product_id=tofu.product_id, quantity=2)
    order = place_order.sync(client=as_neighbour, idempotency_key=f"{run}-1",
                             body=OrderCreate(shop_id=shop.shop_id, items=[line], via_post_id=post.post_id))
    assert isinstance(order, OrderPublic)
    assert (order.status, order.total, order.via_post_id) == (OrderStatus.PENDING_PAYMENT, 9000, post.post_id)

    replay = place_order.sync_detailed(client=as_neighbour, idempotency_key=f"{run}-1",
                                       body=OrderCreate(shop_id=shop.shop_id, items=[line],
                                                        via_post_id=post.post_id))
    assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.parsed.order_id == order.order_id

    sold_out = place_order.sync_detailed(client=as_neighbour, idempotency_key=f"{run}-2",
                                         body=OrderCreate(shop_id=shop.shop_id, items=[line]))
    assert sold_out.status_code == 409
    problem = sold_out.parsed
    assert isinstance(problem, Problem) and problem.code == "out_of_stock"
    assert [(s.product_id, s.requested, s.available) for s in problem.shortages] == [(tofu.product_id, 2, 0)]

    fresh = get_shop.sync_detailed(shop.shop_id, client=anyone)
    assert fresh.status_code == 200 and fresh.parsed.follower_count == 1
    unchanged = get_shop.sync_detailed(shop.shop_id, client=anyone, if_none_match=fresh.headers["ETag"])
    assert unchanged.status_code == 304
