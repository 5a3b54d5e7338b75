"""Body limits per route on the gateway and on the services' own ports: a JSON body past
1 MiB is a 413 naming the limit; a CSV upload of 100,000 rows passes both."""

from __future__ import annotations

import httpx
import pytest

pytestmark = [pytest.mark.servers, pytest.mark.e2e]

MIB = 1024 * 1024


def csv_of(rows: int) -> bytes:
    row = "CUST-{:06d},00000000-0000-0000-0000-{:012d},Maria Popescu,12 Main Street,Cluj-Napoca\r\n"
    header = "mdm_code,customer_id,name,street,city\r\n"
    return (header + "".join(row.format(i, i) for i in range(rows))).encode()


@pytest.mark.parametrize(
    ("port", "path"), [("gateway", "/api/customers"), ("customer", "/customers")]
)
async def test_a_json_body_past_one_mib_is_a_413_naming_the_limit(
    platform, port: str, path: str
) -> None:
    body = b'{"first_name": "' + b"x" * MIB + b'"}'
    async with httpx.AsyncClient(base_url=platform.url(port), headers=platform.auth()) as client:
        refused = await client.post(
            path, content=body, headers={"content-type": "application/json"}
        )
    assert refused.status_code == 413
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["limit"] == MIB
    assert "the limit of JSON bodies" in refused.json()["detail"]


@pytest.mark.parametrize(("port", "path"), [("gateway", "/api/lists"), ("lists", "/lists")])
async def test_a_csv_of_100000_rows_passes_the_limits_and_a_larger_one_is_refused(
    platform, port: str, path: str
) -> None:
    data = csv_of(100_000)
    assert len(data) > 5 * MIB
    async with httpx.AsyncClient(
        base_url=platform.url(port), headers=platform.auth(), timeout=30
    ) as client:
        # no such list: the body was taken whole, then the list was looked up
        taken = await client.post(f"{path}/no-such-list/import", content=data)
        assert taken.status_code == 404, taken.text
        refused = await client.post(f"{path}/no-such-list/import", content=data * 6)
        assert refused.status_code == 413
        assert "the limit of CSV uploads" in refused.json()["detail"]
