"""Structured logs: one JSON object per line, as CloudWatch Logs Insights likes them."""

from __future__ import annotations

import logging


def configure_logging(app) -> None:
    """Send the ``dongne`` loggers through Chalice's handler (stdout on Lambda and locally).

    The level is read from the environment through settings lazily, on first request,
    to keep import free of configuration reads; INFO until then.
    """
    logger = logging.getLogger("dongne")
    logger.setLevel(logging.INFO)
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
    logger.propagate = False
    app.log.setLevel(logging.INFO)
