"""The customer record as other components see it: API models and the event-carried state.

A person is e.g. a health-care professional or a retail consumer; an account is an organisation
(a hospital, a pharmacy). Field names follow the seed manuals (shared/seeds 003, 004).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from contracts.emails import Email
from contracts.limits import INT64_MAX
from contracts.text import plain

CustomerKind = Literal["person", "account"]
CustomerStatus = Literal["active", "suspended", "void"]
CustomerType = Literal["prospect", "customer", "account"]
ContactMethod = Literal["email", "sms", "phone", "mail", "fax", "none"]
ContentType = Literal["short_text", "html", "text", "unknown"]
Gender = Literal["female", "male", "other", "unknown"]
# Seed 003's statuses; "partnered" is the one value that stood for both of the last two before.
MaritalStatus = Literal[
    "single", "married", "divorced", "widowed", "de_facto", "common_law", "partnered", "unknown"
]

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
PhoneNumber = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9][0-9 ()./-]{4,24}$"),
]
MdmCode = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
]
Brick = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")
]


# Models shared by events and API reads ignore unknown fields (producers may add some);
# the API's input models (AddressInput, CustomerCreate) reject them with a 422.


class Address(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    line1: ShortText
    line2: ShortText | None = None
    line3: ShortText | None = Field(default=None, description="The area (seed 003's Address 3)")
    city: Name | None = None
    state: Name | None = None
    province: Name | None = None
    postal_code: Annotated[str, StringConstraints(strip_whitespace=True, max_length=16)] | None = (
        None
    )
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] | None = Field(
        default=None, description="ISO 3166-1 alpha-2 code"
    )
    brick: Brick | None = Field(default=None, description="The geographic sales unit it lies in")
    primary: bool = False


class CustomerFields(BaseModel):
    """Every editable field of the customer record."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    kind: CustomerKind = "person"
    customer_type: CustomerType = "customer"
    salutation: Annotated[str, StringConstraints(strip_whitespace=True, max_length=20)] | None = (
        None
    )
    first_name: Name | None = None
    middle_name: Name | None = None
    last_name: Name | None = None
    organization: ShortText | None = None
    job_title: ShortText | None = None
    date_of_birth: date | None = None
    gender: Gender | None = None
    marital_status: MaritalStatus | None = None
    email: Email | None = None
    sms: PhoneNumber | None = None
    phone: PhoneNumber | None = None
    work_phone: PhoneNumber | None = None
    alternate_phone: PhoneNumber | None = None
    fax: PhoneNumber | None = None
    preferred_contact_method: ContactMethod | None = None
    content_type: ContentType = "unknown"
    addresses: Annotated[list[Address], Field(max_length=20)] = []
    alt_customer_id: ShortText | None = None
    external: bool = False
    external_reference: ShortText | None = None
    account_id: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = Field(
        default=None, description="The account (a customer of kind account) a person belongs to"
    )

    @model_validator(mode="after")
    def _one_primary_address(self) -> CustomerFields:
        if sum(1 for a in self.addresses if a.primary) > 1:
            raise PydanticCustomError(
                "one_primary_address",
                "at most one address can be primary",
                {"fields": ["addresses"]},
            )
        if self.date_of_birth and self.date_of_birth > date.today():
            raise PydanticCustomError(
                "date_in_future", "date_of_birth lies in the future", {"fields": ["date_of_birth"]}
            )
        return self


# What a person types that is shown as text: refused with control characters (contracts.text).
# Only the API's input models check it: stored records and events are read as they are.
_TYPED_ADDRESS = ("line1", "line2", "line3", "city", "state", "province", "postal_code")
_TYPED_FIELDS = (
    "salutation",
    "first_name",
    "middle_name",
    "last_name",
    "organization",
    "job_title",
    "alt_customer_id",
    "external_reference",
)


def _plain(cls: type, value: str | None) -> str | None:
    return plain(value)


class AddressInput(Address):
    model_config = ConfigDict(extra="forbid", frozen=True)

    _plain_text = field_validator(*_TYPED_ADDRESS)(_plain)


