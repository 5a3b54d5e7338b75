"""A service outside dev mode refuses to start with the public dev secret, and says why."""

from __future__ import annotations

from pathlib import Path

import pytest
from devstack.process import ServerStartError, free_port
from devstack.services import service_process, wait_ready

pytestmark = [pytest.mark.servers, pytest.mark.e2e]


@pytest.mark.parametrize("service", ["customer", "gateway"])
def test_a_service_outside_dev_mode_refuses_the_dev_secret(
    platform, tmp_path: Path, service: str
) -> None:
    ports = {**platform.ports, service: free_port()}
    env = platform.deployment.env(service, ports)
    env.pop("CDP_ENV")
    env.pop("CDP_JWT_SECRET", None)  # the default: the public dev secret
    process = service_process(service, env, tmp_path).start()
    try:
        with pytest.raises(ServerStartError) as refused:
            wait_ready(process, ports[service], timeout=60)
    finally:
        process.stop()
    assert "public dev JWT secret" in str(refused.value)
