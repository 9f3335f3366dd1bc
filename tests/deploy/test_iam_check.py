"""The IAM check and the call recorder it reads, on small hand-made templates and calls.

GIVEN a template and the calls a function makes, WHEN ``deploy.iam_check`` evaluates them,
THEN it fails on every call its role does not grant, on every granted action IAM does not
have, and on every grant no call needs unless it has a reason; and the recorder maps each
botocore call to the permission IAM evaluates for it, attributed to the right function.
"""

from __future__ import annotations

import json
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from deploy import iam_check
from deploy.iam_check import Resolver, Unsupported, check
from tests import aws_calls
from tests.aws_calls import Names, permissions

ROOT = Path(__file__).resolve().parents[2]
TABLE = "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${MainTable}"
LOGS = {"Effect": "Allow", "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": {"Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/lambda/*"}}


def template(*statements: dict, function: str = "Stream") -> dict:
    """One function with its own role holding ``statements`` (and its logs), plus the stack's tables."""
    return {"Resources": {
        "MainTable": {"Type": "AWS::DynamoDB::Table", "Properties": {"TableName": "dongne-prod-main"}},
        "FeedTable": {"Type": "AWS::DynamoDB::Table", "Properties": {"TableName": "dongne-prod-feed"}},
        "MediaBucket": {"Type": "AWS::S3::Bucket",
                        "Properties": {"BucketName": {"Fn::Sub": "dongne-prod-media-${AWS::AccountId}"}}},
        "StreamFailures": {"Type": "AWS::SQS::Queue", "Properties": {}},
        f"{function}Role": {"Type": "AWS::IAM::Role", "Properties": {"Policies": [{
            "PolicyName": "own", "PolicyDocument": {"Version": "2012-10-17", "Statement": [*statements, LOGS]}}]}},
        function: {"Type": "AWS::Serverless::Function",
                   "Properties": {"Role": {"Fn::GetAtt": [f"{function}Role", "Arn"]}}},
    }}


def row(action: str, resource: str = TABLE, function: str = "Stream") -> dict:
    return {"function": function, "action": action, "resource": resource, "call": "test", "site": "test"}


STREAM_READS = {"Effect": "Allow", "Action": ["dynamodb:GetRecords", "dynamodb:GetShardIterator",
                                              "dynamodb:DescribeStream"],
                "Resource": {"Fn::GetAtt": ["MainTable", "StreamArn"]}}
READS = [row("dynamodb:GetRecords", "${MainTable.StreamArn}"), row("dynamodb:GetShardIterator", "${MainTable.StreamArn}"),
         row("dynamodb:DescribeStream", "${MainTable.StreamArn}")]


# --- the check ------------------------------------------------------------------------------

def test_a_sufficient_policy_passes():
    report = check(template(STREAM_READS), READS)
    assert report.ok, report.render()
    assert report.needs == 3


def test_a_deliberately_insufficient_policy_fails_naming_each_missing_row(tmp_path, capsys):
    # The stream role as it was packaged before: the failure queue and nothing else.
    queue_only = {"Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": {"Fn::GetAtt": ["StreamFailures", "Arn"]}}
    report = check(template(queue_only), [*READS, row("dynamodb:PutItem")])
    assert not report.ok
    stream = "arn:aws:dynamodb:ap-northeast-2:123456789012:table/dongne-prod-main/stream/" + iam_check.STREAM_LABEL
    assert {(n.function, n.action, n.resource) for n in report.missing} == {
        ("Stream", "dynamodb:GetRecords", stream), ("Stream", "dynamodb:GetShardIterator", stream),
        ("Stream", "dynamodb:DescribeStream", stream),
        ("Stream", "dynamodb:PutItem", "arn:aws:dynamodb:ap-northeast-2:123456789012:table/dongne-prod-main")}

    # ...and the command line fails loudly with those rows.
    (tmp_path / "sam.json").write_text(json.dumps(template(queue_only)))
    (tmp_path / "calls.jsonl").write_text("".join(json.dumps(r) + "\n" for r in READS))
    assert iam_check.main(["--template", str(tmp_path / "sam.json"), "--calls", str(tmp_path / "calls.jsonl")]) == 1
    out = capsys.readouterr().out
    assert "NOT GRANTED (3)" in out and "dynamodb:GetRecords" in out and "table/dongne-prod-main/stream/" in out


