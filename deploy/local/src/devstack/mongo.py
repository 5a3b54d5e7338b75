"""The MongoDB-wire server of dev and CI: mongo-java-server behind our launcher.

The jars come from ``deploy/local/mongo/pom.xml``; ``deploy/local/mongo/src/Launcher.java`` says
what the launcher mends (wire version, a commit per write, unique-index narrowing). Data lives in
``<data_dir>/db.mv`` and survives a restart (or a kill -9) of the server.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from pymongo import MongoClient

from devstack.process import ServerProcess, free_port, java_executable, maven_classpath

PROJECT_DIR = Path(__file__).resolve().parents[2] / "mongo"
MAIN_CLASS = "cdp.mongo.Launcher"


@dataclass
class MongoServer:
    port: int
    data_dir: Path
    process: ServerProcess

    @property
    def url(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/"


def ping(url: str) -> bool:
    with MongoClient(url, serverSelectionTimeoutMS=1000, connectTimeoutMS=1000) as client:
        return bool(client.admin.command("ping").get("ok"))


def start_mongo(
    data_dir: Path,
    port: int | None = None,
    *,
    narrowing: bool = True,
    in_memory: bool = False,
    timeout: float = 60,
    heap: str = "2g",
    checkpoint_bytes: int | None = None,
    checkpoint_seconds: int | None = None,
) -> MongoServer:
    """Start (or restart on the same ``data_dir``) the server and wait until it answers a ping.

    ``in_memory`` keeps no file (for throwaway benchmark servers); ``narrowing=False`` turns the
    unique-index narrowing off, for an A/B benchmark. ``checkpoint_bytes`` and
    ``checkpoint_seconds`` checkpoint the store after that much journal or time instead of 64 MB
    or ten seconds (for tests of the journal).
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    remembered = data_dir / "port.json"
    if port is None and remembered.exists():
        port = int(json.loads(remembered.read_text())["port"])
    port = port or free_port()
    remembered.write_text(json.dumps({"port": port}))
    classpath = maven_classpath(PROJECT_DIR, "mongo")
    argv = [
        java_executable(),
        f"-Xmx{heap}",
        "-XX:+UseSerialGC",
        # a server that stops answering under load is most often one short of heap: say so
        f"-Xlog:gc:file={data_dir / 'gc.log'}:time,uptime:filecount=2,filesize=10m",
        "-XX:+ExitOnOutOfMemoryError",
        *([f"-Dcdp.checkpointBytes={checkpoint_bytes}"] if checkpoint_bytes else []),
        *([f"-Dcdp.checkpointSeconds={checkpoint_seconds}"] if checkpoint_seconds else []),
        "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
        "-Dorg.slf4j.simpleLogger.showDateTime=true",
        "-cp",
        ":".join(map(str, classpath)),
        MAIN_CLASS,
        "--port",
        str(port),
        *(["--in-memory"] if in_memory else ["--data-dir", str(data_dir)]),
        *([] if narrowing else ["--no-narrowing"]),
    ]
    process = ServerProcess("mongo", argv, data_dir / "mongo.log").start()
    server = MongoServer(port, data_dir, process)
    process.wait_ready(lambda: ping(server.url), timeout)
    return server
