"""Customer rules as plain Python: what a registration, an edit, a status change or an MDM event
does to a record, and which events say so.

A record here is the stored dict minus its outbox. ``version`` counts every change (optimistic
concurrency, event ordering); ``mdm_version`` is the master's own version of the MDM fields.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from contracts.customer_events import (
    CustomerDeactivated,
    CustomerRegistered,
    CustomersMerged,
    CustomerUpdated,
    FieldChange,
    Origin,
)
from contracts.customers import (
    Customer,
    CustomerCreate,
    CustomerEdit,
    CustomerFields,
    CustomerStatus,
    Suppression,
)
from contracts.events import Event
from contracts.mdm import MdmCustomerDeactivated, MdmCustomersMerged, MdmCustomerUpserted
from pydantic import TypeAdapter, ValidationError
from servicekit.problems import Conflict, Invalid, NotFound

MDM_ID_NAMESPACE = uuid.UUID("0b9f5c4e-3a8e-4f63-9a57-6d1b3b0c2f10")
SYSTEM_FIELDS = (
    "_id",
    "version",
    "status",
    "mdm_code",
    "mdm_version",
    "merged_into",
    "created_at",
    "updated_at",
)
# Ours alone: changed through their own endpoints, kept when the MDM master or an edit replaces
# the editable fields.
LOCAL_FIELDS = ("suppressions", "traits", "merged_ids")
KEPT_FIELDS = (*SYSTEM_FIELDS, *LOCAL_FIELDS)
EDITABLE_FIELDS = tuple(CustomerFields.model_fields)
# What history and events report as changed: the editable fields plus these.
TRACKED_FIELDS = (*EDITABLE_FIELDS, *LOCAL_FIELDS, "status", "mdm_code", "merged_into")
# Which status changes a user may make, and the event that reports each.
_FIELD_CHANGES = TypeAdapter(list[FieldChange])
TRANSITIONS: dict[CustomerStatus, tuple[CustomerStatus, ...]] = {
    "active": ("suspended", "void"),
    "suspended": ("active", "void"),
    "void": ("active",),
}


class Stale(Exception):
    """The event is not newer than what the record holds: applying it changes nothing."""


class UnknownCustomer(Exception):
    """The event refers to a customer this master has never seen."""


def customer_id_for_mdm_code(mdm_code: str) -> str:
    """Customers first seen through MDM get an id derived from their code, so a replay after a
    crash addresses the same document."""
    return str(uuid.uuid5(MDM_ID_NAMESPACE, mdm_code))


def to_customer(record: dict[str, Any]) -> Customer:
    return Customer.model_validate({**record, "id": record["_id"]})


def changes_between(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> list[FieldChange]:
    old = old or {}
    # validated as one list: half the cost of a FieldChange(...) per field, on every event
    return _FIELD_CHANGES.validate_python(
        [
            {"field": name, "old": old.get(name), "new": new.get(name)}
            for name in TRACKED_FIELDS
            if old.get(name) != new.get(name)
        ]
    )


def changed(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """Whether any tracked field differs (what ``changes_between`` would list)."""
    return any(old.get(name) != new.get(name) for name in TRACKED_FIELDS)


@dataclass
class Change:
    """A record after one or more events, and the events to publish for it."""

    record: dict[str, Any]
    previous_version: int | None  # None: the record is new
    events: list[Event] = field(default_factory=list)


def _not_merged(record: dict[str, Any]) -> None:
    if record.get("merged_into"):
        raise Conflict(
            f"customer {record['_id']} was merged into {record['merged_into']}: change that one",
            code="customer-merged",
            merged_into=record["merged_into"],
        )


def _next(record: dict[str, Any], now: datetime, **changes: Any) -> dict[str, Any]:
    return {**record, **changes, "version": record["version"] + 1, "updated_at": now}


def _updated(
    before: dict[str, Any], after: dict[str, Any], origin: Origin, changed_by: str | None
) -> CustomerUpdated | CustomerDeactivated:
    changes = changes_between(before, after)
    customer = to_customer(after)
    if after["status"] == "void" and before.get("status") != "void":
        return CustomerDeactivated(
            customer=customer, origin=origin, changes=changes, changed_by=changed_by
        )
    return CustomerUpdated(
        customer=customer,
        origin=origin,
        changes=changes,
        changed_by=changed_by,
        changed_fields=[c.field for c in changes],
    )


def new_record(command: CustomerCreate, now: datetime) -> dict[str, Any]:
    """A new customer's record (its event is :func:`register`'s, or an import chunk's)."""
    return {
        **command.model_dump(mode="json", exclude_none=True),
        "_id": str(uuid.uuid4()),
        "version": 1,
        "status": "active",
        "created_at": now,
        "updated_at": now,
    }


