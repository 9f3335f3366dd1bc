"""The signing secret, read at run time from Secrets Manager (Powertools' Parameters utility).

On AWS the secret is never in a function's environment (where the console, ``GetFunction``
and every log of the configuration would show it): ``DONGNE_SECRET_ARN`` names it, and only the
functions that sign or verify tokens and cursors (the API and the authorizer) may read it.
Locally and in tests ``settings.secret_key`` (the development default) is used instead.

The value is cached for ``MAX_AGE_SECONDS`` by the Parameters utility, and the container keeps
the services built from it for its lifetime, so a warm container makes no call at all and a
cold one makes one. A rotated secret therefore reaches a container when the container is
replaced; tokens signed with the old value stop verifying then (the secret is generated once
per stack and is not rotated today).
"""

from __future__ import annotations

from chalicelib.settings import Settings

MAX_AGE_SECONDS = 3600


def signing_secret(settings: Settings) -> str:
    if not settings.secret_arn:
        return settings.secret_key
    # Imported here: boto3 and the utility load on the first token a cold container handles.
    from aws_lambda_powertools.utilities import parameters

    value = parameters.get_secret(settings.secret_arn, max_age=MAX_AGE_SECONDS)
    if not isinstance(value, str) or len(value) < 32:
        raise RuntimeError("the signing secret must be a string of at least 32 characters")
    return value
