"""Structured logs: one JSON object per line (Powertools' formatter), secrets scrubbed; under
`make run` (``DONGNE_LOG_FORMAT=text``) one readable line per record instead.

Every logger of the app is a child of ``dongne`` (``dongne.http``, ``dongne.feed``...), which
is also the Chalice app's own logger. ``configure_logging`` gives it one handler writing to
stdout (CloudWatch Logs on Lambda, the terminal under ``make run``). The handler builds
its formatter — Powertools' ``LambdaPowertoolsFormatter`` — on the first record it formats,
so ``import app`` does not load Powertools (the cold-start budget); the middleware in
``chalicelib.observability`` then adds the request's keys (request id, cold start, route,
user id) to every line logged while the request runs.

Nothing secret may reach a log line: no bearer token or cursor, password, password hash,
e-mail address or phone number. The app never logs them, and a test greps every line the
test suites produce (``tests/log_secrets.py``). As a second line of defence the formatter
scrubs what looks like one of them from the finished line — an exception message from a
library may quote an input — replacing it with ``[redacted <kind>]``.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # Powertools is imported on first use (see above), never at import
    from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
    from aws_lambda_powertools.logging.types import LogRecord

ROOT_LOGGER = "dongne"
# Libraries that log request parameters (items, with e-mail and password hash) at DEBUG.
# They stay at WARNING whatever the app's level is.
QUIET_LIBRARIES = ("pynamodb", "botocore", "boto3", "urllib3", "aws_lambda_powertools")

# What a secret looks like; the order matters (a token before the e-mail pattern's parts).
# Compiled on first use (``scrub_patterns``), off the cold start.
SCRUB_RULES: tuple[tuple[str, str], ...] = (
    # argon2 PHC strings: $argon2id$v=19$m=65536,t=3,p=1$salt$hash
    ("password hash", r"\$argon2(?:id|i|d)\$[A-Za-z0-9$=,+/.-]*"),
    # Authorization header values, whatever follows the scheme
    ("bearer token", r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]+"),
    # our signed tokens and cursors: base64url(payload) "." base64url(HMAC-SHA256) (43 characters)
    ("signed token", r"[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])"),
    ("e-mail", r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"),
    # phone numbers: E.164 (+8210...) and Korean national forms (010-1234-5678, 01012345678)
    ("phone", r"(?<![\w.])(?:\+\d{9,15}|0\d{1,2}[- ]?\d{3,4}[- ]?\d{4})(?![\w.])"),
)


@lru_cache(maxsize=1)
def scrub_patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    return tuple((kind, re.compile(rule)) for kind, rule in SCRUB_RULES)


def scrub(text: str) -> str:
    for kind, pattern in scrub_patterns():
        text = pattern.sub(f"[redacted {kind}]", text)
    return text


def _dumps(value: Any) -> str:
    # Korean stays readable in the terminal and in Logs Insights
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


_formatter: LambdaPowertoolsFormatter | None = None

# Keys a text line leaves out: the time, level, logger and message lead it; the rest is for Lambda.
_TEXT_SKIPPED = frozenset({"timestamp", "level", "name", "message", "service", "location", "function_request_id",
                           "function_name", "cold_start", "sampling_rate", "xray_trace_id", "exception",
                           "exception_name", "exception_notes", "stack_trace"})


def _text_value(value: Any) -> str:
    text = value if isinstance(value, str) else _dumps(value)
    return _dumps(text) if not text or any(c.isspace() or c in "\"=" for c in text) else text


def text_line(log: LogRecord) -> str:
    """One record as one readable line: ``12:00:01.234 WARNING dongne.http: message  key=value ...``,
    an exception as its type, message and innermost frame (no traceback: one line each)."""
    message = str(log.get("message", "")).replace("\n", "\\n")
    line = f"{log.get('timestamp', '')} {log.get('level', '')} {log.get('name', ROOT_LOGGER)}: {message}"
    fields = " ".join(f"{key}={_text_value(value)}" for key, value in log.items()
                      if key not in _TEXT_SKIPPED and value is not None)
    if fields:
        line += "  " + fields
    if log.get("exception_name"):
        stack = log.get("stack_trace") or {}
        value = str(stack.get("value", "")).replace("\n", "\\n")
        line += f"  error={_text_value(log['exception_name'] + (': ' + value if value else ''))}"
        frames = stack.get("frames") or []
        if frames:
            line += f" at {frames[-1].get('file')}:{frames[-1].get('line')}"
    return line


def formatter() -> LambdaPowertoolsFormatter:
    """The one formatter of the app's log lines (Powertools', scrubbing), built on first use: JSON,
    or with ``DONGNE_LOG_FORMAT=text`` (`make run`) one readable line per record.

    Both are Powertools' ``LambdaPowertoolsFormatter``, so the Logger's keys (request id, route,
    user id) reach either; the text one overrides ``serialize``, Powertools' documented way to
    shape the output, and adds the logger's name (a field format string)."""
    global _formatter
    if _formatter is None:
        from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

        from chalicelib.settings import get_settings

        class ScrubbingFormatter(LambdaPowertoolsFormatter):
            def serialize(self, log: LogRecord) -> str:
                return scrub(super().serialize(log))

        class TextFormatter(LambdaPowertoolsFormatter):
            def serialize(self, log: LogRecord) -> str:
                return scrub(text_line(log))

        if get_settings().log_format == "text":
            _formatter = TextFormatter(datefmt="%H:%M:%S.%F", service=ROOT_LOGGER, name="%(name)s",
                                       log_record_order=["timestamp", "level", "name", "message"])
        else:
            _formatter = ScrubbingFormatter(json_serializer=_dumps, utc=True, use_rfc3339=True,
                                            service=ROOT_LOGGER,
                                            log_record_order=["level", "message", "timestamp", "service"])
    return _formatter


class StructuredHandler(logging.StreamHandler):
    """Writes to the current ``sys.stdout`` with ``formatter()``, built on the first record."""

    def __init__(self) -> None:
        super().__init__(sys.stdout)

    @property
    def stream(self):  # follows sys.stdout, which test runners and the local server swap
        return sys.stdout

    @stream.setter
    def stream(self, value) -> None:
        pass

    def format(self, record: logging.LogRecord) -> str:
        if self.formatter is None:
            self.setFormatter(formatter())
        return super().format(record)


_handler: StructuredHandler | None = None


def handler() -> StructuredHandler:
    global _handler
    if _handler is None:
        _handler = StructuredHandler()
    return _handler


def configure_logging(level: str | int = logging.INFO) -> logging.Logger:
    """The ``dongne`` logger writes through ``handler()`` only (it replaces the plain handler
    Chalice installs on its app logger); cheap: nothing is imported."""
    logger = logging.getLogger(ROOT_LOGGER)
    for existing in list(logger.handlers):
        if type(existing) is logging.StreamHandler:  # Chalice's plain "name - level - message" one
            logger.removeHandler(existing)
    if handler() not in logger.handlers:
        logger.addHandler(handler())
    logger.setLevel(level)
    logger.propagate = False
    for name in QUIET_LIBRARIES:
        library = logging.getLogger(name)
        if library.level == logging.NOTSET or library.level < logging.WARNING:
            library.setLevel(logging.WARNING)
    return logger