def test_a_grant_on_the_wrong_resource_is_not_a_grant():
    feed_only = {"Effect": "Allow", "Action": ["dynamodb:PutItem"], "Resource": {"Fn::GetAtt": ["FeedTable", "Arn"]}}
    indexes = {"Effect": "Allow", "Action": ["dynamodb:Query"], "Resource": {"Fn::Sub": "${MainTable.Arn}/index/*"}}
    report = check(template(feed_only, indexes), [row("dynamodb:PutItem"), row("dynamodb:Query"),
                                                  row("dynamodb:Query", TABLE + "/index/gsi1")])
    assert {(n.action, n.resource.rsplit(":", 1)[1]) for n in report.missing} == {
        ("dynamodb:PutItem", "table/dongne-prod-main"), ("dynamodb:Query", "table/dongne-prod-main")}


def test_s3_head_object_is_not_an_iam_action():
    head = {"Effect": "Allow", "Action": ["s3:HeadObject", "s3:GetObject"],
            "Resource": {"Fn::Sub": "${MediaBucket.Arn}/uploads/*"}}
    report = check(template(head, function="APIHandler"),
                   [row("s3:GetObject", "arn:${AWS::Partition}:s3:::${MediaBucket}/uploads/u/p.jpg", "APIHandler")])
    assert report.invalid == [("APIHandlerRole/own", "s3:HeadObject")]
    assert not report.ok and "NOT IAM ACTIONS" in report.render()


def test_actions_are_checked_against_the_reviewed_list():
    valid = iam_check.valid_actions()
    assert iam_check.invalid_actions(["dynamodb:GetItem", "DynamoDB:getitem", "dynamodb:Get*", "logs:PutLogEvents",
                                      "sqs:SendMessage"], valid) == []
    assert iam_check.invalid_actions(["s3:HeadObject", "dynamodb:TransactWriteItems", "dynamodb:Nothing*", "*",
                                      "kinesis:PutRecord", "dynamodb"], valid) == \
        ["s3:HeadObject", "dynamodb:TransactWriteItems", "dynamodb:Nothing*", "*", "kinesis:PutRecord", "dynamodb"]
    assert iam_check.invalid_actions(["xray:PutTraceSegments", "secretsmanager:GetSecretValue"], valid) == []


def test_the_reviewed_actions_are_all_real(tmp_path):
    """Every entry of deploy/iam_actions.json is in the Service Authorization Reference data cfn-lint ships."""
    from cfnlint.data import AdditionalSpecs
    from cfnlint.helpers import load_resource

    reference = load_resource(AdditionalSpecs, "Policies.json")
    for service, actions in iam_check.valid_actions().items():
        assert actions <= set(reference[service]["Actions"]), service
        assert actions, service
    assert "headobject" not in iam_check.valid_actions()["s3"]


def test_unused_grants_fail_unless_they_have_a_reason():
    extra = {"Effect": "Allow", "Action": ["dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:DescribeStream",
                                           "dynamodb:DeleteItem"],
             "Resource": [{"Fn::GetAtt": ["MainTable", "StreamArn"]}, {"Fn::GetAtt": ["MainTable", "Arn"]}]}
    report = check(template(extra), READS)
    unused = {(f, a, r.rsplit(":", 1)[1]) for f, a, r, _ in report.unused}
    assert ("Stream", "dynamodb:DeleteItem", "table/dongne-prod-main") in unused
    assert ("Stream", "dynamodb:GetRecords", "table/dongne-prod-main") in unused  # right action, wrong resource
    assert not any(a.startswith("logs:") for _, a, _ in unused)  # justified
    assert {j[1] for j in report.justified} >= {"logs:createloggroup", "logs:putlogevents"}
    assert "UNUSED GRANTS" in report.render()

    reasons = {("Stream", "dynamodb:DeleteItem"): "test", ("Stream", "dynamodb:GetRecords"): "test",
               ("Stream", "dynamodb:GetShardIterator"): "test", ("Stream", "dynamodb:DescribeStream"): "test",
               ("*", "logs:CreateLogGroup"): "test", ("*", "logs:CreateLogStream"): "test",
               ("*", "logs:PutLogEvents"): "test"}
    assert check(template(extra), READS, justified=reasons).ok


