"""The gateway's public HTTP API under /api: authenticated, then routed to the services."""

from __future__ import annotations

from typing import Annotated, Any

from contracts.customers import Customer, CustomerCreate
from fastapi import APIRouter, Depends, Query, Request, Response
from servicekit.auth import CurrentIdentity

from gateway.upstream import Upstreams
from gateway.view import customer_360

router = APIRouter(prefix="/api", tags=["customers"])


def upstreams(request: Request) -> Upstreams:
    return request.app.state.upstreams


Services = Annotated[Upstreams, Depends(upstreams)]


@router.post(
    "/customers",
    status_code=201,
    response_model=Customer,
    responses={
        409: {"description": "MDM code already used"},
        422: {"description": "Invalid input (problem details name the field)"},
    },
)
async def create_customer(
    body: CustomerCreate, services: Services, identity: CurrentIdentity
) -> Response:
    return await services.forward(
        "customer",
        "POST",
        "/customers",
        identity,
        json=body.model_dump(mode="json", exclude_unset=True),
    )


@router.get("/customers")
async def find_customers(
    services: Services,
    identity: CurrentIdentity,
    mdm_code: Annotated[str, Query(min_length=1, max_length=64)],
) -> Response:
    return await services.forward(
        "customer", "GET", "/customers", identity, params={"mdm_code": mdm_code}
    )


@router.get("/customers/{customer_id}", response_model=Customer)
async def get_customer(customer_id: str, services: Services, identity: CurrentIdentity) -> Response:
    return await services.forward("customer", "GET", f"/customers/{customer_id}", identity)


@router.get("/customers/{customer_id}/360")
async def get_customer_360(
    customer_id: str, request: Request, services: Services, identity: CurrentIdentity
) -> dict[str, Any]:
    timeout = request.app.state.settings.view_part_timeout_seconds
    return await customer_360(services, customer_id, identity, timeout)
