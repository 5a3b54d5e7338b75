"""schemathesis over the gateway's OpenAPI, against the running platform, at a bounded size:
no server error, no status code or content type the document does not declare, and every 405
says which methods are allowed. A larger run: ``uv run python tests/bench/fuzz_gateway.py``."""

from __future__ import annotations

import pytest

from tests.e2e.fuzzing import run_schemathesis

pytestmark = [pytest.mark.servers, pytest.mark.e2e]


def test_the_gateway_answers_as_its_openapi_says(platform, tmp_path) -> None:
    result = run_schemathesis(
        platform.gateway_url, platform.auth(), tmp_path, max_examples=3, max_time_seconds=90
    )
    assert result.cases > 300, result.summary
    assert result.failures == [], result.summary
