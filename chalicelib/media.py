"""S3 media: presigned POST uploads and object checks, behind a small class.

The boto3 client is injected (tests) or created on first use and cached (Lambda keeps it
warm), pointed at ``s3_endpoint`` when set (the local S3 of ``make run``).
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from chalicelib.errors import Unavailable
from chalicelib.records.social import StoredObject, Upload

log = logging.getLogger("dongne.media")


class S3Media:
    def __init__(self, bucket: str, region: str, endpoint: str | None = None, public_base_url: str | None = None,
                 client: Any = None) -> None:
        self.bucket = bucket
        self.region = region
        self.endpoint = endpoint
        self._client = client
        if public_base_url:
            self.base_url = public_base_url.rstrip("/")
        elif endpoint:
            self.base_url = f"{endpoint.rstrip('/')}/{bucket}"
        else:
            self.base_url = f"https://{bucket}.s3.{region}.amazonaws.com"

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3
            from botocore.config import Config

            config = Config(signature_version="s3v4", connect_timeout=2, read_timeout=5,
                            retries={"max_attempts": 3, "mode": "standard"},
                            s3={"addressing_style": "path" if self.endpoint else "virtual"})
            self._client = boto3.client("s3", region_name=self.region, endpoint_url=self.endpoint, config=config)
        return self._client

    def presign_post(self, key: str, content_type: str, max_bytes: int, expires_in: int, now: float) -> Upload:
        """A POST policy for exactly this key and content type, at most ``max_bytes``."""
        form = self.client.generate_presigned_post(
            Bucket=self.bucket, Key=key, Fields={"Content-Type": content_type},
            Conditions=[{"Content-Type": content_type}, ["content-length-range", 1, max_bytes]],
            ExpiresIn=expires_in,
        )
        return Upload(upload_url=form["url"], fields=dict(form["fields"]), key=key, content_type=content_type,
                      max_bytes=max_bytes, expires_at=now + expires_in)

    def stat(self, key: str) -> StoredObject | None:
        """What S3 has under ``key``, or None. A missing key is a 404 because the role may
        list the bucket (without that, S3 answers 403 and says nothing about existence)."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            head = self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            log.warning("HeadObject %s failed: %s", key, error)
            raise Unavailable("The photo store did not answer; retry shortly.") from error
        except BotoCoreError as error:
            log.warning("HeadObject %s failed: %s", key, error)
            raise Unavailable("The photo store did not answer; retry shortly.") from error
        return StoredObject(key=key, size=int(head.get("ContentLength", 0)), content_type=head.get("ContentType"))

    def stat_many(self, keys: list[str]) -> dict[str, StoredObject | None]:
        """HeadObject for each key, in parallel (a post has at most 10 photos)."""
        if len(keys) <= 1:
            return {key: self.stat(key) for key in keys}
        self.client  # create it once, before the threads share it (client creation is not thread-safe)
        with ThreadPoolExecutor(max_workers=min(len(keys), 10)) as pool:
            return dict(zip(keys, pool.map(self.stat, keys)))

    def url(self, key: str) -> str:
        return f"{self.base_url}/{key}"
