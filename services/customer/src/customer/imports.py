"""CSV import of customers (seed 003): column mapping, a validation report per row, and dedupe
against existing customers by MDM code, email, SMS number, or name and postcode.

An import is a job: the upload answers at once with the job's id, the file is processed in the
background in chunks, and the job document shows progress and, at the end, the report (created,
updated, matched, rejected, and each rejected row's column and reason). ``on_invalid="skip"``
imports the good rows and reports the bad; ``"abort"`` checks every row first and imports
nothing if any is bad. Rows already imported match on a rerun, so a rerun is safe.
"""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from contracts.customers import CustomerCreate, CustomerEdit
from pydantic import ValidationError
from servicekit.auth import Identity
from servicekit.logging import get_logger
from servicekit.problems import Invalid, NotFound, Problem

from customer import search
from customer.domain import EDITABLE_FIELDS
from customer.handlers import CustomerService
from customer.store import ImportStore

log = get_logger(__name__)
CHUNK = 500
MAX_ERRORS = 1000
OnInvalid = Literal["skip", "abort"]
ADDRESS_TARGETS = {
    "address_line1": "line1",
    "address_line2": "line2",
    "city": "city",
    "state": "state",
    "province": "province",
    "postal_code": "postal_code",
    "country": "country",
    "brick": "brick",
}
TARGETS = frozenset({*EDITABLE_FIELDS, "mdm_code", *ADDRESS_TARGETS} - {"addresses"})


def _column_key(name: str) -> str:
    return name.strip().lower().replace(" ", "_").replace("-", "_")


def resolve_mapping(header: list[str], mapping: dict[str, str] | None) -> dict[int, str]:
    """Column index -> customer field. Without a mapping, headers that name a field map to it;
    a mapping names header -> field and must only name fields that exist."""
    if mapping is None:
        return {i: _column_key(h) for i, h in enumerate(header) if _column_key(h) in TARGETS}
    errors = []
    positions = {h.strip(): i for i, h in enumerate(header)}
    resolved = {}
    for column, target in mapping.items():
        if target not in TARGETS:
            errors.append(
                {
                    "loc": ("mapping", column),
                    "msg": f"no customer field {target!r}",
                    "type": "field",
                }
            )
        elif column.strip() not in positions:
            errors.append(
                {"loc": ("mapping", column), "msg": "no such column in the file", "type": "column"}
            )
        else:
            resolved[positions[column.strip()]] = target
    if errors:
        raise Invalid.from_errors(errors)
    return resolved


def to_fields(cells: list[str], columns: dict[int, str]) -> dict[str, Any]:
    """A row's non-empty cells as customer fields; address columns make one primary address."""
    fields: dict[str, Any] = {}
    address: dict[str, Any] = {}
    for index, target in columns.items():
        value = cells[index].strip() if index < len(cells) else ""
        if not value:
            continue
        if target in ADDRESS_TARGETS:
            address[ADDRESS_TARGETS[target]] = value
        else:
            fields[target] = value
    if address:
        fields["addresses"] = [{**address, "primary": True}]
    return fields


@dataclass
class Row:
    number: int
    fields: dict[str, Any]
    error: tuple[str, str] | None = None  # (column, message)


@dataclass
class Tally:
    rows: int = 0
    created: int = 0
    updated: int = 0
    matched: int = 0
    rejected: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def reject(self, row: int, column: str | None, message: str) -> None:
        self.rejected += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append({"row": row, "column": column, "message": message})


def _first_error(exc: ValidationError | Invalid) -> tuple[str, str]:
    if isinstance(exc, Invalid):
        first = exc.extensions["errors"][0]
        return first["field"] or "row", first["message"]
    listed = exc.errors()[0]
    named = (listed.get("ctx") or {}).get("fields")
    column = ",".join(named) if named else ".".join(str(p) for p in listed["loc"])
    return column or "row", listed["msg"]


def rows_of(text: str, columns: dict[int, str]) -> Iterator[Row]:
    reader = csv.reader(io.StringIO(text))
    next(reader, None)  # the header
    for number, cells in enumerate(reader, start=2):
        if any(c.strip() for c in cells):
            yield Row(number, to_fields(cells, columns))


def check(row: Row) -> Row:
    """Validate the row as a new customer would be (the strictest case)."""
    try:
        CustomerCreate.model_validate(row.fields)
    except ValidationError as exc:
        row.error = _first_error(exc)
    return row


def _match_key(record: dict[str, Any]) -> tuple[str, str, str] | None:
    keys = record.get(search.FIELD) or search.search_keys(record)
    postcodes = keys.get("postal_codes") or []
    if not (keys.get("last_name") and postcodes):
        return None
    return keys.get("last_name", ""), keys.get("first_name", ""), postcodes[0]


class Candidates:
    """Existing customers a chunk's rows may match, indexed by each dedupe key."""

    def __init__(self) -> None:
        self.by: dict[str, dict[Any, list[dict[str, Any]]]] = {
            "mdm_code": {}, "email": {}, "sms": {}, "name": {}
        }  # fmt: skip

    def add(self, record: dict[str, Any]) -> None:
        keys = record.get(search.FIELD) or search.search_keys(record)
        values = {
            "mdm_code": record.get("mdm_code"),
            "email": keys.get("email"),
            "sms": search.digits(record["sms"]) if record.get("sms") else None,
            "name": _match_key(record),
        }
        for key, value in values.items():
            if value:
                known = self.by[key].setdefault(value, [])
                if all(r["_id"] != record["_id"] for r in known):
                    known.append(record)

    def replace(self, record: dict[str, Any]) -> None:
        for index in self.by.values():
            for known in index.values():
                known[:] = [r for r in known if r["_id"] != record["_id"]]
        self.add(record)

    def match(self, fields: dict[str, Any]) -> list[dict[str, Any]]:
        """The customers the row is, by the first dedupe key it has that finds any."""
        probe = {**fields, "_id": None}
        keys = search.search_keys(probe)
        wanted = {
            "mdm_code": fields.get("mdm_code"),
            "email": keys.get("email"),
            "sms": search.digits(fields["sms"]) if fields.get("sms") else None,
            "name": _match_key(probe),
        }
        for key, value in wanted.items():
            if value and self.by[key].get(value):
                return self.by[key][value]
        return []


