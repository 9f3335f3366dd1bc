"""`chalice local`, answering API Gateway's own errors the way the deployed API does.

On AWS, the deployment template (deploy/template.py) turns API Gateway's generated
answers — an unknown route (403 "Missing Authentication Token", which we answer 404) — into
application/problem+json with an ``X-Request-Id`` (there is no authorizer: the app answers every 401 itself). `chalice local` emulates
API Gateway but answers those with its own JSON; this entry point runs the very same
`chalice local` command with those answers translated, so the local contract is the
deployed one. Every method reaches the app (which answers 405 with ``Allow`` for one a path
does not have); requests Python's HTTP server cannot parse itself (a malformed request line,
a header too long) get its status as a problem too.

Requests reach the app as API Gateway would hand them over, where `chalice local` differs:

* a body sent ``Transfer-Encoding: chunked`` (no Content-Length) is read, not dropped; a
  Content-Length that is not a number, or a transfer coding other than chunked, is 400; a
  body over API Gateway's payload quota (``GATEWAY_PAYLOAD_LIMIT``, 10 MB) is 413 before the
  app sees it (the app refuses anything over its own, smaller limit the same way);
* the request target is read from its bytes: Python's server decodes the request line as
  ISO-8859-1, so bytes above ASCII sent as they are (curl's ``?q=두부``) are percent-encoded
  back, and the query is percent-decoded as UTF-8 with U+FFFD for each byte that is not
  UTF-8 (``?cursor=%ff``), which the app answers 400 ``malformed_query``, as on AWS.

Two more differences from the console script:

* a listen backlog of ``BACKLOG`` instead of Python's default 5, so dozens of clients
  connecting at once queue instead of being reset;
* ``--quiet`` (for ``make run``): no "Serving on" line, and instead of Python's access log one
  readable line per request: time, method, path (no query: cursors are secrets), status,
  milliseconds and request id (``X-Request-Id`` of the answer when it has one, else the local
  Lambda context's, which the app's log lines carry); the server's own errors in one line each.

``--exit-with-parent`` stops the server when the process that started it is gone (even
killed with SIGKILL), so a crashed ``make run`` cannot leave it holding the port.

    python -m devtools.chalice_local --stage local --port 8000 [--quiet] [--exit-with-parent]
"""

from __future__ import annotations

import json
import os
import re
import sys
import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler
from typing import BinaryIO
from urllib.parse import quote_from_bytes

from chalice import local

# Connections the kernel queues before the server accepts them. Python's socketserver
# default is 5: 20-30 clients connecting at once got connection resets. 128 holds several
# times the 50 concurrent clients the local API is tested with (Linux caps it at somaxconn).
BACKLOG = 128
# The largest body we read to discard before answering a request the app never sees.
_DISCARD_LIMIT = 1024 * 1024
# API Gateway's payload quota: a larger request body is refused (413) before the function runs.
GATEWAY_PAYLOAD_LIMIT = 10 * 1024 * 1024
# A chunk-size line (hex size, optional extensions) or a trailer line longer than this is refused.
_MAX_CHUNK_LINE = 4096
_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,16}")
# Everything printable in ASCII stays as it is in a request target (``%`` too: escapes are kept).
_TARGET_SAFE = bytes(range(0x21, 0x7F))

# The gateway's own answers -> (status, problem code), as deploy/template.py's GatewayResponses.
GATEWAY_PROBLEMS = {
    403: (404, "route_not_found"),   # "Missing Authentication Token": no route has this path
}
_CODES = {400: "bad_request", 401: "unauthorized", 404: "route_not_found", 405: "method_not_allowed",
          413: "payload_too_large", 503: "service_unavailable"}


