"""Outside dev mode a service refuses to start with the public dev secret or a short one."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from servicekit.settings import DEV_JWT_SECRET, ServiceSettings


@pytest.fixture(autouse=True)
def no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CDP_ENV", raising=False)
    monkeypatch.delenv("CDP_JWT_SECRET", raising=False)


def test_production_is_the_default_and_refuses_the_dev_secret() -> None:
    with pytest.raises(ValidationError, match="public dev JWT secret"):
        ServiceSettings()
    with pytest.raises(ValidationError, match="public dev JWT secret"):
        ServiceSettings(env="production", jwt_secret=DEV_JWT_SECRET)


def test_production_refuses_a_short_secret_and_takes_a_long_one() -> None:
    with pytest.raises(ValidationError, match="under 32 bytes"):
        ServiceSettings(jwt_secret="short-secret")
    assert ServiceSettings(jwt_secret="x" * 32).env == "production"


def test_dev_mode_takes_the_dev_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CDP_ENV", "dev")
    assert ServiceSettings().jwt_secret.get_secret_value() == DEV_JWT_SECRET
    monkeypatch.setenv("CDP_ENV", "staging")  # not a mode: refused, never taken for dev
    with pytest.raises(ValidationError):
        ServiceSettings()
