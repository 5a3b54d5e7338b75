"""CSV export of any customer search: every match, streamed page by page."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from typing import Any

from contracts.customers import Customer, CustomerSearch

COLUMNS = (
    "id", "mdm_code", "status", "kind", "customer_type", "salutation", "first_name",
    "middle_name", "last_name", "organization", "job_title", "date_of_birth", "gender",
    "marital_status", "email", "sms", "phone", "work_phone", "alternate_phone", "fax",
    "preferred_contact_method", "content_type", "alt_customer_id", "external",
    "external_reference", "address_line1", "address_line2", "address_line3", "city", "state",
    "postal_code", "country", "brick", "suppressions", "traits", "created_at", "updated_at",
)  # fmt: skip
ADDRESS_COLUMNS = {
    "address_line1": "line1",
    "address_line2": "line2",
    "address_line3": "line3",
    "city": "city",
    "state": "state",
    "postal_code": "postal_code",
    "country": "country",
    "brick": "brick",
}
PAGE = 500
# A cell starting with one of these is a formula to a spreadsheet: quote it (OWASP CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe(value: Any) -> str:
    if value is None:
        return ""
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def row(customer: Customer) -> list[str]:
    data = customer.model_dump(mode="json")
    primary = next((a for a in customer.addresses if a.primary), None) or (
        customer.addresses[0] if customer.addresses else None
    )
    address = primary.model_dump(mode="json") if primary else {}
    data["suppressions"] = ";".join(s.type for s in customer.suppressions)
    data["traits"] = ";".join(customer.traits)
    for column, field in ADDRESS_COLUMNS.items():
        data[column] = address.get(field)
    return [safe(data.get(column)) for column in COLUMNS]


async def csv_lines(search: Any, criteria: CustomerSearch) -> AsyncIterator[str]:
    """The header, then every match of ``criteria`` (its limit and cursor are ignored)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    cursor = None
    while True:
        page = await search(criteria.model_copy(update={"limit": PAGE, "cursor": cursor}))
        for customer in page.items:
            writer.writerow(row(customer))
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        cursor = page.next_cursor
        if cursor is None:
            return
