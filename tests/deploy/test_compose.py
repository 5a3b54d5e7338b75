"""The Compose file (deploy/compose) against the code it runs: every setting a service reads is
set or defaulted and loads, dev mode is explicit, the servers are the production engines, and
each image runs what `./dev up` runs. No Docker engine is needed: the file is parsed."""

from __future__ import annotations

import importlib
import json
import os
import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from devstack.servers import Servers
from devstack.services import SERVICES, Deployment, service_process
from servicekit.settings import DEV_JWT_SECRET, ServiceSettings

COMPOSE_DIR = Path(__file__).resolve().parents[2] / "deploy" / "compose"
COMPOSE = yaml.safe_load((COMPOSE_DIR / "compose.yaml").read_text())
DOCKERFILE = (COMPOSE_DIR / "Dockerfile").read_text()
INTERPOLATION = re.compile(r"\$\{(\w+)(?:(:?)-([^}]*))?\}")


def interpolate(value: Any, host_env: dict[str, str]) -> str:
    """Compose's ``${VAR:-default}`` (the default when unset or empty) and ``${VAR-default}``
    (only when unset) as `docker compose` resolves them with ``host_env``."""

    def resolve(match: re.Match[str]) -> str:
        name, colon, default = match.group(1), match.group(2), match.group(3) or ""
        if name not in host_env or (colon and not host_env[name]):
            return default
        return host_env[name]

    return INTERPOLATION.sub(resolve, str(value))


def service_env(name: str, host_env: dict[str, str] | None = None) -> dict[str, str]:
    """What the service's process sees: the image's ENV, then the Compose file's environment."""
    env = dockerfile_env()
    env["CDP_MODULE"] = build_args(name)["SERVICE"]
    for key, value in COMPOSE["services"][name]["environment"].items():
        env[key] = interpolate(value, host_env or {})
    return env


def build_args(name: str) -> dict[str, str]:
    return COMPOSE["services"][name]["build"]["args"]


def dockerfile_env() -> dict[str, str]:
    runtime = DOCKERFILE.split("AS runtime", 1)[1]
    block = re.search(r"^ENV (.*?)(?:\n(?!\s))", runtime, re.S | re.M)
    assert block, "the runtime stage sets its environment with ENV"
    pairs = shlex.split(block.group(1).replace("\\\n", " "))
    return dict(pair.split("=", 1) for pair in pairs)


def settings_class(name: str) -> type[ServiceSettings]:
    module = importlib.import_module(f"{SERVICES[name][0]}.settings")
    found = [
        value
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, ServiceSettings)
        and value is not ServiceSettings
    ]
    assert len(found) == 1, f"{name}.settings defines one settings class"
    return found[0]


