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

GATEWAY_PROBLEMS = {
    401: (401, "Unauthorized", "A valid bearer token is required."),
    403: (404, "Not found", "No such route."),
}


def _problem(status: int, title: str, detail: str) -> bytes:
    return json.dumps({"type": "https://dongne.app/problems/gateway", "title": title, "status": status,
                       "detail": detail}).encode()


def _send_error_response(self, error: local.LocalGatewayException) -> None:
    status, title, detail = GATEWAY_PROBLEMS.get(error.CODE, (error.CODE, "Gateway error", "Rejected."))
    headers = {**(error.headers or {}), "Content-Type": "application/problem+json"}
    self._send_http_response(status, headers, _problem(status, title, detail))


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


def main(argv: list[str] | None = None) -> int:
    from chalice.cli import cli

    install()
    args = sys.argv[1:] if argv is None else argv
    # Chalice's auto-reloader restarts the server by running sys.argv: make that this module.
    sys.argv = [sys.executable, "-m", "devtools.chalice_local", *args]
    return cli.main(args=["local", *args], obj={}, standalone_mode=True)


if __name__ == "__main__":
    raise SystemExit(main())
