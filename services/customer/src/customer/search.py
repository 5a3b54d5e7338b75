"""Customer search: normalised search keys stored beside each record, and the queries over them.

MongoDB's collation and ``$text`` are not available everywhere we run (the dev stand-in ignores
collation and lacks ``$text``), and a case-insensitive regex cannot use an index. So each record
carries ``search``: its searchable values casefolded with accents stripped (phones as digits), and
criteria become exact matches or anchored prefix regexes on those keys, which real MongoDB
serves from an index. Paging is by keyset (sort value, id), never by skip.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import unicodedata
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from contracts.customers import CustomerSearch
from servicekit.problems import Invalid

FIELD = "search"
PHONE_FIELDS = ("sms", "phone", "work_phone", "alternate_phone", "fax")
# criteria on one kind of number (seed 003's Home, Work and Mobile Phone) -> its field
PHONE_CRITERIA = {"home_phone": "phone", "work_phone": "work_phone", "mobile_phone": "sms"}
NAME_FIELDS = ("first_name", "middle_name", "last_name")
# criteria matched by prefix on one search key: criterion -> key
PREFIX_KEYS = {
    "first_name": "first_name",
    "middle_name": "middle_name",
    "last_name": "last_name",
    "name": "names",
    "organization": "organization",
    "salutation": "salutation",
    "email": "email",
    "address": "lines",
    "city": "cities",
    "state": "states",
    "postal_code": "postal_codes",
    "alt_customer_id": "alt_customer_id",
}
# criteria matched exactly on a stored field
EXACT_FIELDS = {
    "customer_id": "_id",
    "mdm_code": "mdm_code",
    "kind": "kind",
    "customer_type": "customer_type",
    "status": "status",
    "gender": "gender",
    "marital_status": "marital_status",
    "preferred_contact_method": "preferred_contact_method",
    "external": "external",
    "country": "addresses.country",
    "brick": "addresses.brick",
    "account_id": "account_id",
}
# sort key -> stored path (names sort by their normalised key, so "Ádám" sits beside "Adam")
SORT_PATHS = {
    "last_name": f"{FIELD}.last_name",
    "first_name": f"{FIELD}.first_name",
    "organization": f"{FIELD}.organization",
    "created_at": "created_at",
    "updated_at": "updated_at",
    "mdm_code": "mdm_code",
}
# search keys with an index of their own (see CustomerStore.create_indexes)
INDEXED_KEYS = (
    "last_name",
    "first_name",
    "organization",
    "names",
    "email",
    "phones",
    "words",
    "lines",
    "cities",
    "postal_codes",
    "alt_customer_id",
)
# The lowest value of each sort path's type: ``{"$gte": floor}`` selects the records that have
# a value as one index range (``{"$ne": None}`` would read the whole index).
SORT_FLOORS: dict[str, Any] = {
    **{path: "" for key, path in SORT_PATHS.items() if key not in ("created_at", "updated_at")},
    "created_at": datetime.min.replace(tzinfo=UTC),
    "updated_at": datetime.min.replace(tzinfo=UTC),
}
_WORD = re.compile(r"[\w@.+-]+")


def normalise(text: str) -> str:
    """Casefolded, accents stripped, inner whitespace collapsed."""
    folded = text.casefold()
    if not folded.isascii():  # ASCII has nothing to decompose: most values skip the walk
        decomposed = unicodedata.normalize("NFKD", folded)
        folded = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(folded.split())


def digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


def _values(values: Iterable[Any]) -> list[str]:
    return sorted({normalise(v) for v in values if isinstance(v, str) and v.strip()})


def search_keys(record: dict[str, Any]) -> dict[str, Any]:
    """The ``search`` subdocument for a record (recomputed on every write)."""
    addresses = record.get("addresses") or []
    keys: dict[str, Any] = {
        name: normalise(record[name])
        for name in (*NAME_FIELDS, "organization", "salutation", "email", "alt_customer_id")
        if record.get(name)
    }
    keys["names"] = _values(record.get(n) for n in NAME_FIELDS)
    keys["phones"] = sorted({digits(record[p]) for p in PHONE_FIELDS if record.get(p)})
    keys["lines"] = _values(a.get(k) for a in addresses for k in ("line1", "line2", "line3"))
    keys["cities"] = _values(a.get("city") for a in addresses)
    keys["states"] = _values(a.get(k) for a in addresses for k in ("state", "province"))
    keys["postal_codes"] = _values(a.get("postal_code") for a in addresses)
    words = set()
    for value in (
        *keys["names"],
        keys.get("organization"),
        keys.get("email"),
        record.get("mdm_code"),
    ):
        if value:
            words.update(_WORD.findall(normalise(value)))
    words.update(keys["phones"])
    keys["words"] = sorted(words)
    return keys


def _prefix(value: str) -> dict[str, str]:
    return {"$regex": "^" + re.escape(value)}


def _encode_cursor(sort_value: Any, doc_id: str) -> str:
    if isinstance(sort_value, datetime):
        sort_value = {"$date": sort_value.isoformat()}
    raw = json.dumps([sort_value, doc_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[Any, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        sort_value, doc_id = json.loads(raw)
        if isinstance(sort_value, dict):
            sort_value = datetime.fromisoformat(sort_value["$date"])
        if not isinstance(doc_id, str):
            raise ValueError("id")
    except (ValueError, TypeError, KeyError, binascii.Error) as exc:
        raise Invalid.from_errors(
            [{"loc": ("cursor",), "msg": "not a cursor this API gave out", "type": "cursor"}]
        ) from exc
    return sort_value, doc_id


def build_query(criteria: CustomerSearch) -> tuple[dict[str, Any], list[tuple[str, int]]]:
    """The filter and sort for ``criteria`` (the cursor included)."""
    clauses: list[dict[str, Any]] = []
    if criteria.customer_ids is not None:
        clauses.append({"_id": {"$in": list(criteria.customer_ids)}})
    for criterion, key in PREFIX_KEYS.items():
        value = getattr(criteria, criterion)
        if value is not None:
            clauses.append({f"{FIELD}.{key}": _prefix(normalise(value))})
    for criterion, path in EXACT_FIELDS.items():
        value = getattr(criteria, criterion)
        if value is not None:
            clauses.append({path: value})
    if criteria.phone is not None:
        wanted = digits(criteria.phone)
        if not wanted:
            raise Invalid.from_errors(
                [{"loc": ("phone",), "msg": "a phone number needs digits", "type": "phone"}]
            )
        clauses.append({f"{FIELD}.phones": _prefix(wanted)})
    for criterion, field in PHONE_CRITERIA.items():
        value = getattr(criteria, criterion)
        if value is None:
            continue
        wanted = digits(value)
        if not wanted:
            raise Invalid.from_errors(
                [{"loc": (criterion,), "msg": "a phone number needs digits", "type": "phone"}]
            )
        # the index finds the numbers that start so; the field's own number must be one of them
        clauses.append({f"{FIELD}.phones": _prefix(wanted)})
        clauses.append({field: {"$regex": r"^\D*" + r"\D*".join(wanted)}})
    if criteria.q is not None:
        for word in _WORD.findall(normalise(criteria.q)):
            clauses.append({f"{FIELD}.words": _prefix(word)})
    born: dict[str, str] = {}
    if criteria.date_of_birth is not None:
        born["$eq"] = criteria.date_of_birth.isoformat()
    if criteria.born_from is not None:
        born["$gte"] = criteria.born_from.isoformat()
    if criteria.born_to is not None:
        born["$lte"] = criteria.born_to.isoformat()
    if born:
        clauses.append({"date_of_birth": born})

    path = SORT_PATHS[criteria.sort]
    direction = 1 if criteria.order == "asc" else -1
    # Ties are broken by id in the same direction, so that an index on (sort value, _id) gives
    # either order read forwards or backwards (a mixed-direction sort would be sorted in memory).
    if criteria.cursor is not None:
        after_value, after_id = _decode_cursor(criteria.cursor)
        beyond = "$gt" if direction == 1 else "$lt"
        if after_value is None:
            # documents without the sort value come first ascending (last descending)
            later: dict[str, Any] = {
                "$or": [
                    {path: {"$gte": SORT_FLOORS[path]}},
                    {path: None, "_id": {beyond: after_id}},
                ]
            }
            if direction == -1:
                later = {path: None, "_id": {beyond: after_id}}
        else:
            later = {
                "$or": [
                    {path: {beyond: after_value}},
                    {path: after_value, "_id": {beyond: after_id}},
                ]
            }
            if direction == -1:
                later["$or"].append({path: None})
        clauses.append(later)
    query: dict[str, Any] = {"$and": clauses} if clauses else {}
    return query, [(path, direction), ("_id", direction)]


def next_cursor(page: list[dict[str, Any]], criteria: CustomerSearch, more: bool) -> str | None:
    if not more or not page:
        return None
    last = page[-1]
    value: Any = last
    for part in SORT_PATHS[criteria.sort].split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return _encode_cursor(value, last["_id"])
