"""The resources Chalice does not create, as a ``chalice package --merge-template`` file.

``python -m deploy.template --stage prod -o build/resources-prod.json`` writes: both
DynamoDB tables (key schemas and indexes generated from the PynamoDB models, the main
table's stream, TTL, point-in-time recovery), the S3 media bucket (private, encrypted,
CORS for presigned POST uploads from the app), the stream function wired to the table's
real stream (partial batch responses, bisecting failed batches, bounded retries, failures
kept in an SQS queue), the outbound queue the stream hands push, e-mail and SMS to (and the API its one-time codes) and the
``outbound`` function wired to it (retries, a dead-letter queue and its alarm), the bucket name and the ARN of a generated signing secret (Secrets
Manager; the value is read at run time, never put in the environment) in every function's
environment, PortOne's secret (made empty, filled in by operations) named to the two
functions that call PortOne, per-route throttling for PortOne's webhook, API Gateway's own
error answers as problem+json (with CORS and ``X-Request-Id``), and what operations need: a log group with a retention per
function, X-Ray tracing on the API stage (Chalice's ``xray`` setting turns it on for the
functions), and alarms through an SNS topic (``alarms``). Every stateful resource — tables,
bucket, secrets, queues, log groups — is retained when the
stack deletes or replaces it. ``make package`` then merges it into Chalice's template.

IAM: one role per function, its policy in ``.chalice/policy-<function>.json``
----------------------------------------------------------------------------
Each Lambda function has its own execution role granting exactly what its code calls
(``.chalice/config.json`` names one ``iam_policy_file`` per function under
``lambda_functions``; Chalice then makes one role per function, ``<Function>Role``, with
that file as its inline policy). The files name their resources with CloudFormation
references — ``Fn::GetAtt MainTable.Arn``/``StreamArn``, ``Fn::Sub ${MainTable.Arn}/index/gsi1``,
``${MediaBucket.Arn}/uploads/*``, ``StreamFailures.Arn`` — which ``chalice package`` copies
into the template as they are, so a policy points at this stack's own table, index, stream,
bucket and queue whatever the stage, and the same file serves every stage. Why there and not
in this merge template:

* Chalice's merge goes into dictionaries key by key but replaces lists whole: a role's
  ``Policies`` list in this file would replace the one Chalice generates. It once did — the
  stream role was left with ``sqs:SendMessage`` alone — and nothing noticed. With the policies
  in Chalice's own input this file touches no role at all, and ``tests/deploy`` packages the
  app with and without it to prove it replaces nothing Chalice generated (``replaced``
  lists what it would; the one replacement meant is the stream ARN's placeholder).
* A separate ``AWS::IAM::Policy`` resource attached to a Chalice role would avoid the list,
  but CloudFormation may create it after the event source mapping, which checks the role's
  stream permissions when it is created: an inline policy exists as soon as the role does.
* The price: the policy files hold CloudFormation, not plain IAM, so ``chalice deploy``
  cannot use them — it cannot deploy this app anyway (its tables, bucket and stream exist
  only in the packaged stack).

Logs: each function writes to a log group this template makes (``<Function>Logs``, named
``/aws/lambda/<stack>/<Function>``, given to the function as ``LoggingConfig``), so each role
may write to its own group only — a group Lambda made on first run would be named after the
function, whose name CloudFormation generates after the role exists (a reference would be a
cycle). X-Ray's ``PutTraceSegments``/``PutTelemetryRecords`` take no resource: ``*``. Only
the API (which verifies every bearer token itself: there is no authorizer) may read the signing secret (``secretsmanager:GetSecretValue`` on
``Ref SigningSecret``, its ARN); only the API and ``order_deadlines`` may read PortOne's
(``PortOneSecret``, named to them alone by ``DONGNE_PORTONE_SECRET_ARN``).
``deploy.iam_check`` (run by ``make test``) proves the packaged roles grant every AWS call
the test suites recorded, that every granted action exists, and that every grant is used
or has a stated reason.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def functions() -> tuple[str, ...]:
    """The logical ids of every Lambda function ``chalice package`` makes of the app: the API
    handler, each built-in authorizer and each event handler (stream, schedules), named the
    way Chalice names them. Derived from the app, so a new handler gets its environment."""
    sys.path.insert(0, str(ROOT))
    from chalice.utils import to_cfn_resource_name

    from app import app

    names = ["APIHandler"] if app.routes else []
    names += [to_cfn_resource_name(auth.name) for auth in app.builtin_auth_handlers]
    names += [to_cfn_resource_name(source.name) for source in app.event_sources]
    names += [to_cfn_resource_name(function.name) for function in app.pure_lambda_functions]
    return tuple(names)


def stream_filter() -> dict[str, Any]:
    """The stream's ``FilterCriteria``, generated from the app's own routing table."""
    sys.path.insert(0, str(ROOT))
    from chalicelib.events.stream import filter_criteria

    return filter_criteria()


def outbound_queues() -> dict[str, Any]:
    """The outbound queue (push, e-mail and SMS jobs the stream queues; ``events.outbound`` sends
    them) and its dead-letter queue: a message refused ``MAX_RECEIVE_COUNT`` times waits there,
    14 days, for ``python -m devtools.redrive`` (docs/operations.md)."""
    sys.path.insert(0, str(ROOT))
    from chalicelib.events.outbound import MAX_RECEIVE_COUNT, VISIBILITY_TIMEOUT_SECONDS

    kept = {"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"}
    return {
        "OutboundQueue": {"Type": "AWS::SQS::Queue", **kept, "Properties": {
            "VisibilityTimeout": VISIBILITY_TIMEOUT_SECONDS,
            "MessageRetentionPeriod": 4 * 86400,
            "SqsManagedSseEnabled": True,
            "RedrivePolicy": {"deadLetterTargetArn": {"Fn::GetAtt": ["OutboundDeadLetters", "Arn"]},
                              "maxReceiveCount": MAX_RECEIVE_COUNT},
        }},
        # Longer than the queue's retention: a message keeps its first enqueue time in the DLQ.
        "OutboundDeadLetters": {"Type": "AWS::SQS::Queue", **kept, "Properties": {
            "MessageRetentionPeriod": 1209600, "SqsManagedSseEnabled": True}},
    }


def stage_env(stage: str) -> dict[str, str]:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    env = dict(config.get("environment_variables", {}))
    env.update(config["stages"][stage].get("environment_variables", {}))
    return env


# What a gateway answer may fill in when it is made: its body is a template with ``$context``
# variables substituted (no logic: it cannot branch on Accept-Language or Origin), its headers map
# request headers, context variables or 'literals'.
GATEWAY_REQUEST_ID = "$context.requestId"


def cors_origins(stage: str) -> tuple[str, ...]:
    """The stage's browser origins (``DONGNE_CORS_ORIGINS``, split as ``Settings`` splits it)."""
    value = stage_env(stage).get("DONGNE_CORS_ORIGINS", "")
    return tuple(origin.strip().rstrip("/") for origin in value.split(",") if origin.strip())


