"""The topic catalogue: the one place a topic is declared.

Each topic names its key, the events it carries, its partitions and retention. A consumed topic
has a dead-letter twin ``<name>.dlt`` where records that cannot be decoded or applied go, with
the original bytes, key and headers plus the error. ``devstack topics`` creates them all.
Physical names may carry a per-deployment prefix (tests use one per run).
"""

from __future__ import annotations

from dataclasses import dataclass

from contracts.customer_events import (
    CustomerDeactivated,
    CustomerErased,
    CustomerRegistered,
    CustomersMerged,
    CustomerUpdated,
)
from contracts.events import Event
from contracts.loyalty_events import MemberEnrolled
from contracts.mdm import MdmCustomerDeactivated, MdmCustomersMerged, MdmCustomerUpserted

DAY_MS = 24 * 3600 * 1000
DEAD_LETTER_SUFFIX = ".dlt"


@dataclass(frozen=True)
class Topic:
    name: str
    key: str
    events: tuple[type[Event], ...]
    partitions: int = 6
    retention_ms: int = 7 * DAY_MS
    consumed: bool = True
    description: str = ""

    def event_model(self, ce_type: str) -> type[Event] | None:
        return next((e for e in self.events if e.TYPE == ce_type), None)

    def physical(self, prefix: str = "") -> str:
        return f"{prefix}{self.name}"

    @property
    def dead_letter(self) -> str:
        return self.name + DEAD_LETTER_SUFFIX


MDM_CUSTOMERS = Topic(
    name="mdm.customers",
    key="MDM code",
    events=(MdmCustomerUpserted, MdmCustomerDeactivated, MdmCustomersMerged),
    partitions=12,
    description="Creations, updates and deactivations from enterprise master-data systems",
)
CUSTOMER_EVENTS = Topic(
    name="customer.events",
    key="customer id",
    events=(
        CustomerRegistered,
        CustomerUpdated,
        CustomerDeactivated,
        CustomersMerged,
        CustomerErased,
    ),
    partitions=12,
    description="Every change of a customer record, with the record's state after it",
)
LOYALTY_EVENTS = Topic(
    name="loyalty.events",
    key="customer id",
    events=(MemberEnrolled,),
    description="Enrollment, points and coupon facts from the loyalty service",
)

CATALOGUE: tuple[Topic, ...] = (MDM_CUSTOMERS, CUSTOMER_EVENTS, LOYALTY_EVENTS)


@dataclass(frozen=True)
class PhysicalTopic:
    name: str
    partitions: int
    retention_ms: int


def physical_topics(prefix: str = "", partitions: int | None = None) -> list[PhysicalTopic]:
    """Every topic to create, dead-letter topics included (one partition each is plenty)."""
    created: list[PhysicalTopic] = []
    for topic in CATALOGUE:
        created.append(
            PhysicalTopic(
                topic.physical(prefix), partitions or topic.partitions, topic.retention_ms
            )
        )
        if topic.consumed:
            created.append(PhysicalTopic(prefix + topic.dead_letter, 1, 30 * DAY_MS))
    return created