def _problem(status: int, title: str, detail: str, code: str | None = None, lang: str = "en") -> bytes:
    """A problem+json body; with a ``code`` from the catalogue, its words (in ``lang``) are used."""
    code = code or _CODES.get(status, "bad_request")
    from chalicelib.messages import problem_text

    if code in _CODES.values():
        title, detail = problem_text(code, lang, {"retry_after": 1}, None)
    return json.dumps({"type": "https://dongne.app/problems/" + code.replace("_", "-"), "code": code, "title": title,
                       "status": status, "detail": detail}, ensure_ascii=False).encode()


def _new_id() -> str:
    import uuid

    return str(uuid.uuid4())


def _send_error_response(self, error: local.LocalGatewayException) -> None:
    from chalicelib.messages import negotiate

    status, code = GATEWAY_PROBLEMS.get(error.CODE, (error.CODE, "bad_request"))
    lang = negotiate(self.headers.get("Accept-Language"))
    headers = {**(error.headers or {}), "Content-Type": "application/problem+json", "Content-Language": lang}
    # As on AWS (GatewayResponses): the gateway's own request id, whatever the client sent
    headers["X-Request-Id"] = headers.get("x-amzn-RequestId") or _new_id()
    if status == 503:
        headers["Retry-After"] = "1"
    self._send_http_response(status, headers, _problem(status, "Gateway error", "Rejected.", code, lang))


def _route_every_method(handler: type) -> None:
    """Hand every method to the app (not only those Python's server has a ``do_`` for), which
    answers one a path does not have with 405 problem+json and ``Allow``, as on AWS."""

    def __getattr__(self, name: str):
        if name.startswith("do_") and name[3:].isalpha() and name[3:].isupper():
            return self._generic_handle
        raise AttributeError(name)

    handler.__getattr__ = __getattr__


def _send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
    """The server's own error answers (``BaseHTTPRequestHandler.send_error``) as problems.

    501 (a method name the app is not handed, e.g. with a hyphen) becomes 405, as API Gateway
    answers it; anything else (400 for a malformed request line, 414, 431...) keeps its
    status. The connection is closed afterwards, as the stock method does.
    """
    from chalicelib.messages import negotiate

    self.log_error("code %d, message %s", code, message or self.responses.get(code, ("Error",))[0])
    headers = getattr(self, "headers", None)  # not parsed yet when the request line is malformed
    lang = negotiate(headers.get("Accept-Language")) if headers is not None else "en"
    if code == 501:
        _discard_body(self)
        status = 405
    else:
        status = code
    body = _problem(status, "Bad request", "The request was rejected.", _CODES.get(status, "bad_request"), lang)
    self.close_connection = True
    if self.request_version == "HTTP/0.9":  # a request line we could not read: answer with a status line
        self.request_version = "HTTP/1.0"
    self.send_response(status)
    self.send_header("Connection", "close")
    self.send_header("Content-Type", "application/problem+json")
    self.send_header("Content-Language", lang)
    self.send_header("X-Request-Id", _new_id())
    self.send_header("Content-Length", str(len(body)))
    self.end_headers()
    if self.command != "HEAD":
        self.wfile.write(body)
    self._request_line(status)


def _discard_body(self) -> None:
    """Read a request body we will not use, so closing the socket does not reset the client."""
    headers = getattr(self, "headers", None)
    try:
        length = int(headers.get("Content-Length", "0")) if headers is not None else 0
    except ValueError:
        return
    if 0 < length <= _DISCARD_LIMIT:
        self.rfile.read(length)


