"""The deployment template: what `make package` builds deploys the whole system.

Runs `chalice package` with the generated merge template, lints the result with
cfn-lint, and checks the tables in it against the PynamoDB models, the stream's event
source mapping, and each function's own role (``deploy.iam_check`` evaluates the policies;
``make test`` checks them against every AWS call the suites recorded).
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
ALL_FUNCTIONS = ("APIHandler", "Stream", "LapseSweep", "SubscriptionOrders", "OrderDeadlines",
                 "BroadcastRelease", "Aftercare", "InsightsNotices", "Outbound")


@pytest.fixture(scope="module")
def packaged(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("package")
    env = {**os.environ, "AWS_DEFAULT_REGION": "ap-northeast-2"}
    subprocess.run([sys.executable, "-m", "deploy.template", "--stage", "prod", "-o", str(out / "merge.json")],
                   cwd=ROOT, check=True, env=env, capture_output=True)
    chalice = Path(sys.executable).parent / "chalice"
    subprocess.run([str(chalice), "package", "--stage", "prod", "--merge-template", str(out / "merge.json"),
                    str(out / "prod")], cwd=ROOT, check=True, env=env, capture_output=True)
    # What Chalice makes on its own, to see what the merge changes in it.
    subprocess.run([str(chalice), "package", "--stage", "prod", str(out / "chalice-only")],
                   cwd=ROOT, check=True, env=env, capture_output=True)
    return out / "prod"


def template(packaged: Path) -> dict:
    return json.loads((packaged / "sam.json").read_text())


def chalice_only(packaged: Path) -> dict:
    return json.loads((packaged.parent / "chalice-only" / "sam.json").read_text())


def test_cfn_lint_passes_including_its_informational_checks(packaged):
    lint = Path(sys.executable).parent / "cfn-lint"
    result = subprocess.run([str(lint), "--include-checks", "I", "--", str(packaged / "sam.json")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_function_runs_python_313(packaged):
    functions = [r for r in template(packaged)["Resources"].values() if r["Type"] == "AWS::Serverless::Function"]
    assert {f["Properties"]["Runtime"] for f in functions} == {"python3.13"}


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
    assert source["ParallelizationFactor"] == 10  # per-key order kept; fan-out chunks side by side
    assert source["FunctionResponseTypes"] == ["ReportBatchItemFailures"]  # events.stream answers per record
    assert source["MaximumRetryAttempts"] == 10 and source["MaximumRecordAgeInSeconds"] == 86400
    assert source["DestinationConfig"] == {"OnFailure": {"Destination": {"Fn::GetAtt": ["StreamFailures", "Arn"]}}}
    assert resources["MediaBucket"]["Type"] == "AWS::S3::Bucket"
    for name in ALL_FUNCTIONS:
        variables = resources[name]["Properties"]["Environment"]["Variables"]
        assert variables["DONGNE_MEDIA_BUCKET"] == {"Ref": "MediaBucket"}
        # the secret's ARN, read at run time: its value is nowhere in the template
        assert variables["DONGNE_SECRET_ARN"] == {"Ref": "SigningSecret"} and "DONGNE_SECRET_KEY" not in variables
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


@pytest.mark.parametrize("function, rate", [("LapseSweep", "rate(1 hour)"),
                                            ("SubscriptionOrders", "rate(10 minutes)"),
                                            ("OrderDeadlines", "rate(5 minutes)"),
                                            ("BroadcastRelease", "rate(5 minutes)"),
                                            ("Aftercare", "rate(15 minutes)"),
                                            ("InsightsNotices", "cron(0 * * * ? *)")])
def test_the_jobs_run_on_their_schedules(packaged, function, rate):
    resources = template(packaged)["Resources"]
    events = resources[function]["Properties"]["Events"]
    (schedule,) = [e for e in events.values() if e["Type"] == "Schedule"]
    assert schedule["Properties"]["Schedule"] == rate
    assert resources[function]["Properties"]["Handler"].startswith("chalicelib.events.schedules.")


# --- IAM: one role per function, exactly what its code calls ----------------------------------

def _rules(packaged: Path, function: str):
    from deploy.iam_check import Resolver, function_statements

    t = template(packaged)
    return function_statements(t, function, Resolver(t))


def _arn(packaged: Path, text: str) -> str:
    from deploy.iam_check import Resolver

    return Resolver(template(packaged)).sub(text)


def test_the_merge_replaces_nothing_chalice_generated(packaged):
    """Chalice's merge replaces lists and scalars whole: a role's Policies list in the merge
    template once left the stream role with one permission. Only the meant replacements."""
    from deploy.template import INTENDED_REPLACEMENTS, replaced

    merge = json.loads((packaged.parent / "merge.json").read_text())
    assert set(replaced(merge, chalice_only(packaged))) <= INTENDED_REPLACEMENTS
    assert replaced({"Resources": {"StreamRole": {"Properties": {"Policies": []}}}}, chalice_only(packaged)) == \
        ["/Resources/StreamRole/Properties/Policies"]


def test_each_function_has_its_own_role_with_its_own_policy(packaged):
    resources = template(packaged)["Resources"]
    roles = {name: resources[name]["Properties"]["Role"]["Fn::GetAtt"][0] for name in ALL_FUNCTIONS}
    assert len(set(roles.values())) == len(ALL_FUNCTIONS)
    documents = [json.dumps(resources[role]["Properties"]["Policies"]) for role in roles.values()]
    assert len(set(documents)) == len(ALL_FUNCTIONS)
    for role in roles.values():
        assert "ManagedPolicyArns" not in resources[role]["Properties"]


def test_only_the_functions_that_sign_or_verify_may_read_the_secret(packaged):
    from deploy.iam_check import allows

    secret = _arn(packaged, "${SigningSecret}")
    assert secret.startswith("arn:aws:secretsmanager:")
    for function in ALL_FUNCTIONS:
        rules = _rules(packaged, function)
        assert allows(rules, "secretsmanager:GetSecretValue", secret) is (function == "APIHandler"), function
        assert not allows(rules, "secretsmanager:GetSecretValue", secret.replace("SigningSecret", "Other")), function
    assert "resolve:secretsmanager" not in json.dumps(template(packaged))


def test_only_the_api_and_the_deadline_job_may_read_portones_secret_and_are_told_where_it_is(packaged):
    """PortOne's API and webhook secrets: a secret of the stack (empty until operations put the
    values), its ARN in the environment of the two functions that call PortOne, readable by them only."""
    from deploy.iam_check import allows
    from deploy.template import PORTONE_SECRET_PLACEHOLDER

    resources = template(packaged)["Resources"]
    secret = resources["PortOneSecret"]
    assert secret["Type"] == "AWS::SecretsManager::Secret"
    assert json.loads(secret["Properties"]["SecretString"]) == PORTONE_SECRET_PLACEHOLDER == {
        "api_secret": "", "webhook_secret": ""}  # no real value in the template, ever
    arn = _arn(packaged, "${PortOneSecret}")
    readers = {"APIHandler", "OrderDeadlines", "SubscriptionOrders"}
    for function in ALL_FUNCTIONS:
        variables = resources[function]["Properties"]["Environment"]["Variables"]
        told = variables.get("DONGNE_PORTONE_SECRET_ARN")
        assert told == ({"Ref": "PortOneSecret"} if function in readers else None), function
        assert "DONGNE_PORTONE_API_SECRET" not in variables and "DONGNE_PORTONE_WEBHOOK_SECRET" not in variables
        assert allows(_rules(packaged, function), "secretsmanager:GetSecretValue", arn) is (function in readers), \
            function
    assert template(packaged)["Outputs"]["PortOneSecretArn"] == {"Value": {"Ref": "PortOneSecret"}}


def test_the_deadline_role_reaches_the_main_table_portone_and_nothing_else(packaged):
    """services.checkout.run_deadlines: day buckets (Query), orders (GetItem), expiry and
    delivery transactions (UpdateItem, DeleteItem, PutItem of a ledger entry), due items."""
    from deploy.iam_check import allows

    rules = _rules(packaged, "OrderDeadlines")
    main = _arn(packaged, "${MainTable.Arn}")
    for action in ("GetItem", "Query", "PutItem", "UpdateItem", "DeleteItem"):
        assert allows(rules, f"dynamodb:{action}", main), action
    for action in ("Scan", "BatchWriteItem", "BatchGetItem", "ConditionCheckItem"):
        assert not allows(rules, f"dynamodb:{action}", main), action
    assert not allows(rules, "dynamodb:Query", _arn(packaged, "${MainTable.Arn}/index/gsi1"))
    assert not allows(rules, "dynamodb:GetItem", _arn(packaged, "${FeedTable.Arn}"))
    assert not allows(rules, "dynamodb:GetRecords", _arn(packaged, "${MainTable.StreamArn}"))
    assert not allows(rules, "secretsmanager:GetSecretValue", _arn(packaged, "${SigningSecret}"))
    assert not allows(rules, "s3:GetObject", _arn(packaged, "${MediaBucket.Arn}/uploads/u/p.jpg"))
    assert not allows(rules, "sns:Publish", "arn:aws:sns:ap-northeast-2:123456789012:anything")


def test_each_function_writes_only_to_its_own_log_group(packaged):
    from deploy.iam_check import allows

    for function in ALL_FUNCTIONS:
        rules = _rules(packaged, function)
        own = _arn(packaged, f"${{{function}Logs.Arn}}").rstrip("*") + "log-stream:2026/11/29/[$LATEST]abc"
        assert allows(rules, "logs:PutLogEvents", own), function
        other = "Stream" if function != "Stream" else "APIHandler"
        assert not allows(rules, "logs:PutLogEvents", _arn(packaged, f"${{{other}Logs.Arn}}")), function


# --- operations: what survives a deletion, logs, traces, alarms -------------------------------

STATEFUL = ("AWS::DynamoDB::Table", "AWS::S3::Bucket", "AWS::SecretsManager::Secret", "AWS::SQS::Queue",
            "AWS::Logs::LogGroup")


def test_every_stateful_resource_survives_deletion_and_replacement(packaged):
    resources = template(packaged)["Resources"]
    stateful = {name: r for name, r in resources.items() if r["Type"] in STATEFUL}
    assert {"MainTable", "FeedTable", "MediaBucket", "SigningSecret", "PortOneSecret", "StreamFailures",
            "OutboundQueue", "OutboundDeadLetters"} <= \
        set(stateful)
    for name, resource in stateful.items():
        assert resource.get("DeletionPolicy") == "Retain", name
        assert resource.get("UpdateReplacePolicy") == "Retain", name


def test_every_function_has_its_own_log_group_with_a_retention(packaged):
    resources = template(packaged)["Resources"]
    functions = [name for name, r in resources.items() if r["Type"] == "AWS::Serverless::Function"]
    groups = {name: r for name, r in resources.items() if r["Type"] == "AWS::Logs::LogGroup"}
    assert len(groups) == len(functions) == len(ALL_FUNCTIONS)
    for function in functions:
        config = resources[function]["Properties"]["LoggingConfig"]
        group = groups[config["LogGroup"]["Ref"]]
        assert group["Properties"]["RetentionInDays"] == 90
        assert group["Properties"]["LogGroupName"] == {"Fn::Sub": f"/aws/lambda/${{AWS::StackName}}/{function}"}


def test_tracing_is_on_for_every_function_and_the_api_stage(packaged):
    resources = template(packaged)["Resources"]
    for name, resource in resources.items():
        if resource["Type"] == "AWS::Serverless::Function":
            assert resource["Properties"]["Tracing"] == "Active", name
            assert resource["Properties"]["Environment"]["Variables"]["DONGNE_TRACING"] == "true", name
    assert resources["RestAPI"]["Properties"]["TracingEnabled"] is True


def _alarms(packaged) -> dict[str, dict]:
    return {name: r["Properties"] for name, r in template(packaged)["Resources"].items()
            if r["Type"] == "AWS::CloudWatch::Alarm"}


def _watches(alarm: dict) -> list[tuple[str, str, dict]]:
    if "MetricName" in alarm:
        return [(alarm["Namespace"], alarm["MetricName"], {d["Name"]: d["Value"] for d in alarm["Dimensions"]})]
    return [(m["MetricStat"]["Metric"]["Namespace"], m["MetricStat"]["Metric"]["MetricName"],
             {d["Name"]: d["Value"] for d in m["MetricStat"]["Metric"]["Dimensions"]})
            for m in alarm["Metrics"] if "MetricStat" in m]


def test_the_alarms_watch_the_stream_the_failure_queue_5xx_and_throttles(packaged):
    alarms = _alarms(packaged)
    watched = {(ns, metric, json.dumps(dims, sort_keys=True)) for a in alarms.values() for ns, metric, dims in _watches(a)}

    def watches(ns, metric, **dims):
        return (ns, metric, json.dumps(dims, sort_keys=True)) in watched

    assert watches("AWS/Lambda", "IteratorAge", FunctionName={"Ref": "Stream"})
    assert watches("AWS/SQS", "ApproximateNumberOfMessagesVisible",
                   QueueName={"Fn::GetAtt": ["StreamFailures", "QueueName"]})
    assert watches("AWS/ApiGateway", "5XXError", ApiName="dongne-prod", Stage="api")
    # the metric services.checkout emits on a failed card refund, with Powertools' dimensions
    assert watches("Dongne", "RefundFailed", service="dongne", stage="prod")
    assert template(packaged)["Resources"]["RestAPI"]["Properties"]["Name"] == "dongne-prod"
    for function in ALL_FUNCTIONS:
        assert watches("AWS/Lambda", "Errors", FunctionName={"Ref": function}), function
        assert watches("AWS/Lambda", "Throttles", FunctionName={"Ref": function}), function
    for table in ("MainTable", "FeedTable"):
        assert watches("AWS/DynamoDB", "ReadThrottleEvents", TableName={"Ref": table}), table
        assert watches("AWS/DynamoDB", "WriteThrottleEvents", TableName={"Ref": table}), table
    for name, alarm in alarms.items():
        assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}] == alarm["OKActions"], name
        assert alarm["TreatMissingData"] == "notBreaching", name
    resources = template(packaged)["Resources"]
    assert resources["AlarmTopic"]["Type"] == "AWS::SNS::Topic"
    assert resources["AlarmEmailSubscription"]["Condition"] == "HasAlarmEmail"


def test_the_stream_role_reads_its_stream_writes_its_tables_and_keeps_failures(packaged):
    from deploy.iam_check import allows

    rules = _rules(packaged, "Stream")
    stream = _arn(packaged, "${MainTable.StreamArn}")
    for action in ("DescribeStream", "GetRecords", "GetShardIterator", "ListStreams"):
        assert allows(rules, f"dynamodb:{action}", stream)
    assert allows(rules, "dynamodb:BatchWriteItem", _arn(packaged, "${FeedTable.Arn}"))
    assert allows(rules, "dynamodb:PutItem", _arn(packaged, "${MainTable.Arn}"))
    assert allows(rules, "sqs:SendMessage", _arn(packaged, "${StreamFailures.Arn}"))
    assert allows(rules, "logs:PutLogEvents", _arn(
        packaged, "arn:aws:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/lambda/dongne-prod/Stream:log-stream:y"))
    assert not allows(rules, "logs:PutLogEvents", _arn(
        packaged, "arn:aws:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/lambda/x:log-stream:y"))
    assert allows(rules, "dynamodb:DeleteItem", _arn(packaged, "${MainTable.Arn}"))  # a closed account's follows, pairs
    # nothing it does not do
    assert not allows(rules, "dynamodb:Scan", _arn(packaged, "${MainTable.Arn}"))
    assert not allows(rules, "s3:GetObject", _arn(packaged, "${MediaBucket.Arn}/uploads/u/p.jpg"))
    assert not allows(rules, "dynamodb:GetRecords", "arn:aws:dynamodb:ap-northeast-2:123456789012:table/other/stream/x")


def test_the_api_role_reaches_only_its_tables_indexes_and_uploads(packaged):
    from deploy.iam_check import allows

    rules = _rules(packaged, "APIHandler")
    assert allows(rules, "dynamodb:Query", _arn(packaged, "${MainTable.Arn}/index/gsi1"))
    # gsi4 is overloaded: the sweep's due lapses, and a shop's referrals (the orders credited to store links).
    assert allows(rules, "dynamodb:Query", _arn(packaged, "${MainTable.Arn}/index/gsi4"))
    assert not allows(rules, "dynamodb:Scan", _arn(packaged, "${MainTable.Arn}"))  # nothing scans
    assert allows(rules, "s3:GetObject", _arn(packaged, "${MediaBucket.Arn}/uploads/u/p.jpg"))  # HeadObject
    assert allows(rules, "s3:PutObject", _arn(packaged, "${MediaBucket.Arn}/uploads/u/p.jpg"))  # presigned POST
    assert not allows(rules, "s3:PutObject", _arn(packaged, "${MediaBucket.Arn}/elsewhere.jpg"))
    assert not allows(rules, "dynamodb:BatchWriteItem", _arn(packaged, "${FeedTable.Arn}"))  # fan-out is the stream's
    assert not allows(rules, "dynamodb:GetRecords", _arn(packaged, "${MainTable.StreamArn}"))


def test_every_granted_action_exists_in_iam(packaged):
    from deploy.iam_check import check

    report = check(template(packaged), rows=[])
    assert report.invalid == []


def test_the_check_fails_on_the_packaged_template_when_a_grant_is_removed(packaged):
    """The real template minus one action its code needs: the check names the missing row."""
    from deploy.iam_check import check

    t = template(packaged)
    rows = [{"function": "Stream", "action": "dynamodb:BatchWriteItem", "call": "dynamodb.BatchWriteItem",
             "resource": "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${FeedTable}"}]
    assert check(t, rows).missing == []
    for statement in t["Resources"]["StreamRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]:
        statement["Action"] = [a for a in statement["Action"] if a != "dynamodb:BatchWriteItem"]
    report = check(t, rows)
    assert [(n.function, n.action, n.resource) for n in report.missing] == [
        ("Stream", "dynamodb:BatchWriteItem", "arn:aws:dynamodb:ap-northeast-2:123456789012:table/dongne-prod-feed")]
    assert not report.ok and "NOT GRANTED" in report.render()


def test_the_stage_is_throttled_and_gateway_limits_answer_as_problems(packaged):
    from deploy.template import stage_throttling

    api = template(packaged)["Resources"]["RestAPI"]["Properties"]
    settings, *per_route = api["MethodSettings"]
    throttling = stage_throttling("prod")
    assert (settings["ResourcePath"], settings["HttpMethod"]) == ("/*", "*")
    assert settings["ThrottlingRateLimit"] == throttling["rate_limit"] > 0
    assert settings["ThrottlingBurstLimit"] == throttling["burst_limit"] >= throttling["rate_limit"]
    responses = api["GatewayResponses"]
    for kind, status, code in (("THROTTLED", "429", "rate_limited"), ("QUOTA_EXCEEDED", "429", "rate_limited"),
                               ("REQUEST_TOO_LARGE", "413", "payload_too_large")):
        answer = responses[kind]
        body = json.loads(answer["ResponseTemplates"]["application/json"])
        assert answer["StatusCode"] == status and body["status"] == int(status) and body["code"] == code
        assert answer["ResponseParameters"]["Headers"]["Content-Type"] == "'application/problem+json'"
    assert responses["THROTTLED"]["ResponseParameters"]["Headers"]["Retry-After"] == "'1'"
    # every gateway answer names its request, as the app's answers do (tests/deploy/test_gateway_responses.py)
    assert {"DEFAULT_4XX", "DEFAULT_5XX", "INTEGRATION_TIMEOUT", "ACCESS_DENIED"} <= set(responses)
    for kind, answer in responses.items():
        assert answer["ResponseParameters"]["Headers"]["X-Request-Id"] == "context.requestId", kind
        assert '"request_id": "$context.requestId"' in answer["ResponseTemplates"]["application/json"], kind
    assert stage_throttling("dev")["rate_limit"] > 0
    # PortOne's webhook (no bearer token): throttled below the stage; its body limit is the app's
    (webhook,) = per_route
    assert (webhook["ResourcePath"], webhook["HttpMethod"]) == ("/~1webhooks~1portone", "POST")
    assert 0 < webhook["ThrottlingRateLimit"] < throttling["rate_limit"]
    assert webhook["ThrottlingRateLimit"] <= webhook["ThrottlingBurstLimit"] < throttling["burst_limit"]


def test_the_gateway_authorizes_nothing_the_app_checks_every_token(packaged):
    """No authorizer function and no gateway security on any route: every request reaches the
    app, which answers 401 itself (problem+json, in Korean when asked, with CORS). PortOne's
    webhook, which signs its body instead of sending a bearer token, reaches it the same way."""
    resources = template(packaged)["Resources"]
    api = resources["RestAPI"]["Properties"]["DefinitionBody"]
    assert "securityDefinitions" not in api and "x-amazon-apigateway-authorizer" not in json.dumps(api)
    assert all("security" not in operation for item in api["paths"].values() for operation in item.values()
               if isinstance(operation, dict))
    functions = {name for name, r in resources.items() if r["Type"] == "AWS::Serverless::Function"}
    assert functions == set(ALL_FUNCTIONS)
    assert not any(r["Type"] == "AWS::Lambda::Permission" and "authorizer" in json.dumps(r).lower()
                   for r in resources.values())
    from chalicelib.api.payments import MAX_WEBHOOK_BYTES

    assert MAX_WEBHOOK_BYTES <= 64 * 1024


# --- outbound channels behind a queue ---------------------------------------------------------

def test_the_outbound_function_reads_its_queue_with_retries_a_dead_letter_queue_and_an_alarm(packaged):
    from chalicelib.events.outbound import (BATCH_SIZE, MAX_RECEIVE_COUNT, MAXIMUM_CONCURRENCY,
                                            VISIBILITY_TIMEOUT_SECONDS)

    resources = template(packaged)["Resources"]
    source = resources["Outbound"]["Properties"]["Events"]["OutboundSqsEventSource"]
    assert source["Type"] == "SQS"
    props = source["Properties"]
    assert props["Queue"] == {"Fn::GetAtt": ["OutboundQueue", "Arn"]}
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]  # events.outbound answers per message
    assert props["BatchSize"] == BATCH_SIZE and props["ScalingConfig"] == {"MaximumConcurrency": MAXIMUM_CONCURRENCY}
    queue = resources["OutboundQueue"]["Properties"]
    assert queue["RedrivePolicy"] == {"deadLetterTargetArn": {"Fn::GetAtt": ["OutboundDeadLetters", "Arn"]},
                                      "maxReceiveCount": MAX_RECEIVE_COUNT}
    # AWS's advice for Lambda on SQS: at least six times the function's timeout
    assert queue["VisibilityTimeout"] == VISIBILITY_TIMEOUT_SECONDS >= 6 * resources["Outbound"]["Properties"]["Timeout"]
    assert resources["OutboundDeadLetters"]["Properties"]["MessageRetentionPeriod"] > queue["MessageRetentionPeriod"]
    alarm = resources["OutboundDeadLettersAlarm"]["Properties"]
    assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/SQS", "ApproximateNumberOfMessagesVisible")
    assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["OutboundDeadLetters", "QueueName"]}}]
    assert alarm["Threshold"] == 1 and alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    # only the stream (notifications) and the API (reset and verification codes) queue; the
    # redrive command finds the queue by the stack's output
    variables = {name: resources[name]["Properties"]["Environment"]["Variables"] for name in ALL_FUNCTIONS}
    assert [n for n, v in variables.items() if "DONGNE_OUTBOUND_QUEUE_URL" in v] == ["APIHandler", "Stream"]
    assert variables["Stream"]["DONGNE_OUTBOUND_QUEUE_URL"] == {"Ref": "OutboundQueue"}
    assert template(packaged)["Outputs"]["OutboundQueueUrl"] == {"Value": {"Ref": "OutboundQueue"}}


def test_only_the_outbound_function_reaches_sns_and_ses_and_the_stream_only_queues(packaged):
    from deploy.iam_check import allows

    queue = _arn(packaged, "${OutboundQueue.Arn}")
    identity = _arn(packaged, "arn:aws:ses:${AWS::Region}:${AWS::AccountId}:identity/noreply@dongne.app")
    outbound, stream = _rules(packaged, "Outbound"), _rules(packaged, "Stream")
    for action in ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"):
        assert allows(outbound, action, queue) and not allows(stream, action, queue)
    assert allows(stream, "sqs:SendMessage", queue) and not allows(outbound, "sqs:SendMessage", queue)
    assert allows(outbound, "sns:Publish", "*") and allows(outbound, "ses:SendEmail", identity)
    assert not allows(stream, "sns:Publish", "*") and not allows(stream, "ses:SendEmail", identity)
    assert not allows(outbound, "dynamodb:Scan", _arn(packaged, "${MainTable.Arn}"))
    assert not allows(outbound, "dynamodb:Query", _arn(packaged, "${FeedTable.Arn}"))
