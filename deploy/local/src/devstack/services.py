"""The platform's services as real processes: how each is started and when it is ready."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

from devstack.process import ServerProcess, free_port
from devstack.servers import Servers

# name -> (python module, default dev port)
SERVICES: dict[str, tuple[str, int]] = {
    "customer": ("customer", 8101),
    "segmentation": ("segmentation", 8102),
    "lists": ("lists", 8103),
    "loyalty": ("loyalty", 8104),
    "gateway": ("gateway", 8080),
}
BACKENDS = ("customer", "segmentation", "lists", "loyalty")
REPO = Path(__file__).resolve().parents[4]
CONSOLE_DIST = REPO / "console" / "dist"  # built by ./dev (up and test) when its sources change


@dataclass(frozen=True)
class Deployment:
    """Everything that distinguishes one running platform from another on the same servers."""

    servers: Servers
    topic_prefix: str = ""
    database_prefix: str = "cdp_"
    consumer_group_prefix: str = ""
    jwt_secret: str | None = None
    outbox_sweep_seconds: float | None = None  # tests sweep often, to see crash leftovers soon
    job_lease_seconds: float | None = None  # tests: a crashed replica's job is resumed soon

    def ports(self, fixed: bool) -> dict[str, int]:
        return {name: (port if fixed else free_port()) for name, (_, port) in SERVICES.items()}

    def env(self, name: str, ports: Mapping[str, int]) -> dict[str, str]:
        env = {
            "CDP_SERVICE_NAME": name,
            "CDP_HTTP_PORT": str(ports[name]),
            "CDP_KAFKA_BOOTSTRAP_SERVERS": self.servers.kafka_bootstrap_servers,
            "CDP_MONGODB_URL": self.servers.mongodb_url,
            "CDP_DATABASE": f"{self.database_prefix}{name}",
            "CDP_TOPIC_PREFIX": self.topic_prefix,
            "CDP_CONSUMER_GROUP_PREFIX": self.consumer_group_prefix,
            "CDP_ENV": "dev",  # the local platform: the dev secret is allowed here only
            "PYTHONUNBUFFERED": "1",
        }
        if self.jwt_secret:
            env["CDP_JWT_SECRET"] = self.jwt_secret
        if self.outbox_sweep_seconds is not None:
            env["CDP_OUTBOX_SWEEP_SECONDS"] = str(self.outbox_sweep_seconds)
        if self.job_lease_seconds is not None:
            env["CDP_JOB_LEASE_SECONDS"] = str(self.job_lease_seconds)
        if name == "gateway":
            for backend in BACKENDS:
                env[f"CDP_{backend.upper()}_URL"] = f"http://127.0.0.1:{ports[backend]}"
            env["CDP_CONSOLE_DIR"] = str(CONSOLE_DIST)
        return env


def service_process(name: str, env: Mapping[str, str], log_dir: Path) -> ServerProcess:
    module, _ = SERVICES[name]
    return ServerProcess(
        name=name,
        argv=[sys.executable, "-m", module],
        log_path=log_dir / f"{name}.log",
        env=dict(env),
    )


def wait_ready(process: ServerProcess, port: int, timeout: float = 60) -> None:
    url = f"http://127.0.0.1:{port}/ready"

    def probe() -> bool:
        return httpx.get(url, timeout=1.0).status_code == 200

    process.wait_ready(probe, timeout)