class _BadRequestBody(Exception):
    """The body cannot be read as sent: answered ``status`` by the server, the app never sees it."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


def read_chunked(rfile: BinaryIO, limit: int) -> bytes:
    """A ``Transfer-Encoding: chunked`` body (RFC 9112, section 7.1) from ``rfile``, up to ``limit``
    bytes: chunk extensions and trailer fields are read and dropped. Raises ``_BadRequestBody``
    (400 for broken framing, 413 past ``limit``).

    Written out here: Python's HTTP server has no reader for it, and an HTTP library's parser
    (h11) would have to own the connection, which `chalice local`'s server does.
    """
    body = bytearray()
    while True:
        line = rfile.readline(_MAX_CHUNK_LINE + 1)
        size_text = line.split(b";", 1)[0].strip()
        if not line.endswith(b"\n") or not _CHUNK_SIZE.fullmatch(size_text):
            raise _BadRequestBody(400)
        size = int(size_text, 16)
        if size == 0:
            break
        if len(body) + size > limit:
            raise _BadRequestBody(413)
        chunk = rfile.read(size)
        if len(chunk) != size or rfile.readline(3) not in (b"\r\n", b"\n"):
            raise _BadRequestBody(400)
        body += chunk
    while True:  # trailer fields, up to the empty line
        line = rfile.readline(_MAX_CHUNK_LINE + 1)
        if line in (b"\r\n", b"\n"):
            return bytes(body)
        if not line.endswith(b"\n"):
            raise _BadRequestBody(400)


def _parse_payload(self) -> tuple[dict[str, str], bytes | None]:
    """The request's headers and body: by ``Content-Length``, or chunked (chalice's own reader
    only knows Content-Length, so a chunked body was dropped and its chunks read as the next
    request)."""
    headers = dict(self.headers)
    coding = self.headers.get("Transfer-Encoding")
    if coding is not None:
        if coding.split(",")[-1].strip().lower() != "chunked":
            raise _BadRequestBody(400)  # RFC 9112: a request's last transfer coding must be chunked
        return headers, read_chunked(self.rfile, GATEWAY_PAYLOAD_LIMIT) or None
    text = self.headers.get("Content-Length", "0").strip()
    if not text.isdigit():
        raise _BadRequestBody(400)
    length = int(text)
    if length > GATEWAY_PAYLOAD_LIMIT:
        raise _BadRequestBody(413)
    return headers, self.rfile.read(length) if length else None


_chalice_handle = local.ChaliceRequestHandler.__dict__["_generic_handle"]
_chalice_send_http_response = local.ChaliceRequestHandler.__dict__["_send_http_response"]
_chalice_lambda_context = local.LocalGateway.__dict__["_generate_lambda_context"]
_current = threading.local()  # the request this server thread is answering
_print_lock = threading.Lock()


def _generic_handle(self) -> None:
    try:
        _chalice_handle(self)
    except _BadRequestBody as error:  # raised before anything was sent
        self.send_error(error.status)


def _request_target(target: str) -> str:
    """``target`` as its bytes would read in ASCII: the request line was decoded as ISO-8859-1, one
    character per byte, so bytes above ASCII are percent-encoded back from those bytes."""
    return target if target.isascii() else quote_from_bytes(target.encode("latin-1"), safe=_TARGET_SAFE)


def _parse_request(self) -> bool:
    _current.started, _current.request_id = time.perf_counter(), None
    if not BaseHTTPRequestHandler.parse_request(self):
        return False
    self.path = _request_target(self.path)
    return True


def _generate_lambda_context(self):
    context = _chalice_lambda_context(self)
    _current.request_id = context.aws_request_id
    return context


def _header(headers: dict | None, name: str) -> str | None:
    for key, value in (headers or {}).items():
        if key.lower() == name.lower():
            return value[0] if isinstance(value, list) and value else value
    return None


def _send_http_response(self, code: int, headers: dict, body) -> None:
    request_id = _header(headers, "X-Request-Id") or _header(headers, "x-amzn-RequestId")
    _chalice_send_http_response(self, code, headers, body)
    self._request_line(code, request_id)


def _clock() -> str:
    return datetime.now().strftime("%H:%M:%S.%f")[:-3]


def _no_request_line(self, code: int, request_id: str | None = None) -> None:
    """Not quiet: Python's access log (``log_request``) has the line."""