def load_settings(name: str, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Any:
    cls = settings_class(name)
    with monkeypatch.context() as patch:
        for key in [k for k in os.environ if k.startswith("CDP_")]:
            patch.delenv(key)
        for key, value in env.items():
            patch.setenv(key, value)
        return cls()


@pytest.mark.parametrize("name", list(SERVICES))
def test_every_variable_is_a_setting_and_the_settings_load(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    cls = settings_class(name)
    fields = {f"CDP_{field.upper()}" for field in cls.model_fields}
    env = service_env(name)
    unknown = {k for k in env if k.startswith("CDP_") and k not in fields} - {"CDP_MODULE"}
    assert not unknown, f"{name}: variables no setting reads (a typo?): {sorted(unknown)}"
    required = [f for f, info in cls.model_fields.items() if info.is_required()]
    missing = [f for f in required if f"CDP_{f.upper()}" not in env]
    assert not missing, f"{name}: settings without a default and not set: {missing}"
    settings = load_settings(name, env, monkeypatch)
    assert settings.service_name == name
    assert settings.http_host == "0.0.0.0", "in a container the service listens on every interface"


@pytest.mark.parametrize("name", list(SERVICES))
def test_addresses_point_at_the_containers_not_the_laptop(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A default that names 127.0.0.1 is the dev stack's: inside a container it is wrong."""
    cls = settings_class(name)
    env = service_env(name)
    local = [
        field
        for field, info in cls.model_fields.items()
        if "127.0.0.1" in str(info.default) and field != "http_host"
    ]
    assert local, "the check has something to check"
    for field in local:
        value = env.get(f"CDP_{field.upper()}", "")
        assert value and "127.0.0.1" not in value and "localhost" not in value, (name, field)
    settings = load_settings(name, env, monkeypatch)
    assert "replicaSet=rs0" in settings.mongodb_url  # production's connection options


@pytest.mark.parametrize("name", list(SERVICES))
def test_dev_mode_is_explicit_and_production_takes_public_keys_only(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = service_env(name)
    assert env["CDP_ENV"] == "dev", f"{name}: dev mode set explicitly"
    assert env["CDP_JWT_SECRET"] == DEV_JWT_SECRET
    # CDP_ENV=production alone keeps the dev secret: refused, as any secret outside dev mode
    production = service_env(name, {"CDP_ENV": "production"})
    with pytest.raises(ValueError, match="JWT secret outside dev mode"):
        load_settings(name, production, monkeypatch)
    # the file's header: no secret, the identity provider's key set
    jwks = "https://idp.example/jwks.json"
    real = service_env(name, {"CDP_ENV": "production", "CDP_JWT_SECRET": "", "CDP_JWT_JWKS": jwks})
    assert load_settings(name, real, monkeypatch).jwt_jwks == jwks


@pytest.mark.parametrize("name", list(SERVICES))
def test_the_image_runs_what_dev_up_runs(name: str, tmp_path: Path) -> None:
    entrypoint = re.search(r"^ENTRYPOINT (\[.*\])$", DOCKERFILE, re.M)
    assert entrypoint
    argv = json.loads(entrypoint.group(1))
    assert argv[:2] == ["/bin/sh", "-c"], "a shell that execs the service (PID 1 gets SIGTERM)"
    script = shlex.split(argv[2])
    assert script[0] == "exec"
    env = service_env(name)
    image_command = [
        interpolate(word.replace("$CDP_MODULE", "${CDP_MODULE}"), env) for word in script[1:]
    ]
    deployment = Deployment(Servers("k:1", "mongodb://m:1/", "test"))
    dev_up = service_process(name, deployment.env(name, deployment.ports(fixed=True)), tmp_path)
    assert image_command == ["python", *dev_up.argv[1:]]  # argv[0] is the dev stack's python
    assert "entrypoint" not in COMPOSE["services"][name]
    assert "command" not in COMPOSE["services"][name]


@pytest.mark.parametrize("name", list(SERVICES))
def test_compose_sets_what_dev_up_sets(name: str) -> None:
    deployment = Deployment(Servers("k:1", "mongodb://m:1/", "test"))
    ports = deployment.ports(fixed=True)
    dev_up = deployment.env(name, ports)
    env = service_env(name)
    assert sorted(set(dev_up) - set(env)) == []
    assert env["CDP_HTTP_PORT"] == str(ports[name])
    assert env["CDP_DATABASE"] == dev_up["CDP_DATABASE"]


@pytest.mark.parametrize("name", list(SERVICES))
def test_health_checks_ask_ready_and_servers_come_first(name: str) -> None:
    service = COMPOSE["services"][name]
    check = " ".join(service["healthcheck"]["test"])
    assert "/ready" in check and "CDP_HTTP_PORT" in check
    assert service["depends_on"] == {
        "kafka": {"condition": "service_healthy"},
        "mongodb": {"condition": "service_healthy"},
        "topics": {"condition": "service_completed_successfully"},
    }
    assert service["build"]["dockerfile"] == "deploy/compose/Dockerfile"


def test_the_servers_are_the_production_engines() -> None:
    mongodb, kafka = COMPOSE["services"]["mongodb"], COMPOSE["services"]["kafka"]
    assert mongodb["image"].startswith("mongo:7")
    assert "--replSet" in mongodb["command"]
    assert "rs.initiate" in " ".join(mongodb["healthcheck"]["test"])
    assert kafka["image"].startswith("apache/kafka:")
    assert kafka["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"  # KRaft
    assert kafka["environment"]["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    topics = COMPOSE["services"]["topics"]
    assert topics["entrypoint"] == ["devstack", "topics"]
    assert topics["environment"]["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"


def test_the_image_is_small_and_unprivileged() -> None:
    stages = re.findall(r"^FROM (\S+)(?: AS (\w+))?", DOCKERFILE, re.M)
    runtime = DOCKERFILE.split("AS runtime", 1)[1]
    assert stages[-1] == ("python:3.11-slim-bookworm", "runtime")
    assert "--no-dev" in DOCKERFILE and "--no-editable" in DOCKERFILE
    assert re.search(r"^USER 10001$", runtime, re.M)
    for tool in ("uv", "npm", "node", "gcc", "apt-get"):
        assert not re.search(rf"\b{tool}\b", runtime.replace("/app/.venv", "")), tool


def test_the_build_copies_every_workspace_member() -> None:
    """`uv sync --frozen` needs the whole workspace the lock file was made from: a new member
    that the Dockerfile does not copy would break every image's build."""
    root = Path(__file__).resolve().parents[2]
    members = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["uv"]["workspace"][
        "members"
    ]
    build = DOCKERFILE.split("AS build", 1)[1].split("AS runtime", 1)[0]
    copied = [line.split()[1] for line in build.splitlines() if line.startswith("COPY ")]
    for pattern in members:
        for member in root.glob(pattern):
            relative = member.relative_to(root).as_posix()
            assert any(
                relative == c or relative.startswith(c + "/") or c.startswith(relative + "/")
                for c in copied
            ), f"the Dockerfile's build stage does not copy workspace member {relative}"
