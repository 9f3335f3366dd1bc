"""Every log line the suites produce, grepped for secrets (a pytest plugin, ``tests/conftest.py``).

For the whole session a handler on the ``dongne`` logger (every app logger is its child) and
on the root logger (libraries) formats each record exactly as production does
(``chalicelib.logs.formatter``: Powertools' JSON, scrubbed) and looks in the finished line for

* anything shaped like a secret: a bearer token or cursor (``<base64url>.<43-character MAC>``),
  an ``Authorization: Bearer`` value, an argon2 hash, an e-mail address, a phone number
  (``chalicelib.logs.SCRUB_RULES`` — the formatter should have scrubbed them, so a match
  means the scrubbing failed);
* the passwords the run handled, exactly (every one hashed or checked, recorded by wrapping
  ``Passwords``): a password has no shape to look for;
* and the same in each record's *unscrubbed* message: code that tried to log a secret fails
  the test even when the scrubber caught it on the way out.

The test during which a leaking line was logged fails in its teardown, naming the line; the
session summary lists every leak. ``lines`` keeps every captured line for other tests to read.
"""

from __future__ import annotations

import logging
import threading

import pytest

MIN_EXACT = 8  # shorter "secrets" would match ordinary text

lines: list[str] = []
leaks: list[tuple[str, str, str]] = []  # (test, why, line)
_known: set[str] = set()
_lock = threading.Lock()
_current = {"test": "(collection)"}


def remember(*values: str | None) -> None:
    with _lock:
        _known.update(v for v in values if isinstance(v, str) and len(v) >= MIN_EXACT)


class LeakCheckingHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        from chalicelib.logs import formatter, scrub_patterns

        try:
            line = formatter().format(record)
            raw = record.getMessage()
        except Exception as error:  # noqa: BLE001 — a line that cannot be formatted is a leak of its own kind
            leaks.append((_current["test"], f"unformattable record: {error}", repr(record.msg)))
            return
        with _lock:
            lines.append(line)
            known = list(_known)
        for kind, pattern in scrub_patterns():
            if pattern.search(line):
                leaks.append((_current["test"], f"a {kind} in the line", line))
            elif pattern.search(raw):
                leaks.append((_current["test"], f"a {kind} was logged (scrubbed on the way out)", line))
        for value in known:
            if value in line or value in raw:
                leaks.append((_current["test"], "a password of this run", line))


# One handler per logger: Powertools' Logger adds a filter to the root logger's handlers that drops
# the app's records (they have their own handler), which must not reach the app's own.
_handlers = {"dongne": LeakCheckingHandler(level=logging.DEBUG), "": LeakCheckingHandler(level=logging.DEBUG)}
# ... and the root's skips the app's records, seen already when the app logger propagates.
_handlers[""].addFilter(lambda record: record.name != "dongne" and not record.name.startswith("dongne."))


def _wrap_secret_sources() -> None:
    from chalicelib.services import passwords

    hash_, verify = passwords.Passwords.hash, passwords.Passwords.verify

    def hash_recorded(self, password):
        remember(password)
        return hash_(self, password)

    def verify_recorded(self, stored_hash, password):
        remember(password)
        return verify(self, stored_hash, password)

    passwords.Passwords.hash = hash_recorded
    passwords.Passwords.verify = verify_recorded


def pytest_configure(config):
    _wrap_secret_sources()
    for name, handler in _handlers.items():
        logging.getLogger(name).addHandler(handler)


def pytest_unconfigure(config):
    for name, handler in _handlers.items():
        logging.getLogger(name).removeHandler(handler)


@pytest.fixture(autouse=True)
def no_secret_in_logs(request):
    _current["test"] = request.node.nodeid
    before = len(leaks)
    yield
    mine = leaks[before:]
    _current["test"] = "(between tests)"
    assert not mine, "secrets in log lines:\n" + "\n".join(f"  {why}: {line}" for _, why, line in mine)


def pytest_terminal_summary(terminalreporter):
    terminalreporter.write_line(f"log lines grepped for secrets: {len(lines)}; leaks: {len(leaks)}")
    for test, why, line in leaks:
        terminalreporter.write_line(f"  LEAK in {test}: {why}: {line[:300]}")
    if leaks:
        terminalreporter.section("secrets in log lines", red=True)


def pytest_sessionfinish(session, exitstatus):
    if leaks and session.exitstatus == 0:
        session.exitstatus = 1  # a leak outside any test (collection, session fixtures) still fails the run
