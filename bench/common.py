"""What every benchmark shares: pointing the app at the benchmark's own DynamoDB Local."""

from __future__ import annotations

import os

REGION = "us-east-1"


def configure(endpoint: str, tables: str = "dongne-bench", **settings: str) -> None:
    """Environment for the app's settings: the bench tables on ``endpoint``.

    ``settings`` adds DONGNE_* values (``argon2_memory_kib="8"`` → DONGNE_ARGON2_MEMORY_KIB).
    """
    os.environ.update({
        "DONGNE_STAGE": "local",
        "DONGNE_REGION": REGION,
        "DONGNE_TABLE_NAME": tables,
        "DONGNE_FEED_TABLE_NAME": f"{tables}-feed",
        "DONGNE_MEDIA_BUCKET": f"{tables}-media",
        "DONGNE_DYNAMODB_ENDPOINT": endpoint,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": REGION,
        **{f"DONGNE_{key.upper()}": value for key, value in settings.items()},
    })