def test_wildcard_actions_deny_and_case():
    rules = [iam_check.Statement("Allow", ("dynamodb:Get*",), ("arn:aws:dynamodb:r:a:table/t",), "x"),
             iam_check.Statement("Allow", ("DYNAMODB:query",), ("arn:aws:dynamodb:r:a:table/t/index/*",), "x"),
             iam_check.Statement("Deny", ("dynamodb:GetRecords",), ("*",), "x")]
    assert iam_check.allows(rules, "dynamodb:GetItem", "arn:aws:dynamodb:r:a:table/t")
    assert not iam_check.allows(rules, "dynamodb:GetRecords", "arn:aws:dynamodb:r:a:table/t")  # denied
    assert iam_check.allows(rules, "dynamodb:Query", "arn:aws:dynamodb:r:a:table/t/index/gsi1")
    assert not iam_check.allows(rules, "dynamodb:Query", "arn:aws:dynamodb:r:a:table/t")
    assert not iam_check.allows(rules, "dynamodb:GetItem", "arn:aws:dynamodb:r:a:table/T")  # ARNs are case-sensitive
    assert not iam_check.resource_matches("arn:aws:s3:::b*", "arn:aws:s3:::other/b1")


def test_references_resolve_to_the_stacks_own_resources():
    resolver = Resolver(template())
    assert resolver.resolve({"Fn::GetAtt": ["MainTable", "Arn"]}) == \
        "arn:aws:dynamodb:ap-northeast-2:123456789012:table/dongne-prod-main"
    assert resolver.resolve({"Fn::Sub": "${MainTable.Arn}/index/*"}).endswith("table/dongne-prod-main/index/*")
    assert resolver.resolve({"Fn::GetAtt": "MainTable.StreamArn"}).endswith("table/dongne-prod-main/stream/"
                                                                             + iam_check.STREAM_LABEL)
    assert resolver.resolve({"Fn::Sub": "${MediaBucket.Arn}/uploads/*"}) == \
        "arn:aws:s3:::dongne-prod-media-123456789012/uploads/*"
    assert resolver.resolve({"Ref": "StreamFailures"}).startswith("https://sqs.ap-northeast-2.amazonaws.com/")
    assert resolver.resolve({"Fn::GetAtt": ["StreamFailures", "Arn"]}).startswith("arn:aws:sqs:ap-northeast-2:")
    assert resolver.resolve({"Fn::Sub": ["${X}-${!Literal}", {"X": {"Ref": "AWS::Region"}}]}) == \
        "ap-northeast-2-${Literal}"
    assert resolver.resolve({"Fn::Join": ["/", ["a", {"Ref": "MainTable"}]]}) == "a/dongne-prod-main"
    with pytest.raises(Unsupported):
        resolver.resolve({"Fn::GetAtt": ["Nowhere", "Arn"]})


def test_what_cannot_be_judged_exactly_is_refused():
    conditional = {**STREAM_READS, "Condition": {"Bool": {"aws:SecureTransport": "true"}}}
    report = check(template(conditional), READS)
    assert not report.ok and "Condition is not evaluated" in report.render()
    managed = template(STREAM_READS)
    managed["Resources"]["StreamRole"]["Properties"]["ManagedPolicyArns"] = ["arn:aws:iam::aws:policy/AdminAccess"]
    assert "managed policies" in check(managed, READS).render()


def test_an_empty_or_broken_recording_fails():
    assert "no AWS calls were recorded" in check(template(STREAM_READS), []).render()
    report = check(template(STREAM_READS), [*READS, {"error": "KeyError: 'x'", "call": "dynamodb.Query"}])
    assert not report.ok and "the recorder failed on dynamodb.Query" in report.render()
    report = check(template(STREAM_READS), [*READS, row("dynamodb:GetItem", function="Elsewhere")])
    assert "'Elsewhere', which the template does not have" in report.render()
    report = check(template(STREAM_READS), [*READS, row("s3:HeadObject", "arn:${AWS::Partition}:s3:::${MediaBucket}/k")])
    assert "mapped a call to s3:HeadObject, which is not an IAM action" in report.render()


