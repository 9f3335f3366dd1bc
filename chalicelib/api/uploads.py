"""Photo uploads: a presigned S3 POST for one image."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice import Blueprint

from chalicelib.api.edge import Ctx, Router, take_quota
from chalicelib.api.spec import lazy_models

if TYPE_CHECKING:
    from chalicelib.schemas.uploads import UploadCreate, UploadOut
else:  # pydantic models, imported on the first request that needs them
    UploadCreate, UploadOut = lazy_models("chalicelib.schemas.uploads", "UploadCreate", "UploadOut")

uploads_blueprint = Blueprint(__name__)
route = Router(uploads_blueprint, "uploads")


@route.route("POST", "/uploads", status=201, body=UploadCreate, response=UploadOut, limit="upload",
             summary="A presigned S3 POST for one image (jpeg/png/webp/heic, at most 10 MB, 10 minutes)")
def create_upload(ctx: Ctx, body: UploadCreate) -> UploadOut:
    from chalicelib.services import uploads

    take_quota(ctx)  # signing a form writes nothing: the limit is its own write
    return UploadOut.model_validate(uploads.presign(ctx.deps.media, ctx.user, body.content_type.value, ctx.now))
