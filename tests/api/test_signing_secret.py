"""The signing secret comes from Secrets Manager at run time, not from the environment.

GIVEN ``DONGNE_SECRET_ARN`` naming a secret (moto's Secrets Manager) on a deployed stage, WHEN a
user signs up (the API signs a token) and calls a protected route (the API verifies it),
THEN both work with the secret's value — read once per container through the Parameters
utility — and a token signed with the development default is refused. These calls are also
what the IAM check sees: ``secretsmanager:GetSecretValue`` by the API only.
"""

from __future__ import annotations

import os
import time

import boto3
import pytest

from chalicelib import wiring
from chalicelib.services.signing import TokenService
from chalicelib.settings import DEFAULT_SECRET

SECRET_VALUE = "s3cr3t-from-secrets-manager-" + "k" * 40


@pytest.fixture
def secret_in_secrets_manager(aws_backend, monkeypatch):
    from aws_lambda_powertools.utilities import parameters

    client = boto3.client("secretsmanager", region_name=os.environ["AWS_DEFAULT_REGION"])
    arn = client.create_secret(Name=f"dongne-test-signing-{os.getpid()}-{id(client)}", SecretString=SECRET_VALUE)["ARN"]
    calls: list[dict] = []
    monkeypatch.setenv("DONGNE_SECRET_ARN", arn)
    monkeypatch.setenv("DONGNE_STAGE", "prod")  # the development default would be refused here
    parameters.clear_caches()
    wiring.reset()
    real = parameters.SecretsProvider._get

    def counted(self, name, **kwargs):
        calls.append({"name": name})
        return real(self, name, **kwargs)

    monkeypatch.setattr(parameters.SecretsProvider, "_get", counted)
    yield arn, calls
    monkeypatch.undo()
    parameters.clear_caches()
    wiring.reset()


def test_tokens_are_signed_and_verified_with_the_secret_from_secrets_manager(api, secret_in_secrets_manager):
    from aws_lambda_powertools.utilities import parameters

    arn, calls = secret_in_secrets_manager
    assert wiring.container().settings.secret_key == DEFAULT_SECRET  # not in the environment...
    account = api.signup()  # the API function signs: its first token reads the secret
    assert api.get("/me", token=account["token"]).status == 200
    assert calls == [{"name": arn}]  # once per container: cached by the utility and the container
    parameters.clear_caches()
    wiring.reset()  # a cold container, reading the secret again
    assert api.get("/me", token=account["token"]).status == 200
    assert calls == [{"name": arn}] * 2
    assert TokenService(SECRET_VALUE, 60).verify(account["token"], 0).user_id == account["user"]["user_id"]
    forged = TokenService(DEFAULT_SECRET, 3600).issue(account["user"]["user_id"], time.time())
    assert api.get("/me", token=forged).status == 401


def test_a_deployed_stage_without_the_secret_refuses_to_start(monkeypatch):
    from pydantic import ValidationError

    from chalicelib.settings import Settings

    with pytest.raises(ValidationError, match="DONGNE_SECRET_ARN"):
        Settings.from_env({"DONGNE_STAGE": "prod"})
    assert Settings.from_env({"DONGNE_STAGE": "prod", "DONGNE_SECRET_ARN": "arn:aws:secretsmanager:x"}).secret_arn
