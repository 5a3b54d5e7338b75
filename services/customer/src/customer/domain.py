"""Customer rules as plain Python: what a registration or an MDM event does to a record.

A record here is the stored dict minus its outbox. ``version`` counts every change (optimistic
concurrency, event ordering); ``mdm_version`` is the master's own version of the MDM fields.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from contracts.customer_events import CustomerDeactivated, CustomerRegistered, CustomerUpdated
from contracts.customers import Customer, CustomerCreate
from contracts.events import Event
from contracts.mdm import MdmCustomerDeactivated, MdmCustomerUpserted

MDM_ID_NAMESPACE = uuid.UUID("0b9f5c4e-3a8e-4f63-9a57-6d1b3b0c2f10")
SYSTEM_FIELDS = ("_id", "version", "status", "mdm_code", "mdm_version", "created_at", "updated_at")


class Stale(Exception):
    """The event is not newer than what the record holds: applying it changes nothing."""


class UnknownCustomer(Exception):
    """The event refers to a customer this master has never seen."""


def customer_id_for_mdm_code(mdm_code: str) -> str:
    """Customers first seen through MDM get an id derived from their code, so a replay after a
    crash addresses the same document."""
    return str(uuid.uuid5(MDM_ID_NAMESPACE, mdm_code))


def register(command: CustomerCreate, now: datetime) -> dict[str, Any]:
    record = command.model_dump(mode="json", exclude_none=True)
    return {
        **record,
        "_id": str(uuid.uuid4()),
        "version": 1,
        "status": "active",
        "created_at": now,
        "updated_at": now,
    }


def to_customer(record: dict[str, Any]) -> Customer:
    return Customer.model_validate({**record, "id": record["_id"]})


@dataclass
class Change:
    """A record after one or more events, and the events to publish for it."""

    record: dict[str, Any]
    previous_version: int | None  # None: the record is new
    events: list[Event] = field(default_factory=list)


def apply_mdm(
    record: dict[str, Any] | None,
    event: MdmCustomerUpserted | MdmCustomerDeactivated,
    now: datetime,
) -> Change:
    """Apply one MDM event to the current record (None if unknown). Raises Stale or
    UnknownCustomer when the event changes nothing."""
    if record is not None and record.get("mdm_version", -1) >= event.version:
        raise Stale(f"{event.mdm_code}: version {event.version} <= {record.get('mdm_version')}")
    if isinstance(event, MdmCustomerDeactivated):
        if record is None:
            raise UnknownCustomer(f"no customer with MDM code {event.mdm_code}")
        updated = {
            **record,
            "status": "void",
            "mdm_version": event.version,
            "version": record["version"] + 1,
            "updated_at": now,
        }
        change = Change(updated, record["version"])
        change.events.append(CustomerDeactivated(customer=to_customer(updated), origin="mdm"))
        return change
    fields = event.record.model_dump(mode="json", exclude_none=True)
    if record is None:
        new = {
            **fields,
            "_id": customer_id_for_mdm_code(event.mdm_code),
            "version": 1,
            "status": "active",
            "mdm_code": event.mdm_code,
            "mdm_version": event.version,
            "created_at": now,
            "updated_at": now,
        }
        change = Change(new, None)
        change.events.append(CustomerRegistered(customer=to_customer(new), origin="mdm"))
        return change
    kept = {k: v for k, v in record.items() if k in SYSTEM_FIELDS}
    updated = {**kept, **fields, "mdm_version": event.version}
    changed = sorted(
        k
        for k in set(fields) | (set(record) - set(SYSTEM_FIELDS))
        if record.get(k) != updated.get(k)
    )
    if record.get("status") == "void":
        updated["status"] = "active"  # the master re-published it: it is live again
        changed.append("status")
    if not changed:
        # Same data under a newer master version: remember the version, publish nothing.
        return Change({**record, "mdm_version": event.version}, record["version"])
    updated.update(version=record["version"] + 1, updated_at=now)
    change = Change(updated, record["version"])
    change.events.append(
        CustomerUpdated(customer=to_customer(updated), changed_fields=changed, origin="mdm")
    )
    return change
