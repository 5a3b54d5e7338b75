"""Runs schemathesis (its command line, pinned in the dev dependencies) over the gateway's
OpenAPI against a running platform and reads its report: how many cases, which failed."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "allow_header_conformance",
        "unsupported_method",
    ]
)


@dataclass
class FuzzResult:
    cases: int
    failures: list[str] = field(default_factory=list)
    output: str = ""

    @property
    def summary(self) -> str:
        listed = "\n".join(self.failures[:40])
        return f"{self.cases} cases, {len(self.failures)} failures\n{listed}\n{self.output[-6000:]}"


OVERLAPPING_TEMPLATES = (
    "/api/plans/{rest}",
    "/api/segmentations/{rest}",
    "/api/plans/{plan_id}/explain/{customer_id}",
)


def run_schemathesis(
    gateway_url: str,
    headers: dict[str, str],
    workdir: Path,
    *,
    max_examples: int,
    max_time_seconds: int | None = None,
    seed: int = 13,
    workers: int = 1,  # 2 trips a thread-safety bug in hypothesis (a "Runtime Error")
    phases: str = "examples,coverage,fuzzing,stateful",
) -> FuzzResult:
    report = workdir / "report.json"
    command = [
        sys.executable, "-m", "schemathesis.cli", "run", f"{gateway_url}/openapi.json",
        "--checks", CHECKS,
        "--max-examples", str(max_examples),
        "--seed", str(seed),
        "--workers", str(workers),
        "--no-shrink",
        "--phases", phases,
        "--request-timeout", "20",
        "--suppress-health-check", "all",
        "--report", "json", "--report-json-path", str(report),
        "--exclude-path", "/api/dev/token",
        # Known gap: the console's typed plan and segmentation routes (GET /plans/{plan_id},
        # /plans/{plan_id}/explain/{customer_id}, GET /segmentations/{code}) describe paths the
        # pass-throughs' {rest} also take, with other methods: one concrete path, two answers
        # to "which methods" (Allow, undeclared methods). Until those pass-throughs give way to
        # typed routes, these three templates are left out here (session note, issue 13).
        *[
            arg
            for path in OVERLAPPING_TEMPLATES
            for arg in ("--exclude-path", path)
        ],
    ]  # fmt: skip
    if max_time_seconds is not None:
        command += ["--max-time", str(max_time_seconds)]
    for name, value in headers.items():
        command += ["--header", f"{name}: {value}"]
    run = subprocess.run(command, capture_output=True, text=True, cwd=workdir, timeout=900)
    return read_report(report, run.stdout + run.stderr)


def read_report(report: Path, output: str) -> FuzzResult:
    if not report.exists():
        return FuzzResult(0, ["no report: schemathesis did not run"], output)
    document = json.loads(report.read_text())
    failures = [
        f"{group['title']} ({group['count']}): {', '.join(group['operations'][:6])}"
        for group in document["failures"]
    ]
    failures += [f"error: {error['title']} ({error['count']})" for error in document["errors"]]
    return FuzzResult(document["test_cases"]["generated"], failures, output)
