"""A segment rule means the same evaluated in Python for one customer and compiled to a MongoDB
filter for many: every operator, over scalars, arrays, nested arrays, nulls and absent fields,
checked against whichever server the run uses (the stand-in in CI, ``mongod`` when given)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import TypeAdapter
from pymongo.asynchronous.database import AsyncDatabase
from segmentation.domain import rules

pytestmark = pytest.mark.servers

RULE = TypeAdapter(rules.Rule)
PATHS = {"profile": "profiles.s", "customer": "customer", "loyalty": "loyalty"}

CUSTOMERS: list[dict[str, Any]] = [
    {
        "_id": "full",
        "customer": {
            "kind": "person",
            "gender": "female",
            "last_name": "Ionescu",
            "date_of_birth": "1975-04-02",
            "traits": ["kol", "speaker"],
            "sms": "+40700",
            "addresses": [{"line1": "a", "brick": "B1"}, {"line1": "b"}],
        },
        "profiles": {"s": {"potential": "high"}},
        "loyalty": {"rfm_recency": 5},
    },
    {"_id": "bare", "customer": {"kind": "person"}},
    {
        "_id": "nulls",
        "customer": {"kind": "person", "gender": None, "traits": [], "addresses": []},
        "profiles": {"s": {}},
    },
    {
        "_id": "account",
        "customer": {
            "kind": "account",
            "last_name": "ionela",
            "traits": ["kol"],
            "addresses": [{"line1": "c", "brick": "B2"}],
        },
        "profiles": {"s": {"potential": "low"}},
        "loyalty": {"rfm_recency": 2},
    },
]

LEAVES: list[dict[str, Any]] = [
    {"field": "customer.gender", "op": "eq", "value": "female"},
    {"field": "customer.gender", "op": "ne", "value": "female"},
    {"field": "customer.gender", "op": "exists"},
    {"field": "customer.gender", "op": "missing"},
    {"field": "customer.traits", "op": "eq", "value": "kol"},
    {"field": "customer.traits", "op": "in", "value": ["speaker", "x"]},
    {"field": "customer.traits", "op": "not_in", "value": ["kol"]},
    {"field": "customer.traits", "op": "exists"},
    {"field": "customer.addresses.brick", "op": "in", "value": ["B1", "B2"]},
    {"field": "customer.addresses.brick", "op": "exists"},
    {"field": "customer.last_name", "op": "starts_with", "value": "ION"},
    {"field": "customer.last_name", "op": "contains", "value": "cu"},
    {"field": "customer.date_of_birth", "op": "before", "value": "1980-01-01"},
    {"field": "customer.date_of_birth", "op": "after", "value": "1980-01-01"},
    {"field": "loyalty.rfm_recency", "op": "gte", "value": 4},
    {"field": "loyalty.rfm_recency", "op": "between", "value": [1, 3]},
    {"field": "loyalty.rfm_recency", "op": "lt", "value": 3},
    {"field": "profile.potential", "op": "eq", "value": "high"},
    {"field": "profile.potential", "op": "missing"},
    {"not": {"field": "profile.potential", "op": "in", "value": ["high", "low"]}},
    {
        "any": [
            {"field": "customer.kind", "op": "eq", "value": "account"},
            {
                "all": [
                    {"field": "customer.sms", "op": "exists"},
                    {"field": "customer.traits", "op": "eq", "value": "speaker"},
                ]
            },
        ]
    },
]


def context(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        "customer": doc["customer"],
        "profile": doc.get("profiles", {}).get("s", {}),
        "loyalty": doc.get("loyalty", {}),
    }


@pytest.mark.parametrize("leaf", LEAVES, ids=lambda leaf: str(leaf)[:60])
async def test_the_compiled_filter_selects_what_python_matches(
    mongo_db: AsyncDatabase, leaf: dict[str, Any]
) -> None:
    customers = mongo_db["customers"]
    await customers.insert_many(CUSTOMERS)
    rule = RULE.validate_python(leaf)
    expected = sorted(d["_id"] for d in CUSTOMERS if rules.matches(rule, context(d)))
    # as the service runs compiled rules: over the whole collection, on purpose
    query = rules.compile_filter(rule, PATHS)
    found = await customers.find(query, {"_id": 1}, hint={"$natural": 1}).to_list()
    assert sorted(d["_id"] for d in found) == expected
