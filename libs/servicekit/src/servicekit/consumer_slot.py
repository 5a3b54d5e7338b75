"""A consumer path's slot in the documents it writes: a change caused by a Kafka record and the
events it causes in one write, with no second write to clear them.

The offsets of a batch are committed only after its events are published, so a crash between the
write and the commit redelivers the records. Each write of the path records in the document, in
``consumed.<path>``, the ids of the input records it applied (their topic, partition and offset:
a redelivery has the same, while the same event published twice is two records, the second a
duplicate the domain drops) and the events it caused;
a redelivered input found there re-publishes those events instead of being dropped as stale
(consumers downstream apply an event once, so a second copy changes nothing). The path's next
write to the document replaces the slot. Nothing else sets or unsets it: HTTP edits keep their
in-document outbox, other consumer paths their own slot, so a write that lands between a crash
and the redelivery leaves the events to re-publish where they were.

A write that applies new inputs while some of the batch's inputs are found in the slot carries
the slot's inputs and events into the new slot, ahead of its own: replacing them before they are
published again would lose them to a second crash.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from servicekit import faults
from servicekit.consuming import Delivery
from servicekit.messaging import Publisher
from servicekit.outbox import to_record

FIELD = "consumed"


def input_id(delivery: Delivery) -> str:
    """The id a slot keeps for an input record: where it sits in Kafka."""
    record = delivery.record
    return f"{record.topic}/{record.partition}/{record.offset}"


@dataclass(frozen=True, slots=True)
class SlotState:
    """What a document's slot holds for one path: the inputs its last write applied and the
    events that write caused (outbox-shaped entries, see :func:`servicekit.outbox.entry`)."""

    inputs: tuple[str, ...] = ()
    events: tuple[dict[str, Any], ...] = ()

    def holds(self, input_ids: Iterable[str]) -> bool:
        return not set(self.inputs).isdisjoint(input_ids)


@dataclass(slots=True)
class SlotWrite:
    """What one document's next write puts in the slot, built up input by input."""

    inputs: list[str] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    redelivered: bool = False  # some input was found in the slot: its events go out again

    def carry(self, state: SlotState) -> None:
        """Keep what the slot holds (once), ahead of what this write adds."""
        if not self.redelivered:
            self.redelivered = True
            self.inputs[:0] = state.inputs
            self.events[:0] = state.events

    def applied(self, input_ids: Iterable[str], events: Sequence[dict[str, Any]]) -> None:
        """The inputs this write applies (a batch may hold several for one document) and the
        events they cause."""
        self.inputs.extend(i for i in input_ids if i not in self.inputs)
        self.events.extend(events)


@dataclass(frozen=True, slots=True)
class ConsumerSlot:
    """One consumer path's slot (``path`` names it, e.g. ``mdm-ingest``) and how its events go
    out."""

    path: str
    publisher: Publisher

    @property
    def field(self) -> str:
        return f"{FIELD}.{self.path}"

    def take(self, doc: MutableMapping[str, Any] | None) -> SlotState:
        """This path's slot in a document as read, removed from it with every other path's, so
        the document can go through the domain and back to the store without them."""
        if doc is None:
            return SlotState()
        slots = doc.pop(FIELD, None) or {}
        state = slots.get(self.path) or {}
        return SlotState(tuple(state.get("inputs", ())), tuple(state.get("events", ())))

    def content(self, write: SlotWrite) -> dict[str, Any]:
        """The value to ``$set`` at :attr:`field` in the same update as the change."""
        return {"inputs": write.inputs, "events": write.events}

    async def publish(self, events: Sequence[Mapping[str, Any]]) -> None:
        """Publish what the batch's writes caused or re-publish what the slots held; the caller
        commits the offsets after this returns."""
        if not events:
            return
        faults.crash_point(faults.AFTER_STORE, self.path)
        await self.publisher.publish([to_record(e) for e in events])
        faults.crash_point(faults.AFTER_PUBLISH, self.path)


def without_slots(fields: Mapping[str, Any]) -> dict[str, Any]:
    """A document's fields minus every consumer path's slot: what a writer other than the path
    itself may ``$set`` (or ``$unset``)."""
    return {k: v for k, v in fields.items() if k != FIELD and not k.startswith(FIELD + ".")}
