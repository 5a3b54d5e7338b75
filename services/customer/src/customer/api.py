"""The customer service's HTTP API: parse, call a use case, shape the response."""

from __future__ import annotations

from typing import Annotated

from contracts.customers import Customer, CustomerCreate
from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel
from servicekit.auth import CurrentIdentity

from customer.handlers import CustomerService

router = APIRouter(prefix="/customers", tags=["customers"])


def service(request: Request) -> CustomerService:
    return request.app.state.customers


Customers = Annotated[CustomerService, Depends(service)]


@router.post("", status_code=201, response_model=Customer)
async def create_customer(
    body: CustomerCreate, customers: Customers, identity: CurrentIdentity
) -> Customer:
    return await customers.register(body)


class CustomerPage(BaseModel):
    items: list[Customer]


@router.get("", response_model=CustomerPage)
async def find_customers(
    customers: Customers,
    identity: CurrentIdentity,
    mdm_code: Annotated[str, Query(min_length=1, max_length=64)],
) -> CustomerPage:
    """Look a customer up by MDM code (the full search arrives with the customer issue)."""
    found = await customers.by_mdm_code(mdm_code)
    return CustomerPage(items=[found] if found else [])


@router.get("/{customer_id}", response_model=Customer)
async def get_customer(
    customer_id: str, customers: Customers, identity: CurrentIdentity
) -> Customer:
    return await customers.get(customer_id)
