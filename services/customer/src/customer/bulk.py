"""Bulk work (seed 003): CSV updates of suppressions, traits and fulfilments, and deleting every
customer a search finds, after a confirmation that shows how many.

A CSV update reports on every row: applied, unchanged, or rejected with the reason; a bad row
never stops the good ones. The first column is the customer id; a header row is recognised by
it and skipped.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from contracts.customers import CustomerSearch, Suppression
from pydantic import ValidationError
from servicekit.auth import Identity
from servicekit.problems import Conflict, Invalid, Problem

from customer.handlers import CustomerService
from customer.interactions import KINDS, InteractionService

MAX_ROWS = 100_000
Target = Literal["suppressions", "traits", "fulfilments"]
COLUMNS: dict[str, tuple[str, ...]] = {
    "suppressions": ("customer_id", "type", "date", "reason"),
    "traits": ("customer_id", "trait"),
    "fulfilments": ("customer_id", "date", "type", "activity", "reference_code"),
}


@dataclass
class Report:
    rows: int = 0
    applied: int = 0
    unchanged: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)

    def reject(self, row: int, customer_id: str | None, message: str, column: str | None) -> None:
        self.rejected.append(
            {"row": row, "customer_id": customer_id, "column": column, "message": message}
        )


def read_rows(data: bytes, target: Target) -> Iterator[tuple[int, dict[str, str]]]:
    """(row number, cells by column name); blank cells are left out."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Invalid.from_errors(
            [{"loc": ("file",), "msg": f"not UTF-8 text: {exc.reason}", "type": "encoding"}]
        ) from exc
    columns = COLUMNS[target]
    for number, cells in enumerate(csv.reader(io.StringIO(text)), start=1):
        if number > MAX_ROWS + 1:
            raise Problem(
                f"at most {MAX_ROWS} rows in one file",
                status=413,
                code="too-many-rows",
                field="file",
            )
        if not any(c.strip() for c in cells):
            continue
        first = cells[0].strip().lower().replace(" ", "_")
        if number == 1 and first in ("customer_id", "customerid", "id"):
            continue  # a header
        yield number, {c: v.strip() for c, v in zip(columns, cells, strict=False) if v.strip()}


def _errors(exc: ValidationError) -> tuple[str, str]:
    first = exc.errors()[0]
    return ".".join(str(p) for p in first["loc"]) or "row", first["msg"]


async def update_from_csv(
    target: Target,
    data: bytes,
    customers: CustomerService,
    interactions: InteractionService,
    identity: Identity,
) -> Report:
    report = Report()
    by_customer: dict[str, list[tuple[int, dict[str, str]]]] = defaultdict(list)
    for number, cells in read_rows(data, target):
        report.rows += 1
        if "customer_id" not in cells:
            report.reject(number, None, "no customer id", "customer_id")
            continue
        by_customer[cells["customer_id"]].append((number, cells))
    for customer_id, rows in by_customer.items():
        try:
            before = await customers.get(customer_id)
        except Problem as exc:
            for number, _ in rows:
                report.reject(number, customer_id, exc.detail, "customer_id")
            continue
        if target == "traits":
            await _traits(customer_id, rows, customers, identity, report)
            continue
        for number, cells in rows:
            try:
                if target == "suppressions":
                    wanted = Suppression.model_validate(
                        {k: v for k, v in cells.items() if k != "customer_id"}
                    )
                    after = await customers.add_suppression(customer_id, wanted, identity)
                    changed = after.version != before.version
                    before = after
                else:
                    fields = {k: v for k, v in cells.items() if k != "customer_id"}
                    await interactions.create(customer_id, KINDS["fulfilments"], fields, identity)
                    changed = True
            except ValidationError as exc:
                column, message = _errors(exc)
                report.reject(number, customer_id, message, column)
                continue
            except Problem as exc:
                errors = exc.extensions.get("errors") or [{"field": None, "message": exc.detail}]
                report.reject(number, customer_id, errors[0]["message"], errors[0]["field"])
                continue
            if changed:
                report.applied += 1
            else:
                report.unchanged += 1
    return report


async def _traits(
    customer_id: str,
    rows: list[tuple[int, dict[str, str]]],
    customers: CustomerService,
    identity: Identity,
    report: Report,
) -> None:
    """All of one customer's trait rows as one change; unknown trait names are rejected rows."""
    names = {number: cells.get("trait") for number, cells in rows}
    known = await customers.interactions.known_traits([n for n in names.values() if n])
    wanted = []
    for number, name in names.items():
        if not name:
            report.reject(number, customer_id, "no trait name", "trait")
        elif name not in known:
            report.reject(number, customer_id, f"{name!r} is not in the trait catalogue", "trait")
        else:
            wanted.append((number, name))
    if not wanted:
        return
    current = set((await customers.get(customer_id)).traits)
    await customers.change_traits(customer_id, [n for _, n in wanted], [], identity)
    for _, name in wanted:
        if name in current:
            report.unchanged += 1
        else:
            report.applied += 1
            current.add(name)


def confirmation(criteria: CustomerSearch, count: int) -> str:
    """What the caller sends back to confirm: tied to the criteria and the count it saw."""
    digest = hashlib.sha256(criteria.model_dump_json(exclude={"cursor", "limit"}).encode())
    digest.update(str(count).encode())
    return f"{count}-{digest.hexdigest()[:16]}"


async def delete_matching(
    criteria: CustomerSearch,
    confirm: str | None,
    customers: CustomerService,
    identity: Identity,
) -> dict[str, Any]:
    """Without ``confirm``: how many match, and the token that confirms deleting them. With it:
    erase every match, if the matches are still as many as when the token was given."""
    if not criteria.model_dump(exclude_none=True, exclude={"sort", "order", "limit", "cursor"}):
        raise Invalid.from_errors(
            [{"loc": ("criteria",), "msg": "give at least one criterion", "type": "empty"}]
        )
    ids = await customers.matching_ids(criteria)
    token = confirmation(criteria, len(ids))
    if confirm is None:
        return {"count": len(ids), "confirm": token, "deleted": 0}
    if confirm != token:
        raise Conflict(
            f"the search now finds {len(ids)} customers, not what was confirmed: confirm again",
            code="confirmation-stale",
            count=len(ids),
            confirm=token,
        )
    for customer_id in ids:
        await customers.erase(customer_id, identity)
    return {"count": len(ids), "deleted": len(ids)}
