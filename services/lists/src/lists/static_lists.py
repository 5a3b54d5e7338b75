"""Static lists and groups (seeds 002 and 003): customers picked by hand, from a search or by CSV
import, used for a purpose (email, mail, phone...), with rules applied at the time of use:
customers with an excluded suppression or without a required trait are left out, and said why.
A group is a static list owned by teams and reps and tied to a saved search; adding the
customers that match the search now is done through the gateway (the search runs in the
customer service)."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from servicekit.auth import Identity
from servicekit.problems import Conflict, Forbidden, Invalid, NotFound

from lists import domain
from lists.handlers import facts
from lists.store import ListsStore, StaticListStore

MAX_IMPORT_ROWS = 100_000
USAGE_PAGE = 1000


def _rules(doc: Mapping[str, Any]) -> domain.StaticList:
    return domain.StaticList(
        id=doc["_id"],
        excluded_suppressions=frozenset(doc.get("excluded_suppressions", ())),
        required_traits=frozenset(doc.get("required_traits", ())),
    )


@dataclass
class StaticListService:
    store: StaticListStore
    replica: ListsStore

    @staticmethod
    def sees(doc: Mapping[str, Any], identity: Identity) -> bool:
        return domain.sees_list(doc, identity.user, identity.role, identity.teams)

    async def get(self, list_id: str, identity: Identity) -> dict[str, Any]:
        """The list, if the caller may see it; another team's list does not exist for them."""
        doc = await self.store.get(list_id)
        if doc is None or not self.sees(doc, identity):
            raise NotFound(f"no list {list_id}", code="list-not-found")
        return doc

    async def _changeable(self, list_id: str, identity: Identity) -> dict[str, Any]:
        doc = await self.get(list_id, identity)
        if not domain.owns_list(doc, identity.user, identity.role, identity.teams):
            raise Forbidden("not allowed")  # readable by all, changed by its owners
        return doc

    async def find(self, query: Mapping[str, Any], identity: Identity) -> list[dict[str, Any]]:
        return [doc for doc in await self.store.find(query) if self.sees(doc, identity)]

    async def _check_owners(self, owners: Mapping[str, Any] | None) -> None:
        """Owners name teams that exist (422 naming the field otherwise)."""
        named = list((owners or {}).get("teams", ()))
        if not named:
            return
        known = {t["_id"] for t in await self.replica.find("teams", {"_id": {"$in": named}})}
        errors = [
            {"loc": ("owners", "teams", i), "msg": "no such team", "type": "unknown_team"}
            for i, team in enumerate(named)
            if team not in known
        ]
        if errors:
            raise Invalid.from_errors(errors)

    async def create(
        self, fields: dict[str, Any], customer_ids: Sequence[str], identity: Identity
    ) -> dict[str, Any]:
        await self._check_owners(fields.get("owners"))
        now = datetime.now(UTC)
        owners = fields.get("owners") or {}
        if not owners.get("teams") and not owners.get("reps"):
            owners = {**owners, "teams": sorted(identity.teams)}  # by default the creator's
        doc = {
            "_id": "L-" + uuid.uuid4().hex[:10],
            **fields,
            "owners": owners,
            "version": 1,
            "created_by": identity.user,
            "created_at": now,
        }
        await self.store.insert(doc)
        if customer_ids:
            await self.add(doc["_id"], customer_ids, identity)
        return doc

    async def change(
        self, list_id: str, version: int, fields: dict[str, Any], identity: Identity
    ) -> dict[str, Any]:
        doc = await self._changeable(list_id, identity)
        await self._check_owners(fields.get("owners"))
        if not await self.store.update(list_id, version, fields):
            raise Conflict(
                f"list {list_id} is at version {doc['version']}, not {version}",
                code="stale-version",
            )
        return await self.get(list_id, identity)

    async def delete(self, list_id: str, identity: Identity) -> None:
        await self._changeable(list_id, identity)
        await self.store.delete(list_id)

    async def add(
        self, list_id: str, customer_ids: Sequence[str], identity: Identity, source: str = "api"
    ) -> dict[str, Any]:
        """Add known customers; unknown ids are reported, not added."""
        await self._changeable(list_id, identity)
        wanted = list(dict.fromkeys(customer_ids))
        known = await self.replica.customers_by_id(wanted)
        found = [cid for cid in wanted if facts(known.get(cid)) is not None]
        added = await self.store.add(
            list_id,
            found,
            {"added_at": datetime.now(UTC), "added_by": identity.user, "source": source},
        )
        unknown = [cid for cid in wanted if cid not in set(found)]
        return {"added": added, "already_listed": len(found) - added, "unknown": unknown}

    async def remove(self, list_id: str, customer_id: str, identity: Identity) -> None:
        await self._changeable(list_id, identity)
        if not await self.store.remove(list_id, customer_id):
            raise NotFound(f"customer {customer_id} is not on list {list_id}", code="not-on-list")

    async def import_csv(self, list_id: str, content: bytes, identity: Identity) -> dict[str, Any]:
        """Rows naming a customer by ``customer_id`` or ``mdm_code``; a report per bad row."""
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise Invalid.from_errors(
                [{"loc": ("file",), "msg": "the file is not UTF-8 text", "type": "encoding"}]
            ) from exc
        reader = csv.DictReader(io.StringIO(text))
        columns = set(reader.fieldnames or ())
        if not columns & {"customer_id", "mdm_code"}:
            raise Invalid.from_errors(
                [
                    {
                        "loc": ("file",),
                        "msg": "needs a customer_id or mdm_code column",
                        "type": "missing_column",
                    }
                ]
            )
        ids: list[str] = []
        rejected: list[dict[str, Any]] = []
        for number, row in enumerate(reader, start=2):
            if number > MAX_IMPORT_ROWS + 1:
                raise Invalid.from_errors(
                    [
                        {
                            "loc": ("file",),
                            "msg": f"at most {MAX_IMPORT_ROWS} rows",
                            "type": "too_many_rows",
                        }
                    ]
                )
            cid = (row.get("customer_id") or "").strip()
            code = (row.get("mdm_code") or "").strip()
            if not cid and code:
                found = await self.replica.customer_by_mdm_code(code)
                cid = found["_id"] if found else ""
            if not cid:
                rejected.append({"row": number, "error": "no such customer", "value": code or None})
                continue
            ids.append(cid)
        result = await self.add(list_id, ids, identity, source="import")
        rejected += [
            {"row": None, "error": "no such customer", "value": cid}
            for cid in result.pop("unknown")
        ]
        return {**result, "rejected": rejected}

    async def usage(self, list_id: str, identity: Identity) -> tuple[dict[str, Any], Any]:
        """The list and how it would be used now: its customers counted, used and left out
        (by reason), its rules applied to every customer on it, a page at a time."""
        doc = await self.get(list_id, identity)
        rules = _rules(doc)
        reasons: list[list[Any]] = []
        after = None
        while True:
            entries = await self.store.page(list_id, after, USAGE_PAGE)
            if not entries:
                break
            replicas = await self.replica.customers_by_id([e["customer_id"] for e in entries])
            for entry in entries:
                found = replicas.get(entry["customer_id"])
                traits = frozenset((found or {}).get("traits", ()))
                reasons.append(domain.eligibility(rules, facts(found), traits))
            after = entries[-1]["customer_id"]
            if len(entries) < USAGE_PAGE:
                break
        return doc, domain.usage_counts(reasons)

    async def members(
        self,
        list_id: str,
        identity: Identity,
        include_excluded: bool,
        cursor: str | None,
        limit: int,
    ) -> dict[str, Any]:
        """The list's customers with whether each is used (the rules applied now)."""
        rules = _rules(await self.get(list_id, identity))
        items: list[dict[str, Any]] = []
        after = cursor
        while len(items) < limit:
            entries = await self.store.page(list_id, after, limit)
            if not entries:
                after = None
                break
            replicas = await self.replica.customers_by_id([e["customer_id"] for e in entries])
            for entry in entries:
                after = entry["customer_id"]
                doc = replicas.get(after)
                reasons = domain.eligibility(
                    rules, facts(doc), frozenset((doc or {}).get("traits", ()))
                )
                if reasons and not include_excluded:
                    continue
                items.append(
                    {
                        "customer_id": after,
                        "name": (doc or {}).get("name"),
                        "mdm_code": (doc or {}).get("mdm_code"),
                        "included": not reasons,
                        "reasons": [r.model_dump() for r in reasons],
                        "added_at": entry.get("added_at"),
                        "source": entry.get("source"),
                    }
                )
                if len(items) == limit:
                    break
            if len(entries) < limit and len(items) < limit:
                after = None
                break
        return {"items": items, "next_cursor": after if len(items) == limit else None}
