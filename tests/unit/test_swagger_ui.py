"""The docs page on plain data: what it names, what it escapes, and what it costs a cold start."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from chalicelib.api import swagger_ui

ROOT = Path(__file__).resolve().parents[2]


def test_the_page_names_only_relative_local_urls():
    page = swagger_ui.page()
    assert page.lower().startswith("<!doctype html>") and '<meta charset="utf-8">' in page
    assert "http://" not in page and "https://" not in page and "//cdn" not in page
    assert 'href="docs/swagger-ui.css?v=' in page and 'src="docs/swagger-ui.js?v=' in page


def test_the_page_escapes_its_inputs():
    swagger_ui.page.cache_clear()
    try:
        page = swagger_ui.page(spec_url="spec.json?a=1&b=</script>", title="동네 <API>")
    finally:
        swagger_ui.page.cache_clear()
    assert "<title>동네 &lt;API&gt;</title>" in page
    assert page.count("</script>") == 2  # the bundle's element and the init script's, nothing from the URL
    assert '"spec.json?a=1\\u0026b=\\u003c/script\\u003e"' in page


def test_the_inline_scripts_hash_is_in_the_policy():
    import base64
    import hashlib

    page = swagger_ui.page()
    inline = page.split("<script>", 1)[1].split("</script>", 1)[0]
    digest = base64.b64encode(hashlib.sha256(inline.encode()).digest()).decode()
    assert f"'sha256-{digest}'" in swagger_ui.page_headers()["Content-Security-Policy"]


def test_finding_the_files_imports_no_powertools():
    program = ("import sys\nfrom chalicelib.api import swagger_ui\nswagger_ui.asset('swagger-ui.css')\n"
               "assert not [m for m in sys.modules if m.startswith('aws_lambda_powertools')], sorted(sys.modules)\n")
    subprocess.run([sys.executable, "-c", program], cwd=ROOT, check=True, env={"PATH": ""})