def gateway_cors_headers(origins: tuple[str, ...]) -> dict[str, str]:
    """CORS on the gateway's own answers, as the app answers (``chalicelib.api.protocol``): none
    without origins; the one origin when there is one. A gateway response cannot choose among
    several (its headers take no condition), so with several it names the request's ``Origin``:
    a looser rule than the app's, for answers that hold nothing but a problem and a request id
    and allow no credentials (docs/errors.md)."""
    from chalicelib.api.protocol import CORS_EXPOSED_HEADERS

    if not origins:
        return {}
    allow = f"'{origins[0]}'" if len(origins) == 1 else "method.request.header.Origin"
    return {"Access-Control-Allow-Origin": allow, "Access-Control-Expose-Headers": f"'{CORS_EXPOSED_HEADERS}'",
            "Vary": "'Origin'"}


def _problem_response(status: int, code: str, origins: tuple[str, ...] = ()) -> dict[str, Any]:
    """One of API Gateway's own answers as the app's problem+json: the same ``code``, ``type``
    and words (English: a gateway response cannot read ``Accept-Language``, so clients localise
    by ``code``), the gateway's request id as ``X-Request-Id`` and in the body (``request_id``),
    the app's CORS headers, and ``Retry-After`` on 429 and 503."""
    from chalicelib.messages import problem_text

    title, detail = problem_text(code, "en", {}, None)
    body = json.dumps({"type": "https://dongne.app/problems/" + code.replace("_", "-"), "code": code,
                       "title": title, "status": status, "detail": detail, "request_id": GATEWAY_REQUEST_ID})
    headers = {"Content-Type": "'application/problem+json'", "Content-Language": "'en'",
               "X-Request-Id": GATEWAY_REQUEST_ID.removeprefix("$"), **gateway_cors_headers(origins)}
    if status in (429, 503):
        headers["Retry-After"] = "'1'"
    return {
        "StatusCode": str(status),
        "ResponseParameters": {"Headers": headers},
        "ResponseTemplates": {"application/json": body},
    }


