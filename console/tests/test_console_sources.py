"""The console cannot drift from the API: its OpenAPI copy and generated client are current.
Its own logic's unit tests (Vitest) run here too, so ``./dev test`` runs them.

These need the console's node_modules, which ``./dev test`` installs (npm ci) before pytest.
"""

from __future__ import annotations

import difflib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from gateway import openapi

CONSOLE = Path(__file__).resolve().parents[1]
BIN = CONSOLE / "node_modules" / ".bin"
REGENERATE = "cd console && npm run generate"


def _tool(name: str) -> Path:
    tool = BIN / name
    if not tool.exists():
        pytest.fail(f"{tool} is missing: ./dev test installs the console's packages (npm ci)")
    return tool


def _same(current: str, path: Path) -> None:
    checked_in = path.read_text()
    if current != checked_in:
        diff = difflib.unified_diff(
            checked_in.splitlines(), current.splitlines(), "checked in", "generated", lineterm=""
        )
        pytest.fail(
            f"{path.relative_to(CONSOLE.parent)} is out of date; run `{REGENERATE}`:\n"
            + "\n".join(list(diff)[:40])
        )


def test_the_checked_in_openapi_is_the_gateways() -> None:
    _same(openapi.text(), CONSOLE / "openapi.json")


def test_the_generated_client_is_current(tmp_path: Path) -> None:
    generated = tmp_path / "schema.ts"
    subprocess.run(
        [_tool("openapi-typescript"), CONSOLE / "openapi.json", "-o", generated],
        cwd=CONSOLE,
        check=True,
        capture_output=True,
        timeout=60,
    )
    _same(generated.read_text(), CONSOLE / "src" / "api" / "schema.ts")


def test_the_consoles_unit_tests_pass() -> None:
    assert shutil.which("node"), "Node.js runs the console's unit tests"
    ran = subprocess.run(
        [_tool("vitest"), "run", "--reporter=dot"],
        cwd=CONSOLE,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "CI": "true", "NO_COLOR": "1"},
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