class CustomerEdit(CustomerFields):
    """A customer's editable fields after a partial update (PATCH): the stored fields with the
    request's fields laid over them (``null`` clears a field), validated as a whole."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    addresses: Annotated[list[AddressInput], Field(max_length=20)] = []  # type: ignore[assignment]

    _plain_text = field_validator(*_TYPED_FIELDS)(_plain)


class CustomerCreate(CustomerFields):
    """A customer entered by hand (seed 004): needs an email address or an SMS number."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    addresses: Annotated[list[AddressInput], Field(max_length=20)] = []  # type: ignore[assignment]
    mdm_code: MdmCode | None = None

    _plain_text = field_validator(*_TYPED_FIELDS)(_plain)

    @model_validator(mode="after")
    def _reachable(self) -> CustomerCreate:
        # ctx["fields"] names the fields at fault in the problem details
        if not self.email and not self.sms:
            raise PydanticCustomError(
                "contact_required",
                "a customer needs an email address or an SMS number",
                {"fields": ["email", "sms"]},
            )
        if self.kind == "person" and not (self.first_name or self.last_name):
            raise PydanticCustomError(
                "name_required",
                "a person needs a first or last name",
                {"fields": ["first_name", "last_name"]},
            )
        if self.kind == "account" and not self.organization:
            raise PydanticCustomError(
                "organization_required",
                "an account needs an organization name",
                {"fields": ["organization"]},
            )
        return self


Slug = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, to_lower=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9_ -]{0,49}$"
    ),
]


Day = date  # for fields named "date", whose name would shadow the type in the class body


class Suppression(BaseModel):
    """Excludes the customer from a kind of marketing use (e.g. ``do-not-mail``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Slug
    date: Day = Field(default_factory=date.today)
    reason: ShortText | None = None


class Customer(CustomerFields):
    """The stored record as read by API clients and carried by customer events."""

    id: str
    suppressions: list[Suppression] = Field(default_factory=list)
    traits: list[str] = Field(default_factory=list, description="Trait names, sorted")
    merged_ids: list[str] = Field(
        default_factory=list, description="Customers merged into this one (MDM merges)"
    )
    merged_into: str | None = Field(
        default=None, description="Set on a void customer that was merged into another"
    )
    version: int = Field(
        ge=1, le=INT64_MAX, description="Increases with every change; used for concurrency"
    )
    status: CustomerStatus = "active"
    mdm_code: str | None = None
    created_at: datetime
    updated_at: datetime


SortKey = Literal["last_name", "first_name", "organization", "created_at", "updated_at", "mdm_code"]
SearchText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class CustomerSearch(BaseModel):
    """Search criteria (seed 003's customer search plus MDM code, email and brick), combined with
    AND. Text criteria match case- and accent-insensitively from the start of the value (or of any
    word, for ``q``); phone criteria match digits from the start of any of the customer's numbers.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    q: SearchText | None = Field(
        default=None, description="Quick search: every word prefixes a name, email, phone or code"
    )
    customer_id: SearchText | None = Field(default=None, description="Exact id (the number)")
    mdm_code: SearchText | None = None
    alt_customer_id: SearchText | None = None
    salutation: SearchText | None = Field(default=None, description="The title, e.g. Dr.")
    name: SearchText | None = Field(default=None, description="First, middle or last name")
    first_name: SearchText | None = None
    middle_name: SearchText | None = None
    last_name: SearchText | None = None
    organization: SearchText | None = None
    email: SearchText | None = None
    phone: SearchText | None = Field(default=None, description="SMS, phone, work, alternate or fax")
    home_phone: SearchText | None = Field(default=None, description="The phone number alone")
    work_phone: SearchText | None = Field(default=None, description="The work phone alone")
    mobile_phone: SearchText | None = Field(default=None, description="The SMS number alone")
    address: SearchText | None = Field(default=None, description="Address line 1, 2 or 3")
    city: SearchText | None = None
    state: SearchText | None = None
    postal_code: SearchText | None = None
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] | None = None
    brick: Brick | None = None
    kind: CustomerKind | None = None
    customer_type: CustomerType | None = None
    status: CustomerStatus | None = None
    account_id: str | None = Field(default=None, description="The people of this account")
    gender: Gender | None = None
    marital_status: MaritalStatus | None = None
    preferred_contact_method: ContactMethod | None = None
    external: bool | None = None
    date_of_birth: date | None = None
    born_from: date | None = Field(default=None, description="Date of birth on or after")
    born_to: date | None = Field(default=None, description="Date of birth on or before")
    customer_ids: Annotated[list[SearchText], Field(max_length=100_000)] | None = Field(
        default=None,
        description="Only these customers (how the gateway searches within a list's customers)",
    )
    sort: SortKey = "last_name"
    order: Literal["asc", "desc"] = "asc"
    limit: Annotated[int, Field(ge=1, le=500)] = 50
    cursor: Annotated[str, StringConstraints(max_length=500)] | None = Field(
        default=None, description="next_cursor of the previous page"
    )


class CustomerPage(BaseModel):
    items: list[Customer]
    next_cursor: str | None = Field(default=None, description="Pass as cursor for the next page")
