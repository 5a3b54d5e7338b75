"""The segmentation service's use cases: define segmentations, edit and preview profiles, keep
segment assignments current as customers and rules change."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from contracts.customer_events import (
    CustomerChanged,
    CustomerDeactivated,
    CustomerErased,
    CustomerUpdated,
)
from contracts.events import Event
from contracts.loyalty_events import CustomerMetricsChanged
from contracts.segmentation_events import (
    Assignment,
    AssignmentCause,
    SegmentationDefined,
    SegmentsAssigned,
)
from contracts.topics import SEGMENT_ASSIGNMENTS, SEGMENTATION_DEFINITIONS
from servicekit import outbox
from servicekit.auth import Identity
from servicekit.batch_jobs import BatchJobRunner
from servicekit.consumer_slot import ConsumerSlot, SlotWrite, input_id
from servicekit.consuming import Delivery, Rejection
from servicekit.logging import correlation_id, get_logger
from servicekit.outbox import OutboxRelay
from servicekit.problems import Conflict, Forbidden, Invalid, NotFound
from servicekit.settings import ServiceSettings

from segmentation import customer_events
from segmentation.domain.segmentations import Profile, SegmentationDefinition
from segmentation.store import (
    CUSTOMER_PATH,
    LOYALTY_PATH,
    CustomerWrite,
    SegmentationStore,
    profile_path,
)
from segmentation.team_scope import TeamScope

SOURCE = "cdp/segmentation"
RECOMPUTE = "segmentation-recompute"  # the batch job kind (segmentation.recompute)
MAX_RACE_RETRIES = 5
log = get_logger(__name__)

# A mutation turns a customer document (None: not known yet) into the fields to set, or None
# to leave the customer alone.
Mutation = Callable[[dict[str, Any] | None], dict[str, Any] | None]


@dataclass(frozen=True)
class Defined:
    """A stored segmentation: its definition and rule version."""

    definition: SegmentationDefinition
    version: int

    @property
    def code(self) -> str:
        return self.definition.code


def _assignments(doc: Mapping[str, Any]) -> list[Assignment]:
    segments, profiles = doc.get("segments", {}), doc.get("profiles", {})
    return [
        Assignment(
            segmentation=code,
            segment=segments.get(code, {}).get("segment"),
            rule_version=segments.get(code, {}).get("rule_version", 0),
            profile=profiles.get(code, {}),
        )
        for code in sorted(set(segments) | set(profiles))
    ]


def view(doc: Mapping[str, Any]) -> dict[str, Any]:
    """A customer's profiles and segments as the API shows them."""
    return {
        "customer_id": doc["_id"],
        "revision": doc.get("revision", 0),
        "segmentations": {
            a.segmentation: a.model_dump(exclude={"segmentation"}) for a in _assignments(doc)
        },
    }


def _changed_fields(deliveries: Sequence[Delivery]) -> dict[str, set[str]]:
    """Per customer, the record fields the batch's updates changed; a customer with a
    registration, a merge or an update that names no field is left out (reassess it all)."""
    fields: dict[str, set[str]] = {}
    everything: set[str] = set()
    for delivery in deliveries:
        event = delivery.event
        if not isinstance(event, CustomerChanged):
            continue
        cid = event.customer.id
        if isinstance(event, CustomerUpdated | CustomerDeactivated) and event.changes:
            fields.setdefault(cid, set()).update(f"customer.{c.field}" for c in event.changes)
        else:
            everything.add(cid)
    return {cid: names for cid, names in fields.items() if cid not in everything}


