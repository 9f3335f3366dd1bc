"""`chalice local`, answering API Gateway's own errors the way the deployed API does.

On AWS, the deployment template (deploy/template.py) turns API Gateway's generated
answers — no Authorization header (401), unknown route (403 "Missing Authentication
Token", which we answer 404) — into application/problem+json. `chalice local` emulates
API Gateway but answers those with its own JSON; this entry point runs the very same
`chalice local` command with those answers translated, so the local contract is the
deployed one. Methods Python's HTTP server has no handler for (TRACE, QUERY...), which it
answers 501, get a 405 problem instead.

    python -m devtools.chalice_local --stage local --port 8000
"""

from __future__ import annotations

import json
import sys

from chalice import local

# The gateway's own answers -> (status, problem code), as deploy/template.py's GatewayResponses.
GATEWAY_PROBLEMS = {
    401: (401, "unauthorized"),      # no Authorization header
    403: (404, "route_not_found"),   # "Missing Authentication Token": no route has this path
    500: (503, "service_unavailable"),  # the authorizer failed
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


def _send_error_response(self, error: local.LocalGatewayException) -> None:
    from chalicelib.messages import negotiate

    status, code = GATEWAY_PROBLEMS.get(error.CODE, (error.CODE, "bad_request"))
    lang = negotiate(self.headers.get("Accept-Language"))
    headers = {**(error.headers or {}), "Content-Type": "application/problem+json", "Content-Language": lang}
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


_send_error = local.ChaliceRequestHandler.send_error


def _send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
    if code != 501:  # 501: a method Python's HTTP server has no handler for (TRACE, QUERY...)
        _send_error(self, code, message, explain)
        return
    body = _problem(405, "Method not allowed", "This route does not accept that method.")
    self._send_http_response(405, {"Content-Type": "application/problem+json"}, body)


def install() -> None:
    handler = local.ChaliceRequestHandler
    handler._send_error_response = _send_error_response
    handler.send_error = _send_error
    _route_every_method(handler)


def main(argv: list[str] | None = None) -> int:
    from chalice.cli import cli

    install()
    args = sys.argv[1:] if argv is None else argv
    # Chalice's auto-reloader restarts the server by running sys.argv: make that this module.
    sys.argv = [sys.executable, "-m", "devtools.chalice_local", *args]
    return cli.main(args=["local", *args], obj={}, standalone_mode=True)


if __name__ == "__main__":
    raise SystemExit(main())