# The functions that call PortOne or receive its webhooks: the API (payments, refunds on cancel,
# the webhook, saved cards), the deadline job (refunds it retries, late payments) and the
# subscription job (a period charged with the subscriber's saved card). They alone get
# DONGNE_PORTONE_SECRET_ARN, and only their policies (.chalice/policy-*.json) may read it.
PORTONE_SECRET_READERS = ("APIHandler", "OrderDeadlines", "SubscriptionOrders")
# What the stack puts in the secret when it makes it: empty, refused by chalicelib.secrets.
PORTONE_SECRET_PLACEHOLDER = {"api_secret": "", "webhook_secret": ""}

# Routes throttled below the stage's rate (API Gateway's per-method settings; the app's own
# per-address limits still apply behind them). PortOne's webhook needs no bearer token, so the
# gateway caps what anyone can make it verify; PortOne retries what is answered 429, and the
# buyer's own POST /orders/{id}/payment confirms a payment without it. Its body limit is the
# app's (16 KB → 413 before the signature is read, chalicelib/api/payments.py): a REST API has
# no per-method body limit short of a WAF rule.
ROUTE_THROTTLING: dict[str, dict[tuple[str, str], dict[str, int]]] = {
    "dev": {("POST", "/webhooks/portone"): {"rate_limit": 5, "burst_limit": 10}},
    "prod": {("POST", "/webhooks/portone"): {"rate_limit": 50, "burst_limit": 100}},
}


def _method_path(path: str) -> str:
    """A route as API Gateway's MethodSettings name it: ``/webhooks/portone`` is
    ``/~1webhooks~1portone`` (a leading slash, then each slash of the path escaped as ``~1``)."""
    return "/" + path.replace("~", "~0").replace("/", "~1")


# How long each stage keeps its functions' logs (CloudWatch Logs charges per GB stored).
LOG_RETENTION_DAYS = {"dev": 14, "prod": 90}


def api_name(stage: str) -> str:
    return f"dongne-{stage}"


def log_group(function: str) -> str:
    return f"{function}Logs"


def _alarm(description: str, metric: str, namespace: str, dimensions: dict[str, Any], statistic: str,
           threshold: float, *, period: int = 300, periods: int = 1) -> dict[str, Any]:
    return {"Type": "AWS::CloudWatch::Alarm", "Properties": {
        "AlarmDescription": description,
        "Namespace": namespace, "MetricName": metric,
        "Dimensions": [{"Name": name, "Value": value} for name, value in dimensions.items()],
        "Statistic": statistic, "Period": period, "EvaluationPeriods": periods, "DatapointsToAlarm": periods,
        "Threshold": threshold, "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        # no data is no traffic (or no failures), not a fault
        "TreatMissingData": "notBreaching",
        "AlarmActions": [{"Ref": "AlarmTopic"}], "OKActions": [{"Ref": "AlarmTopic"}],
    }}


