"""The shapes of static lists and groups (seeds 002, 003) as the lists service answers them, and
of saved searches as the customer service does, for the OpenAPI document and the console's
generated client. Like ``targeting_models``, each lists the fields the console relies on and
allows the rest, so a service may add fields."""

from __future__ import annotations

import builtins
from typing import Any, Literal

from contracts.lists_events import Reason
from pydantic import BaseModel, Field

from gateway.targeting_models import Open


class ListOwners(Open):
    teams: list[str] = Field(default_factory=list)
    reps: list[str] = Field(default_factory=list)


class StaticList(Open):
    """A static list or a group (kind), with the rules applied when it is used."""

    id: str
    name: str
    description: str | None = None
    usage: str = Field(description="email, mail, phone, sms, fax or other")
    source: str = Field(description="How its customers came: manual, search, import, fulfilment")
    kind: Literal["static", "group"] = "static"
    excluded_suppressions: list[str] = Field(
        default=[], description="Customers with any of these are left out"
    )
    required_traits: list[str] = Field(default=[], description="Customers must have all of these")
    owners: ListOwners = Field(default_factory=ListOwners)
    saved_search_id: str | None = Field(
        default=None, description="The saved search whose matches a group takes in"
    )
    available_to_all: bool = False
    version: int
    created_by: str | None = None
    created_at: str | None = None


class ListSummary(BaseModel):
    """A list with how it would be used now."""

    list: StaticList
    customers: int = Field(description="Customers on the list")
    included: int = Field(description="Customers its rules keep")
    excluded: int = Field(description="Customers its rules leave out")
    excluded_by_reason: dict[str, int] = Field(
        description="Reason code (suppressed, missing-traits, inactive, not-found) -> customers"
    )


class ListMember(Open):
    customer_id: str
    name: str | None = None
    mdm_code: str | None = None
    included: bool = Field(description="Whether the list's rules keep the customer")
    reasons: list[Reason] = Field(default=[], description="Why the customer is left out")
    added_at: str | None = None
    source: str | None = None


class ListMemberPage(BaseModel):
    items: list[ListMember]
    next_cursor: str | None = Field(default=None, description="Pass as cursor for the next page")


class CustomersAdded(BaseModel):
    added: int
    already_listed: int
    unknown: list[str] = Field(description="Ids of no known customer: not added")


class MatchingAdded(CustomersAdded):
    matched: int = Field(description="Customers the group's saved search finds now")


class ListFromSearch(BaseModel):
    """The count of the customers found; with ``created``, the list made of them."""

    count: int
    created: bool
    list: StaticList | None = None
    added: int | None = None
    already_listed: int | None = None
    unknown: builtins.list[str] | None = None  # builtins: the field "list" shadows the type


class SavedSearch(Open):
    id: str
    name: str
    description: str | None = None
    criteria: dict[str, Any] = Field(description="As for GET /customers")
    teams: list[str] = Field(default_factory=list)
    owner: str
