"""Segment rules: a condition tree over a customer's profile values, attributes and metrics.

A rule is ``{"all": [...]}``, ``{"any": [...]}``, ``{"not": rule}`` or a leaf
``{"field": "profile.potential", "op": "in", "value": ["high", "medium"]}``. The same tree is
evaluated in Python for one customer (:func:`matches`) and compiled to a MongoDB filter for many
(:func:`compile_filter`); both follow MongoDB's semantics, in particular for array fields (a leaf
matches if any element does) and for null (``missing`` matches an absent field or a null).

Fields name where the value comes from:
- ``profile.<dimension>``: the customer's profile value in the rule's segmentation;
- ``customer.<field>[.<sub>]``: the customer record, e.g. ``customer.gender``, ``customer.traits``,
  ``customer.addresses.brick``, ``customer.suppressions.type``, ``customer.date_of_birth``;
- ``loyalty.<metric>``: loyalty metrics such as ``loyalty.rfm_recency`` (absent until known).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StringConstraints,
    Tag,
    model_validator,
)
from pydantic_core import PydanticCustomError

Operator = Literal[
    "eq",
    "ne",
    "in",
    "not_in",
    "gt",
    "gte",
    "lt",
    "lte",
    "between",
    "exists",
    "missing",
    "contains",
    "starts_with",
    "before",
    "after",
]
FieldPath = Annotated[
    str,
    StringConstraints(pattern=r"^(profile|customer|loyalty)(\.[a-z][a-z0-9_]{0,39}){1,2}$"),
]
Scalar = str | int | float | bool
NO_VALUE: frozenset[str] = frozenset({"exists", "missing"})
LIST_VALUE: frozenset[str] = frozenset({"in", "not_in"})
DATE_VALUE: frozenset[str] = frozenset({"before", "after"})
TEXT_VALUE: frozenset[str] = frozenset({"contains", "starts_with"})
MAX_DEPTH = 8


class Condition(BaseModel):
    """A leaf: ``field op value``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    field: FieldPath
    op: Operator
    value: Scalar | list[Scalar] | None = None

    @model_validator(mode="after")
    def _value_fits_operator(self) -> Condition:
        def wrong(message: str) -> PydanticCustomError:
            return PydanticCustomError("value_for_operator", message, {"fields": ["value"]})

        value = self.value
        if self.op in NO_VALUE:
            if value is not None:
                raise wrong(f"{self.op} takes no value")
        elif self.op in LIST_VALUE:
            if not isinstance(value, list) or not value:
                raise wrong(f"{self.op} needs a non-empty list of values")
        elif self.op == "between":
            if not isinstance(value, list) or len(value) != 2:
                raise wrong("between needs [low, high]")
        elif isinstance(value, list) or value is None:
            raise wrong(f"{self.op} needs a single value")
        elif self.op in TEXT_VALUE and not isinstance(value, str):
            raise wrong(f"{self.op} needs a text value")
        elif self.op in DATE_VALUE:
            try:
                date.fromisoformat(str(value))
            except ValueError:
                raise wrong(f"{self.op} needs a date such as 2026-01-31") from None
        return self


