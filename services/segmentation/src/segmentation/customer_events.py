"""What a batch of customer events does to segmentation's replica of each customer.

A customer's events in one batch fold into one write: the newest event's record replaces the
replica's, and every merge among them (not only a merge that happens to be the newest event)
brings the merged customer's profile values to the survivor, where the survivor has none of its
own. Events the replica already holds (its ``customer_version``) change nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from contracts.customer_events import CustomerChanged, CustomersMerged
from servicekit.consumer_slot import input_id
from servicekit.consuming import Delivery


@dataclass
class CustomerEvents:
    """One customer's change events in a batch."""

    latest: Delivery  # the newest (by customer version): its record replaces the replica's
    merges: list[CustomersMerged] = field(default_factory=list)  # in version order
    inputs: list[str] = field(default_factory=list)  # the records' ids, for the path's slot

    @property
    def event(self) -> CustomerChanged:
        assert isinstance(self.latest.event, CustomerChanged)
        return self.latest.event


def by_customer(deliveries: Sequence[Delivery]) -> dict[str, CustomerEvents]:
    """The batch's change events per customer."""
    found: dict[str, CustomerEvents] = {}
    for delivery in deliveries:
        event = delivery.event
        if not isinstance(event, CustomerChanged):
            continue
        events = found.setdefault(event.customer.id, CustomerEvents(delivery))
        events.inputs.append(input_id(delivery))
        if events.event.customer.version <= event.customer.version:
            events.latest = delivery
        if isinstance(event, CustomersMerged):
            events.merges.append(event)
    for events in found.values():
        events.merges.sort(key=lambda e: e.customer.version)
    return found


def replica_change(
    events: CustomerEvents, merged_profiles: Mapping[str, Mapping[str, Any]]
) -> Callable[[dict[str, Any] | None], dict[str, Any] | None]:
    """The mutation of the customer's replica (``old``: None if not known yet) for its events;
    ``merged_profiles`` are the profile values of the customers merged into it, by id."""
    latest = events.event
    record = latest.customer.model_dump(mode="json", exclude_none=True)

    def mutate(old: dict[str, Any] | None) -> dict[str, Any] | None:
        held = (old or {}).get("customer_version", 0)
        if held >= latest.customer.version:
            return None  # a duplicate or a stale replay
        fields: dict[str, Any] = {"customer": record, "customer_version": latest.customer.version}
        merges = [m for m in events.merges if m.customer.version > held]
        if merges:
            profiles = dict((old or {}).get("profiles", {}))
            for merge in merges:
                profiles = {**merged_profiles.get(merge.merged_customer_id, {}), **profiles}
            fields["profiles"] = profiles
        return fields

    return mutate