def alarms(stage: str) -> dict[str, Any]:
    """What pages the on-call engineer, through one SNS topic (``docs/operations.md``, Alarms)."""
    sys.path.insert(0, str(ROOT))
    from chalicelib.observability import NAMESPACE, SERVICE

    found: dict[str, Any] = {
        "AlarmTopic": {"Type": "AWS::SNS::Topic", "Properties": {"DisplayName": f"Dongne {stage} alarms"}},
        "AlarmEmailSubscription": {
            "Type": "AWS::SNS::Subscription", "Condition": "HasAlarmEmail",
            "Properties": {"TopicArn": {"Ref": "AlarmTopic"}, "Protocol": "email", "Endpoint": {"Ref": "AlarmEmail"}},
        },
        # Records wait in the stream: feeds, scores and notifications fall behind. A healthy
        # batch is handled within seconds; two minutes of age for three minutes running is not.
        "StreamIteratorAgeAlarm": _alarm(
            "The Stream function is more than 2 minutes behind the table's stream (IteratorAge)",
            "IteratorAge", "AWS/Lambda", {"FunctionName": {"Ref": "Stream"}}, "Maximum", 120_000,
            period=60, periods=3),
        # Anything here is a record the stream gave up on after its retries: look at it by hand.
        "StreamFailuresAlarm": _alarm(
            "Stream records were given up on and kept in the StreamFailures queue",
            "ApproximateNumberOfMessagesVisible", "AWS/SQS",
            {"QueueName": {"Fn::GetAtt": ["StreamFailures", "QueueName"]}}, "Maximum", 1),
        # A push, e-mail or SMS its channel refused MAX_RECEIVE_COUNT times: fix the cause (SES
        # quota, sandbox, a provider's outage), then `python -m devtools.redrive --stage <stage>`.
        "OutboundDeadLettersAlarm": _alarm(
            "Outbound notifications (push, e-mail, SMS) failed every retry and wait in OutboundDeadLetters: "
            "fix the cause, then redrive them (docs/operations.md)",
            "ApproximateNumberOfMessagesVisible", "AWS/SQS",
            {"QueueName": {"Fn::GetAtt": ["OutboundDeadLetters", "QueueName"]}}, "Maximum", 1),
        # A card refund PortOne refused or did not answer (services.checkout.process_refund): the
        # deadline job retries it, but the customer's money is owed until one succeeds; look at the
        # order's refund.failure and PortOne's status. Emitted by the API and by order_deadlines.
        "RefundFailedAlarm": _alarm(
            "A card refund failed (RefundFailed): it is retried every run of order_deadlines; "
            "money is owed until it succeeds",
            "RefundFailed", NAMESPACE, {"service": SERVICE, "stage": stage}, "Sum", 1),
        # Includes our 503s (database busy after retries) and API Gateway's own 5xx.
        "Api5xxAlarm": _alarm(
            "The API answered 5 or more 5xx in 5 minutes", "5XXError", "AWS/ApiGateway",
            {"ApiName": api_name(stage), "Stage": _stage_name(stage)}, "Sum", 5),
    }
    for function in functions():
        found[f"{function}ErrorsAlarm"] = _alarm(
            f"{function} failed an invocation (an unhandled error, a timeout or out of memory)",
            "Errors", "AWS/Lambda", {"FunctionName": {"Ref": function}}, "Sum", 1)
        found[f"{function}ThrottlesAlarm"] = _alarm(
            f"{function} was throttled (concurrency limit reached)",
            "Throttles", "AWS/Lambda", {"FunctionName": {"Ref": function}}, "Sum", 1)
    for table in ("MainTable", "FeedTable"):
        found[f"{table}ThrottleAlarm"] = {"Type": "AWS::CloudWatch::Alarm", "Properties": {
            "AlarmDescription": f"DynamoDB throttled reads or writes of {table} (on-demand: a hot partition "
                                "or a traffic spike past the table's previous peak)",
            "Metrics": [
                {"Id": "reads", "ReturnData": False, "MetricStat": {"Stat": "Sum", "Period": 300, "Metric": {
                    "Namespace": "AWS/DynamoDB", "MetricName": "ReadThrottleEvents",
                    "Dimensions": [{"Name": "TableName", "Value": {"Ref": table}}]}}},
                {"Id": "writes", "ReturnData": False, "MetricStat": {"Stat": "Sum", "Period": 300, "Metric": {
                    "Namespace": "AWS/DynamoDB", "MetricName": "WriteThrottleEvents",
                    "Dimensions": [{"Name": "TableName", "Value": {"Ref": table}}]}}},
                {"Id": "throttled", "Expression": "reads + writes", "Label": "throttled requests",
                 "ReturnData": True},
            ],
            "EvaluationPeriods": 1, "DatapointsToAlarm": 1, "Threshold": 1,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold", "TreatMissingData": "notBreaching",
            "AlarmActions": [{"Ref": "AlarmTopic"}], "OKActions": [{"Ref": "AlarmTopic"}],
        }}
    return found


