"""Property-based fuzzing of the live API from its own OpenAPI document (schemathesis).

Runs against ``make run``'s server (``devtools.chalice_local``) on DynamoDB Local (the DynamoDB
Local pass of `make test`), logged in, with **every** check schemathesis has: no 5xx; status
codes, content types, headers and bodies as documented; schema-valid requests accepted and
schema-invalid ones refused (negative data); missing required headers refused; undeclared
methods answered 405 with ``Allow``; and the stateful checks over the links it infers. The
only allowances are the answers the document cannot express (``schemathesis.toml``, each with
its reason). The server must also never answer a problem ``code`` the document does not list
for that route (the edge logs it) nor hit an unhandled error.

The example count and the seed are fixed so the run is repeatable and bounded (about a
minute and a half on two cores); ``DONGNE_FUZZ_EXAMPLES`` / ``DONGNE_FUZZ_SEED`` explore more.
The schemathesis CLI is used (its pytest plugin does not support pytest 9 yet).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import BACKEND

pytestmark = pytest.mark.skipif(BACKEND != "ddblocal", reason="the live server needs DynamoDB Local")

EXAMPLES = os.environ.get("DONGNE_FUZZ_EXAMPLES", "10")
SEED = os.environ.get("DONGNE_FUZZ_SEED", "20261123")
CONFIG = Path(__file__).with_name("schemathesis.toml")


def signup(base_url: str) -> str:
    body = json.dumps({"name": "퍼저", "email": "fuzzer@example.kr", "password": "fuzz-password"}).encode()
    request = urllib.request.Request(f"{base_url}/auth/signup", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read())["token"]


def test_no_server_errors_and_answers_match_the_contract(served, tmp_path):
    token = signup(served.base_url)
    logged_before = served.log_path.read_text(encoding="utf-8", errors="replace").count("\n")
    command = [
        str(Path(sys.executable).parent / "schemathesis"), "--config-file", str(CONFIG), "--no-color",
        "run", f"{served.base_url}/openapi.json", "--url", served.base_url,
        "--checks", "all", "--max-examples", EXAMPLES, "--seed", SEED, "--workers", "2",
        "--header", f"Authorization: Bearer {token}", "--request-timeout", "20",
        "--suppress-health-check", "all", "--generation-database", "none",
        "--report", "junit", "--report-dir", str(tmp_path),
        # Logging out and closing the account end the fuzzer's own token, and every operation
        # after them would only see 401s; tests/api/test_tokens.py covers both.
        "--exclude-operation-id", "logOut", "--exclude-operation-id", "deleteAccount",
        # PortOne's webhook takes no bearer token: only a body signed with PortOne's secret gets
        # past its 401 (tests/api/test_checkout.py covers forged, stale and replayed webhooks).
        "--exclude-operation-id", "receivePortoneWebhook",
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-12000:] + result.stderr[-2000:]
    assert "Tested: 41" in result.stdout or "Tested:" in result.stdout

    logged = served.log_path.read_text(encoding="utf-8", errors="replace").splitlines()[logged_before:]
    assert len(logged) > 1000, "the fuzzer barely reached the app"
    undeclared = [line for line in logged if "undeclared problem code" in line or "unhandled error" in line]
    assert not undeclared, "\n".join(undeclared[:20])
