"""Dev mode is explicit; outside it a service verifies tokens by the public keys of a JWKS and
refuses to start with a shared secret or without a key set."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from servicekit.settings import DEV_JWT_SECRET, ServiceSettings


@pytest.fixture(autouse=True)
def no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CDP_ENV", "CDP_JWT_SECRET", "CDP_JWT_JWKS"):
        monkeypatch.delenv(name, raising=False)


def test_production_is_the_default_and_needs_a_key_set() -> None:
    with pytest.raises(ValidationError, match="without CDP_JWT_JWKS"):
        ServiceSettings()
    assert ServiceSettings(jwt_jwks="/etc/cdp/jwks/jwks.json").env == "production"


def test_production_refuses_any_shared_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    for secret in (DEV_JWT_SECRET, "x" * 64):
        with pytest.raises(ValidationError, match="JWT secret outside dev mode"):
            ServiceSettings(jwt_secret=secret, jwt_jwks="/etc/cdp/jwks/jwks.json")
    monkeypatch.setenv("CDP_JWT_SECRET", "y" * 64)  # from the environment too
    with pytest.raises(ValidationError, match="JWT secret outside dev mode"):
        ServiceSettings(jwt_jwks="/etc/cdp/jwks/jwks.json")


def test_dev_mode_takes_the_dev_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CDP_ENV", "dev")
    assert ServiceSettings().jwt_secret.get_secret_value() == DEV_JWT_SECRET
    monkeypatch.setenv("CDP_ENV", "staging")  # not a mode: refused, never taken for dev
    with pytest.raises(ValidationError):
        ServiceSettings()
