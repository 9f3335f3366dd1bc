"""The signing secret, read at run time from Secrets Manager (Powertools' Parameters utility).

On AWS the secret is never in a function's environment (where the console, ``GetFunction``
and every log of the configuration would show it): ``DONGNE_SECRET_ARN`` names it, and only the
functions that sign or verify tokens and cursors (the API alone) may read it.
Locally and in tests ``settings.secret_key`` (the development default) is used instead.

The value is cached for ``MAX_AGE_SECONDS`` by the Parameters utility, and the container keeps
the services built from it for its lifetime, so a warm container makes no call at all and a
cold one makes one. The value is one secret, or a JSON array of secrets newest first
(``signing_keys``): to rotate, put the new secret in front of the old one; the new one signs as
containers are replaced, the old one keeps verifying (each token names its key id), and it is
dropped from the array once the last token it signed has expired (60 days: a refresh token).

PortOne's API secret and webhook secret (``portone_secrets``) follow the same path: one
Secrets Manager secret named by ``DONGNE_PORTONE_SECRET_ARN``, read by the functions that
call PortOne or receive its webhooks.
"""

from __future__ import annotations

from typing import NamedTuple

from chalicelib.settings import Settings

MAX_AGE_SECONDS = 3600


def signing_secret(settings: Settings) -> str:
    """The secret that signs now (the newest of ``signing_keys``)."""
    return signing_keys(settings)[0]


def signing_keys(settings: Settings) -> tuple[str, ...]:
    """The signing secrets in force, newest first: the first signs, every one verifies."""
    if not settings.secret_arn:
        return settings.secret_keys or (settings.secret_key,)
    # Imported here: boto3 and the utility load on the first token a cold container handles.
    from aws_lambda_powertools.utilities import parameters

    value = parameters.get_secret(settings.secret_arn, max_age=MAX_AGE_SECONDS)
    keys: object = value
    if isinstance(value, str) and value.lstrip().startswith("["):
        import json

        try:
            keys = json.loads(value)
        except ValueError:
            keys = None
    keys = (keys,) if isinstance(keys, str) else tuple(keys) if isinstance(keys, list) else ()
    if not keys or not all(isinstance(key, str) and len(key) >= 32 for key in keys):
        raise RuntimeError("the signing secret must be a string of at least 32 characters, "
                           "or a JSON array of such strings (newest first)")
    return keys


class PortOneSecrets(NamedTuple):
    """PortOne's API secret (``Authorization: PortOne <secret>``) and webhook secret
    (Standard Webhooks, ``whsec_<base64>``)."""

    api_secret: str
    webhook_secret: str


def portone_secrets(settings: Settings) -> PortOneSecrets:
    """Read like the signing secret: on AWS ``DONGNE_PORTONE_SECRET_ARN`` names a Secrets Manager
    secret holding JSON ``{"api_secret": ..., "webhook_secret": ...}``, cached for
    ``MAX_AGE_SECONDS``; unset, the settings' values are used, and the development defaults
    (the local stand-in's) are refused outside the local stages."""
    if not settings.portone_secret_arn:
        from chalicelib.settings import DEFAULT_PORTONE_API_SECRET, DEFAULT_PORTONE_WEBHOOK_SECRET

        defaults = {settings.portone_api_secret, settings.portone_webhook_secret} & {
            DEFAULT_PORTONE_API_SECRET, DEFAULT_PORTONE_WEBHOOK_SECRET}
        if defaults and not settings.is_local:
            raise RuntimeError(
                f"DONGNE_PORTONE_SECRET_ARN must be set on stage {settings.stage!r}: PortOne's development "
                "secrets are only accepted on 'local' and 'test'")
        return PortOneSecrets(settings.portone_api_secret, settings.portone_webhook_secret)
    from aws_lambda_powertools.utilities import parameters

    value = parameters.get_secret(settings.portone_secret_arn, transform="json", max_age=MAX_AGE_SECONDS)
    if not isinstance(value, dict) or not all(isinstance(value.get(k), str) and value.get(k)
                                              for k in ("api_secret", "webhook_secret")):
        raise RuntimeError("the PortOne secret must be JSON with non-empty 'api_secret' and 'webhook_secret'")
    return PortOneSecrets(value["api_secret"], value["webhook_secret"])