def register(
    command: CustomerCreate, now: datetime, changed_by: str, origin: Origin = "api"
) -> Change:
    record = new_record(command, now)
    event = CustomerRegistered(
        customer=to_customer(record),
        origin=origin,
        changes=changes_between(None, record),
        changed_by=changed_by,
    )
    return Change(record, None, [event])


def edit(
    record: dict[str, Any],
    patch: Mapping[str, Any],
    now: datetime,
    changed_by: str,
    origin: Origin = "api",
) -> Change:
    """Lay ``patch`` over the record's editable fields (``None`` clears one) and validate the
    result as a whole. Raises Invalid (422) naming the fields at fault; a void record is not
    edited (reactivate it first). An edit that changes nothing is no change."""
    if record["status"] == "void":
        raise Conflict(
            f"customer {record['_id']} is void: reactivate it before editing",
            code="customer-void",
        )
    current = {k: v for k, v in record.items() if k in EDITABLE_FIELDS}
    try:
        fields = CustomerEdit.model_validate({**current, **patch})
    except ValidationError as exc:
        raise Invalid.from_errors(list(exc.errors())) from exc
    after = {
        **{k: v for k, v in record.items() if k in KEPT_FIELDS},
        **fields.model_dump(mode="json", exclude_none=True),
    }
    if not changed(record, after):
        return Change(record, record["version"])
    after = _next(after, now)
    return Change(after, record["version"], [_updated(record, after, origin, changed_by)])


def set_status(
    record: dict[str, Any], status: CustomerStatus, now: datetime, changed_by: str
) -> Change:
    """Suspend, reactivate or void. Setting the status a record already has changes nothing."""
    _not_merged(record)
    if record["status"] == status:
        return Change(record, record["version"])
    if status not in TRANSITIONS[record["status"]]:
        raise Conflict(
            f"a {record['status']} customer cannot become {status}", code="status-transition"
        )
    after = _next(record, now, status=status)
    return Change(after, record["version"], [_updated(record, after, "api", changed_by)])


def _local_change(
    record: dict[str, Any], field_name: str, value: list[Any], now: datetime, changed_by: str
) -> Change:
    _not_merged(record)  # a merged customer's tags went to the survivor: change them there
    if record.get(field_name, []) == value:
        return Change(record, record["version"])
    after = _next(record, now, **{field_name: value})
    if not value:
        del after[field_name]
    return Change(after, record["version"], [_updated(record, after, "api", changed_by)])


def add_suppression(
    record: dict[str, Any], suppression: Suppression, now: datetime, changed_by: str
) -> Change:
    """Add (or replace, by type) a suppression."""
    kept = [s for s in record.get("suppressions", []) if s["type"] != suppression.type]
    value = sorted([*kept, suppression.model_dump(mode="json", exclude_none=True)],
                   key=lambda s: s["type"])  # fmt: skip
    return _local_change(record, "suppressions", value, now, changed_by)


def remove_suppression(
    record: dict[str, Any], suppression_type: str, now: datetime, changed_by: str
) -> Change:
    current = record.get("suppressions", [])
    if not any(s["type"] == suppression_type for s in current):
        raise NotFound(
            f"customer {record['_id']} has no {suppression_type!r} suppression",
            code="suppression-not-found",
        )
    value = [s for s in current if s["type"] != suppression_type]
    return _local_change(record, "suppressions", value, now, changed_by)


def change_traits(
    record: dict[str, Any],
    add: Iterable[str],
    remove: Iterable[str],
    now: datetime,
    changed_by: str,
) -> Change:
    value = sorted((set(record.get("traits", [])) | set(add)) - set(remove))
    return _local_change(record, "traits", value, now, changed_by)


