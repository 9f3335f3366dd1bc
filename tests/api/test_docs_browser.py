"""The documentation page in a real browser, offline: headless Chromium (Playwright) opens ``/docs``,
whose every request is answered by the app (the Chalice test client) through Playwright's request
routing; anything else is refused, so a CDN or a font the page asked for would be a failed request.

THEN Swagger UI renders every documented operation, with no console error, no failed request and
no Content-Security-Policy violation. Skipped or failed without Chromium as tests/api/test_pages_browser.py.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import pytest

from tests.api.test_pages_browser import CHROMIUM, FLAGS, _browser_or_reason
from tests.conftest import BACKEND

pytestmark = pytest.mark.skipif(BACKEND == "ddblocal", reason="the browser check runs on the moto pass")

BASE = "https://api.dongne.test"


def test_the_docs_page_renders_every_operation_offline(api):
    reason = _browser_or_reason()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    documented = api.get("/openapi.json").body["paths"]
    operations = sum(len(item) for item in documented.values())
    asked: list[str] = []

    def serve(route):
        url = route.request.url
        asked.append(url)
        if not url.startswith(BASE + "/") or route.request.method != "GET":
            route.abort()  # no CDN, no font, no tracker: nothing but this API
            return
        parts = urlsplit(url)
        answer = api.call("GET", parts.path + (f"?{parts.query}" if parts.query else ""))
        route.fulfill(status=answer.status, headers=answer.headers, body=answer.raw)

    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ko-KR")
            context.route("**/*", serve)
            tab = context.new_page()
            tab.on("console", lambda message: message.type == "error" and problems.append(message.text))
            tab.on("pageerror", lambda error: problems.append(str(error)))
            tab.on("requestfailed", lambda request: problems.append(f"failed: {request.url}"))
            answer = tab.goto(BASE + "/docs", wait_until="load")
            assert answer is not None and answer.status == 200
            tab.wait_for_selector(".opblock", timeout=30_000)
            assert tab.locator(".opblock").count() == operations
            assert tab.locator(".opblock-summary-path", has_text="/orders").count() >= 1
            assert tab.locator(".info .title").first.inner_text().startswith("Dongne API")
        finally:
            browser.close()
    assert problems == []
    assert {urlsplit(url).path for url in asked} == {"/docs", "/docs/swagger-ui.js", "/docs/swagger-ui.css",
                                                     "/openapi.json"}, asked
