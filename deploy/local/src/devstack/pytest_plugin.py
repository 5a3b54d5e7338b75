"""The one set of server fixtures every test suite in the workspace uses.

``servers`` picks Kafka and MongoDB once per session (see devstack.servers); ``deployment`` gives
this run its own topic prefix, database names and consumer groups, so two runs never collide;
``platform`` starts every service as a real process. In CI (``CI=true``) a run in which no
end-to-end test passed fails, so a broken fixture cannot pass as green by skipping.

The scan guard: a test that uses the servers fails when a query it caused was served by no index
(see devstack.scans), unless it reads a whole collection on purpose (``hint={"$natural": 1}``) or
the test is marked ``allow_scans("why")``.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import pytest_asyncio
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from servicekit.auth import Role, mint_service_token, mint_token

from devstack.process import ServerProcess
from devstack.scans import ScanRecord, explain
from devstack.servers import Servers, provide
from devstack.services import BACKENDS, Deployment, service_process, wait_ready
from devstack.topics import create_topics

TEST_JWT_SECRET = "test-secret-" + uuid.uuid4().hex
_e2e_passed = 0
_guarded = pytest.StashKey[ScanRecord]()
_opened = pytest.StashKey[ScanRecord | None]()


@dataclass
class Platform:
    """A running platform: every service as a process, on this run's topics and databases."""

    deployment: Deployment
    ports: dict[str, int]
    log_dir: Path
    processes: dict[str, ServerProcess] = field(default_factory=dict)

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    @property
    def gateway_url(self) -> str:
        return self.url("gateway")

    def topic(self, name: str) -> str:
        return self.deployment.topic_prefix + name

    def token(
        self, user: str = "tester", role: Role = "admin", teams: list[str] | None = None
    ) -> str:
        return mint_token(TEST_JWT_SECRET, user, role, teams)

    def auth(self, **kwargs: object) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token(**kwargs)}"}  # type: ignore[arg-type]

    def service_auth(self, system: str = "commerce") -> dict[str, str]:
        """The headers of a system's service identity (role service, scope the system)."""
        return {"authorization": f"Bearer {mint_service_token(TEST_JWT_SECRET, system)}"}

    def start(
        self, name: str, extra_env: dict[str, str] | None = None, wait: bool = True
    ) -> ServerProcess:
        """(Re)start one service, e.g. with a fault armed; replaces a running one."""
        old = self.processes.get(name)
        if old is not None:
            old.stop()
        env = {**self.deployment.env(name, self.ports), **(extra_env or {})}
        process = service_process(name, env, self.log_dir).start()
        self.processes[name] = process
        if wait:
            wait_ready(process, self.ports[name])
        return process

    def stop_all(self) -> None:
        for process in reversed(list(self.processes.values())):
            process.stop()


@pytest.fixture(scope="session")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    with provide(tmp_path_factory.mktemp("servers")) as chosen:
        yield chosen


@pytest.fixture(scope="session")
def deployment(servers: Servers) -> Deployment:
    run = uuid.uuid4().hex[:8]
    chosen = Deployment(
        servers,
        topic_prefix=f"t{run}.",
        database_prefix=f"t{run}_",
        consumer_group_prefix=f"t{run}.",
        jwt_secret=TEST_JWT_SECRET,
        outbox_sweep_seconds=1.0,
        job_lease_seconds=3.0,
    )
    asyncio.run(
        create_topics(
            servers.kafka_bootstrap_servers,
            chosen.topic_prefix,
            partitions=int(os.environ.get("CDP_TEST_PARTITIONS", "3")),
        )
    )
    return chosen


@pytest.fixture(scope="session")
def platform(
    deployment: Deployment, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    running = Platform(
        deployment, deployment.ports(fixed=False), tmp_path_factory.mktemp("service-logs")
    )
    try:
        for name in BACKENDS:
            running.start(name, wait=False)
        for name in BACKENDS:
            wait_ready(running.processes[name], running.ports[name])
        running.start("gateway")
        yield running
    finally:
        running.stop_all()


@pytest_asyncio.fixture(loop_scope="session")
async def mongo_db(servers: Servers) -> AsyncIterator[AsyncDatabase]:
    """A fresh database on the chosen server, dropped afterwards unless the server is shared."""
    client: AsyncMongoClient = AsyncMongoClient(servers.mongodb_url, tz_aware=True)
    name = f"t{uuid.uuid4().hex[:12]}"
    try:
        yield client[name]
    finally:
        if not servers.shared:
            await client.drop_database(name)
        await client.close()


@pytest.fixture(scope="session")
def scan_record(servers: Servers, pytestconfig: pytest.Config) -> Iterator[ScanRecord | None]:
    """The server's collection-scan record; None where it keeps none (a real mongod)."""
    record = ScanRecord.open(servers.mongodb_url)
    pytestconfig.stash[_opened] = record
    yield record
    if record is not None:
        record.close()


def _marked_for_servers(item: pytest.Item) -> bool:
    return any(item.get_closest_marker(name) is not None for name in ("servers", "e2e"))


@pytest.fixture(autouse=True)
def collection_scan_guard(request: pytest.FixtureRequest) -> None:
    """Start each test that uses the servers with an empty scan record: the services work in
    the background and share the server, so an earlier test's scans may land meanwhile. What
    the test leaves in it is judged when its outcome is reported (pytest_runtest_makereport)."""
    item = request.node
    allowed = item.get_closest_marker("allow_scans")
    if allowed is not None and not (allowed.args and str(allowed.args[0]).strip()):
        pytest.fail('allow_scans needs the reason: @pytest.mark.allow_scans("why")', False)
    if "servers" in getattr(item, "fixturenames", ()):
        record = request.getfixturevalue("scan_record")
    elif _marked_for_servers(item):
        # Marked, but not on the session's servers (e.g. a test that starts its own): watched
        # when those run already, without starting them for it.
        record = request.config.stash.get(_opened, None)
    else:
        return
    if record is not None:
        record.reset()
        item.stash[_guarded] = record


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    record = item.stash.get(_guarded, None)
    if report.when != "call" or record is None:
        return report
    unexpected = record.unexpected()
    if not unexpected:
        return report
    message = explain(unexpected)
    allowed = item.get_closest_marker("allow_scans")
    if allowed is not None:
        report.sections.append(("collection scans allowed: " + str(allowed.args[0]), message))
    elif report.passed:
        report.outcome = "failed"
        report.longrepr = message
    else:
        report.sections.append(("collection scans", message))
    return report


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    global _e2e_passed
    if report.when == "call" and report.passed and "e2e" in report.keywords:
        _e2e_passed += 1


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if os.environ.get("CI", "").lower() == "true" and exitstatus == 0 and _e2e_passed == 0:
        session.config.get_terminal_writer().line(
            "CI: no end-to-end test passed; a run without them is not green.", red=True
        )
        session.exitstatus = 1