def _request_line(self, code: int, request_id: str | None = None) -> None:
    """Quiet: one line per answer, ``12:00:01.234 GET /feed 200 12ms 4b58…``."""
    started = getattr(_current, "started", None)
    ms = f"{(time.perf_counter() - started) * 1000:.0f}ms" if started is not None else "-"
    method = getattr(self, "command", None) or "-"
    path = (getattr(self, "path", None) or "-").split("?", 1)[0]
    request_id = request_id or getattr(_current, "request_id", None) or "-"
    with _print_lock:
        print(f"{_clock()} {method} {path} {code} {ms} {request_id}", flush=True)



def _log_request(self, code: object = "-", size: object = "-") -> None:
    """Quiet: no access-log line (``_request_line`` writes one per answer)."""


def _log_message(self, format: str, *args: object) -> None:
    """Quiet: the server's own errors (a malformed request line...) in the app's text shape."""
    with _print_lock:
        print(f"{_clock()} WARNING chalice local: {format % args}", file=sys.stderr, flush=True)


def _quiet_serve_forever(self) -> None:
    self.server.serve_forever()


_PATCHED = {local.ChaliceRequestHandler: ("_send_error_response", "send_error", "_parse_payload", "parse_request",
                                         "_send_http_response", "_generic_handle", "do_GET", "do_PUT", "do_POST",
                                         "do_HEAD", "do_DELETE", "do_PATCH", "do_OPTIONS", "__getattr__",
                                         "_request_line", "log_request", "log_message"),
            local.LocalGateway: ("_generate_lambda_context",),
            local.ThreadedHTTPServer: ("request_queue_size",),
            local.LocalDevServer: ("serve_forever",)}
_MISSING = object()
_saved: dict[tuple[type, str], object] = {}


def install(quiet: bool = False) -> None:
    """Patch chalice's local server classes (in this process) as described above."""
    if not _saved:
        _saved.update({(cls, name): cls.__dict__.get(name, _MISSING) for cls, names in _PATCHED.items()
                       for name in names})
    handler = local.ChaliceRequestHandler
    handler._send_error_response = _send_error_response
    handler.send_error = _send_error
    handler._parse_payload = _parse_payload
    handler.parse_request = _parse_request
    handler._send_http_response = _send_http_response
    handler._generic_handle = _generic_handle
    for name in ("do_GET", "do_PUT", "do_POST", "do_HEAD", "do_DELETE", "do_PATCH", "do_OPTIONS"):
        setattr(handler, name, _generic_handle)  # bound to chalice's method when its class was made
    local.LocalGateway._generate_lambda_context = _generate_lambda_context
    _route_every_method(handler)
    local.ThreadedHTTPServer.request_queue_size = BACKLOG
    handler._request_line = _no_request_line
    if quiet:
        handler._request_line = _request_line
        handler.log_request = _log_request
        handler.log_message = _log_message
        local.LocalDevServer.serve_forever = _quiet_serve_forever


def uninstall() -> None:
    """Put chalice's classes back as they were before ``install`` (tests serve other apps after)."""
    for (cls, name), value in _saved.items():
        if value is _MISSING:
            if name in cls.__dict__:
                delattr(cls, name)
        else:
            setattr(cls, name, value)
    _saved.clear()


def exit_with_parent(interval: float = 0.5) -> threading.Thread:
    """End this process as soon as its parent is gone (we are then re-parented)."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval)
        os._exit(0)

    thread = threading.Thread(target=watch, name="exit-with-parent", daemon=True)
    thread.start()
    return thread


def main(argv: list[str] | None = None) -> int:
    from chalice.cli import cli

    args = list(sys.argv[1:] if argv is None else argv)
    quiet = "--quiet" in args
    watch_parent = "--exit-with-parent" in args
    args = [arg for arg in args if arg not in ("--quiet", "--exit-with-parent")]
    install(quiet=quiet)
    if watch_parent:
        exit_with_parent()
    # Chalice's auto-reloader restarts the server by running sys.argv: make that this module.
    sys.argv = [sys.executable, "-m", "devtools.chalice_local", *args]
    return cli.main(args=["local", *args], obj={}, standalone_mode=True)


if __name__ == "__main__":
    raise SystemExit(main())
