"""Print the OpenAPI document ``GET /openapi.json`` serves, without a server.

The same document the app builds (``chalicelib.api.service.document``), with every route the
app registers, as JSON with sorted keys and a fixed ``servers`` entry, so that the same code
always prints the same bytes (the TypeScript client in ``clients/typescript`` is generated from
it, and its test compares)::

    python -m devtools.openapi_dump                      # to stdout
    python -m devtools.openapi_dump -o build/openapi.json
    python -m devtools.openapi_dump --server https://api.dongne.app
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

# `make run`'s address: what the served document names when reached there.
DEFAULT_SERVER = "http://127.0.0.1:8000"


def dump(server: str = DEFAULT_SERVER) -> str:
    """The document as text: sorted keys, two-space indent, non-ASCII kept, a final newline."""
    import app  # noqa: F401  (registers every blueprint's routes)
    from chalicelib.api.service import document

    return json.dumps(json.loads(document(server)), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", type=Path, help="write to this file (its directory is created)")
    parser.add_argument("--server", default=DEFAULT_SERVER, help=f"the servers entry (default {DEFAULT_SERVER})")
    args = parser.parse_args(argv)
    text = dump(args.server)
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
