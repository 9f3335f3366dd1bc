"""Photo uploads: what may be uploaded, under which key, and which keys a post may use.

The rules live here, in plain Python; ``chalicelib.media`` talks to S3.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from chalicelib.errors import FieldProblem, Invalid
from chalicelib.ids import new_id
from chalicelib.services import limits
from chalicelib.services.limits import ALLOWED_TYPES, KEY_PATTERN, UPLOAD_EXPIRES_SECONDS
from chalicelib.records.social import StoredObject, Upload


class MediaStore(Protocol):
    def presign_post(self, key: str, content_type: str, max_bytes: int, expires_in: int, now: float) -> Upload: ...
    def stat_many(self, keys: list[str]) -> dict[str, StoredObject | None]: ...


def upload_key(user_id: str, content_type: str) -> str:
    return f"uploads/{user_id}/{new_id()}.{ALLOWED_TYPES[content_type]}"


def presign(media: MediaStore, user_id: str, content_type: str, now: float) -> Upload:
    """A presigned POST for one image of an allowed type, under the user's own prefix."""
    if content_type not in ALLOWED_TYPES:
        raise Invalid("This type of file cannot be uploaded.",
                      errors=[FieldProblem("body.content_type", f"one of {', '.join(ALLOWED_TYPES)}", code="not_allowed",
                                           params={"expected": ", ".join(ALLOWED_TYPES),
                                                   "expected_ko": ", ".join(ALLOWED_TYPES)})])
    return media.presign_post(upload_key(user_id, content_type), content_type, limits.MAX_UPLOAD_BYTES,
                              UPLOAD_EXPIRES_SECONDS, now)


def check_photos(media: MediaStore, user_id: str, keys: list[str], already: Sequence[str] = (),
                 field: str = "body.photos") -> None:
    """Every key must be the user's own upload, really uploaded, an allowed image within the cap.

    Keys in ``already`` (the post's current photos) were checked when first used. The
    prefix test is free; new keys cost one HeadObject each, sent in parallel.
    """
    problems: list[FieldProblem] = []
    if len(keys) != len(set(keys)):
        problems.append(FieldProblem(field, "the same photo is listed twice", code="duplicate"))
    fresh = []
    for index, key in enumerate(keys):
        match = KEY_PATTERN.match(key)
        if match is None or match["user"] != user_id:
            problems.append(FieldProblem(f"{field}.{index}", "not one of your uploads (use POST /uploads)",
                                         code="not_uploaded", params={"key": key}))
        elif key not in already:
            fresh.append((index, key))
    if problems:
        raise Invalid("Some photos cannot be used.", errors=problems)
    if not fresh:
        return
    found = media.stat_many([key for _, key in fresh])
    for index, key in fresh:
        stored = found.get(key)
        if stored is None:
            problems.append(FieldProblem(f"{field}.{index}", "not uploaded yet (or the upload expired)",
                                         code="not_uploaded", params={"key": key}))
        elif stored.size > limits.MAX_UPLOAD_BYTES or stored.size <= 0:
            problems.append(FieldProblem(f"{field}.{index}",
                                         f"the file must be 1 byte to {limits.MAX_UPLOAD_BYTES} bytes",
                                         code="not_image", params={"key": key}))
        elif (stored.content_type or "").split(";")[0].strip().lower() not in ALLOWED_TYPES:
            problems.append(FieldProblem(f"{field}.{index}", "not an allowed image type", code="not_image",
                                         params={"key": key}))
    if problems:
        raise Invalid("Some photos cannot be used.", errors=problems)
