"""Test helpers for payments: the PortOne stand-in in-process, a webhook receiver, and a
gateway built as production builds it (the official SDK, only the base URL pointing here)."""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from chalicelib.payments.portone import PortOneGateway
from chalicelib.settings import DEFAULT_PORTONE_API_SECRET, DEFAULT_PORTONE_WEBHOOK_SECRET
from devtools.portone_standin import PortOneStandIn


@dataclass
class Received:
    headers: dict
    body: bytes


@dataclass
class WebhookReceiver:
    """A tiny HTTP server that keeps every POST it gets and answers ``status``."""

    status: int = 200
    received: list[Received] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def wait_for(self, count: int, timeout: float = 10) -> list[Received]:
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.received) >= count, timeout)
            return list(self.received)


@contextmanager
def webhook_receiver() -> Iterator[tuple[WebhookReceiver, str]]:
    receiver = WebhookReceiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with receiver.arrived:
                receiver.received.append(Received({k.lower(): v for k, v in self.headers.items()}, raw))
                receiver.arrived.notify_all()
            self.send_response(receiver.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver, f"http://127.0.0.1:{server.server_address[1]}/webhooks/portone"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def running_standin(webhook_url: str | None = None) -> Iterator[PortOneStandIn]:
    with PortOneStandIn(webhook_url=webhook_url) as standin:
        yield standin


def gateway_for(standin: PortOneStandIn, *, api_secret: str = DEFAULT_PORTONE_API_SECRET,
                webhook_secret: str = DEFAULT_PORTONE_WEBHOOK_SECRET) -> PortOneGateway:
    return PortOneGateway(api_secret=api_secret, webhook_secret=webhook_secret, base_url=standin.url,
                          timeout_seconds=5)


def dev(standin: PortOneStandIn, path: str, body: dict | None = None, method: str = "POST") -> tuple[int, dict]:
    """Call one of the stand-in's ``/__dev`` routes over HTTP, as curl would."""
    data = json.dumps(body).encode() if body is not None else (b"" if method == "POST" else None)
    request = urllib.request.Request(standin.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")
