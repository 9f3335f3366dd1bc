"""Post rules on plain data: hashtags and upload keys."""

from __future__ import annotations

import pytest

from chalicelib.errors import Invalid
from chalicelib.services.posts import extract_hashtags
from chalicelib.services.uploads import check_photos, upload_key
from chalicelib.records.social import StoredObject


@pytest.mark.parametrize("text, tags", [
    ("#망원동 #두부", ["망원동", "두부"]),
    ("오늘의#두부 는 태그가 아님", []),
    ("#Tofu #TOFU #tofu", ["tofu"]),
    ("#2026 #2026년", ["2026년"]),
    ("&#39;quoted&#39;", []),
    ("##double #ok", ["ok"]),
    ("#" + "가" * 51 + " #짧은태그", ["짧은태그"]),
    ("줄바꿈\n#새줄태그", ["새줄태그"]),
])
def test_hashtags(text, tags):
    assert extract_hashtags(text) == tags


def test_at_most_thirty_hashtags():
    assert len(extract_hashtags(" ".join(f"#태그{n}" for n in range(40)))) == 30


class Bucket:
    def __init__(self, objects: dict[str, StoredObject]) -> None:
        self.objects, self.asked = objects, []

    def stat_many(self, keys):
        self.asked.extend(keys)
        return {k: self.objects.get(k) for k in keys}


def test_keys_are_the_users_own_and_checked_once():
    mine = upload_key("u1", "image/jpeg")
    bucket = Bucket({mine: StoredObject(mine, 1000, "image/jpeg")})
    check_photos(bucket, "u1", [mine])
    check_photos(bucket, "u1", [mine], already=[mine])
    assert bucket.asked == [mine]
    with pytest.raises(Invalid):
        check_photos(bucket, "u2", [mine])
    with pytest.raises(Invalid):
        check_photos(bucket, "u1", [upload_key("u1", "image/png")])  # never uploaded


def test_s3_trouble_is_503_not_500():
    from botocore.exceptions import ClientError, EndpointConnectionError

    from chalicelib.errors import Unavailable
    from chalicelib.media import S3Media

    class Failing:
        def __init__(self, error):
            self.error = error

        def head_object(self, **_):
            raise self.error

    missing = ClientError({"Error": {"Code": "404"}}, "HeadObject")
    assert S3Media("b", "r", client=Failing(missing)).stat("k") is None
    for error in (ClientError({"Error": {"Code": "403"}}, "HeadObject"), EndpointConnectionError(endpoint_url="x")):
        with pytest.raises(Unavailable):
            S3Media("b", "r", client=Failing(error)).stat("k")


def test_photo_urls_come_from_the_cdn_when_configured():
    from chalicelib.media import S3Media

    assert S3Media("b", "ap-northeast-2", public_base_url="https://d1.cloudfront.net/").url("uploads/u/x.jpg") == \
        "https://d1.cloudfront.net/uploads/u/x.jpg"
    assert S3Media("b", "r", endpoint="http://127.0.0.1:8202").url("k") == "http://127.0.0.1:8202/b/k"
