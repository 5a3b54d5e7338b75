"""Segmentations: dimensions with allowed profile values, and segments defined by rules.

A customer falls in the first segment (in priority order) whose rule holds; a customer-level
segmentation segments persons, an account-level one accounts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Annotated, Any

from contracts.segmentation_events import SegmentationLevel
from contracts.text import PlainText
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from pydantic_core import PydanticCustomError

from segmentation.domain import rules
from segmentation.domain.rules import Rule

Code = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")]
Label = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), PlainText
]
ProfileValue = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
Profile = dict[str, str]
KIND_OF_LEVEL: dict[str, str] = {"customer": "person", "account": "account"}


def _invalid(kind: str, message: str, *fields: str) -> PydanticCustomError:
    return PydanticCustomError(kind, message, {"fields": list(fields)})


class Dimension(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Code
    values: Annotated[list[ProfileValue], Field(min_length=1, max_length=100)]

    @model_validator(mode="after")
    def _distinct(self) -> Dimension:
        if len(set(self.values)) != len(self.values):
            raise _invalid("duplicate_value", f"{self.name} lists a value twice", "values")
        return self


class Segment(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    code: Code
    name: Label
    rule: Rule


class SegmentationDefinition(BaseModel):
    """What a user defines; segments are listed in priority order (the first match wins)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: Code
    name: Label
    level: SegmentationLevel = "customer"
    dimensions: Annotated[list[Dimension], Field(max_length=20)] = []
    segments: Annotated[list[Segment], Field(min_length=1, max_length=50)]

    @model_validator(mode="after")
    def _consistent(self) -> SegmentationDefinition:
        names = [d.name for d in self.dimensions]
        if len(set(names)) != len(names):
            raise _invalid("duplicate_dimension", "a dimension is listed twice", "dimensions")
        codes = [s.code for s in self.segments]
        if len(set(codes)) != len(codes):
            raise _invalid("duplicate_segment", "a segment code is listed twice", "segments")
        allowed = self.allowed_values
        for segment in self.segments:
            if rules.depth(segment.rule) > rules.MAX_DEPTH:
                raise _invalid(
                    "rule_too_deep",
                    f"segment {segment.code}: rules nest at most {rules.MAX_DEPTH} levels",
                    "segments",
                )
            for leaf in rules.leaves(segment.rule):
                source, _, dimension = leaf.field.partition(".")
                if source != "profile":
                    continue
                if dimension not in allowed:
                    raise _invalid(
                        "unknown_dimension",
                        f"segment {segment.code} reads {leaf.field}, not a dimension of "
                        f"{self.code}",
                        "segments",
                    )
                values = leaf.value if isinstance(leaf.value, list) else [leaf.value]
                unknown = [v for v in values if v is not None and v not in allowed[dimension]]
                if leaf.op in {"eq", "ne", "in", "not_in"} and unknown:
                    raise _invalid(
                        "unknown_profile_value",
                        f"segment {segment.code}: {unknown} not allowed for {dimension}",
                        "segments",
                    )
        return self

    @property
    def allowed_values(self) -> dict[str, list[str]]:
        return {d.name: d.values for d in self.dimensions}

    def applies_to(self, kind: str | None) -> bool:
        return KIND_OF_LEVEL[self.level] == kind

    def reads(self) -> set[str]:
        fields = {"customer.kind"}
        for segment in self.segments:
            fields |= rules.reads(segment.rule)
        return fields

    def reads_any(self, changed: Iterable[str]) -> bool:
        """Whether a change of these fields (``customer.email``, or a whole source such as
        ``loyalty``) can change a segment here."""
        read = self.reads()
        return any(f == c or f.startswith(c + ".") for c in changed for f in read)

    def check_profile(self, profile: Mapping[str, str]) -> None:
        """Raise ValueError naming the first dimension or value the segmentation does not
        allow."""
        allowed = self.allowed_values
        for dimension, value in profile.items():
            if dimension not in allowed:
                raise ValueError(f"{dimension} is not a dimension of {self.code}")
            if value not in allowed[dimension]:
                raise ValueError(
                    f"{value!r} is not an allowed value of {dimension}: "
                    f"{', '.join(allowed[dimension])}"
                )

    def segment_for(
        self,
        customer: Mapping[str, Any],
        profile: Mapping[str, str],
        loyalty: Mapping[str, Any] | None = None,
    ) -> str | None:
        """The segment the customer falls in, or None."""
        if not self.applies_to(customer.get("kind")):
            return None
        context = {"customer": customer, "profile": profile, "loyalty": loyalty or {}}
        for segment in self.segments:
            if rules.matches(segment.rule, context):
                return segment.code
        return None

    def candidates_filter(self, paths: Mapping[str, str]) -> rules.Filter:
        """The customers that may fall in some segment (any rule holds): with the customers
        holding a segment now, everyone whose assignment a rule change can change."""
        kind = {f"{paths['customer']}.kind": KIND_OF_LEVEL[self.level]}
        own = [rules.compile_filter(segment.rule, paths) for segment in self.segments]
        return {"$and": [kind, {"$or": own}]}

    def segment_filters(self, paths: Mapping[str, str]) -> dict[str, rules.Filter]:
        """For each segment, a filter of the customers in it (priority included): its own rule,
        and none of the rules before it."""
        kind = {f"{paths['customer']}.kind": KIND_OF_LEVEL[self.level]}
        filters: dict[str, rules.Filter] = {}
        earlier: list[rules.Filter] = []
        for segment in self.segments:
            own = rules.compile_filter(segment.rule, paths)
            clauses = [kind, own] + ([{"$nor": list(earlier)}] if earlier else [])
            filters[segment.code] = {"$and": clauses}
            earlier.append(own)
        return filters