def _stage_name(stage: str) -> str:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    return config["stages"][stage].get("api_gateway_stage", "api")


# API Gateway's answers that never reach the app -> (status, problem code). A method a path does
# not have does reach it (the app routes every method of every path: 405 with Allow), so
# MISSING_AUTHENTICATION_TOKEN means a path no route has. There is no authorizer (the app checks
# every bearer token and answers each 401 itself, in the asked language, with CORS), so the
# authorizer's answers (UNAUTHORIZED, AUTHORIZER_FAILURE, AUTHORIZER_CONFIGURATION_ERROR) cannot
# happen and are not configured; were one to, DEFAULT_4XX/5XX still answer it as a problem.
GATEWAY_PROBLEMS: dict[str, tuple[int, str]] = {
    "MISSING_AUTHENTICATION_TOKEN": (404, "route_not_found"),
    "RESOURCE_NOT_FOUND": (404, "route_not_found"),
    "ACCESS_DENIED": (403, "forbidden"),
    "WAF_FILTERED": (403, "forbidden"),
    "REQUEST_TOO_LARGE": (413, "payload_too_large"),
    "UNSUPPORTED_MEDIA_TYPE": (415, "unsupported_media_type"),
    "THROTTLED": (429, "rate_limited"),  # the stage's throttling (.chalice/config.json)
    "QUOTA_EXCEEDED": (429, "rate_limited"),  # a usage plan's quota, should one be attached
    "INTEGRATION_FAILURE": (503, "service_unavailable"),
    # the app may still be working on it: not "unavailable", which promises it was not done
    "INTEGRATION_TIMEOUT": (504, "gateway_timeout"),
    "API_CONFIGURATION_ERROR": (503, "service_unavailable"),
    "DEFAULT_4XX": (400, "bad_request"),
    "DEFAULT_5XX": (503, "service_unavailable"),
}


def gateway_responses(origins: tuple[str, ...] = ()) -> dict[str, Any]:
    return {kind: _problem_response(status, code, origins) for kind, (status, code) in GATEWAY_PROBLEMS.items()}


def stage_throttling(stage: str) -> dict[str, int]:
    """The stage's API Gateway throttling (``api_gateway_throttling`` in .chalice/config.json)."""
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    return config["stages"][stage]["api_gateway_throttling"]


