"""Every GET that takes a token only reads: its token check runs beside the view
(``api.revocation``), and the answer waits for it, which is right only if the view writes nothing
for the caller. Each served GET route is called with a live token and then with a logged-out one,
and every AWS call it makes (DynamoDB, S3, SQS, SNS: botocore's history of every client) is
recorded. A GET that has to write declares ``Router.route(writes=True)`` (its check then runs
first) and is listed in ``CHECKED_FIRST``."""

from __future__ import annotations

import re

import pytest
from botocore import history

from chalicelib.api.edge import ROUTES
from tests.api.commerce import advance, make_product, placed
from tests.api.conftest import assert_problem, create_post

# The calls that read. Anything else a request sends is a write.
READS = frozenset({"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems", "HeadObject", "GetObject",
                   "ListObjectsV2", "GetSecretValue", "GetEndpointAttributes"})
# Routes whose views write on purpose, with why the overlapped check is not their concern.
NO_TOKEN = {"/l/{code}": "a store link's landing page counts an anonymous visit; it reads no token"}
CHECKED_FIRST: set[str] = set()  # GET routes declared writes=True
MISSING = "01HZZZZZZZZZZZZZZZZZZZZZZZ"


class Recorder(history.BaseHistoryHandler):
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def emit(self, event_type, payload, source) -> None:
        if event_type == "API_CALL":
            self.calls.append((payload["service"], payload["operation"]))

    def writes(self) -> list[tuple[str, str]]:
        return [call for call in self.calls if call[1] not in READS]


@pytest.fixture
def recorder():
    recorder, recording = Recorder(), history.get_global_history_recorder()
    recording.add_handler(recorder)
    recording.enable()
    yield recorder
    recording.disable()
    recording._handlers.remove(recorder)


@pytest.fixture
def world(api, owner, drain_stream):
    """A buyer who follows, ordered, wrote to the shop and holds a store link; a post."""
    shop_id = owner["shop"]["shop_id"]
    tofu = make_product(api, owner)
    minji = api.signup(name="김민지")
    assert api.put(f"/shops/{shop_id}/follow", token=minji["token"]).status == 200
    post = create_post(api, owner, "두부 나왔어요 #두부")
    order = placed(api, minji, shop_id, (tofu["product_id"], 1))
    advance(api, owner, order["order_id"], "paid")
    assert api.post(f"/shops/{shop_id}/messages", {"text": "두부 언제 나와요?"}, token=minji["token"]).status == 201
    drain_stream()
    [conversation] = api.get("/me/conversations", token=minji["token"]).body["items"]
    [link] = api.get("/me/store-links", token=minji["token"]).body["items"]
    params = {"shop_id": shop_id, "post_id": post["post_id"], "order_id": order["order_id"],
              "product_id": tofu["product_id"], "conversation_id": conversation["conversation_id"],
              "user_id": minji["user"]["user_id"], "code": link["code"], "handle": owner["shop"]["handle"],
              "broadcast_id": MISSING, "subscription_id": MISSING, "region": "서울 마포구 망원동", "tag": "두부"}
    return {"buyer": minji, "owner": owner, "params": params}


def safe_routes(world) -> list[tuple[str, str]]:
    """(declared path, a URL of it) for every served GET, on the world's things."""
    out = []
    for spec in ROUTES:
        if spec.method in ("GET", "HEAD") and spec.path not in NO_TOKEN and spec.path not in CHECKED_FIRST:
            url = re.sub(r"\{(\w+)\}", lambda m: world["params"][m.group(1)], spec.path)
            out.append((spec.path, url + ("?q=두부" if spec.path == "/search/shops" else "")))
    return out


def test_no_get_that_takes_a_token_writes(api, world, recorder):
    checked = reads = 0
    for person in (world["buyer"], world["owner"]):  # the customer's routes and the owner's
        for path, url in safe_routes(world):
            recorder.calls.clear()
            answer = api.get(url, token=person["token"])
            assert answer.status < 500, (path, answer.body)
            assert recorder.writes() == [], f"GET {path} writes: declare it writes=True"
            checked += answer.status == 200
            reads += len(recorder.calls)
    assert checked >= 60  # most routes answered their content, not an early 403 or 404
    assert reads >= 100  # the recorder saw the routes' calls


def test_a_logged_out_token_gets_401_and_writes_nothing_on_every_get(api, world, recorder):
    token = world["buyer"]["token"]
    assert api.post("/auth/logout", token=token).status == 204
    for path, url in safe_routes(world):
        recorder.calls.clear()
        answer = api.get(url, token=token)
        assert recorder.writes() == [], path
        spec_auth = next(s.auth for s in ROUTES if s.path == path and s.method == "GET")
        if spec_auth or path in ("/shops/{shop_id}", "/posts/{post_id}"):  # signed in, or a token optional
            assert_problem(answer, 401)


def test_a_get_declared_to_write_checks_its_token_before_its_view():
    from chalicelib.api import revocation
    from chalicelib.errors import Unauthorized

    order: list[str] = []

    def dead():
        order.append("check")
        raise Unauthorized("This token has ended.")

    overlapped = revocation.start("GET", dead)
    assert overlapped.pending  # beside the view; the answer waits for it
    with pytest.raises(Unauthorized):
        overlapped.account()
    order.clear()
    with pytest.raises(Unauthorized):  # before the view: the view never runs, so it writes nothing
        revocation.start("GET", dead, writes=True)
        order.append("view")
    assert order == ["check"]
    assert not revocation.start("POST", lambda: object()).pending  # type: ignore[arg-type, return-value]
