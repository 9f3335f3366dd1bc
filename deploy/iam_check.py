"""Does the packaged template grant each function exactly what its code calls?

``python -m deploy.iam_check --template build/prod/sam.json --calls build/aws-calls.jsonl``
reads the calls the test suites recorded (``tests/aws_calls.py``: one row per function, IAM
action and resource, resources in ``Fn::Sub`` syntax over the template's logical ids) and the
packaged template, resolves both the same way (``Ref``/``Fn::GetAtt``/``Fn::Sub``/``Fn::Join``
against the template's own resources — the prod stage's table names, a sample account and
region), evaluates each function role's policy statements the way IAM does (action and
resource wildcards, Deny over Allow), and fails when

* a recorded (function, action, resource) is **not granted** — the code would be denied on AWS;
* a granted action **does not exist** in IAM (``deploy/iam_actions.json``, the reviewed list of
  the services the template may name: ``s3:HeadObject`` is not one);
* a grant is **unused** — no recorded call of that function needs it — and has no reason in
  ``JUSTIFIED_UNUSED`` below;
* the recorder reported an error, or recorded nothing.

Policies the evaluator cannot judge exactly (``NotAction``, ``NotResource``, conditions,
managed policies) are refused rather than guessed at.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ACTIONS_FILE = Path(__file__).resolve().parent / "iam_actions.json"

# Grants no recorded call can show, each with the reason it is still needed. Keyed by
# (function, action); "*" is any function.
JUSTIFIED_UNUSED: dict[tuple[str, str], str] = {
    # PortOne's secret: tests/api/test_portone_secret.py reads it as each of these three functions
    # (and asserts the reads); run alone, the recorder attributes those reads, but in the whole
    # suite on two workers it has not since 2026-12-08 (open: find why, then remove these three).
    ("APIHandler", "secretsmanager:GetSecretValue"): "reads PortOne's secret (tests/api/test_portone_secret.py)",
    ("OrderDeadlines", "secretsmanager:GetSecretValue"): "reads PortOne's secret to cancel card payments "
                                                         "(tests/api/test_portone_secret.py)",
    ("SubscriptionOrders", "secretsmanager:GetSecretValue"): "reads PortOne's secret to charge saved cards "
                                                             "(tests/api/test_portone_secret.py)",
    # The Lambda service writes each function's logs with the function's role; no app code calls it.
    ("*", "logs:CreateLogGroup"): "Lambda creates the function's log group on first run with the role",
    ("*", "logs:CreateLogStream"): "Lambda creates a log stream per execution environment with the role",
    ("*", "logs:PutLogEvents"): "Lambda sends the function's output to CloudWatch Logs with the role",
    # The event source mapping, not the function's code, uses these with the function's role.
    ("Stream", "sqs:SendMessage"): "the event source mapping sends records it gives up on to the "
                                   "StreamFailures queue (its on-failure destination) with the role",
    ("Stream", "dynamodb:ListStreams"): "Lambda's check of the event source mapping names it among the "
                                        "stream permissions the role must have (AWS's example policy "
                                        "grants it on the stream ARN); the local poller does not call it",
    # Active tracing: the Lambda service (and, on a warm function, the X-Ray SDK through the
    # local daemon endpoint) sends segments with the role; no recorded AWS API call shows them.
    ("*", "xray:PutTraceSegments"): "active tracing: Lambda sends the function's trace segments with the role",
    ("*", "xray:PutTelemetryRecords"): "active tracing: Lambda reports X-Ray telemetry with the role",
    # HeadObject of a missing key answers 404 only when the caller may list the bucket; without
    # it S3 answers 403 and media.S3Media.stat reports the photo store unavailable (503).
    ("APIHandler", "s3:ListBucket"): "makes HeadObject of a missing upload a 404 (a 403 otherwise)",
}

PSEUDO = {
    "AWS::Partition": "aws",
    "AWS::Region": "ap-northeast-2",
    "AWS::AccountId": "123456789012",
    "AWS::StackName": "dongne-prod",
    "AWS::URLSuffix": "amazonaws.com",
}
STREAM_LABEL = "2024-01-01T00:00:00.000"  # a table's stream label is known once it exists


class Unsupported(ValueError):
    """The template uses something this evaluator does not model; refuse, do not guess."""


# --- intrinsic functions --------------------------------------------------------------------

class Resolver:
    """Resolves the template's intrinsic functions to concrete strings for one sample stack."""

    def __init__(self, template: dict[str, Any], pseudo: dict[str, str] | None = None) -> None:
        self.resources: dict[str, Any] = template.get("Resources", {})
        self.pseudo = {**PSEUDO, **(pseudo or {})}

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, arg), = value.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Fn::GetAtt":
                logical, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
                return self.get_att(logical, attribute)
            if key == "Fn::Sub":
                return self.sub(arg)
            if key == "Fn::Join":
                separator, items = arg
                return separator.join(str(self.resolve(i)) for i in self.resolve(items))
            if key.startswith("Fn::"):
                raise Unsupported(f"{key} is not evaluated")
        return {k: self.resolve(v) for k, v in value.items()}

    def _resource(self, logical: str) -> dict[str, Any]:
        if logical not in self.resources:
            raise Unsupported(f"no resource {logical!r} in the template")
        return self.resources[logical]

    def _generated_name(self, logical: str) -> str:
        return f"{self.pseudo['AWS::StackName']}-{logical}-SAMPLE"

    def ref(self, name: str) -> str:
        if name in self.pseudo:
            return self.pseudo[name]
        resource = self._resource(name)
        kind, props = resource["Type"], resource.get("Properties", {})
        named = {"AWS::DynamoDB::Table": "TableName", "AWS::S3::Bucket": "BucketName",
                 "AWS::IAM::Role": "RoleName", "AWS::SQS::Queue": "QueueName",
                 "AWS::Logs::LogGroup": "LogGroupName", "AWS::SecretsManager::Secret": "Name"}
        physical = self.resolve(props[named[kind]]) if kind in named and named[kind] in props else \
            self._generated_name(name)
        if kind == "AWS::SecretsManager::Secret":  # Ref of a secret is its ARN (a random suffix ends it)
            return f"arn:{self.pseudo['AWS::Partition']}:secretsmanager:{self.pseudo['AWS::Region']}:" \
                   f"{self.pseudo['AWS::AccountId']}:secret:{physical}-AbCdEf"
        if kind == "AWS::SQS::Queue":  # Ref of a queue is its URL
            return f"https://sqs.{self.pseudo['AWS::Region']}.{self.pseudo['AWS::URLSuffix']}/" \
                   f"{self.pseudo['AWS::AccountId']}/{physical}"
        return physical

    def get_att(self, logical: str, attribute: str) -> str:
        kind = self._resource(logical)["Type"]
        p, r, a = self.pseudo["AWS::Partition"], self.pseudo["AWS::Region"], self.pseudo["AWS::AccountId"]
        if kind == "AWS::DynamoDB::Table" and attribute == "Arn":
            return f"arn:{p}:dynamodb:{r}:{a}:table/{self.ref(logical)}"
        if kind == "AWS::DynamoDB::Table" and attribute == "StreamArn":
            return f"arn:{p}:dynamodb:{r}:{a}:table/{self.ref(logical)}/stream/{STREAM_LABEL}"
        if kind == "AWS::S3::Bucket" and attribute == "Arn":
            return f"arn:{p}:s3:::{self.ref(logical)}"
        if kind == "AWS::SQS::Queue" and attribute == "Arn":
            return f"arn:{p}:sqs:{r}:{a}:{self.ref(logical).rsplit('/', 1)[1]}"
        if kind == "AWS::SQS::Queue" and attribute == "QueueName":
            return self.ref(logical).rsplit("/", 1)[1]
        if kind == "AWS::IAM::Role" and attribute == "Arn":
            return f"arn:{p}:iam::{a}:role/{self.ref(logical)}"
        if kind == "AWS::Logs::LogGroup" and attribute == "Arn":
            return f"arn:{p}:logs:{r}:{a}:log-group:{self.ref(logical)}:*"
        raise Unsupported(f"Fn::GetAtt {logical}.{attribute} ({kind}) is not evaluated")

    def sub(self, arg: Any) -> str:
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))

        def one(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return str(variables[name])
            if "." in name and name not in self.pseudo:
                logical, attribute = name.split(".", 1)
                return self.get_att(logical, attribute)
            return self.ref(name)

        return re.sub(r"\$\{([^}]+)\}", one, text)


# --- policies ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Statement:
    effect: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    where: str  # which role/policy/Sid, for messages


def _listed(value: Any) -> tuple[str, ...]:
    return tuple(value) if isinstance(value, list) else (value,)


def statements(document: dict[str, Any], resolver: Resolver, where: str) -> list[Statement]:
    found = []
    for i, raw in enumerate(_listed(document.get("Statement", []))):
        label = f"{where} statement {raw.get('Sid') or i}"
        for key in ("NotAction", "NotResource", "NotPrincipal", "Condition"):
            if key in raw:
                raise Unsupported(f"{label}: {key} is not evaluated; write the statement without it")
        resources = resolver.resolve(raw.get("Resource", []))
        found.append(Statement(raw["Effect"], _listed(raw.get("Action", [])), _listed(resources), label))
    return found


def policy_documents(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every IAM policy document in the template, with where it is."""
    for logical, resource in template.get("Resources", {}).items():
        props = resource.get("Properties", {})
        kind = resource.get("Type")
        if kind == "AWS::IAM::Role":
            for policy in props.get("Policies", []):
                yield f"{logical}/{policy.get('PolicyName')}", policy["PolicyDocument"]
        elif kind in ("AWS::IAM::Policy", "AWS::IAM::RolePolicy", "AWS::IAM::ManagedPolicy",
                      "AWS::S3::BucketPolicy", "AWS::SQS::QueuePolicy"):
            yield logical, props["PolicyDocument"]
        elif kind == "AWS::Serverless::Function" and "Policies" in props:
            raise Unsupported(f"{logical}: SAM Policies are not evaluated; grant through the role")


def functions(template: dict[str, Any]) -> list[str]:
    return [name for name, r in template.get("Resources", {}).items() if r.get("Type") == "AWS::Serverless::Function"]


def function_statements(template: dict[str, Any], function: str, resolver: Resolver) -> list[Statement]:
    """The statements of the function's execution role: inline and attached policies."""
    resources = template["Resources"]
    role_ref = resources[function]["Properties"].get("Role")
    if not (isinstance(role_ref, dict) and "Fn::GetAtt" in role_ref):
        raise Unsupported(f"{function}: its role is not a role of this template ({role_ref!r})")
    role = role_ref["Fn::GetAtt"][0]
    props = resources[role]["Properties"]
    if props.get("ManagedPolicyArns") or props.get("PermissionsBoundary"):
        raise Unsupported(f"{role}: managed policies and boundaries are not evaluated; use inline policies")
    found = []
    for policy in props.get("Policies", []):
        found += statements(policy["PolicyDocument"], resolver, f"{role}/{policy.get('PolicyName')}")
    for logical, resource in resources.items():
        attached = resource.get("Properties", {})
        if resource.get("Type") in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            if {"Ref": role} in attached.get("Roles", []):
                found += statements(attached["PolicyDocument"], resolver, logical)
        elif resource.get("Type") == "AWS::IAM::RolePolicy" and attached.get("RoleName") == {"Ref": role}:
            found += statements(attached["PolicyDocument"], resolver, logical)
    return found


# --- matching ---------------------------------------------------------------------------------

@cache
def _pattern(glob: str, ignore_case: bool) -> re.Pattern[str]:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in glob)
    return re.compile(body, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def action_matches(pattern: str, action: str) -> bool:
    return _pattern(pattern, True).fullmatch(action) is not None


def resource_matches(pattern: str, resource: str) -> bool:
    """IAM's ARN matching: segment by segment, wildcards within a segment; the sixth segment
    (the resource) may hold further colons and slashes."""
    if pattern == "*":
        return True
    p, r = pattern.split(":", 5), resource.split(":", 5)
    if len(p) != 6 or len(r) != 6:
        return _pattern(pattern, False).fullmatch(resource) is not None
    return all(_pattern(a, False).fullmatch(b) is not None for a, b in zip(p, r))


def allows(rules: list[Statement], action: str, resource: str) -> bool:
    def hit(s: Statement) -> bool:
        return any(action_matches(a, action) for a in s.actions) and \
            any(resource_matches(r, resource) for r in s.resources)

    if any(hit(s) for s in rules if s.effect == "Deny"):
        return False
    return any(hit(s) for s in rules if s.effect == "Allow")


# --- the check --------------------------------------------------------------------------------

def valid_actions(path: Path = ACTIONS_FILE) -> dict[str, frozenset[str]]:
    data = json.loads(path.read_text())
    return {service: frozenset(actions) for service, actions in data["services"].items()}


def invalid_actions(action_patterns: Iterable[str], valid: dict[str, frozenset[str]]) -> list[str]:
    """The patterns naming no IAM action of a reviewed service ('*' alone is refused too)."""
    bad = []
    for pattern in action_patterns:
        service, _, name = pattern.partition(":")
        known = valid.get(service.lower())
        if not name or known is None or not any(action_matches(name, action) for action in known):
            bad.append(pattern)
    return bad


def expand(pattern: str, valid: dict[str, frozenset[str]]) -> list[str]:
    service, _, name = pattern.partition(":")
    return [f"{service.lower()}:{a}" for a in sorted(valid.get(service.lower(), ())) if action_matches(name, a)]


@dataclass(frozen=True)
class Need:
    function: str
    action: str
    resource: str  # resolved
    call: str = ""
    site: str = ""


@dataclass
class Report:
    missing: list[Need] = field(default_factory=list)
    invalid: list[tuple[str, str]] = field(default_factory=list)   # (where, action)
    unused: list[tuple[str, str, str, str]] = field(default_factory=list)  # (function, action, resource, where)
    justified: list[tuple[str, str, str, str]] = field(default_factory=list)  # (function, action, resource, why)
    errors: list[str] = field(default_factory=list)
    needs: int = 0

    @property
    def ok(self) -> bool:
        return not (self.missing or self.invalid or self.unused or self.errors)

    def render(self) -> str:
        lines = []
        if self.errors:
            lines.append("ERRORS:")
            lines += [f"  {e}" for e in self.errors]
        if self.missing:
            lines.append(f"NOT GRANTED ({len(self.missing)}): the code makes these calls, the function's role "
                         "does not allow them")
            lines += [f"  {n.function:<11} {n.action:<28} {n.resource}   [{n.call} at {n.site}]"
                      for n in self.missing]
        if self.invalid:
            lines.append(f"NOT IAM ACTIONS ({len(self.invalid)}): granted, but IAM has no such action "
                         f"({ACTIONS_FILE.name})")
            lines += [f"  {action:<28} in {where}" for where, action in self.invalid]
        if self.unused:
            lines.append(f"UNUSED GRANTS ({len(self.unused)}): no recorded call needs them; remove them or "
                         "give the reason in deploy.iam_check.JUSTIFIED_UNUSED")
            lines += [f"  {f:<11} {a:<28} {r}   [{w}]" for f, a, r, w in self.unused]
        if self.ok:
            lines.append(f"IAM check passed: {self.needs} recorded (function, action, resource) rows granted; "
                         f"{len(self.justified)} grants kept without a recorded call, each with its reason.")
        return "\n".join(lines)


def load_calls(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def check(template: dict[str, Any], rows: list[dict[str, Any]],
          valid: dict[str, frozenset[str]] | None = None,
          justified: dict[tuple[str, str], str] | None = None) -> Report:
    valid = valid if valid is not None else valid_actions()
    # compared in lower case, like the reviewed actions wildcards expand to
    justified = {(f, a.lower()): why for (f, a), why in (JUSTIFIED_UNUSED if justified is None else justified).items()}
    resolver = Resolver(template)
    report = Report()

    for where, document in policy_documents(template):
        for raw in _listed(document.get("Statement", [])):
            for action in invalid_actions(_listed(raw.get("Action", [])), valid):
                report.invalid.append((where, action))

    names = functions(template)
    rules: dict[str, list[Statement]] = {}
    for name in names:
        try:
            rules[name] = function_statements(template, name, resolver)
        except Unsupported as error:
            report.errors.append(str(error))
    if not rows:
        report.errors.append("no AWS calls were recorded: did the suites run with tests/aws_calls.py installed?")

    needs: dict[tuple[str, str, str], Need] = {}
    for row in rows:
        if "error" in row:
            report.errors.append(f"the recorder failed on {row.get('call')}: {row['error']}")
            continue
        if row["function"] not in rules:
            report.errors.append(f"a call was recorded for {row['function']!r}, which the template does not have")
            continue
        try:
            resource = resolver.sub(row["resource"])
        except Unsupported as error:
            report.errors.append(f"{row['function']} {row['action']} {row['resource']}: {error}")
            continue
        key = (row["function"], row["action"], resource)
        needs.setdefault(key, Need(*key, call=row.get("call", ""), site=row.get("site", "")))
    report.needs = len(needs)
    for action in sorted(set(invalid_actions({n.action for n in needs.values()}, valid))):
        report.errors.append(f"the recorder mapped a call to {action}, which is not an IAM action")

    for need in needs.values():
        if not allows(rules[need.function], need.action, need.resource):
            report.missing.append(need)

    for function, statements_ in rules.items():
        mine = [n for n in needs.values() if n.function == function]
        for s in statements_:
            if s.effect != "Allow":
                continue
            for pattern in s.actions:
                for action in expand(pattern, valid):
                    for resource in s.resources:
                        if any(action_matches(action, n.action) and resource_matches(resource, n.resource)
                               for n in mine):
                            continue
                        reason = justified.get((function, action)) or justified.get(("*", action))
                        if reason is None:
                            # the reviewed list's lower case, shown the way the template wrote it
                            report.unused.append((function, _as_written(pattern, action), resource, s.where))
                        else:
                            report.justified.append((function, action, resource, reason))
    return report


def _as_written(pattern: str, action: str) -> str:
    """The action as the template wrote it, or the one a wildcard expanded to (lower case)."""
    return pattern if "*" not in pattern and "?" not in pattern else action


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--template", type=Path, default=ROOT / "build" / "prod" / "sam.json")
    parser.add_argument("--calls", type=Path, default=ROOT / "build" / "aws-calls.jsonl")
    args = parser.parse_args(argv)
    template = json.loads(args.template.read_text())
    report = check(template, load_calls(args.calls))
    print(report.render())
    return 0 if report.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