class All(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    all_: list[Rule] = Field(alias="all", min_length=1, max_length=50)


class AnyOf(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    any_: list[Rule] = Field(alias="any", min_length=1, max_length=50)


class Not(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    not_: Rule = Field(alias="not")


def _kind(value: Any) -> str:
    if isinstance(value, Mapping):
        for key in ("all", "any", "not"):
            if key in value:
                return key
        return "leaf"
    for kind, model in (("all", All), ("any", AnyOf), ("not", Not), ("leaf", Condition)):
        if isinstance(value, model):
            return kind
    return "leaf"


Rule = Annotated[
    Annotated[All, Tag("all")]
    | Annotated[AnyOf, Tag("any")]
    | Annotated[Not, Tag("not")]
    | Annotated[Condition, Tag("leaf")],
    Discriminator(_kind),
]
All.model_rebuild()
AnyOf.model_rebuild()
Not.model_rebuild()


def leaves(rule: Rule) -> Iterator[Condition]:
    match rule:
        case All(all_=rules) | AnyOf(any_=rules):
            for r in rules:
                yield from leaves(r)
        case Not(not_=inner):
            yield from leaves(inner)
        case Condition():
            yield rule


def depth(rule: Rule) -> int:
    match rule:
        case All(all_=rules) | AnyOf(any_=rules):
            return 1 + max(depth(r) for r in rules)
        case Not(not_=inner):
            return 1 + depth(inner)
    return 1


def reads(rule: Rule) -> set[str]:
    """The fields a rule reads: a change elsewhere cannot change its outcome."""
    return {leaf.field for leaf in leaves(rule)}


# --- evaluation for one customer -------------------------------------------------------------


def _resolve(value: Any, parts: list[str]) -> list[Any] | None:
    """The values at ``parts`` below ``value``, fanning out over arrays as MongoDB does. An
    array element lacking the field contributes None; a path absent altogether gives None."""
    if not parts:
        if isinstance(value, list):
            return list(value)
        return [value]
    if isinstance(value, list):
        found: list[Any] = []
        for element in value:
            below = _resolve(element, parts) if isinstance(element, Mapping) else None
            found.extend(below if below is not None else [None])
        return found
    if not isinstance(value, Mapping) or parts[0] not in value:
        return None
    return _resolve(value[parts[0]], parts[1:])


def _comparable(a: Any, b: Any) -> bool:
    def bracket(x: Any) -> str | None:
        if isinstance(x, bool):
            return "bool"
        if isinstance(x, int | float):
            return "number"
        if isinstance(x, str):
            return "text"
        return None

    kind = bracket(a)
    return kind is not None and kind == bracket(b)


def _equals_null(values: list[Any] | None) -> bool:
    return values is None or any(v is None for v in values)


def _test(op: str, values: list[Any] | None, operand: Any) -> bool:
    present = [v for v in values or () if v is not None]
    match op:
        case "eq":
            return _equals_null(values) if operand is None else operand in present
        case "ne":
            return not _test("eq", values, operand)
        case "in":
            return any(v in operand for v in present)
        case "not_in":
            return not _test("in", values, operand)
        case "exists":
            return not _equals_null(values)
        case "missing":
            return _equals_null(values)
        case "gt" | "after":
            return any(_comparable(v, operand) and v > operand for v in present)
        case "gte":
            return any(_comparable(v, operand) and v >= operand for v in present)
        case "lt" | "before":
            return any(_comparable(v, operand) and v < operand for v in present)
        case "lte":
            return any(_comparable(v, operand) and v <= operand for v in present)
        case "between":
            low, high = operand
            return _test("gte", values, low) and _test("lte", values, high)
        case "contains":
            return any(isinstance(v, str) and operand.lower() in v.lower() for v in present)
        case "starts_with":
            return any(
                isinstance(v, str) and v.lower().startswith(operand.lower()) for v in present
            )
    raise ValueError(f"unknown operator {op}")


def _operand(leaf: Condition) -> Any:
    if leaf.op in DATE_VALUE:
        return str(leaf.value)
    return leaf.value


def matches(rule: Rule, context: Mapping[str, Any]) -> bool:
    """Whether the rule holds for a customer. ``context`` maps ``profile``, ``customer`` and
    ``loyalty`` to the customer's values (JSON-shaped: dates as ISO text)."""
    match rule:
        case All(all_=rules):
            return all(matches(r, context) for r in rules)
        case AnyOf(any_=rules):
            return any(matches(r, context) for r in rules)
        case Not(not_=inner):
            return not matches(inner, context)
        case Condition():
            return _test(rule.op, _resolve(context, rule.field.split(".")), _operand(rule))
    raise TypeError(f"not a rule: {rule!r}")


# --- compilation for many --------------------------------------------------------------------

Filter = dict[str, Any]


def _leaf_filter(path: str, op: str, operand: Any) -> Filter:
    match op:
        case "eq":
            return {path: operand}
        case "ne":
            return {path: {"$ne": operand}}
        case "in":
            return {path: {"$in": operand}}
        case "not_in":
            return {path: {"$nin": operand}}
        case "exists":
            return {path: {"$ne": None}}
        case "missing":
            return {path: None}
        case "gt" | "after":
            return {path: {"$gt": operand}}
        case "gte":
            return {path: {"$gte": operand}}
        case "lt" | "before":
            return {path: {"$lt": operand}}
        case "lte":
            return {path: {"$lte": operand}}
        case "between":
            return {"$and": [{path: {"$gte": operand[0]}}, {path: {"$lte": operand[1]}}]}
        case "contains":
            return {path: {"$regex": re.escape(operand), "$options": "i"}}
        case "starts_with":
            return {path: {"$regex": "^" + re.escape(operand), "$options": "i"}}
    raise ValueError(f"unknown operator {op}")


def compile_filter(rule: Rule, paths: Mapping[str, str]) -> Filter:
    """A MongoDB filter equivalent to :func:`matches`. ``paths`` maps each field's source
    (``profile``, ``customer``, ``loyalty``) to where it is stored in the documents."""
    match rule:
        case All(all_=rules):
            return {"$and": [compile_filter(r, paths) for r in rules]}
        case AnyOf(any_=rules):
            return {"$or": [compile_filter(r, paths) for r in rules]}
        case Not(not_=inner):
            return {"$nor": [compile_filter(inner, paths)]}
        case Condition():
            source, _, rest = rule.field.partition(".")
            return _leaf_filter(f"{paths[source]}.{rest}", rule.op, _operand(rule))
    raise TypeError(f"not a rule: {rule!r}")
