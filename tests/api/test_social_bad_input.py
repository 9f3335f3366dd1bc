"""Whatever a client sends to the social routes is answered 2xx or a 4xx problem, never a 500."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.conftest import create_post

scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
                    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=30))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                            max_size=4), max_leaves=8)
bodies = st.one_of(
    values,
    st.fixed_dictionaries({}, optional={"text": values, "photos": values, "product_ids": values}),
    st.fixed_dictionaries({}, optional={"content_type": values}),
)
queries = st.dictionaries(st.sampled_from(["limit", "cursor", "order", "x"]), st.text(max_size=40), max_size=3)
FUZZ = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def assert_handled(answer) -> None:
    assert answer.status < 500, (answer.status, answer.body)
    if answer.status >= 400:
        assert answer.content_type.startswith("application/problem+json")


@FUZZ
@given(body=bodies)
def test_writes_with_any_json_body(api, owner, body):
    post = create_post(api, owner)
    raw = json.dumps(body, ensure_ascii=False)
    for method, path in (("POST", f"/shops/{owner['shop']['shop_id']}/posts"), ("PATCH", f"/posts/{post['post_id']}"),
                         ("POST", f"/posts/{post['post_id']}/comments"), ("POST", "/uploads")):
        assert_handled(api.call(method, path, raw=raw, token=owner["token"]))


@FUZZ
@given(query=queries)
def test_lists_with_any_query(api, owner, query):
    from urllib.parse import urlencode

    qs = urlencode(query)
    post = create_post(api, owner)
    for path in ("/feed", "/me/following", f"/shops/{owner['shop']['shop_id']}/followers",
                 f"/shops/{owner['shop']['shop_id']}/posts", f"/posts/{post['post_id']}/comments"):
        assert_handled(api.get(f"{path}?{qs}", token=owner["token"]))


@FUZZ
@given(segment=st.text(min_size=1, max_size=80).filter(lambda s: "/" not in s and "?" not in s and "#" not in s))
def test_any_path_id(api, user, segment):
    from urllib.parse import quote

    seg = quote(segment, safe="")
    for method, path in (("PUT", f"/shops/{seg}/follow"), ("DELETE", f"/shops/{seg}/follow"),
                         ("GET", f"/posts/{seg}"), ("PUT", f"/posts/{seg}/like"), ("DELETE", f"/comments/{seg}"),
                         ("POST", f"/posts/{seg}/shares"), ("GET", f"/shops/{seg}/posts")):
        assert_handled(api.call(method, path, token=user["token"]))
