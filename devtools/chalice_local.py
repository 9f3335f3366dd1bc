"""`chalice local`, answering API Gateway's own errors the way the deployed API does.

On AWS, the deployment template (deploy/template.py) turns API Gateway's generated
answers — an unknown route (403 "Missing Authentication Token", which we answer 404) — into
application/problem+json with an ``X-Request-Id`` (there is no authorizer: the app answers every 401 itself). `chalice local` emulates
API Gateway but answers those with its own JSON; this entry point runs the very same
`chalice local` command with those answers translated, so the local contract is the
deployed one. Every method reaches the app (which answers 405 with ``Allow`` for one a path
does not have); requests Python's HTTP server cannot parse itself (a malformed request line,
a header too long) get its status as a problem too.

Two more differences from the console script:

* a listen backlog of ``BACKLOG`` instead of Python's default 5, so dozens of clients
  connecting at once queue instead of being reset;
* ``--quiet`` (for ``make run``): no "Serving on" line and no access-log line per request
  (the app logs each request itself); errors are still logged.

``--exit-with-parent`` stops the server when the process that started it is gone (even
killed with SIGKILL), so a crashed ``make run`` cannot leave it holding the port.

    python -m devtools.chalice_local --stage local --port 8000 [--quiet] [--exit-with-parent]
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time

from chalice import local

# Connections the kernel queues before the server accepts them. Python's socketserver
# default is 5: 20-30 clients connecting at once got connection resets. 128 holds several
# times the 50 concurrent clients the local API is tested with (Linux caps it at somaxconn).
BACKLOG = 128
# The largest body we read to discard before answering a request the app never sees.
_DISCARD_LIMIT = 1024 * 1024

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


def _discard_body(self) -> None:
    """Read a request body we will not use, so closing the socket does not reset the client."""
    headers = getattr(self, "headers", None)
    try:
        length = int(headers.get("Content-Length", "0")) if headers is not None else 0
    except ValueError:
        return
    if 0 < length <= _DISCARD_LIMIT:
        self.rfile.read(length)


def _log_request(self, code: object = "-", size: object = "-") -> None:
    """Quiet: no access-log line (the app logs every request it answers)."""


def _quiet_serve_forever(self) -> None:
    self.server.serve_forever()


def install(quiet: bool = False) -> None:
    handler = local.ChaliceRequestHandler
    handler._send_error_response = _send_error_response
    handler.send_error = _send_error
    _route_every_method(handler)
    local.ThreadedHTTPServer.request_queue_size = BACKLOG
    if quiet:
        handler.log_request = _log_request
        local.LocalDevServer.serve_forever = _quiet_serve_forever


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
