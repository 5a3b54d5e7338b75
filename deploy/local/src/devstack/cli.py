"""``devstack``: run the whole platform locally, and the odd dev chore.

    devstack up [--reset] [--no-demo]   servers, topics, every service, the gateway, demo data
    devstack down                       stop everything (data is kept)
    devstack status                     what runs, on which port
    devstack reset                      stop and delete all local data
    devstack token --user U --role R [--team T ...]   a dev bearer token for a person
    devstack token --service commerce   a dev bearer token for a system (role service)
    devstack topics [--prefix P]        create the catalogue's topics on $KAFKA_BOOTSTRAP_SERVERS

State lives in ``.devstack/`` at the repository root (data, logs, pids).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import sys
import time
from pathlib import Path

from servicekit.auth import ROLES, SYSTEMS, mint_service_token, mint_token
from servicekit.settings import DEV_JWT_SECRET

from devstack.process import ServerProcess, ServerStartError
from devstack.servers import Servers
from devstack.services import BACKENDS, SERVICES, Deployment, service_process, wait_ready
from devstack.topics import create_topics

REPO = Path(__file__).resolve().parents[4]
STATE_DIR = REPO / ".devstack"
STATE_FILE = STATE_DIR / "state.json"
KAFKA_PORT, KAFKA_CONTROLLER_PORT, MONGO_PORT = 19092, 19093, 27018


def _load_state() -> dict[str, dict[str, int | str]]:
    return json.loads(STATE_FILE.read_text()) if STATE_FILE.exists() else {}


def _save_state(state: dict[str, dict[str, int | str]]) -> None:
    STATE_DIR.mkdir(exist_ok=True)
    STATE_FILE.write_text(json.dumps(state, indent=2))


def _alive(entry: dict[str, int | str] | None) -> bool:
    if not entry:
        return False
    pid = int(entry["pid"])
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return False
    return str(entry["match"]) in cmdline


def _remember(state: dict, name: str, process: ServerProcess, port: int, match: str) -> None:
    state[name] = {"pid": process.pid, "port": port, "match": match}
    _save_state(state)


def up(args: argparse.Namespace) -> int:
    if args.reset:
        reset(args)
    started = time.monotonic()
    state = _load_state()
    data, logs = STATE_DIR / "data", STATE_DIR / "logs"
    if _alive(state.get("kafka")):
        kafka_bootstrap = f"127.0.0.1:{state['kafka']['port']}"
    else:
        from devstack.kafka import start_kafka

        print("starting Kafka (KRaft) ...", flush=True)
        kafka = start_kafka(data / "kafka", KAFKA_PORT, KAFKA_CONTROLLER_PORT)
        _remember(state, "kafka", kafka.process, kafka.port, "kafka.Kafka")
        kafka_bootstrap = kafka.bootstrap_servers
    if _alive(state.get("mongo")):
        mongo_url = f"mongodb://127.0.0.1:{state['mongo']['port']}/"
    else:
        from devstack.mongo import start_mongo

        print("starting the MongoDB-wire server ...", flush=True)
        mongo = start_mongo(data / "mongo", MONGO_PORT)
        _remember(state, "mongo", mongo.process, mongo.port, "cdp.mongo.Launcher")
        mongo_url = mongo.url
    servers = Servers(kafka_bootstrap, mongo_url, "local")
    asyncio.run(create_topics(kafka_bootstrap))
    deployment = Deployment(servers)
    ports = deployment.ports(fixed=True)
    processes: dict[str, ServerProcess] = {}
    for name in [*BACKENDS, "gateway"]:
        if _alive(state.get(name)):
            continue
        processes[name] = service_process(name, deployment.env(name, ports), logs).start()
        _remember(state, name, processes[name], ports[name], f"-m {SERVICES[name][0]}")
        if name == "gateway":
            for backend in BACKENDS:
                if backend in processes:
                    wait_ready(processes[backend], ports[backend])
    if "gateway" in processes:
        wait_ready(processes["gateway"], ports["gateway"])
    token = mint_token(DEV_JWT_SECRET, "demo-admin", "admin", ["north", "south"])
    gateway = f"http://127.0.0.1:{ports['gateway']}"
    if not args.no_demo:
        from devstack.demo import load_demo

        print(load_demo(gateway, token, kafka_bootstrap), flush=True)
    print(f"\nPlatform up in {time.monotonic() - started:.1f}s")
    print(f"  console   {gateway}/   (dev mode: sign in as anyone)")
    print(f"  gateway   {gateway}   (OpenAPI: {gateway}/docs)")
    for name in BACKENDS:
        print(f"  {name:<13} http://127.0.0.1:{ports[name]}")
    print(f"  kafka     {kafka_bootstrap}\n  mongodb   {mongo_url}\n  logs      {logs}")
    print(f"\nDev token (admin, teams north+south):\n{token}\n")
    print(f'Try: curl -H "Authorization: Bearer $TOKEN" {gateway}/api/customers?mdm_code=DEMO-0001')
    return 0


def down(_: argparse.Namespace) -> int:
    state = _load_state()
    order = ["gateway", *BACKENDS, "kafka", "mongo"]
    for name in order:
        entry = state.pop(name, None)
        if not _alive(entry):
            continue
        pid = int(entry["pid"])  # type: ignore[index]
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and _alive(entry):
            time.sleep(0.2)
        if _alive(entry):
            os.kill(pid, signal.SIGKILL)
        print(f"stopped {name}")
    _save_state(state)
    return 0


def status(_: argparse.Namespace) -> int:
    state = _load_state()
    for name in ["kafka", "mongo", *BACKENDS, "gateway"]:
        entry = state.get(name)
        where = f"port {entry['port']}, pid {entry['pid']}" if entry else ""
        print(f"{name:<13} {'running' if _alive(entry) else 'stopped':<8} {where}")
    return 0


def reset(args: argparse.Namespace) -> int:
    down(args)
    shutil.rmtree(STATE_DIR, ignore_errors=True)
    print(f"deleted {STATE_DIR}")
    return 0


def token(args: argparse.Namespace) -> int:
    secret = os.environ.get("CDP_JWT_SECRET", DEV_JWT_SECRET)
    if args.service:
        if args.user or args.role or args.team:
            print("devstack token: --service takes no --user, --role or --team", file=sys.stderr)
            return 2
        print(mint_service_token(secret, args.service, ttl_seconds=args.ttl))
        return 0
    if not (args.user and args.role):
        print("devstack token: give --user and --role, or --service", file=sys.stderr)
        return 2
    print(mint_token(secret, args.user, args.role, args.team, ttl_seconds=args.ttl))
    return 0


def topics(args: argparse.Namespace) -> int:
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", f"127.0.0.1:{KAFKA_PORT}")
    for name in asyncio.run(create_topics(bootstrap, args.prefix, args.partitions)):
        print(name)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="devstack", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("up", help="start the whole platform with demo data")
    p.add_argument("--reset", action="store_true", help="delete local data first")
    p.add_argument("--no-demo", action="store_true", help="do not load the demo data set")
    p.set_defaults(run=up)
    sub.add_parser("down", help="stop everything").set_defaults(run=down)
    sub.add_parser("status", help="what runs").set_defaults(run=status)
    sub.add_parser("reset", help="stop and delete local data").set_defaults(run=reset)
    p = sub.add_parser("token", help="mint a dev bearer token")
    p.add_argument("--user")
    p.add_argument("--role", choices=ROLES)
    p.add_argument("--service", choices=SYSTEMS, help="a system's token instead of a person's")
    p.add_argument("--team", action="append", default=[])
    p.add_argument("--ttl", type=int, default=12 * 3600, help="seconds")
    p.set_defaults(run=token)
    p = sub.add_parser("topics", help="create the catalogue's topics")
    p.add_argument("--prefix", default="")
    p.add_argument("--partitions", type=int, default=None)
    p.set_defaults(run=topics)
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except ServerStartError as exc:
        print(f"\n{exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
