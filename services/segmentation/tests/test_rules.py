"""Segment rules and segmentations as plain Python."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError
from segmentation.domain import rules
from segmentation.domain.segmentations import SegmentationDefinition

RULE = TypeAdapter(rules.Rule)

HCP = {
    "kind": "person",
    "gender": "female",
    "last_name": "Ionescu",
    "date_of_birth": "1975-04-02",
    "traits": ["kol", "speaker"],
    "addresses": [{"line1": "a", "brick": "B1", "primary": True}, {"line1": "b"}],
    "sms": "+40700000001",
}


def context(profile: dict[str, Any] | None = None, **customer: Any) -> dict[str, Any]:
    return {"customer": {**HCP, **customer}, "profile": profile or {}, "loyalty": {}}


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"field": "customer.gender", "op": "eq", "value": "female"}, True),
        ({"field": "customer.gender", "op": "ne", "value": "female"}, False),
        ({"field": "customer.traits", "op": "eq", "value": "kol"}, True),
        ({"field": "customer.traits", "op": "not_in", "value": ["kol", "x"]}, False),
        ({"field": "customer.addresses.brick", "op": "in", "value": ["B1", "B2"]}, True),
        ({"field": "customer.addresses.brick", "op": "missing"}, True),  # the 2nd address
        ({"field": "customer.email", "op": "missing"}, True),
        ({"field": "customer.sms", "op": "exists"}, True),
        ({"field": "customer.last_name", "op": "starts_with", "value": "ion"}, True),
        ({"field": "customer.last_name", "op": "contains", "value": "ESC"}, True),
        ({"field": "customer.date_of_birth", "op": "before", "value": "1980-01-01"}, True),
        ({"field": "customer.date_of_birth", "op": "after", "value": "1980-01-01"}, False),
        ({"field": "loyalty.rfm_recency", "op": "gte", "value": 4}, False),
        ({"not": {"field": "customer.gender", "op": "eq", "value": "male"}}, True),
        (
            {
                "all": [
                    {"field": "customer.gender", "op": "eq", "value": "female"},
                    {"any": [{"field": "customer.traits", "op": "eq", "value": "nope"}]},
                ]
            },
            False,
        ),
    ],
)
def test_rules_evaluate_like_mongodb(rule: dict[str, Any], expected: bool) -> None:
    assert rules.matches(RULE.validate_python(rule), context()) is expected


def test_numbers_and_text_never_compare() -> None:
    rule = RULE.validate_python({"field": "customer.last_name", "op": "gt", "value": 3})
    assert rules.matches(rule, context()) is False


@pytest.mark.parametrize(
    "rule",
    [
        {"field": "customer.gender", "op": "in", "value": "female"},
        {"field": "customer.gender", "op": "exists", "value": 1},
        {"field": "customer.gender", "op": "between", "value": [1]},
        {"field": "customer.dob", "op": "before", "value": "yesterday"},
        {"field": "customers.gender", "op": "eq", "value": "x"},
        {"field": "customer.gender", "op": "like", "value": "x"},
        {"all": []},
        {"field": "customer.gender", "op": "eq", "value": "x", "extra": 1},
    ],
)
def test_malformed_rules_are_refused(rule: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        RULE.validate_python(rule)


def test_reads_names_every_leaf_field() -> None:
    rule = RULE.validate_python(
        {
            "any": [
                {"field": "profile.potential", "op": "eq", "value": "high"},
                {"not": {"field": "customer.traits", "op": "eq", "value": "kol"}},
            ]
        }
    )
    assert rules.reads(rule) == {"profile.potential", "customer.traits"}


def test_compiled_filter_maps_sources_to_storage_paths() -> None:
    rule = RULE.validate_python(
        {
            "all": [
                {"field": "profile.potential", "op": "in", "value": ["high"]},
                {"not": {"field": "customer.email", "op": "missing"}},
            ]
        }
    )
    paths = {"profile": "profiles.cardio", "customer": "customer", "loyalty": "loyalty"}
    assert rules.compile_filter(rule, paths) == {
        "$and": [
            {"profiles.cardio.potential": {"$in": ["high"]}},
            {"$nor": [{"customer.email": None}]},
        ]
    }


def cardio(**overrides: Any) -> SegmentationDefinition:
    definition = {
        "code": "cardio",
        "name": "Cardiology potential",
        "dimensions": [
            {"name": "potential", "values": ["high", "medium", "low"]},
            {"name": "adoption", "values": ["early", "late"]},
        ],
        "segments": [
            {
                "code": "a",
                "name": "Top",
                "rule": {
                    "all": [
                        {"field": "profile.potential", "op": "eq", "value": "high"},
                        {"field": "profile.adoption", "op": "eq", "value": "early"},
                    ]
                },
            },
            {
                "code": "b",
                "name": "Potential",
                "rule": {"field": "profile.potential", "op": "in", "value": ["high", "medium"]},
            },
        ],
        **overrides,
    }
    return SegmentationDefinition.model_validate(definition)


def test_first_matching_segment_wins() -> None:
    definition = cardio()
    assert definition.segment_for(HCP, {"potential": "high", "adoption": "early"}) == "a"
    assert definition.segment_for(HCP, {"potential": "high", "adoption": "late"}) == "b"
    assert definition.segment_for(HCP, {"potential": "low"}) is None
    assert definition.segment_for(HCP, {}) is None


def test_a_customer_level_segmentation_leaves_accounts_out() -> None:
    account = {**HCP, "kind": "account"}
    assert cardio().segment_for(account, {"potential": "high", "adoption": "early"}) is None
    assert cardio(level="account").segment_for(account, {"potential": "medium"}) == "b"


def test_profiles_are_checked_against_the_dimensions() -> None:
    definition = cardio()
    definition.check_profile({"potential": "low"})
    with pytest.raises(ValueError, match="not an allowed value"):
        definition.check_profile({"potential": "huge"})
    with pytest.raises(ValueError, match="not a dimension"):
        definition.check_profile({"size": "low"})


@pytest.mark.parametrize(
    ("segments", "message"),
    [
        (
            [
                {
                    "code": "a",
                    "name": "A",
                    "rule": {"field": "profile.size", "op": "eq", "value": "x"},
                }
            ],
            "not a dimension",
        ),
        (
            [
                {
                    "code": "a",
                    "name": "A",
                    "rule": {"field": "profile.potential", "op": "eq", "value": "huge"},
                }
            ],
            "not allowed",
        ),
        (
            [
                {"code": "a", "name": "A", "rule": {"field": "customer.kind", "op": "exists"}},
                {"code": "a", "name": "B", "rule": {"field": "customer.kind", "op": "exists"}},
            ],
            "listed twice",
        ),
    ],
)
def test_inconsistent_definitions_are_refused(segments: list, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        cardio(segments=segments)


def test_fields_a_segmentation_reads() -> None:
    definition = cardio(
        segments=[{"code": "a", "name": "A", "rule": {"field": "customer.sms", "op": "exists"}}]
    )
    assert definition.reads_any(["customer.sms", "customer.email"])
    assert not definition.reads_any(["customer.email", "loyalty"])
    assert definition.reads_any(["customer.kind"])
    by_rfm = cardio(
        segments=[
            {
                "code": "a",
                "name": "A",
                "rule": {"field": "loyalty.rfm_recency", "op": "gte", "value": 4},
            }
        ]
    )
    assert by_rfm.reads_any(["loyalty"]) and not by_rfm.reads_any(["customer.sms"])
