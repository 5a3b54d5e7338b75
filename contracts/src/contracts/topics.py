"""The topic catalogue: the one place a topic is declared.

Each topic names its key, the events it carries, its partitions and retention. A consumed topic
has a dead-letter twin ``<name>.dlt`` where records that cannot be decoded or applied go, with
the original bytes, key and headers plus the error. ``devstack topics`` creates them all.
Physical names may carry a per-deployment prefix (tests use one per run).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from contracts.commerce import PurchaseMade, PurchaseReturned
from contracts.customer_events import (
    CustomerDeactivated,
    CustomerErased,
    CustomerRegistered,
    CustomersMerged,
    CustomerUpdated,
)
from contracts.events import Event
from contracts.lists_events import ListMembershipChanged, PlanChanged, TeamChanged
from contracts.loyalty_events import CustomerMetricsChanged, MemberEnrolled
from contracts.marketing import CommunicationSent, FeedbackGiven
from contracts.mdm import MdmCustomerDeactivated, MdmCustomersMerged, MdmCustomerUpserted
from contracts.segmentation_events import SegmentationDefined, SegmentsAssigned

DAY_MS = 24 * 3600 * 1000
DEAD_LETTER_SUFFIX = ".dlt"
# Our services: the names producers and subscriptions use (each is a package and a process).
SERVICES = ("customer", "segmentation", "lists", "loyalty")


@dataclass(frozen=True)
class Subscription:
    """One consumer group of one of our services. ``tests/contract`` checks these against the
    groups the services' brokers actually subscribe with."""

    service: str
    group: str


@dataclass(frozen=True)
class Topic:
    name: str
    key: str
    events: tuple[type[Event], ...]
    partitions: int = 6
    retention_ms: int = 7 * DAY_MS
    consumed: bool = True
    compacted: bool = False  # keep the latest record per key for good (a definition's state)
    description: str = ""
    # Who writes it: our services (checked against their code by ``tests/contract``) and the
    # systems outside the platform that publish to it.
    producers: tuple[str, ...] = ()
    external_producers: tuple[str, ...] = ()
    subscriptions: tuple[Subscription, ...] = ()

    def event_model(self, ce_type: str) -> type[Event] | None:
        return self._models.get(ce_type)

    @cached_property
    def _models(self) -> dict[str, type[Event]]:  # looked up once for every record consumed
        return {e.TYPE: e for e in self.events}

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
    external_producers=("enterprise master-data (MDM) systems",),
    subscriptions=(Subscription("customer", "customer-mdm-ingest"),),
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
    producers=("customer",),
    subscriptions=(
        Subscription("customer", "customer-history"),
        Subscription("segmentation", "segmentation-customers"),
        Subscription("lists", "lists-customers"),
        Subscription("loyalty", "loyalty-customers"),
    ),
)
LOYALTY_EVENTS = Topic(
    name="loyalty.events",
    key="customer id",
    events=(MemberEnrolled, CustomerMetricsChanged),
    partitions=12,
    description="Enrollment and metrics (RFM) from the loyalty service",
    producers=("loyalty",),
    subscriptions=(Subscription("segmentation", "segmentation-loyalty"),),
)
COMMERCE_PURCHASES = Topic(
    name="commerce.purchases",
    key="customer id",
    events=(PurchaseMade, PurchaseReturned),
    partitions=12,
    description="Orders paid and returned, from point-of-sale and web-shop systems",
    external_producers=("point-of-sale and web-shop systems",),
    subscriptions=(Subscription("loyalty", "loyalty-purchases"),),
)
FEEDBACK_RESPONSES = Topic(
    name="feedback.responses",
    key="customer id",
    events=(FeedbackGiven,),
    description="Net-promoter survey answers from the feedback system",
    external_producers=("the feedback system",),
    subscriptions=(Subscription("loyalty", "loyalty-engagement"),),
)
CAMPAIGN_COMMUNICATIONS = Topic(
    name="campaign.communications",
    key="customer id",
    events=(CommunicationSent,),
    description="Marketing communications sent by the campaign system",
    external_producers=("the campaign system",),
    subscriptions=(Subscription("loyalty", "loyalty-engagement"),),
)
SEGMENTATION_DEFINITIONS = Topic(
    name="segmentation.definitions",
    key="segmentation code",
    events=(SegmentationDefined,),
    partitions=1,
    compacted=True,
    description="Each segmentation's current definition: dimensions, segments, rule version",
    producers=("segmentation",),
    subscriptions=(Subscription("lists", "lists-segmentations"),),
)
# Co-partitioned with customer.events (same key, same partition count): a consumer of both
# with the range assignor sees one customer's records from both topics in one place.
SEGMENT_ASSIGNMENTS = Topic(
    name="segmentation.assignments",
    key="customer id",
    events=(SegmentsAssigned,),
    partitions=12,
    description="A customer's segments and profile values, whenever one of them changes",
    producers=("segmentation",),
    subscriptions=(Subscription("lists", "lists-customers"),),
)
LISTS_EVENTS = Topic(
    name="lists.events",
    key="customer id",
    events=(ListMembershipChanged,),
    consumed=False,
    description="Customers entering and leaving team plans' lists, with the reasons",
    producers=("lists",),
)
# Event-carried state: teams (territories, reps) and their plans, for services that scope by team.
LISTS_TEAMS = Topic(
    name="lists.teams",
    key="team id",
    events=(TeamChanged,),
    partitions=1,
    compacted=True,
    description="Each team's current state: name, territory (bricks), reps",
    producers=("lists",),
    subscriptions=(
        Subscription("customer", "customer-teams"),
        Subscription("segmentation", "segmentation-teams"),
    ),
)
LISTS_PLANS = Topic(
    name="lists.plans",
    key="plan id",
    events=(PlanChanged,),
    partitions=1,
    compacted=True,
    description="Each team plan's current state: team, segmentations, status",
    producers=("lists",),
    subscriptions=(Subscription("segmentation", "segmentation-teams"),),
)

CATALOGUE: tuple[Topic, ...] = (
    MDM_CUSTOMERS,
    CUSTOMER_EVENTS,
    LOYALTY_EVENTS,
    COMMERCE_PURCHASES,
    FEEDBACK_RESPONSES,
    CAMPAIGN_COMMUNICATIONS,
    SEGMENTATION_DEFINITIONS,
    SEGMENT_ASSIGNMENTS,
    LISTS_EVENTS,
    LISTS_TEAMS,
    LISTS_PLANS,
)


@dataclass(frozen=True)
class PhysicalTopic:
    name: str
    partitions: int
    retention_ms: int
    compacted: bool = False

    @property
    def configs(self) -> dict[str, str]:
        if self.compacted:
            return {"cleanup.policy": "compact"}
        return {"retention.ms": str(self.retention_ms)}


def physical_topics(prefix: str = "", partitions: int | None = None) -> list[PhysicalTopic]:
    """Every topic to create, dead-letter topics included (one partition each is plenty)."""
    created: list[PhysicalTopic] = []
    for topic in CATALOGUE:
        # A test run's override applies to every keyed-by-customer topic alike, so
        # co-partitioning holds; a compacted definitions topic keeps its one partition.
        count = topic.partitions if topic.compacted else (partitions or topic.partitions)
        created.append(
            PhysicalTopic(topic.physical(prefix), count, topic.retention_ms, topic.compacted)
        )
        if topic.consumed:
            created.append(PhysicalTopic(prefix + topic.dead_letter, 1, 30 * DAY_MS))
    return created
