"""Property-based fuzzing of the live API from its own OpenAPI document (schemathesis).

Runs against `chalice local` on DynamoDB Local (the DynamoDB Local pass of `make test`):
for every documented operation, generated requests — valid and invalid — must never get a
5xx, and every answer must match the documented status codes, content types and schemas.
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

EXAMPLES = os.environ.get("DONGNE_FUZZ_EXAMPLES", "25")
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"


@pytest.fixture(scope="module")
def live(aws_backend):
    from devtools.live import LiveServer

    with LiveServer(env=os.environ.copy()) as server:
        yield server


def signup(base_url: str) -> str:
    body = json.dumps({"name": "퍼저", "email": "fuzzer@example.kr", "password": "fuzz-password"}).encode()
    request = urllib.request.Request(f"{base_url}/auth/signup", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read())["token"]


def test_no_server_errors_and_answers_match_the_contract(live):
    token = signup(live.base_url)
    command = [
        str(Path(sys.executable).parent / "schemathesis"), "run", f"{live.base_url}/openapi.json",
        "--checks", CHECKS, "--max-examples", EXAMPLES, "--seed", "20261123",
        "--header", f"Authorization: Bearer {token}", "--request-timeout", "20",
        "--suppress-health-check", "all",
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-2000:]
