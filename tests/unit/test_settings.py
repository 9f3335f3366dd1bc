"""Settings: read from DONGNE_* variables, validated, default secret refused off-laptop."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from chalicelib.settings import DEFAULT_SECRET, Settings


def test_reads_prefixed_variables_only():
    settings = Settings.from_env({"DONGNE_TABLE_NAME": "t1", "TABLE_NAME": "ignored", "DONGNE_STAGE": "test"})
    assert settings.table_name == "t1" and settings.stage == "test"


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_default_secret_is_refused_outside_local(stage):
    with pytest.raises(ValidationError, match="DONGNE_SECRET_KEY"):
        Settings.from_env({"DONGNE_STAGE": stage})
    assert Settings.from_env({"DONGNE_STAGE": stage, "DONGNE_SECRET_KEY": "x" * 40}).secret_key == "x" * 40


def test_default_secret_is_fine_locally():
    assert Settings.from_env({"DONGNE_STAGE": "local"}).secret_key == DEFAULT_SECRET


def test_short_secret_and_bad_numbers_are_refused():
    with pytest.raises(ValidationError):
        Settings.from_env({"DONGNE_SECRET_KEY": "short"})
    with pytest.raises(ValidationError):
        Settings.from_env({"DONGNE_TOKEN_TTL_SECONDS": "-1"})
