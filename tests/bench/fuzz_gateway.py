"""schemathesis over the gateway's OpenAPI at a larger size than the test suite's run: the whole
platform as real processes on the local servers, an admin's token, the same checks as
``tests/e2e/test_schemathesis.py`` (no server error, no undeclared status code or content type,
405 with ``Allow``). Prints the cases generated and every failure group.

    uv run python tests/bench/fuzz_gateway.py [--max-examples 30] [--max-time 600] [--hold]

``--hold`` keeps the platform up after the run (until Ctrl-C) and prints its gateway URL and a
token, to rerun schemathesis by hand.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import uuid
from pathlib import Path

from benchkit import run_deployment
from devstack.process import ServerProcess
from devstack.servers import provide
from devstack.services import BACKENDS, service_process, wait_ready
from servicekit.auth import mint_token

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.e2e.fuzzing import run_schemathesis

SECRET = "bench-secret-" + uuid.uuid4().hex
# one token from one address at full speed: the gateway's rate limits would answer most calls
# 429 and leave the routes behind untested
UNLIMITED = {
    "CDP_RATE_LIMIT_IDENTITY_PER_SECOND": "100000",
    "CDP_RATE_LIMIT_IDENTITY_BURST": "1000000",
    "CDP_RATE_LIMIT_ADDRESS_PER_SECOND": "100000",
    "CDP_RATE_LIMIT_ADDRESS_BURST": "1000000",
}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=30)
    parser.add_argument("--max-time", type=int, default=None, help="seconds")
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument("--hold", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, provide(Path(tmp)) as servers:
        deployment = await run_deployment(servers, SECRET)
        ports = deployment.ports(fixed=False)
        processes: dict[str, ServerProcess] = {}
        try:
            for name in (*BACKENDS, "gateway"):
                processes[name] = service_process(
                    name, {**deployment.env(name, ports), **UNLIMITED}, Path(tmp)
                ).start()
            for name, process in processes.items():
                await asyncio.to_thread(wait_ready, process, ports[name])
            url = f"http://127.0.0.1:{ports['gateway']}"
            headers = {"authorization": f"Bearer {mint_token(SECRET, 'fuzz', 'admin')}"}
            if args.hold:
                print(f"gateway {url}\nlogs {tmp}\n{headers['authorization']}", flush=True)
            started = time.monotonic()
            result = await asyncio.to_thread(
                run_schemathesis,
                url,
                headers,
                Path(tmp),
                max_examples=args.max_examples,
                max_time_seconds=args.max_time,
                seed=args.seed,
            )
            took = time.monotonic() - started
            print(result.output)
            print(
                f"seed {args.seed}, max examples {args.max_examples}: {result.cases} cases in "
                f"{took:.0f} s, {len(result.failures)} failure groups"
            )
            for failure in result.failures:
                print(" -", failure)
            if args.hold:
                await asyncio.Event().wait()  # until Ctrl-C
        finally:
            for process in processes.values():
                process.stop()


if __name__ == "__main__":
    asyncio.run(main())
