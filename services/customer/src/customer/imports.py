"""CSV import of customers (seed 003): column mapping, a validation report per row, and dedupe
against existing customers by MDM code, email, SMS number, or name and postcode.

An import is a batch job (servicekit.batch_jobs): the upload answers at once with the job's id,
the file is kept in the database and processed in the background in chunks from a checkpoint, so
an import a crash interrupted goes on after a restart; the job document shows progress and, at
the end, the report (created, updated, matched, rejected, and each rejected row's column and
reason). ``on_invalid="skip"`` imports the good rows and reports the bad; ``"abort"`` checks
every row first and imports nothing if any is bad. Rows already imported match on a rerun, so a
rerun is safe.
"""

from __future__ import annotations

import asyncio
import csv
import io
import itertools
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from contracts.customer_events import (
    CustomerChanged,
    CustomerRegistered,
    CustomerUpdated,
    FieldChange,
)
from contracts.customers import CustomerCreate, CustomerEdit
from contracts.topics import CUSTOMER_EVENTS
from pydantic import ValidationError
from servicekit.auth import Identity
from servicekit.batch_jobs import BatchJobRunner, Chunk
from servicekit.logging import correlation_id, get_logger
from servicekit.messaging import OutgoingRecord
from servicekit.problems import Invalid, NotFound, Problem

from customer import domain, search
from customer.domain import EDITABLE_FIELDS
from customer.handlers import SOURCE, CustomerService
from customer.store import HIDDEN, IMPORTED, ImportStore

HIDDEN_FIELDS = {*HIDDEN, IMPORTED}

log = get_logger(__name__)
IMPORT = "customer-import"  # the batch job kind
CHUNK = 1000
MAX_ERRORS = 1000
OnInvalid = Literal["skip", "abort"]
ADDRESS_TARGETS = {
    "address_line1": "line1",
    "address_line2": "line2",
    "address_line3": "line3",
    "city": "city",
    "state": "state",
    "province": "province",
    "postal_code": "postal_code",
    "country": "country",
    "brick": "brick",
}
PUBLIC_FIELDS = (
    "filename",
    "on_invalid",
    "columns",
    "created_at",
    "created_by",
    "progress",
    "finished_at",
)
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