def apply_mdm(
    record: dict[str, Any] | None,
    event: MdmCustomerUpserted | MdmCustomerDeactivated,
    now: datetime,
    changed_by: str | None = None,
) -> Change:
    """Apply one MDM event to the current record (None if unknown). Raises Stale or
    UnknownCustomer when the event changes nothing."""
    if record is not None and record.get("merged_into"):
        raise Stale(f"{event.mdm_code} was merged into {record['merged_into']}")
    if record is not None and record.get("mdm_version", -1) >= event.version:
        raise Stale(f"{event.mdm_code}: version {event.version} <= {record.get('mdm_version')}")
    if isinstance(event, MdmCustomerDeactivated):
        if record is None:
            raise UnknownCustomer(f"no customer with MDM code {event.mdm_code}")
        if record["status"] == "void":
            return Change({**record, "mdm_version": event.version}, record["version"])
        after = _next(record, now, status="void", mdm_version=event.version)
        return Change(after, record["version"], [_updated(record, after, "mdm", changed_by)])
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
        registered = CustomerRegistered(
            customer=to_customer(new),
            origin="mdm",
            changes=changes_between(None, new),
            changed_by=changed_by,
        )
        return Change(new, None, [registered])
    kept = {k: v for k, v in record.items() if k in KEPT_FIELDS}
    after = {**kept, **fields, "mdm_version": event.version}
    if record["status"] == "void":
        after["status"] = "active"  # the master re-published it: it is live again
    if not changed(record, after):
        # Same data under a newer master version: remember the version, publish nothing.
        return Change({**record, "mdm_version": event.version}, record["version"])
    after = _next(after, now)
    return Change(after, record["version"], [_updated(record, after, "mdm", changed_by)])


@dataclass
class MergeSteps:
    """What a merge still has to write, in this order: the loser retired (void, ``merged_into``
    the survivor), then the survivor taking what the retired loser holds. Retiring first freezes
    the loser (a merged customer takes no edits, tags or master events), so a merge interrupted
    between the two writes, or whose second write lost a race, is finished by computing it again
    from the stored records."""

    retire: Change | None
    inherit: Change | None


def merge(
    survivor: dict[str, Any] | None,
    loser: dict[str, Any] | None,
    event: MdmCustomersMerged,
    now: datetime,
    changed_by: str | None = None,
) -> MergeSteps:
    """The survivor takes the loser's suppressions, traits and merged ids; the loser becomes
    void with ``merged_into``. Gives the steps not yet written; raises Stale if none is left
    (or the event is older than the survivor), UnknownCustomer if either is missing."""
    if survivor is None or loser is None:
        missing = event.mdm_code if survivor is None else event.merged_mdm_code
        raise UnknownCustomer(f"no customer with MDM code {missing} to merge")
    retired_already = loser.get("merged_into") == survivor["_id"]
    inherited_already = loser["_id"] in survivor.get("merged_ids", [])
    if retired_already and inherited_already:
        raise Stale(f"merge of {event.merged_mdm_code} into {event.mdm_code} already applied")
    if not retired_already and survivor.get("mdm_version", -1) >= event.version:
        raise Stale(f"{event.mdm_code}: merge version {event.version} is not newer")
    if survivor.get("merged_into"):
        raise Stale(f"{event.mdm_code} was itself merged into {survivor['merged_into']}")
    retire = None
    if not retired_already:
        retired = _next(loser, now, status="void", merged_into=survivor["_id"])
        retire = Change(retired, loser["version"], [_updated(loser, retired, "mdm", changed_by)])
    inherit = None
    if not inherited_already:
        inherit = _inherit(survivor, loser, event, now, changed_by)
    return MergeSteps(retire, inherit)


def _inherit(
    survivor: dict[str, Any],
    loser: dict[str, Any],
    event: MdmCustomersMerged,
    now: datetime,
    changed_by: str | None,
) -> Change:
    suppressions = {s["type"]: s for s in loser.get("suppressions", [])}
    suppressions.update({s["type"]: s for s in survivor.get("suppressions", [])})
    merged_ids = [*survivor.get("merged_ids", []), *loser.get("merged_ids", []), loser["_id"]]
    after = _next(
        survivor,
        now,
        mdm_version=max(event.version, survivor.get("mdm_version", -1)),
        suppressions=[suppressions[t] for t in sorted(suppressions)],
        traits=sorted(set(survivor.get("traits", [])) | set(loser.get("traits", []))),
        merged_ids=sorted(set(merged_ids)),
    )
    for name in ("suppressions", "traits"):
        if not after[name]:
            del after[name]
    merged = CustomersMerged(
        customer=to_customer(after),
        origin="mdm",
        changes=changes_between(survivor, after),
        changed_by=changed_by,
        merged_customer_id=loser["_id"],
        merged_mdm_code=loser.get("mdm_code"),
    )
    return Change(after, survivor["version"], [merged])
