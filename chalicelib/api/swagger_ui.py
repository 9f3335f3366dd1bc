"""The API's documentation page: Swagger UI over ``/openapi.json``, served by the API itself.

Swagger UI's files are the ones Powertools for AWS Lambda ships for its own event handler
(``aws_lambda_powertools/event_handler/openapi/swagger_ui/``: the bundle and its stylesheet,
already in the deployment package as a requirement), served at ``GET /docs/swagger-ui.js`` and
``GET /docs/swagger-ui.css``. No CDN: the page works on an offline laptop under ``chalice local``,
and its Content-Security-Policy allows nothing but this API.

Cold start: nothing here runs at ``import app`` (``chalicelib.api.service`` imports this module in
the views). The files are located without importing Powertools and read on the first request for
them, then kept; the page names them with their ETag in the query, so a browser may keep them for
a year and still fetches the new files the first time after Powertools is upgraded.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

__all__ = ["ASSETS", "Asset", "asset", "page", "page_headers"]

# The package directory Powertools keeps them in, and the names they are served under.
_PACKAGE_DIR = ("event_handler", "openapi", "swagger_ui")
ASSETS = {
    "swagger-ui.js": ("swagger-ui-bundle.min.js", "text/javascript; charset=utf-8"),
    "swagger-ui.css": ("swagger-ui.min.css", "text/css; charset=utf-8"),
}
# The versioned URLs never change content: a year, and no revalidation.
ASSET_CACHE = "public, max-age=31536000, immutable"
# The page is small and names the current assets: always revalidated.
PAGE_CACHE = "no-cache"

# Relative URLs: the page is /docs under whatever prefix API Gateway's stage puts before it
# (/api/docs), so "openapi.json" and "docs/swagger-ui.js" resolve under the same prefix.
_INIT = """window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: new URL(%(spec)s, document.baseURI).href,
    dom_id: "#swagger-ui",
    deepLinking: true,
    docExpansion: "list",
    filter: true,
    defaultModelsExpandDepth: 0,
    displayRequestDuration: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout"
  });
});"""

_PAGE = """<!doctype html>
<html lang="ko">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>%(title)s</title>
<link rel="stylesheet" href="%(css)s">
</head>
<body>
<div id="swagger-ui"></div>
<script src="%(js)s"></script>
<script>%(init)s</script>
</body>
</html>
"""


@dataclass(frozen=True)
class Asset:
    body: str
    content_type: str
    etag: str


def _swagger_dir() -> Path:
    """Powertools' Swagger UI directory, found without importing Powertools (its ``__init__``
    loads the Logger, Metrics and Tracer)."""
    from importlib.util import find_spec

    spec = find_spec("aws_lambda_powertools")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("aws_lambda_powertools is not installed")
    return Path(next(iter(spec.submodule_search_locations))).joinpath(*_PACKAGE_DIR)


@lru_cache(maxsize=len(ASSETS))
def asset(name: str) -> Asset:
    """A served file (``swagger-ui.js``/``swagger-ui.css``), read on its first request, then kept."""
    from chalicelib.api.edge import etag_of

    filename, content_type = ASSETS[name]
    body = (_swagger_dir() / filename).read_text(encoding="utf-8")
    return Asset(body=body, content_type=content_type, etag=etag_of(body))


def _versioned(name: str) -> str:
    # An ETag is '"<hex>"': its hex names this version of the file.
    return f"docs/{name}?v={asset(name).etag.strip(chr(34))[:16]}"


def _init_script(spec_url: str) -> str:
    # json.dumps with <, > and & escaped: nothing in the URL can close the script element
    spec = json.dumps(spec_url).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return _INIT % {"spec": spec}


@lru_cache(maxsize=4)
def page(spec_url: str = "openapi.json", title: str = "Dongne API") -> str:
    """The HTML page: the local assets, and the document at ``spec_url`` (relative to the page)."""
    return _PAGE % {"title": html.escape(title), "css": html.escape(_versioned("swagger-ui.css")),
                    "js": html.escape(_versioned("swagger-ui.js")), "init": _init_script(spec_url)}


def page_headers(spec_url: str = "openapi.json") -> dict[str, str | list[str]]:
    """The page's headers: its one inline script allowed by its hash, everything else from this
    API only (Swagger UI styles inline and draws some icons as data: URLs)."""
    digest = base64.b64encode(hashlib.sha256(_init_script(spec_url).encode("utf-8")).digest()).decode("ascii")
    return {
        "Content-Type": "text/html; charset=utf-8",
        "Cache-Control": PAGE_CACHE,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "strict-origin-when-cross-origin",
        "Content-Security-Policy": f"default-src 'none'; script-src 'self' 'sha256-{digest}'; "
                                   "style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; "
                                   "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    }
