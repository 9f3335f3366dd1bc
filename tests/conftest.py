"""Test configuration shared by every suite.

The API suite runs twice: against moto (fast, in-process) and against Amazon's DynamoDB
Local (``DONGNE_TEST_BACKEND=ddblocal``), started on a free port for the run and stopped
afterwards. Tables come from the models (``ensure_tables``), exactly as ``make run`` does.
"""

from __future__ import annotations

import os

import pytest

from tests import aws_calls


def _shift_the_clock() -> None:
    """``DONGNE_CLOCK_SHIFT_DAYS=400``: the whole process runs that many days ahead (or behind),
    the system clock itself moved (time-machine patches time.time and datetime at the C level),
    so a test that holds on today's date only fails here, not on a day in the future."""
    days = float(os.environ.get("DONGNE_CLOCK_SHIFT_DAYS") or 0)
    if days:
        from datetime import UTC, datetime, timedelta

        import time_machine

        time_machine.travel(datetime.now(UTC) + timedelta(days=days), tick=True).start()


_shift_the_clock()

# Hypothesis: on CI the examples are derived from each test, not drawn at random, so a run
# passes or fails the same way every time; the examples that once found a bug are @example.
from hypothesis import settings as _hypothesis  # noqa: E402

_hypothesis.register_profile("ci", derandomize=True, database=None, print_blob=True)
if os.environ.get("CI") or os.environ.get("DONGNE_CLOCK_SHIFT_DAYS"):
    _hypothesis.load_profile("ci")

# Every AWS call the app makes during the run, for the IAM check of `make test` (deploy.iam_check).
aws_calls.install_for_tests()
# Every log line of the run, grepped for tokens, passwords, hashes, e-mail and phone numbers.
pytest_plugins = ("tests.log_secrets",)

BACKEND = os.environ.get("DONGNE_TEST_BACKEND", "moto")

os.environ.update({
    "DONGNE_STAGE": "test",
    "DONGNE_TABLE_NAME": "dongne-test",
    "DONGNE_FEED_TABLE_NAME": "dongne-test-feed",
    "DONGNE_MEDIA_BUCKET": "dongne-test-media",
    "DONGNE_REGION": "us-east-1",
    # argon2 at its cheapest: the tests exercise the flow, not the cost parameters.
    "DONGNE_ARGON2_MEMORY_KIB": "8",
    "DONGNE_ARGON2_TIME_COST": "1",
    # every line the app can log is produced, and grepped (tests/log_secrets.py)
    "DONGNE_LOG_LEVEL": "DEBUG",
    # Limits stay on, but the suite signs up and logs in thousands of accounts from one test
    # client address within minutes; the limit tests (tests/api/test_limits.py) use the defaults.
    "DONGNE_RATE_SIGNUP_IP": "1000000/10m",
    "DONGNE_RATE_LOGIN_IP": "1000000/10m",
    "DONGNE_RATE_VISIT_IP": "1000000/1m",
    "DONGNE_RATE_RESET_IP": "1000000/10m",
    "DONGNE_RATE_RESET_CONFIRM_IP": "1000000/10m",
    # Many tests move the app's clock by days while one account keeps its token; access tokens
    # live an hour on every stage, and the session tests (tests/api/test_sessions.py) run with
    # that shipped lifetime.
    "DONGNE_TOKEN_TTL_SECONDS": str(30 * 24 * 3600),
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
})
os.environ.pop("DONGNE_DYNAMODB_ENDPOINT", None)


def pytest_report_header(config):
    from datetime import UTC, datetime

    return f"dongne storage backend: {BACKEND}; today (UTC): {datetime.now(UTC).date().isoformat()}"


@pytest.fixture(scope="session")
def aws_backend():
    """Yields the DynamoDB endpoint (None for moto) with the tables and bucket created."""
    import boto3

    from chalicelib import wiring as deps
    from chalicelib.storage.tables import ensure_tables

    if BACKEND == "ddblocal":
        from devtools.ddblocal import DynamoDBLocal

        local = DynamoDBLocal()
        endpoint = local.start(in_memory=True)
        local.wait_ready()
        os.environ["DONGNE_DYNAMODB_ENDPOINT"] = endpoint
        from moto import mock_aws

        # S3 (presigned uploads) stays on moto; DynamoDB calls go to DynamoDB Local.
        mock = mock_aws(config={"core": {"passthrough": {"urls": [rf"{endpoint}.*"]}}})
    else:
        from moto import mock_aws

        from tests import moto_queries, moto_serialize, moto_transactions

        moto_transactions.install()  # moto's transactions copy the whole table per item; see the module
        moto_queries.install()  # and its Query on a table's key sorts the whole table; see the module
        moto_serialize.install()  # and it writes each attribute value member by member; see the module
        local, endpoint, mock = None, None, mock_aws()
    mock.start()
    try:
        deps.reset()
        settings = deps.container().settings
        client = boto3.client("dynamodb", region_name=settings.region, endpoint_url=endpoint)
        ensure_tables(client, settings.table_name, settings.feed_table_name)
        boto3.client("s3", region_name=settings.region).create_bucket(Bucket=settings.media_bucket)
        _outbound_queues(settings.region)
        yield endpoint
    finally:
        mock.stop()
        os.environ.pop("DONGNE_OUTBOUND_QUEUE_URL", None)
        if local is not None:
            local.stop()
        os.environ.pop("DONGNE_DYNAMODB_ENDPOINT", None)
        deps.reset()


def _outbound_queues(region: str) -> None:
    """The outbound queue and its dead-letter queue in moto (both backends), as deployed but with
    a visibility timeout of 0: a failed message is received again at once, so a test runs the
    retries to the dead-letter queue without waiting (``outbound`` in tests/api/conftest.py)."""
    import boto3

    from chalicelib import wiring as deps
    from chalicelib.events.outbound import MAX_RECEIVE_COUNT
    from devtools.queue_poller import ensure_queues

    url, _ = ensure_queues(boto3.client("sqs", region_name=region), "dongne-test-outbound", visibility_timeout=0,
                           max_receive_count=MAX_RECEIVE_COUNT)
    os.environ["DONGNE_OUTBOUND_QUEUE_URL"] = url
    deps.reset()


@pytest.fixture(scope="session")
def _portone_standin(aws_backend):
    """The PortOne stand-in for the run; the app reaches it through the SDK, only the base URL
    configured (as ``make run`` does)."""
    from chalicelib import wiring as deps
    from devtools.portone_standin import PortOneStandIn

    with PortOneStandIn() as standin:
        os.environ["DONGNE_PORTONE_BASE_URL"] = standin.url
        deps.reset()
        yield standin
        os.environ.pop("DONGNE_PORTONE_BASE_URL", None)
        deps.reset()


@pytest.fixture
def portone(_portone_standin):
    """The stand-in, with no failures left armed by an earlier test."""
    _portone_standin._cancel_failures.clear()
    _portone_standin._charge_failures.clear()
    return _portone_standin
