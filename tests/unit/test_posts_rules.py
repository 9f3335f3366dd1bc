"""Post rules on plain data: hashtags and upload keys."""

from __future__ import annotations

import pytest

from chalicelib.errors import Invalid
from chalicelib.services.posts import extract_hashtags
from chalicelib.services.uploads import check_photos, upload_key
from chalicelib.social_records import StoredObject


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