def test_policies_attached_as_separate_resources_count_for_the_role():
    t = template()
    t["Resources"]["Extra"] = {"Type": "AWS::IAM::Policy", "Properties": {
        "Roles": [{"Ref": "StreamRole"}], "PolicyName": "extra",
        "PolicyDocument": {"Version": "2012-10-17", "Statement": [STREAM_READS]}}}
    assert check(t, READS).ok


# --- the recorder: botocore calls → IAM permissions -----------------------------------------

NAMES = Names("dongne-test", "dongne-test-feed", "dongne-test-media")
MAIN = "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${MainTable}"
FEED = "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${FeedTable}"


def test_a_transaction_needs_each_items_own_action_on_each_table():
    items = [{"Put": {"TableName": "dongne-test", "Item": {}}},
             {"Update": {"TableName": "dongne-test", "Key": {}, "UpdateExpression": "SET a = :a"}},
             {"Delete": {"TableName": "dongne-test-feed", "Key": {}}},
             {"ConditionCheck": {"TableName": "dongne-test", "Key": {}, "ConditionExpression": "x"}}]
    assert permissions("dynamodb", "TransactWriteItems", {"TransactItems": items}, NAMES) == [
        ("dynamodb:PutItem", MAIN), ("dynamodb:UpdateItem", MAIN), ("dynamodb:DeleteItem", FEED),
        ("dynamodb:ConditionCheckItem", MAIN)]


def test_tables_indexes_batches_and_streams():
    assert permissions("dynamodb", "Query", {"TableName": "dongne-test", "IndexName": "gsi4"}, NAMES) == \
        [("dynamodb:Query", MAIN + "/index/gsi4")]
    assert permissions("dynamodb", "BatchWriteItem", {"RequestItems": {"dongne-test-feed": [], "dongne-test": []}},
                       NAMES) == [("dynamodb:BatchWriteItem", FEED), ("dynamodb:BatchWriteItem", MAIN)]
    assert permissions("dynamodb", "GetItem", {"TableName": "someone-elses"}, NAMES) == \
        [("dynamodb:GetItem", "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/someone-elses")]
    arn = "arn:aws:dynamodb:us-east-1:123456789012:table/dongne-test/stream/2026-01-01T00:00:00.000"
    assert permissions("dynamodbstreams", "GetRecords", {"ShardIterator": "opaque"}, NAMES, stream_arn=arn) == \
        [("dynamodb:GetRecords", "${MainTable.StreamArn}")]


def test_each_secret_read_names_its_template_secret(monkeypatch):
    from chalicelib.settings import reset_settings

    signing, portone = "arn:aws:secretsmanager:us-east-1:1:secret:sign-x", "arn:aws:secretsmanager:us-east-1:1:secret:po-y"
    monkeypatch.setenv("DONGNE_SECRET_ARN", signing)
    monkeypatch.setenv("DONGNE_PORTONE_SECRET_ARN", portone)
    reset_settings()
    try:
        assert [permissions("secretsmanager", "GetSecretValue", {"SecretId": arn}, NAMES) for arn in (
            signing, portone, "other")] == [[("secretsmanager:GetSecretValue", "${SigningSecret}")],
                                            [("secretsmanager:GetSecretValue", "${PortOneSecret}")],
                                            [("secretsmanager:GetSecretValue", "other")]]
    finally:
        monkeypatch.undo()
        reset_settings()


def test_head_object_needs_get_object_and_a_presigned_post_needs_put_object():
    bucket = "arn:${AWS::Partition}:s3:::${MediaBucket}"
    assert permissions("s3", "HeadObject", {"Bucket": "dongne-test-media", "Key": "uploads/u/p.jpg"}, NAMES) == \
        [("s3:GetObject", bucket + "/uploads/u/p.jpg")]
    assert permissions("s3", "PresignedPost", {"Bucket": "dongne-test-media", "Key": "uploads/u/p.jpg"}, NAMES) == \
        [("s3:PutObject", bucket + "/uploads/u/p.jpg")]
    assert permissions("s3", "ListObjectsV2", {"Bucket": "dongne-test-media", "Prefix": "uploads/"}, NAMES) == \
        [("s3:ListBucket", bucket)]


