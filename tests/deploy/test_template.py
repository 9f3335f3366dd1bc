"""The deployment template: what `make package` builds deploys the whole system.

Runs `chalice package` with the generated merge template, lints the result with
cfn-lint, and checks the tables in it against the PynamoDB models.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ZIP_BUDGET_BYTES = 25 * 1024 * 1024


@pytest.fixture(scope="module")
def packaged(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("package")
    env = {**os.environ, "AWS_DEFAULT_REGION": "ap-northeast-2"}
    subprocess.run([sys.executable, "-m", "deploy.template", "--stage", "prod", "-o", str(out / "merge.json")],
                   cwd=ROOT, check=True, env=env, capture_output=True)
    chalice = Path(sys.executable).parent / "chalice"
    subprocess.run([str(chalice), "package", "--stage", "prod", "--merge-template", str(out / "merge.json"),
                    str(out / "prod")], cwd=ROOT, check=True, env=env, capture_output=True)
    return out / "prod"


def template(packaged: Path) -> dict:
    return json.loads((packaged / "sam.json").read_text())


def test_cfn_lint_passes(packaged):
    lint = Path(sys.executable).parent / "cfn-lint"
    result = subprocess.run([str(lint), str(packaged / "sam.json")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_function_runs_python_313(packaged):
    functions = [r for r in template(packaged)["Resources"].values() if r["Type"] == "AWS::Serverless::Function"]
    assert {f["Properties"]["Runtime"] for f in functions} == {"python3.13"}
    assert len(functions) == 5  # API, authorizer, stream, lapse sweep, reorder reminders


def test_tables_match_the_models(packaged):
    from chalicelib.storage.tables import table_specs
    from deploy.template import stage_env

    env = stage_env("prod")
    resources = template(packaged)["Resources"]
    main, feed = table_specs(env["DONGNE_TABLE_NAME"], env["DONGNE_FEED_TABLE_NAME"])
    for logical, spec in (("MainTable", main), ("FeedTable", feed)):
        props = resources[logical]["Properties"]
        for key in ("TableName", "KeySchema", "AttributeDefinitions", "GlobalSecondaryIndexes",
                    "LocalSecondaryIndexes", "BillingMode"):
            assert props.get(key) == spec.get(key), (logical, key)
    assert resources["MainTable"]["Properties"]["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert [g["IndexName"] for g in resources["MainTable"]["Properties"]["GlobalSecondaryIndexes"]] == \
        ["gsi1", "gsi2", "gsi3", "gsi4"]


def test_stream_bucket_and_secret_are_wired(packaged):
    resources = template(packaged)["Resources"]
    source = resources["Stream"]["Properties"]["Events"]["StreamDynamodbEventSource"]["Properties"]
    assert source["Stream"] == {"Fn::GetAtt": ["MainTable", "StreamArn"]}
    assert source["BisectBatchOnFunctionError"] is True
    assert resources["MediaBucket"]["Type"] == "AWS::S3::Bucket"
    for name in ("APIHandler", "Bearer", "Stream", "LapseSweep"):
        variables = resources[name]["Properties"]["Environment"]["Variables"]
        assert variables["DONGNE_MEDIA_BUCKET"] == {"Ref": "MediaBucket"}
        assert "SigningSecret" in json.dumps(variables["DONGNE_SECRET_KEY"])
        assert variables["DONGNE_STAGE"] == "prod"
        assert "MediaCdn.DomainName" in json.dumps(variables["DONGNE_MEDIA_BASE_URL"])


def test_photos_are_served_through_cloudfront_from_a_private_bucket(packaged):
    resources = template(packaged)["Resources"]
    block = resources["MediaBucket"]["Properties"]["PublicAccessBlockConfiguration"]
    assert all(block.values())
    origin = resources["MediaCdn"]["Properties"]["DistributionConfig"]["Origins"][0]
    assert origin["OriginAccessControlId"] == {"Fn::GetAtt": ["MediaOriginAccess", "Id"]}
    [statement] = resources["MediaBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "cloudfront.amazonaws.com"} and statement["Action"] == "s3:GetObject"


def test_deployment_zip_is_within_budget(packaged):
    size = (packaged / "deployment.zip").stat().st_size
    assert size <= ZIP_BUDGET_BYTES, f"deployment.zip is {size / 1e6:.1f} MB"


def test_functions_are_derived_from_the_app(packaged):
    from deploy.template import functions

    resources = template(packaged)["Resources"]
    packaged_functions = {name for name, r in resources.items() if r["Type"] == "AWS::Serverless::Function"}
    assert set(functions()) == packaged_functions


def test_lapse_sweep_runs_on_a_schedule(packaged):
    resources = template(packaged)["Resources"]
    events = resources["LapseSweep"]["Properties"]["Events"]
    (schedule,) = [e for e in events.values() if e["Type"] == "Schedule"]
    assert schedule["Properties"]["Schedule"] == "rate(1 hour)"
