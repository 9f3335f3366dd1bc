"""The sharing pages in a real browser: headless Chromium (Debian's ``chromium``, driven by
Playwright) opens each page on a phone-sized screen, with no console error, no failed request
and no Content-Security-Policy violation, and takes a screenshot of it.

The pages are rendered by the app (the Chalice test client, moto) and handed to the browser at
their public addresses, and the photos at their media CDN addresses, through Playwright's
request routing: nothing listens on a port and nothing leaves the machine. One browser for all
pages. ``DONGNE_SCREENSHOTS=docs/pages`` keeps the screenshots there (docs/sharing.md shows them).

Without Chromium (or Playwright) the test is skipped on a laptop, and fails under ``CI=true``:
``make setup`` installs Chromium there. It runs on the moto pass only (the pages' data paths are
tested on both backends by tests/api/test_pages.py).
"""

from __future__ import annotations

import os
import shutil
import struct
import zlib
from pathlib import Path

import pytest

from tests.api.conftest import create_post, upload_photo
from tests.api.test_store_links import alice, shop  # noqa: F401 (fixtures)
from tests.conftest import BACKEND

CHROMIUM = os.environ.get("DONGNE_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PHONE = {"width": 390, "height": 844}

pytestmark = pytest.mark.skipif(BACKEND == "ddblocal", reason="the browser check runs on the moto pass")


def _browser_or_reason() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} is missing (apt-get install chromium; make setup does)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (requirements-dev.txt)"
    return None


def png(width: int, height: int, paint) -> bytes:
    """A PNG drawn by ``paint(x, y) -> (r, g, b)``: a photo stand-in the browser really decodes."""
    rows = b"".join(b"\x00" + bytes(c for x in range(width) for c in paint(x, y)) for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 6)) + chunk(b"IEND", b"")


def tofu(x: int, y: int) -> tuple[int, int, int]:
    """Blocks of tofu on a wooden board."""
    inside = 40 <= x % 150 <= 130 and 50 <= y % 150 <= 125
    return (250, 247, 238) if inside else (196 - (y // 3) % 12, 148, 100)


def test_every_page_renders_in_chromium_without_errors(api, shop, alice, tmp_path):
    reason = _browser_or_reason()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    from chalicelib import wiring

    photo_bytes = png(300, 300, tofu)
    photo = upload_photo(api, shop["token"], content=photo_bytes, content_type="image/png")
    post = create_post(api, shop, "오늘 아침 손두부 나왔어요.\n국산콩 100%, 따끈할 때 오세요! #망원동 #두부",
                       photos=[photo], product_ids=[shop["tofu"]])
    api.patch(f"/shops/{shop['id']}", {"bio": "매일 아침 직접 만드는 손두부와 콩물. 망원시장 안쪽 골목."},
              token=shop["token"])
    api.patch(f"/me/store-links/{alice['code']}", {"give_reward_to_friend": True}, token=alice["token"])
    settings = wiring.container().settings
    media_base = wiring.container().media.base_url
    paths = {"shop": f"/s/{shop['shop']['handle']}", "post": f"/p/{post['post_id']}",
             "link": f"/l/{alice['code']}", "not-found": "/p/01JAAAAAAAAAAAAAAAAAAAAAAA"}
    served = {}
    for name, path in paths.items():
        answer = api.get(path)
        served[settings.public_base_url.rstrip("/") + path] = (answer.status, dict(answer.headers), answer.raw)

    def serve(route):
        url = route.request.url
        if url in served:
            status, headers, body = served[url]
            route.fulfill(status=status, headers={k: v for k, v in headers.items() if k.lower() != "set-cookie"},
                          body=body)
        elif url.startswith(media_base + "/"):
            route.fulfill(status=200, headers={"Content-Type": "image/png", "Cache-Control": "max-age=60"},
                          body=photo_bytes)
        else:  # nothing else may be asked for: no script, no font, no tracker
            route.abort()

    problems: list[tuple[str, str]] = []
    current = [""]
    shots = tmp_path / "pages"
    shots.mkdir()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True,
                                          locale="ko-KR")
            context.route("**/*", serve)
            tab = context.new_page()
            tab.on("console", lambda message: message.type == "error" and problems.append((current[0], message.text)))
            tab.on("pageerror", lambda error: problems.append((current[0], str(error))))
            tab.on("requestfailed", lambda request: problems.append((current[0], f"failed: {request.url}")))
            for name, path in paths.items():
                current[0] = name
                answer = tab.goto(settings.public_base_url.rstrip("/") + path, wait_until="load")
                assert answer is not None and answer.status == (404 if name == "not-found" else 200)
                assert tab.evaluate("document.documentElement.lang") == "ko"
                assert tab.locator("h1").first.is_visible()
                # Every picture arrived and decoded (a broken one has no natural width).
                assert tab.evaluate("[...document.images].every(i => i.complete && i.naturalWidth > 0)")
                assert tab.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # no sideways scroll
                tab.screenshot(path=str(shots / f"{name}.png"))
        finally:
            browser.close()
    # The one error: Chromium's own note that the 404 page's status is 404.
    assert problems == [("not-found", "Failed to load resource: the server responded with a status of 404 "
                                      "(Not Found)")], problems
    keep = os.environ.get("DONGNE_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        for shot in shots.iterdir():
            shutil.copy(shot, Path(keep) / shot.name)