def merged_addresses(
    stored: list[dict[str, Any]], imported: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """A matched customer's addresses after a row's address columns: they change those fields of
    the primary address (the first, if none is marked) and leave its other fields and the other
    addresses as they were; a customer without an address gets the row's as its primary."""
    (row_address,) = imported
    if not stored:
        return imported
    primary = next((i for i, a in enumerate(stored) if a.get("primary")), 0)
    fields = {k: v for k, v in row_address.items() if k != "primary"}
    return [{**a, **fields} if i == primary else a for i, a in enumerate(stored)]


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


def _name_key(keys: Mapping[str, Any]) -> tuple[str, str, str] | None:
    """(last name, first name, postcode) from a record's search keys, if it has them."""
    postcodes = keys.get("postal_codes") or []
    if not (keys.get("last_name") and postcodes):
        return None
    return keys.get("last_name", ""), keys.get("first_name", ""), postcodes[0]


def dedupe_keys(record: Mapping[str, Any], keys: Mapping[str, Any]) -> dict[str, Any]:
    """The values a record (or a row's fields) is matched by, from its search keys."""
    return {
        "mdm_code": record.get("mdm_code"),
        "email": keys.get("email"),
        "sms": search.digits(record["sms"]) if record.get("sms") else None,
        "name": _name_key(keys),
    }


def _row_search_keys(row: Row) -> dict[str, Any]:
    return search.search_keys({**row.fields, "_id": None})


class Candidates:
    """Existing customers a chunk's rows may match, indexed by each dedupe key, with the search
    keys of each record as last added (computed once: the chunk's writes store them)."""

    def __init__(self) -> None:
        self.by: dict[str, dict[Any, list[dict[str, Any]]]] = {
            "mdm_code": {}, "email": {}, "sms": {}, "name": {}
        }  # fmt: skip
        self.keys: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}  # id -> record, keys
        self._indexed: dict[str, list[tuple[str, Any]]] = {}  # id -> where it is listed

    def add(self, record: dict[str, Any]) -> None:
        keys = record.get(search.FIELD) or search.search_keys(record)
        self.keys[record["_id"]] = (record, keys)
        places = self._indexed.setdefault(record["_id"], [])
        for key, value in dedupe_keys(record, keys).items():
            if value:
                known = self.by[key].setdefault(value, [])
                if all(r["_id"] != record["_id"] for r in known):
                    known.append(record)
                    places.append((key, value))

    def replace(self, record: dict[str, Any]) -> None:
        for key, value in self._indexed.pop(record["_id"], []):
            known = self.by[key][value]
            known[:] = [r for r in known if r["_id"] != record["_id"]]
        self.add(record)

    def search_keys(self, record: dict[str, Any]) -> dict[str, Any]:
        """The record's search keys: as computed when it was added, if it is that record."""
        added = self.keys.get(record["_id"])
        if added is not None and added[0] is record:
            return added[1]
        return search.search_keys(record)

    def match(self, probe: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The customers a row is (``probe``: its :func:`dedupe_keys`), by the first dedupe key
        it has that finds any."""
        for key, value in probe.items():
            if value and self.by[key].get(value):
                return self.by[key][value]
        return []


@dataclass
class Touched:
    """A customer the chunk creates or changes: as stored before (None: new), as it will be
    written, and the rows behind it (row number -> created or updated)."""

    before: dict[str, Any] | None
    record: dict[str, Any]
    rows: dict[str, str] = field(default_factory=dict)


@dataclass
class Importer:
    """Starts imports and shows them; the work is the batch job below."""

    customers: CustomerService
    files: ImportStore
    jobs: BatchJobRunner

    async def start(
        self,
        data: bytes,
        filename: str,
        mapping: dict[str, str] | None,
        on_invalid: OnInvalid,
        identity: Identity,
    ) -> dict[str, Any]:
        text, header = decoded(data)
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
        job_id = str(uuid.uuid4())
        await self.files.save(job_id, text)  # before the job: its first chunk reads it
        job = await self.jobs.submit(
            IMPORT,
            {
                "_id": job_id,
                "filename": filename,
                "on_invalid": on_invalid,
                "columns": {header[i]: target for i, target in columns.items()},
                "column_indexes": {str(i): target for i, target in columns.items()},
                "created_at": datetime.now(UTC),
                "created_by": f"user:{identity.user}",
                "teams": sorted(identity.teams),  # the creator's teams read it too
                "progress": Tally().__dict__,
            },
        )
        return public(job)

    async def check(self, data: bytes, mapping: dict[str, str] | None) -> dict[str, Any]:
        """What an import of this file would take, before it runs: how its columns map (given
        or from the headers), the fields a column may map to, and every row checked as abort
        mode checks it (nothing is stored)."""
        text, header = decoded(data)
        columns = resolve_mapping(header, mapping)
        tally = await asyncio.to_thread(_check_all, text, columns) if columns else Tally()
        rows = sum(1 for _ in rows_of(text, {}))
        mapped = {header[i]: target for i, target in sorted(columns.items())}
        return {
            "columns": mapped,
            "unmapped": [h for h in header if h not in mapped],
            "fields": sorted(TARGETS),
            "rows": rows,
            "valid": rows - tally.rejected if columns else 0,
            "rejected": tally.rejected,
            "errors": tally.errors,
        }

    async def get(self, job_id: str, identity: Identity) -> dict[str, Any]:
        """An import, for its creator, their teams' members and admins; for anyone else it
        does not exist."""
        job = await self.jobs.get(job_id)
        if job is None or job.get("kind") != IMPORT or not may_read(job, identity):
            raise NotFound(f"no import {job_id}", code="import-not-found")
        return public(job)


def decoded(data: bytes) -> tuple[str, list[str]]:
    """A CSV file's text and header row; 422 when it is not UTF-8 or is empty."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Invalid.from_errors(
            [{"loc": ("file",), "msg": f"not UTF-8 text: {exc.reason}", "type": "encoding"}]
        ) from exc
    header = next(csv.reader(io.StringIO(text)), None)
    if not header:
        raise Invalid.from_errors([{"loc": ("file",), "msg": "the file is empty", "type": "empty"}])
    return text, header


def may_read(job: dict[str, Any], identity: Identity) -> bool:
    return (
        identity.role == "admin"
        or job.get("created_by") == f"user:{identity.user}"
        or bool(identity.teams & set(job.get("teams", ())))
    )


def public(job: dict[str, Any]) -> dict[str, Any]:
    """An import job as the API shows it."""
    shown = {
        "id": job["_id"],
        "status": job.get("outcome") or job["state"],
        **{k: job[k] for k in PUBLIC_FIELDS if k in job},
    }
    if job.get("error"):
        shown["progress"] = {**shown["progress"], "failure": job["error"]}
    return shown


@dataclass
class Reader:
    """The rows of one import's file, read on from where the last chunk stopped."""

    after: int | None
    rows: Iterator[Row]

    def take(self, count: int) -> list[Row]:
        taken = list(itertools.islice(self.rows, count))
        if taken:
            self.after = taken[-1].number
        return taken


