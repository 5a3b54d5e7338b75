"""The alert rules and the Grafana dashboard (deploy/observability) agree with what the services
export: every expression parses as PromQL (promql-parser, Prometheus's grammar in Rust), every
metric it reads is one servicekit.metrics defines, and every alert says how bad and what to do.
Where `promtool` is installed (README, "Running in production"), it checks the rules too."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import promql_parser
import pytest
import yaml
from prometheus_client import REGISTRY
from servicekit import metrics

OBSERVABILITY = Path(__file__).resolve().parents[2] / "deploy" / "observability"
METRIC = re.compile(r"\b(cdp_[a-z0-9_]+)")
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}


def exported() -> set[str]:
    """The series names servicekit.metrics defines (a family with no sample yet counts too)."""
    assert metrics.HTTP_REQUESTS is not None  # the module's metrics are registered
    names = set()
    for family in REGISTRY.collect():
        for suffix in SUFFIXES.get(family.type, ()):
            names.add(family.name + suffix)
    return {name for name in names if name.startswith("cdp_")}


def rules() -> list[dict[str, Any]]:
    loaded = yaml.safe_load((OBSERVABILITY / "alerts.yml").read_text())
    return [rule for group in loaded["groups"] for rule in group["rules"]]


def dashboard_exprs() -> list[str]:
    board = json.loads((OBSERVABILITY / "dashboard.json").read_text())
    return [target["expr"] for panel in board["panels"] for target in panel["targets"]]


def test_every_expression_parses_and_reads_only_exported_metrics() -> None:
    known = exported()
    expressions = [rule["expr"] for rule in rules()] + dashboard_exprs()
    assert len(expressions) >= 15
    for expr in expressions:
        promql_parser.parse(expr)  # raises on a syntax error
        used = set(METRIC.findall(expr))
        assert used and used <= known, (expr, sorted(used - known))


def test_the_rules_cover_lag_dead_letters_errors_and_unpublished_events() -> None:
    read = {name for rule in rules() for name in METRIC.findall(rule["expr"])}
    assert {
        "cdp_consumer_lag",
        "cdp_events_dead_lettered_total",
        "cdp_http_requests_total",
        "cdp_outbox_documents_pending",
    } <= read
    for rule in rules():
        assert rule["labels"]["severity"] in ("warning", "critical"), rule["alert"]
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]


def test_the_dashboard_shows_every_metric_the_services_export() -> None:
    panels = json.loads((OBSERVABILITY / "dashboard.json").read_text())["panels"]
    assert len({panel["id"] for panel in panels}) == len(panels)
    shown = {name for expr in dashboard_exprs() for name in METRIC.findall(expr)}
    families = {f.name for f in REGISTRY.collect() if f.name.startswith("cdp_")}
    missing = {family for family in families if not any(name.startswith(family) for name in shown)}
    assert missing == set()


def promtool() -> str | None:
    return shutil.which("promtool") or next(
        (str(p) for p in [Path.home() / "go" / "bin" / "promtool"] if p.exists()), None
    )


NO_PROMTOOL = "promtool is not installed (README: Running in production)"


@pytest.mark.skipif(promtool() is None, reason=NO_PROMTOOL)
def test_promtool_accepts_the_rules() -> None:
    checked = subprocess.run(
        [str(promtool()), "check", "rules", str(OBSERVABILITY / "alerts.yml")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
