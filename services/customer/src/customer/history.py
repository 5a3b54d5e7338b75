"""How the history consumer reads the service's own ``customer.events``: only what a history
entry keeps (the customer's id, version and time, who changed which fields), not the whole
customer each event carries, which validating again for every event cost more than the entry.

The topic is read with these models in place of its own (same types, same dead-letter topic):
an event they cannot read is dead-lettered as before.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from contracts.customer_events import (
    CustomerDeactivated,
    CustomerErased,
    CustomerRegistered,
    CustomersMerged,
    CustomerUpdated,
)
from contracts.events import Event
from contracts.topics import CUSTOMER_EVENTS
from pydantic import BaseModel, ConfigDict, Field


class CustomerVersion(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str
    version: int
    updated_at: datetime


class ChangeRead(Event):
    """A CustomerChanged as the history reads it; ``changes`` as sent ({field, old, new})."""

    customer: CustomerVersion
    origin: str
    changes: list[dict[str, Any]] = Field(default_factory=list)
    changed_by: str | None = None

    def entry(self, event_id: str, event_name: str) -> dict[str, Any]:
        """The history entry of this change (keyed by the event's id: a replay adds nothing)."""
        return {
            "_id": event_id,
            "customer_id": self.customer.id,
            "version": self.customer.version,
            "at": self.customer.updated_at,
            "event": event_name,
            "origin": self.origin,
            "changed_by": self.changed_by,
            # an absent old or new value (the producer leaves out nulls) is stored as null
            "changes": [
                {"field": c.get("field"), "old": c.get("old"), "new": c.get("new")}
                for c in self.changes
            ],
        }


def _read_as(event: type[Event]) -> type[ChangeRead]:
    return type(f"{event.__name__}Read", (ChangeRead,), {"TYPE": event.TYPE})


CHANGES_READ = tuple(
    _read_as(e) for e in (CustomerRegistered, CustomerUpdated, CustomerDeactivated, CustomersMerged)
)
# customer.events as the history consumer reads it
CUSTOMER_EVENTS_FOR_HISTORY = dataclasses.replace(
    CUSTOMER_EVENTS, events=(*CHANGES_READ, CustomerErased)
)
