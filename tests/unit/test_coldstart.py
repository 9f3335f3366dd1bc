"""`import app` stays cheap: the cold-start budget (`import app` ≤ 1.3 × `import pynamodb.models`,
``python -m bench.coldstart``) guarded by what the import loads rather than by a timing, which a
shared machine would make flaky.

GIVEN a fresh interpreter, WHEN it imports the app (every route, handler and blueprint
registered), THEN none of the heavy libraries a request or an event loads on first use is
imported yet: pydantic (the schemas and the settings model), boto3/botocore and PynamoDB,
Jinja2, Powertools and the X-Ray SDK.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Top-level packages `import app` must not load, and the app's own modules that would load them.
HEAVY = ("pydantic", "pydantic_core", "annotated_types", "boto3", "botocore", "pynamodb", "jinja2", "argon2",
         "aws_lambda_powertools", "aws_xray_sdk", "urllib3")
HEAVY_OWN = ("chalicelib.settings", "chalicelib.schemas", "chalicelib.records", "chalicelib.services",
             "chalicelib.storage.models", "chalicelib.storage.base")


def imported_by(statement: str) -> set[str]:
    program = f"import json, sys\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", program], cwd=ROOT, check=True, capture_output=True, text=True,
                         env={"PATH": "", "PYTHONDONTWRITEBYTECODE": "1"})
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_import_app_loads_no_heavy_library_and_no_model():
    modules = imported_by("import app")
    assert "chalicelib.api.accounts" in modules and "chalicelib.events.stream" in modules  # it did import
    heavy = sorted(m for m in modules if m.split(".")[0] in HEAVY or m.startswith(HEAVY_OWN))
    assert heavy == [], f"imported by `import app` (import them where they are used): {heavy}"


def test_the_routes_models_load_on_first_use():
    """The lazily named models are the real classes once used, and the edge resolves them."""
    program = (
        "import sys, app\n"
        "from chalicelib.api.edge import ROUTES\n"
        "assert 'pydantic' not in sys.modules\n"
        "spec = next(s for s in ROUTES if (s.method, s.path) == ('POST', '/auth/signup'))\n"
        "from chalicelib.schemas.accounts import AuthOut, SignupIn\n"
        "assert spec.body_model is SignupIn and spec.response_model is AuthOut\n"
        "page = next(s for s in ROUTES if (s.method, s.path) == ('GET', '/feed'))\n"
        "from chalicelib.schemas.common import Page\n"
        "from chalicelib.schemas.feed import FeedItemPublic\n"
        "assert page.response_model is Page[FeedItemPublic]\n"
    )
    subprocess.run([sys.executable, "-c", program], cwd=ROOT, check=True, env={"PATH": ""})