def build(stage: str) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT))
    from chalicelib.storage.tables import TTL_ATTRIBUTES, table_specs

    env = stage_env(stage)
    main_spec, feed_spec = table_specs(env["DONGNE_TABLE_NAME"], env["DONGNE_FEED_TABLE_NAME"])

    def table(spec: dict[str, Any], ttl: str) -> dict[str, Any]:
        if "StreamSpecification" in spec:  # CloudFormation infers StreamEnabled from the view type
            spec = {**spec, "StreamSpecification": {"StreamViewType": spec["StreamSpecification"]["StreamViewType"]}}
        return {
            "Type": "AWS::DynamoDB::Table",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                **spec,
                "TimeToLiveSpecification": {"AttributeName": ttl, "Enabled": True},
                "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
                "SSESpecification": {"SSEEnabled": True},
            },
        }

    bucket_name = {"Fn::Sub": f"dongne-{stage}-media-${{AWS::AccountId}}"}
    resources: dict[str, Any] = {
        "MainTable": table(main_spec, TTL_ATTRIBUTES["main"]),
        "FeedTable": table(feed_spec, TTL_ATTRIBUTES["feed"]),
        "MediaBucket": {
            "Type": "AWS::S3::Bucket",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "BucketName": bucket_name,
                "PublicAccessBlockConfiguration": {
                    "BlockPublicAcls": True, "BlockPublicPolicy": True,
                    "IgnorePublicAcls": True, "RestrictPublicBuckets": True,
                },
                "BucketEncryption": {"ServerSideEncryptionConfiguration": [
                    {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]},
                "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
                "CorsConfiguration": {"CorsRules": [{
                    "AllowedMethods": ["POST", "GET"], "AllowedOrigins": ["*"],
                    "AllowedHeaders": ["*"], "MaxAge": 3000}]},
                "LifecycleConfiguration": {"Rules": [{
                    "Id": "abort-incomplete-uploads", "Status": "Enabled",
                    "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}}]},
            },
        },
        # Photos are served through CloudFront; the bucket stays private and only this
        # distribution may read it (origin access control). DONGNE_MEDIA_BASE_URL points here.
        "MediaOriginAccess": {
            "Type": "AWS::CloudFront::OriginAccessControl",
            "Properties": {"OriginAccessControlConfig": {
                "Name": {"Fn::Sub": f"dongne-{stage}-media-${{AWS::AccountId}}"},
                "OriginAccessControlOriginType": "s3", "SigningBehavior": "always", "SigningProtocol": "sigv4"}},
        },
        "MediaCdn": {
            "Type": "AWS::CloudFront::Distribution",
            "Properties": {"DistributionConfig": {
                "Enabled": True,
                "Comment": f"Dongne {stage} photos",
                "HttpVersion": "http2and3",
                "PriceClass": "PriceClass_200",
                "Origins": [{
                    "Id": "media",
                    "DomainName": {"Fn::GetAtt": ["MediaBucket", "RegionalDomainName"]},
                    "S3OriginConfig": {"OriginAccessIdentity": ""},
                    "OriginAccessControlId": {"Fn::GetAtt": ["MediaOriginAccess", "Id"]},
                }],
                "DefaultCacheBehavior": {
                    "TargetOriginId": "media", "ViewerProtocolPolicy": "redirect-to-https",
                    "AllowedMethods": ["GET", "HEAD"], "Compress": True,
                    # AWS managed policy "CachingOptimized": uploads are immutable (a new key per upload).
                    "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6",
                },
            }},
        },
        "MediaBucketPolicy": {
            "Type": "AWS::S3::BucketPolicy",
            "Properties": {"Bucket": {"Ref": "MediaBucket"}, "PolicyDocument": {"Version": "2012-10-17", "Statement": [{
                "Sid": "PhotosThroughCloudFrontOnly", "Effect": "Allow",
                "Principal": {"Service": "cloudfront.amazonaws.com"}, "Action": "s3:GetObject",
                "Resource": {"Fn::Sub": "${MediaBucket.Arn}/uploads/*"},
                "Condition": {"StringEquals": {"AWS:SourceArn": {
                    "Fn::Sub": "arn:aws:cloudfront::${AWS::AccountId}:distribution/${MediaCdn}"}}},
            }]}},
        },
        "SigningSecret": {
            "Type": "AWS::SecretsManager::Secret",
            # Every bearer token and cursor in clients' hands is signed with it.
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "Description": f"Dongne {stage}: HMAC key for bearer tokens and list cursors",
                "GenerateSecretString": {"PasswordLength": 64, "ExcludePunctuation": True},
            },
        },
        "PortOneSecret": {
            "Type": "AWS::SecretsManager::Secret",
            # PortOne's API secret and webhook secret, issued in PortOne's console: the stack makes
            # the secret with empty values (the app refuses them: payments fail loudly until set) and
            # operations put the real ones (docs/operations.md). The placeholder never changes, so an
            # update of the stack never overwrites what was put.
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "Description": f"Dongne {stage}: PortOne V2 API secret and webhook secret, "
                               'JSON {"api_secret": ..., "webhook_secret": "whsec_..."}',
                "SecretString": json.dumps(PORTONE_SECRET_PLACEHOLDER),
            },
        },
        "StreamFailures": {
            "Type": "AWS::SQS::Queue",
            # The records the stream gave up on: the evidence for a replay.
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {"MessageRetentionPeriod": 1209600, "SqsManagedSseEnabled": True},
        },
        **outbound_queues(),
        "RestAPI": {"Properties": {
            # Named, so the alarms can name it (API Gateway's metrics are per API name and stage).
            "Name": api_name(stage),
            "TracingEnabled": True,
            "GatewayResponses": gateway_responses(cors_origins(stage)),
        }},
    }
    # Stage throttling, every method: its THROTTLED answer is a 429 problem (GATEWAY_PROBLEMS).
    throttling = stage_throttling(stage)
    resources["RestAPI"]["Properties"]["MethodSettings"] = [{
        "ResourcePath": "/*", "HttpMethod": "*",
        "ThrottlingRateLimit": throttling["rate_limit"], "ThrottlingBurstLimit": throttling["burst_limit"]}] + [{
        "ResourcePath": _method_path(path), "HttpMethod": method,
        "ThrottlingRateLimit": limits["rate_limit"], "ThrottlingBurstLimit": limits["burst_limit"]}
        for (method, path), limits in ROUTE_THROTTLING[stage].items()]
    for function in functions():
        resources[function] = {"Properties": {
            "Environment": {"Variables": {
                "DONGNE_MEDIA_BUCKET": {"Ref": "MediaBucket"},
                "DONGNE_MEDIA_BASE_URL": {"Fn::Sub": "https://${MediaCdn.DomainName}"},
                "DONGNE_REGION": {"Ref": "AWS::Region"},
                # The secret's ARN, not its value: the functions that sign or verify read it at run
                # time (chalicelib.secrets), and only their roles may (.chalice/policy-*.json).
                "DONGNE_SECRET_ARN": {"Ref": "SigningSecret"},
                "DONGNE_TRACING": "true",
            }},
            # Its own log group, made by the stack with a retention (one Lambda would make on first
            # run keeps logs forever); the role may write to this group only.
            "LoggingConfig": {"LogGroup": {"Ref": log_group(function)}, "LogFormat": "Text"},
        }}
        resources[log_group(function)] = {
            "Type": "AWS::Logs::LogGroup",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "LogGroupName": {"Fn::Sub": f"/aws/lambda/${{AWS::StackName}}/{function}"},
                "RetentionInDays": LOG_RETENTION_DAYS[stage],
            },
        }
    for function in PORTONE_SECRET_READERS:
        # PortOne's secret by ARN, read at run time (chalicelib.secrets.portone_secrets) by the
        # functions that call PortOne or receive its webhooks; only their roles may read it.
        resources[function]["Properties"]["Environment"]["Variables"]["DONGNE_PORTONE_SECRET_ARN"] = \
            {"Ref": "PortOneSecret"}
    resources["Stream"]["Properties"]["Events"] = {"StreamDynamodbEventSource": {"Properties": {
        "Stream": {"Fn::GetAtt": ["MainTable", "StreamArn"]},
        # Only records of an entity some handler takes (events.stream.filter_criteria).
        "FilterCriteria": stream_filter(),
        # The handler answers {"batchItemFailures": [...]} (events.stream): Lambda retries from
        # the failed record on instead of the whole batch.
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
        "BisectBatchOnFunctionError": True,
        # Up to 10 batches of one shard at once, split by partition key: the records of one item
        # stay in order, while a post's fan-out chunks (each on its own key) run side by side, so
        # the hops to a post's last follower are the fan-out tree's depth (docs/social-and-feed.md).
        "ParallelizationFactor": 10,
        "MaximumRetryAttempts": 10,
        "MaximumRecordAgeInSeconds": 86400,
        "DestinationConfig": {"OnFailure": {"Destination": {"Fn::GetAtt": ["StreamFailures", "Arn"]}}},
    }}}
    # The stream queues outbound work; the outbound function's mapping reads the queue, reporting
    # failed messages one by one (events.outbound), and the queue's redrive policy retries them.
    resources["Stream"]["Properties"]["Environment"]["Variables"]["DONGNE_OUTBOUND_QUEUE_URL"] = \
        {"Ref": "OutboundQueue"}
    # The API queues the password-reset and verification codes itself (services.recovery).
    resources["APIHandler"]["Properties"]["Environment"]["Variables"]["DONGNE_OUTBOUND_QUEUE_URL"] = \
        {"Ref": "OutboundQueue"}
    resources["Outbound"]["Properties"]["Events"] = {"OutboundSqsEventSource": {"Properties": {
        "Queue": {"Fn::GetAtt": ["OutboundQueue", "Arn"]},
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
    }}}
    resources.update(alarms(stage))
    return {
        "Parameters": {"AlarmEmail": {
            "Type": "String", "Default": "",
            "Description": "An address that receives the alarms (confirm the subscription); empty for none",
        }},
        "Conditions": {"HasAlarmEmail": {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]}},
        "Resources": resources,
        "Outputs": {
            "AlarmTopicArn": {"Value": {"Ref": "AlarmTopic"}},
            "MainTableName": {"Value": {"Ref": "MainTable"}},
            "FeedTableName": {"Value": {"Ref": "FeedTable"}},
            "MediaBucketName": {"Value": {"Ref": "MediaBucket"}},
            "MediaBaseUrl": {"Value": {"Fn::Sub": "https://${MediaCdn.DomainName}"}},
            # Where operations put PortOne's API and webhook secrets (docs/operations.md).
            "PortOneSecretArn": {"Value": {"Ref": "PortOneSecret"}},
            # What `python -m devtools.redrive --stage <stage>` reads.
            "OutboundQueueUrl": {"Value": {"Ref": "OutboundQueue"}},
        },
    }


# Values this template replaces in Chalice's instead of adding to them, each on purpose.
INTENDED_REPLACEMENTS = {
    # the decorator's placeholder ARN → the table's real stream
    "/Resources/Stream/Properties/Events/StreamDynamodbEventSource/Properties/Stream",
    # the decorator's placeholder ARN → the stack's outbound queue
    "/Resources/Outbound/Properties/Events/OutboundSqsEventSource/Properties/Queue",
}


def replaced(merge: Any, chalice: Any, path: str = "") -> list[str]:
    """Where merging ``merge`` into ``chalice`` (``chalice package --merge-template``) would
    replace a value Chalice generated instead of adding to it: the merge descends into
    dictionaries key by key, but a list or a scalar replaces whatever Chalice put there."""
    if isinstance(merge, dict) and isinstance(chalice, dict):
        return [found for key, value in merge.items() if key in chalice
                for found in replaced(value, chalice[key], f"{path}/{key}")]
    return [path] if merge != chalice else []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", default="prod", choices=["dev", "prod"])
    parser.add_argument("-o", "--output", type=Path, required=True)
    args = parser.parse_args(argv)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(build(args.stage), indent=2) + "\n")
    print(args.output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