class CustomerImport:
    """The import batch job: a chunk of rows at a time from the checkpoint (the last row
    done). Per chunk: one dedupe query by index, the rows decided in memory (a row may match a
    customer an earlier row of the chunk created), new customers in one insert_many and changed
    ones in one bulk update, each stamped with the job, the chunk and its rows; then their events.

    A job resumed after a crash runs the chunk after its checkpoint again: its rows now find the
    customers that chunk wrote, stamped, and count as the stamp says (no duplicates), and those
    customers' events are published again from the stored state (consumers apply them once).
    History entries come from those events (the service's own consumer inserts them in batches).
    """

    kind = IMPORT

    def __init__(
        self, customers: CustomerService, files: ImportStore, chunk_size: int = CHUNK
    ) -> None:
        self.customers = customers
        self.files = files
        self.chunk_size = chunk_size
        self._readers: dict[str, Reader] = {}

    async def run_chunk(self, job: Mapping[str, Any], after: Any) -> Chunk | None:
        if job.get("outcome") == "rejected":
            return None
        columns = {int(i): target for i, target in job["column_indexes"].items()}
        if after is None and job["on_invalid"] == "abort":
            text = await self.files.text(job["_id"])
            refused = await asyncio.to_thread(_check_all, text, columns)
            if refused.rejected:
                return Chunk(after, fields={"progress": refused.__dict__, "outcome": "rejected"})
        # parsing and deciding rows is CPU work: it runs in a worker thread, a chunk at a time,
        # so the event loop keeps answering (health checks, reads) while an import runs
        reader = await self._reader(job, after, columns)
        rows = await asyncio.to_thread(reader.take, self.chunk_size)
        if not rows:
            return None
        tally = Tally(**{**job["progress"], "errors": list(job["progress"]["errors"])})
        events = await self._chunk(job, after, rows, tally)
        return Chunk(rows[-1].number, events, fields={"progress": tally.__dict__})

    async def finish(self, job: Mapping[str, Any]) -> None:
        self._readers.pop(job["_id"], None)
        await self.files.forget(job["_id"])

    async def _reader(self, job: Mapping[str, Any], after: Any, columns: dict[int, str]) -> Reader:
        reader = self._readers.get(job["_id"])
        if reader is None or reader.after != after:  # first chunk, or resumed in a new process
            rows = rows_of(await self.files.text(job["_id"]), columns)
            if after is not None:
                rows = itertools.dropwhile(lambda row: row.number <= after, rows)
            reader = self._readers[job["_id"]] = Reader(after, rows)
        return reader

    async def _chunk(
        self, job: Mapping[str, Any], after: Any, rows: list[Row], tally: Tally
    ) -> list[OutgoingRecord]:
        store = self.customers.store
        # each row's dedupe keys, computed once (in a worker thread) for the query and the match
        probes = await asyncio.to_thread(
            lambda: {r.number: dedupe_keys(r.fields, _row_search_keys(r)) for r in rows}
        )
        found = await store.import_candidates(
            mdm_codes=[p["mdm_code"] for p in probes.values() if p["mdm_code"]],
            emails=[p["email"] for p in probes.values() if p["email"]],
            phones=[p["sms"] for p in probes.values() if p["sms"]],
            names=[p["name"] for p in probes.values() if p["name"]],
        )
        chunk = {"job": job["_id"], "after": after}
        touched: dict[str, Touched] = {}
        written_before: dict[str, dict[str, Any]] = {}

        def decide() -> dict[str, dict[str, Any]]:
            """The rows decided against the candidates (in a worker thread: no I/O here)."""
            candidates = Candidates()
            for record in found:
                candidates.add(record)
            now = datetime.now(UTC)
            for row in rows:
                tally.rows += 1
                try:
                    self._row(
                        row, probes[row.number], candidates, touched, written_before, chunk, tally,
                        job, now,
                    )  # fmt: skip
                except (ValidationError, Invalid) as exc:
                    tally.reject(row.number, *_first_error(exc))
                except Problem as exc:
                    tally.reject(row.number, exc.extensions.get("field"), exc.detail)
            for cid, t in touched.items():
                search_keys[cid] = candidates.search_keys(t.record)
            return {cid: self._stamp(chunk, t) for cid, t in touched.items()}

        search_keys: dict[str, dict[str, Any]] = {}
        stamps = await asyncio.to_thread(decide)
        failed = await store.write_imported(
            [
                {**t.record, IMPORTED: stamps[cid], search.FIELD: search_keys[cid]}
                for cid, t in touched.items()
                if t.before is None
            ],
            [
                (
                    {**t.record, IMPORTED: stamps[cid], search.FIELD: search_keys[cid]},
                    t.before["version"],
                    set(t.before) - set(t.record),
                )
                for cid, t in touched.items()
                if t.before is not None
            ],
        )
        for cid in failed:  # a new MDM code taken meanwhile, or a customer changed meanwhile
            t = touched.pop(cid)
            for number, outcome in sorted(t.rows.items(), key=lambda item: int(item[0])):
                setattr(tally, outcome, getattr(tally, outcome) - 1)
                tally.reject(
                    int(number), None, "the customer changed meanwhile: run the file again"
                )

        def events() -> list[OutgoingRecord]:
            made = [self._event(t.before, t.record, stamps[cid], job) for cid, t in touched.items()]
            return made + [
                self._event(
                    None if record[IMPORTED]["created"] else record, record, record[IMPORTED], job
                )
                for cid, record in written_before.items()
                if cid not in touched
            ]

        return await asyncio.to_thread(events)

    def _row(
        self,
        row: Row,
        probe: Mapping[str, Any],
        candidates: Candidates,
        touched: dict[str, Touched],
        written_before: dict[str, dict[str, Any]],
        chunk: dict[str, Any],
        tally: Tally,
        job: Mapping[str, Any],
        now: datetime,
    ) -> None:
        found = candidates.match(probe)
        if len(found) > 1:
            ids = ", ".join(r["_id"] for r in found[:3])
            tally.reject(row.number, None, f"matches more than one customer ({ids})")
            return
        if found:
            stamp = found[0].get(IMPORTED) or {}
            done = stamp.get("rows", {}).get(str(row.number))
            if done and {k: stamp.get(k) for k in chunk} == chunk:
                # this very chunk wrote it before a crash: count it as then, publish it again
                setattr(tally, done, getattr(tally, done) + 1)
                written_before[found[0]["_id"]] = found[0]
                return
        changed_by = job["created_by"]
        if not found:
            # the chunk publishes one event per customer (``_event``): none per row here
            created = domain.new_record(CustomerCreate.model_validate(row.fields), now)
            touched[created["_id"]] = Touched(None, created, {str(row.number): "created"})
            candidates.add(created)
            tally.created += 1
            return
        record = found[0]
        patch = {k: v for k, v in row.fields.items() if k != "mdm_code"}
        if "addresses" in patch:
            patch["addresses"] = merged_addresses(record.get("addresses") or [], patch["addresses"])
        if row.fields.get("mdm_code") and record.get("mdm_code") != row.fields["mdm_code"]:
            tally.reject(
                row.number, "mdm_code", f"matches customer {record['_id']} with another MDM code"
            )
            return
        CustomerEdit.model_validate(
            {**{k: v for k, v in record.items() if k in EDITABLE_FIELDS}, **patch}
        )
        stored = {k: v for k, v in record.items() if k not in (search.FIELD, IMPORTED)}
        change = domain.edit(stored, patch, now, changed_by, origin="import")
        if not change.events:
            tally.matched += 1
            return
        held = touched.get(record["_id"]) or Touched(stored, stored)
        held.record = change.record
        held.rows[str(row.number)] = "updated"
        touched[record["_id"]] = held
        candidates.replace(change.record)
        tally.updated += 1

    @staticmethod
    def _stamp(chunk: dict[str, Any], touched: Touched) -> dict[str, Any]:
        changes = domain.changes_between(touched.before, touched.record)
        return {
            **chunk,
            "rows": touched.rows,
            "created": touched.before is None,
            "changes": [c.model_dump(mode="json") for c in changes],
        }

    def _event(
        self,
        before: dict[str, Any] | None,
        record: dict[str, Any],
        stamp: dict[str, Any],
        job: Mapping[str, Any],
    ) -> OutgoingRecord:
        """The customer's one event for the chunk: registered (with the state after every row
        of the chunk that touched it) or updated (with what those rows changed)."""
        shown = {k: v for k, v in record.items() if k not in HIDDEN_FIELDS}
        customer = domain.to_customer(shown)
        changes = [FieldChange.model_validate(c) for c in stamp["changes"]]
        event: CustomerChanged
        if before is None:
            event = CustomerRegistered(
                customer=customer, origin="import", changes=changes, changed_by=job["created_by"]
            )
        else:
            event = CustomerUpdated(
                customer=customer,
                origin="import",
                changes=changes,
                changed_by=job["created_by"],
                changed_fields=[c.field for c in changes],
            )
        envelope = event.envelope(
            source=SOURCE, subject=customer.id, correlation_id=correlation_id.get()
        )
        topic = self.customers.settings.topic(CUSTOMER_EVENTS.name)
        return OutgoingRecord.of(topic, customer.id, envelope)


def _check_all(text: str, columns: dict[int, str]) -> Tally:
    """Every row checked as a new customer (the abort mode refuses the file if any is bad)."""
    tally = Tally()
    for row in rows_of(text, columns):
        if check(row).error:
            tally.reject(row.number, *row.error)  # type: ignore[misc]
    return tally