@dataclass
class Importer:
    customers: CustomerService
    jobs: ImportStore
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def start(
        self,
        data: bytes,
        filename: str,
        mapping: dict[str, str] | None,
        on_invalid: OnInvalid,
        identity: Identity,
    ) -> dict[str, Any]:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise Invalid.from_errors(
                [{"loc": ("file",), "msg": f"not UTF-8 text: {exc.reason}", "type": "encoding"}]
            ) from exc
        header = next(csv.reader(io.StringIO(text)), None)
        if not header:
            raise Invalid.from_errors(
                [{"loc": ("file",), "msg": "the file is empty", "type": "empty"}]
            )
        columns = resolve_mapping(header, mapping)
        if not columns:
            raise Invalid.from_errors(
                [
                    {
                        "loc": ("mapping",),
                        "msg": "no column maps to a customer field",
                        "type": "mapping",
                    }
                ]
            )
        job = {
            "_id": str(uuid.uuid4()),
            "status": "running",
            "filename": filename,
            "on_invalid": on_invalid,
            "columns": {header[i]: target for i, target in columns.items()},
            "created_at": datetime.now(UTC),
            "created_by": f"user:{identity.user}",
            "progress": Tally().__dict__,
        }
        await self.jobs.create(job)
        task = asyncio.create_task(self._run(job["_id"], text, columns, on_invalid, identity))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return job

    async def get(self, job_id: str) -> dict[str, Any]:
        job = await self.jobs.get(job_id)
        if job is None:
            raise NotFound(f"no import {job_id}", code="import-not-found")
        return job

    async def _run(
        self,
        job_id: str,
        text: str,
        columns: dict[int, str],
        on_invalid: OnInvalid,
        identity: Identity,
    ) -> None:
        tally = Tally()
        try:
            if on_invalid == "abort":
                for row in rows_of(text, columns):
                    if check(row).error:
                        tally.reject(row.number, *row.error)
                if tally.rejected:
                    await self.jobs.finish(job_id, "rejected", tally.__dict__)
                    return
            chunk: list[Row] = []
            for row in rows_of(text, columns):
                chunk.append(row)
                if len(chunk) == CHUNK:
                    await self._chunk(chunk, tally, identity)
                    await self.jobs.progress(job_id, tally.__dict__)
                    chunk = []
            await self._chunk(chunk, tally, identity)
            await self.jobs.finish(job_id, "done", tally.__dict__)
        except Exception as exc:  # the job says so; the service keeps serving
            log.exception("import failed", job=job_id)
            await self.jobs.finish(job_id, "failed", {**tally.__dict__, "failure": repr(exc)})

    async def _chunk(self, rows: list[Row], tally: Tally, identity: Identity) -> None:
        candidates = Candidates()
        for record in await self.customers.store.candidates(
            mdm_codes=[r.fields["mdm_code"] for r in rows if r.fields.get("mdm_code")],
            emails=[search.normalise(r.fields["email"]) for r in rows if r.fields.get("email")],
            phones=[search.digits(r.fields["sms"]) for r in rows if r.fields.get("sms")],
            last_names=[
                search.normalise(r.fields["last_name"]) for r in rows if r.fields.get("last_name")
            ],
        ):
            candidates.add(record)
        for row in rows:
            tally.rows += 1
            try:
                await self._row(row, candidates, tally, identity)
            except (ValidationError, Invalid) as exc:
                tally.reject(row.number, *_first_error(exc))
            except Problem as exc:
                tally.reject(row.number, exc.extensions.get("field"), exc.detail)

    async def _row(
        self, row: Row, candidates: Candidates, tally: Tally, identity: Identity
    ) -> None:
        found = candidates.match(row.fields)
        if len(found) > 1:
            ids = ", ".join(r["_id"] for r in found[:3])
            tally.reject(row.number, None, f"matches more than one customer ({ids})")
            return
        if not found:
            customer = await self.customers.register(
                CustomerCreate.model_validate(row.fields), identity, origin="import"
            )
            created = await self.customers.store.get(customer.id)
            assert created is not None
            candidates.add(created)
            tally.created += 1
            return
        record = found[0]
        patch = {k: v for k, v in row.fields.items() if k != "mdm_code"}
        if row.fields.get("mdm_code") and record.get("mdm_code") != row.fields["mdm_code"]:
            tally.reject(
                row.number, "mdm_code", f"matches customer {record['_id']} with another MDM code"
            )
            return
        CustomerEdit.model_validate(
            {**{k: v for k, v in record.items() if k in EDITABLE_FIELDS}, **patch}
        )
        stored = {k: v for k, v in record.items() if k != search.FIELD}
        customer = await self.customers.apply_edit(stored, patch, identity, origin="import")
        if customer.version == record["version"]:
            tally.matched += 1
        else:
            tally.updated += 1
            updated = await self.customers.store.get(customer.id)
            assert updated is not None
            candidates.replace(updated)