@dataclass
class SegmentationService:
    store: SegmentationStore
    definitions_relay: OutboxRelay
    customers_relay: OutboxRelay
    settings: ServiceSettings
    customer_events_slot: ConsumerSlot  # the customer-events path's slot in each customer
    loyalty_events_slot: ConsumerSlot  # the loyalty-metrics path's
    jobs: BatchJobRunner
    team_scope: TeamScope  # whose lists a profile edit can move
    _parsed: dict[tuple[str, int], Defined] = field(default_factory=dict)

    # --- segmentations

    def _defined(self, doc: Mapping[str, Any]) -> Defined:
        key = (doc["_id"], doc["version"])
        if key not in self._parsed:
            self._parsed[key] = Defined(
                SegmentationDefinition.model_validate(doc["definition"]), doc["version"]
            )
        return self._parsed[key]

    async def definitions(self) -> list[Defined]:
        return [self._defined(doc) for doc in await self.store.all_segmentations()]

    async def segmentation(self, code: str) -> dict[str, Any]:
        doc = await self.store.segmentation(code)
        if doc is None:
            raise NotFound(f"no segmentation {code}", code="segmentation-not-found")
        return doc

    def _definition_entry(self, defined: Defined) -> dict[str, Any]:
        d = defined.definition
        event = SegmentationDefined(
            code=d.code,
            name=d.name,
            level=d.level,
            version=defined.version,
            dimensions=d.allowed_values,
            segments=[s.code for s in d.segments],
        )
        envelope = event.envelope(
            source=SOURCE, subject=d.code, correlation_id=correlation_id.get()
        )
        return outbox.entry(self.settings.topic(SEGMENTATION_DEFINITIONS.name), d.code, envelope)

    def _segmentation_doc(
        self, definition: SegmentationDefinition, version: int, identity: Identity
    ) -> dict[str, Any]:
        return {
            "_id": definition.code,
            "version": version,
            "definition": definition.model_dump(mode="json", by_alias=True),
            "changed_by": f"user:{identity.user}",
            "changed_at": datetime.now(UTC),
        }

    async def define(
        self, definition: SegmentationDefinition, identity: Identity
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        doc = self._segmentation_doc(definition, 1, identity)
        entry = self._definition_entry(Defined(definition, 1))
        if not await self.store.insert_segmentation(doc, [entry]):
            raise Conflict(
                f"a segmentation {definition.code} exists already",
                code="duplicate-segmentation",
                field="code",
            )
        await self.definitions_relay.deliver({definition.code: [entry]})
        return doc, await self.start_recompute(definition.code, 1)

    async def redefine(
        self,
        code: str,
        definition: SegmentationDefinition,
        expected_version: int,
        identity: Identity,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """A new rule version; every customer is reassessed by a recompute job."""
        if definition.code != code:
            raise Invalid.from_errors(
                [{"loc": ("code",), "msg": "the code cannot change", "type": "immutable"}]
            )
        current = await self.segmentation(code)
        if current["version"] != expected_version:
            raise Conflict(
                f"segmentation {code} is at version {current['version']}, not {expected_version}",
                code="stale-version",
            )
        version = expected_version + 1
        doc = self._segmentation_doc(definition, version, identity)
        entry = self._definition_entry(Defined(definition, version))
        if not await self.store.replace_segmentation(doc, expected_version, [entry]):
            raise Conflict(f"segmentation {code} changed meanwhile", code="stale-version")
        await self.definitions_relay.deliver({code: [entry]})
        return doc, await self.start_recompute(code, version)

    async def preview(self, definition: SegmentationDefinition) -> dict[str, int]:
        """How many customers each segment of a proposed definition would hold (the rules
        compiled to database queries; nothing is saved)."""
        filters = definition.segment_filters(self._paths(definition.code))
        counts = {code: await self.store.count(query) for code, query in filters.items()}
        return counts

    # --- assessing customers

    def _assess(
        self,
        doc: Mapping[str, Any],
        definitions: Sequence[Defined],
        changed_fields: set[str] | None = None,
    ) -> dict[str, dict[str, Any]]:
        """The customer's segment in every segmentation. With ``changed_fields`` (what an event
        changed: ``customer.<field>`` or ``loyalty``), segmentations whose rules read none of
        them keep their segment without being evaluated."""
        customer = doc.get("customer") or {}
        profiles = doc.get("profiles", {})
        previous = doc.get("segments", {})
        segments: dict[str, dict[str, Any]] = {}
        for defined in definitions:
            code = defined.code
            if changed_fields is not None and not defined.definition.reads_any(changed_fields):
                if code in previous:
                    segments[code] = previous[code]
                continue
            segment = defined.definition.segment_for(
                customer, profiles.get(code, {}), doc.get("loyalty")
            )
            if segment is None and code not in previous:
                continue
            if previous.get(code, {}).get("segment") == segment:
                segments[code] = previous[code]  # decided under an earlier version, still holds
            else:
                segments[code] = {"segment": segment, "rule_version": defined.version}
        return segments

    def _assigned_entry(
        self,
        doc: Mapping[str, Any],
        changed: list[str],
        cause: AssignmentCause,
        caused_by: str | None,
        causation_id: str | None,
    ) -> dict[str, Any]:
        event = SegmentsAssigned(
            customer_id=doc["_id"],
            revision=doc["revision"],
            assignments=_assignments(doc),
            changed=changed,
            cause=cause,
            caused_by=caused_by,
        )
        return self._customer_entry(event, doc["_id"], causation_id)

    def _customer_entry(
        self, event: Event, customer_id: str, causation_id: str | None
    ) -> dict[str, Any]:
        envelope = event.envelope(
            source=SOURCE,
            subject=customer_id,
            correlation_id=correlation_id.get(),
            causation_id=causation_id,
        )
        return outbox.entry(self.settings.topic(SEGMENT_ASSIGNMENTS.name), customer_id, envelope)

    async def _apply(
        self,
        mutations: Mapping[str, Mutation],
        cause: AssignmentCause,
        caused_by: Mapping[str, tuple[str | None, str | None]] | tuple[str | None, str | None],
        prefetched: Mapping[str, dict[str, Any]] | None = None,
        changed_fields: Mapping[str, set[str]] | None = None,
        consumed: tuple[ConsumerSlot, Mapping[str, Sequence[str]]] | None = None,
    ) -> dict[str, dict[str, Any]]:
        """Apply mutations and reassess the customers, writing each customer only if nobody
        changed it meanwhile (else read again and retry). ``caused_by`` gives the
        (who or what, causing event id) per customer or for all. A consumer path passes its
        slot and, per customer, the ids of the batch's records for them (``consumed``): the
        events go to the slot, and a redelivered record found there publishes its write's
        events again. Others' events go to the outbox. Returns the written docs."""
        definitions = await self.definitions()
        slot, inputs = consumed if consumed is not None else (None, {})
        pending = dict(mutations)
        written: dict[str, dict[str, Any]] = {}
        docs = dict(prefetched) if prefetched is not None else None
        for _ in range(MAX_RACE_RETRIES):
            if docs is None:
                docs = await self.store.customers_by_id(list(pending))
            writes: list[CustomerWrite] = []
            republish: list[dict[str, Any]] = []  # slots of redelivered records, nothing new
            new_docs: dict[str, dict[str, Any]] = {}
            for cid, mutate in pending.items():
                old = docs.get(cid)
                slot_write = SlotWrite()
                if slot is not None:
                    state = slot.take(old)
                    if state.holds(inputs.get(cid, ())):
                        slot_write.carry(state)
                fields = mutate(old)
                if fields is None:
                    republish += slot_write.events
                    continue
                base = {"_id": cid, "profiles": {}, "segments": {}, "revision": 0, **(old or {})}
                merged = {**base, **fields}
                merged["segments"] = self._assess(
                    merged, definitions, (changed_fields or {}).get(cid) if old else None
                )
                changed = sorted(
                    code
                    for code in set(merged["segments"])
                    | set(base["segments"])
                    | set(merged["profiles"])
                    | set(base["profiles"])
                    if merged["segments"].get(code, {}).get("segment")
                    != base["segments"].get(code, {}).get("segment")
                    or merged["profiles"].get(code) != base["profiles"].get(code)
                )
                if not changed and not fields:
                    republish += slot_write.events
                    continue  # a reassessment that changes nothing writes nothing
                merged["revision"] = base.get("revision", 0) + 1
                entries = []
                if changed:
                    who, causation = caused_by if isinstance(caused_by, tuple) else caused_by[cid]
                    entries.append(self._assigned_entry(merged, changed, cause, who, causation))
                new = {k: merged[k] for k in ("_id", "segments", "revision", *fields)}
                if slot is not None:
                    slot_write.applied(inputs.get(cid, ()), entries)
                    writes.append(CustomerWrite(old or {}, new, slot_write.events, slot_write))
                else:
                    writes.append(CustomerWrite(old or {}, new, entries))
                new_docs[cid] = merged
            conflicts = await self.store.save_customers(writes, slot)
            if slot is not None:
                await slot.publish(
                    republish
                    + [e for w in writes if w.new["_id"] not in conflicts for e in w.entries]
                )
            else:
                await self.customers_relay.deliver(
                    {w.new["_id"]: w.entries for w in writes if w.new["_id"] not in conflicts}
                )
            written.update({cid: doc for cid, doc in new_docs.items() if cid not in conflicts})
            pending = {cid: pending[cid] for cid in conflicts}
            docs = None
            if not pending:
                return written
        raise RuntimeError(f"customers kept changing under us: {sorted(pending)}")

    # --- profiles

    async def customer(self, customer_id: str) -> dict[str, Any]:
        doc = await self.store.customer(customer_id)
        if doc is None or not doc.get("customer"):
            raise NotFound(
                f"customer {customer_id} is not known to segmentation",
                code="customer-not-found",
                customer_id=customer_id,
            )
        return doc

    async def _profile_target(
        self, customer_id: str, code: str, profile: Profile
    ) -> tuple[dict[str, Any], Defined]:
        defined = self._defined(await self.segmentation(code))
        try:
            defined.definition.check_profile(profile)
        except ValueError as exc:
            raise Invalid.from_errors(
                [{"loc": ("values",), "msg": str(exc), "type": "profile_value"}]
            ) from exc
        doc = await self.customer(customer_id)
        if not defined.definition.applies_to(doc["customer"].get("kind")):
            raise Invalid.from_errors(
                [
                    {
                        "loc": ("segmentation",),
                        "msg": f"{code} is a {defined.definition.level}-level segmentation; "
                        f"this customer is a {doc['customer'].get('kind')}",
                        "type": "level_mismatch",
                    }
                ]
            )
        return doc, defined

    async def compute(self, customer_id: str, code: str, profile: Profile) -> dict[str, Any]:
        """The segment for proposed profile values beside the current one; nothing saved."""
        doc, defined = await self._profile_target(customer_id, code, profile)
        customer = doc["customer"]
        current = doc.get("profiles", {}).get(code, {})
        return {
            "customer_id": customer_id,
            "segmentation": code,
            "rule_version": defined.version,
            "current": {
                "profile": current,
                "segment": doc.get("segments", {}).get(code, {}).get("segment"),
            },
            "proposed": {
                "profile": profile,
                "segment": defined.definition.segment_for(customer, profile, doc.get("loyalty")),
            },
        }

    async def set_profile(
        self, customer_id: str, code: str, profile: Profile, identity: Identity
    ) -> dict[str, Any]:
        """Replace the customer's profile values in one segmentation and reassess; refused
        when it can move the list of a team the caller does not act for."""
        doc, _ = await self._profile_target(customer_id, code, profile)
        await self.team_scope.check_profile_edit(identity, doc, code)

        def mutate(old: dict[str, Any] | None) -> dict[str, Any] | None:
            if old is None:
                return None
            return {"profiles": {**old.get("profiles", {}), code: dict(profile)}}

        written = await self._apply(
            {customer_id: mutate},
            "profile-edit",
            (f"user:{identity.user}", None),
            prefetched={customer_id: doc},
        )
        return view(written.get(customer_id) or await self.customer(customer_id))

    async def set_profiles(
        self, rows: Sequence[tuple[str, str, Profile]], identity: Identity
    ) -> list[dict[str, Any]]:
        """Bulk profile values: a report per row (ok, or the error); good rows are saved."""
        report: list[dict[str, Any]] = []
        for number, (customer_id, code, profile) in enumerate(rows, start=1):
            try:
                saved = await self.set_profile(customer_id, code, profile, identity)
                segment = saved["segmentations"].get(code, {}).get("segment")
                report.append({"row": number, "customer_id": customer_id, "segment": segment})
            except (NotFound, Invalid, Forbidden) as exc:
                report.append(
                    {
                        "row": number,
                        "customer_id": customer_id,
                        "error": exc.detail,
                        **exc.extensions,
                    }
                )
        return report

    # --- customer events

    async def on_customer_events(self, deliveries: Sequence[Delivery]) -> list[Rejection]:
        """Keep the customer replica and reassess segments; forget erased customers."""
        erased = {d.event.customer_id for d in deliveries if isinstance(d.event, CustomerErased)}
        changed = customer_events.by_customer(deliveries)
        gone = erased | await self.store.erased(list(changed))
        changed = {cid: events for cid, events in changed.items() if cid not in gone}
        losers = [m.merged_customer_id for events in changed.values() for m in events.merges]
        merged_profiles = {
            cid: doc.get("profiles", {})
            for cid, doc in (await self.store.customers_by_id(losers)).items()
        }
        if changed:
            causes = {
                cid: (events.event.changed_by, events.latest.envelope.id)
                for cid, events in changed.items()
            }
            merged = any(events.merges for events in changed.values())
            await self._apply(
                {
                    cid: customer_events.replica_change(events, merged_profiles)
                    for cid, events in changed.items()
                },
                "merge" if merged else "customer-change",
                causes,
                changed_fields=_changed_fields(deliveries),
                consumed=(
                    self.customer_events_slot,
                    {cid: events.inputs for cid, events in changed.items()},
                ),
            )
        await self.store.erase(sorted(erased))
        return []

    # --- loyalty metrics

    async def on_loyalty_events(self, deliveries: Sequence[Delivery]) -> list[Rejection]:
        """Keep each customer's loyalty metrics (RFM stars, predicted value) for the rules that
        read them."""
        latest: dict[str, Delivery] = {}
        held: dict[str, dict[str, Any]] = {}
        inputs: dict[str, list[str]] = {}
        for delivery in deliveries:
            event = delivery.event
            if isinstance(event, CustomerMetricsChanged):
                inputs.setdefault(event.customer_id, []).append(input_id(delivery))
                if not _older(event, held.get(event.customer_id, {})):
                    latest[event.customer_id] = delivery
                    held[event.customer_id] = event.model_dump()
        gone = await self.store.erased(list(latest))

        def mutation(event: CustomerMetricsChanged) -> Mutation:
            metrics = event.model_dump(mode="json", exclude={"customer_id"})

            def mutate(old: dict[str, Any] | None) -> dict[str, Any] | None:
                if old and _older(event, old.get("loyalty", {})):
                    return None  # a replay of an older run
                return {"loyalty": metrics}

            return mutate

        wanted = {cid: d for cid, d in latest.items() if cid not in gone}
        if wanted:
            await self._apply(
                {cid: mutation(d.event) for cid, d in wanted.items()},  # type: ignore[arg-type]
                "metrics-change",
                {cid: (_runs(held[cid]), d.envelope.id) for cid, d in wanted.items()},
                changed_fields={cid: {"loyalty"} for cid in wanted},
                consumed=(self.loyalty_events_slot, inputs),
            )
        return []

    # --- bulk recompute after a rule change

    def _candidates(self, definition: SegmentationDefinition) -> dict[str, Any]:
        """Whom a rule change can affect: customers holding a segment of the segmentation now,
        and those some new rule may select (the rules compiled to a query). Everyone else held
        no segment and will hold none."""
        holding = {f"segments.{definition.code}.segment": {"$ne": None}}
        return {"$or": [holding, definition.candidates_filter(self._paths(definition.code))]}

    @staticmethod
    def _paths(code: str) -> dict[str, str]:
        return {"customer": CUSTOMER_PATH, "loyalty": LOYALTY_PATH, "profile": profile_path(code)}

    async def start_recompute(self, code: str, version: int) -> dict[str, Any]:
        """A batch job (segmentation.recompute) reassesses the customers the new rules can
        affect; it replaces a recompute of an earlier version still running."""
        definition = self._defined(await self.segmentation(code)).definition
        return await self.jobs.submit(
            RECOMPUTE,
            {
                "segmentation": code,
                "version": version,
                "total": await self.store.count(self._candidates(definition)),
                "processed": 0,
                "changed": 0,
            },
            supersedes={"segmentation": code},
        )

    async def recompute_job(self, code: str, job_id: str) -> dict[str, Any]:
        job = await self.jobs.get(job_id)
        if job is None or job.get("kind") != RECOMPUTE or job["segmentation"] != code:
            raise NotFound(f"no recompute {job_id} of {code}", code="recompute-not-found")
        return job


def _older(event: CustomerMetricsChanged, held: Mapping[str, Any]) -> bool:
    """Whether the metrics event comes from an older RFM run or predicted-value run than the
    metrics held (each event carries the whole metrics, each part with its run's number)."""
    return event.rfm_version < held.get("rfm_version", 0) or event.clv_version < held.get(
        "clv_version", 0
    )


def _runs(metrics: Mapping[str, Any]) -> str:
    """The runs that scored the metrics, as the cause of a segment change."""
    cause = f"loyalty:rfm:{metrics['rfm_version']}"
    return cause + (f":clv:{metrics['clv_version']}" if metrics.get("clv_version") else "")
