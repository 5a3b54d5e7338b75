"""A customer created a moment ago may be unknown yet to the services that learn of customers by
events. The gateway asks such a service again after short pauses when the customer service knows
the customer, answers 503 with Retry-After if it still does not, and passes on a 404 for a
customer nobody knows."""

from __future__ import annotations

import httpx
import pytest
from gateway.upstream import Upstreams
from servicekit.auth import Identity
from servicekit.problems import Problem

ANA = Identity("ana", "admin", token="t")
URLS = {
    "customer": "http://customer",
    "segmentation": "http://segmentation",
    "loyalty": "http://loyalty",
}


def not_known(customer_id: str, code: str = "customer-not-found") -> httpx.Response:
    return httpx.Response(
        404,
        json={
            "type": f"https://cdp.example/problems/{code}",
            "title": "Not found",
            "status": 404,
            "detail": f"customer {customer_id} is not known to segmentation",
            "customer_id": customer_id,
        },
    )


class Services:
    """Segmentation learns of c1 after ``learns_after`` requests; the master knows c1 only."""

    def __init__(self, learns_after: int) -> None:
        self.learns_after = learns_after
        self.calls: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(f"{request.url.host} {request.method} {request.url.path}")
        customer_id = request.url.path.split("/")[2]
        if request.url.host == "customer":
            return httpx.Response(200 if customer_id == "c1" else 404, json={})
        if customer_id == "c1" and len(self.calls) > self.learns_after:
            return httpx.Response(200, json={"saved": True})
        if request.url.host == "loyalty":  # not enrolled yet
            return not_known(customer_id, "member-not-found")
        return not_known(customer_id)


def upstreams(services: Services) -> Upstreams:
    return Upstreams(
        URLS, 1.0, transport=httpx.MockTransport(services), catch_up_pauses=(0.01, 0.01, 0.01)
    )


async def test_a_replica_that_catches_up_answers_the_request_again() -> None:
    services = Services(learns_after=3)
    answer = await upstreams(services).call("segmentation", "PUT", "/profiles/c1/pot", ANA)
    assert answer.status_code == 200 and answer.json() == {"saved": True}
    assert services.calls == [
        "segmentation PUT /profiles/c1/pot",
        "customer GET /customers/c1",  # asked once
        "segmentation PUT /profiles/c1/pot",
        "segmentation PUT /profiles/c1/pot",
    ]


async def test_a_replica_still_behind_is_a_503_with_retry_after() -> None:
    services = Services(learns_after=99)
    with pytest.raises(Problem) as raised:
        await upstreams(services).call("segmentation", "PUT", "/profiles/c1/pot", ANA)
    problem = raised.value
    assert (problem.status, problem.code, problem.headers) == (
        503,
        "customer-not-yet-known",
        {"Retry-After": "1"},
    )
    assert problem.extensions == {"service": "segmentation", "customer_id": "c1"}
    assert services.calls.count("segmentation PUT /profiles/c1/pot") == 4  # once + 3 pauses


async def test_a_customer_nobody_knows_is_a_404_at_once() -> None:
    services = Services(learns_after=0)
    answer = await upstreams(services).call("segmentation", "GET", "/profiles/c2", ANA)
    assert answer.status_code == 404
    assert services.calls == ["segmentation GET /profiles/c2", "customer GET /customers/c2"]


async def test_without_catch_up_the_404_comes_back_as_it_is() -> None:
    services = Services(learns_after=3)
    answer = await upstreams(services).call(
        "segmentation", "GET", "/profiles/c1", ANA, catch_up=False
    )
    assert answer.status_code == 404 and services.calls == ["segmentation GET /profiles/c1"]


async def test_a_member_not_enrolled_yet_is_waited_for_too() -> None:
    services = Services(learns_after=2)
    answer = await upstreams(services).call("loyalty", "GET", "/members/c1", ANA)
    assert answer.status_code == 200
    assert services.calls[:2] == ["loyalty GET /members/c1", "customer GET /customers/c1"]