def _frame_in(path: str, function: str, body: str = "return sys._getframe()"):
    """A frame of ``function`` defined in ``path`` (under the repository), as if the code lived there."""
    source = f"def {function}(inner=None):\n    if inner is not None:\n        return inner()\n    {body}\n"
    namespace = {"sys": sys}
    exec(compile(source, str(ROOT / path), "exec"), namespace)  # noqa: S102 — test code, written above
    return namespace[function]


@pytest.mark.parametrize("path, function, expected", [
    ("chalicelib/events/schedules.py", "lapse_sweep", "LapseSweep"),
    ("chalicelib/events/schedules.py", "run_reorder_reminders", "LapseSweep"),
    ("chalicelib/events/schedules.py", "run_subscription_orders", "SubscriptionOrders"),
    ("chalicelib/events/schedules.py", "order_deadlines", "OrderDeadlines"),
    ("chalicelib/events/schedules.py", "run_order_deadlines", "OrderDeadlines"),
    ("chalicelib/events/schedules.py", "run_broadcast_release", "BroadcastRelease"),
    ("chalicelib/events/schedules.py", "run_aftercare", "Aftercare"),
    ("chalicelib/events/schedules.py", "run_insights_notices", "InsightsNotices"),
    ("chalicelib/events/stream.py", "stream", "Stream"),
    ("chalicelib/events/feed.py", "post_changed", "Stream"),
    ("chalicelib/api/edge.py", "_authenticated", "APIHandler"),
    ("chalicelib/api/posts.py", "create_post", "APIHandler"),
    ("chalicelib/storage/posts.py", "put", None),       # storage called by a test directly: no function
    ("tests/conftest.py", "aws_backend", None),          # fixtures: CreateTable, CreateBucket...
])
def test_calls_are_attributed_by_the_entry_point_on_the_stack(path, function, expected):
    assert aws_calls.attribute(_frame_in(path, function)())[0] == expected


def test_the_outermost_entry_point_wins():
    view = _frame_in("chalicelib/api/posts.py", "create_post")
    handler = _frame_in("chalicelib/events/feed.py", "post_changed")
    assert aws_calls.attribute(view(inner=handler))[0] == "APIHandler"


def _attribute_here():
    return aws_calls.attribute(sys._getframe())


def test_a_thread_pool_task_keeps_the_submitting_function():
    """S3Media.stat_many heads photos on a pool: the worker's stack has no view on it."""
    aws_calls._install_thread_inheritance()
    submit = _frame_in("chalicelib/api/posts.py", "create_post",
                       body="return ThreadPoolExecutor(2).submit(task).result()")
    submit.__globals__.update(ThreadPoolExecutor=ThreadPoolExecutor, task=_attribute_here)
    assert submit()[0] == "APIHandler"
    assert ThreadPoolExecutor(2).submit(_attribute_here).result()[0] is None  # submitted by no function


def test_the_recorder_writes_each_new_row_once(tmp_path, monkeypatch):
    recorder = aws_calls.Recorder(tmp_path / "calls.jsonl", "unit")
    monkeypatch.setattr(aws_calls.Names, "current", classmethod(lambda cls: NAMES))
    view = _frame_in("chalicelib/api/posts.py", "create_post")
    for _ in range(3):
        recorder.record("dynamodb", "GetItem", {"TableName": "dongne-test"}, view())
    recorder.record("dynamodb", "CreateTable", {"TableName": "dongne-test"}, sys._getframe())  # a test's own call
    rows = [json.loads(line) for line in (tmp_path / "calls.jsonl").read_text().splitlines()]
    assert rows == [{"function": "APIHandler", "call": "dynamodb.GetItem", "action": "dynamodb:GetItem",
                     "resource": MAIN, "site": "chalicelib/api/posts.py:create_post", "suite": "unit"}]
