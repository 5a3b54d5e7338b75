"""A service outside dev mode refuses to start without public keys to verify tokens by, or with
a JWT secret, and says why."""

from __future__ import annotations

from pathlib import Path

import pytest
from devstack.process import ServerStartError, free_port
from devstack.services import service_process, wait_ready

pytestmark = [pytest.mark.servers, pytest.mark.e2e]


@pytest.mark.parametrize("service", ["customer", "gateway"])
@pytest.mark.parametrize(
    ("given", "reason"),
    [
        ({}, "without CDP_JWT_JWKS"),
        ({"CDP_JWT_JWKS": "/nowhere/jwks.json"}, "cannot read the JWKS at /nowhere/jwks.json"),
        (
            {"CDP_JWT_JWKS": "/nowhere/jwks.json", "CDP_JWT_SECRET": "s" * 48},
            "JWT secret outside dev mode",
        ),
    ],
)
def test_a_service_outside_dev_mode_says_why_it_does_not_start(
    platform, tmp_path: Path, service: str, given: dict[str, str], reason: str
) -> None:
    ports = {**platform.ports, service: free_port()}
    env = platform.deployment.env(service, ports)
    env.pop("CDP_ENV")
    env.pop("CDP_JWT_SECRET", None)
    env.update(given)
    process = service_process(service, env, tmp_path).start()
    try:
        with pytest.raises(ServerStartError) as refused:
            wait_ready(process, ports[service], timeout=60)
    finally:
        process.stop()
    assert reason in str(refused.value)
