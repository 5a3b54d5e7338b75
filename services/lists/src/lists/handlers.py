"""The lists service's use cases: teams and plans, lists kept current from customer and segment
events, the add/edit flow, explain, and plan submission."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from contracts.customer_events import CustomerChanged, CustomerErased
from contracts.customers import Customer
from contracts.envelope import Envelope
from contracts.lists_events import ListMembershipChanged
from contracts.segmentation_events import SegmentationDefined, SegmentsAssigned
from contracts.topics import LISTS_EVENTS
from servicekit import outbox
from servicekit.auth import Identity
from servicekit.batch_jobs import BatchJobRunner
from servicekit.consumer_slot import ConsumerSlot, SlotWrite, input_id
from servicekit.consuming import Delivery, Rejection
from servicekit.logging import correlation_id, get_logger
from servicekit.outbox import OutboxRelay
from servicekit.problems import Conflict, Forbidden, NotFound, Problem
from servicekit.settings import ServiceSettings

from lists import domain
from lists.directory import Directory
from lists.domain import CustomerFacts, Decision, Plan, Team
from lists.store import MEMBERSHIPS, SEQ, SNAPSHOTS, ListsStore, MembershipWrite, membership_id

SOURCE = "cdp/lists"
REBUILD = "plan-list-rebuild"  # the batch job kind (lists.rebuild)
MAX_DECISION_ROUNDS = 10  # a membership another writer keeps changing: decided again this often
BATCH = 1000
log = get_logger(__name__)


def full_name(customer: Customer) -> str:
    parts = [customer.first_name, customer.middle_name, customer.last_name]
    name = " ".join(p for p in parts if p)
    return name or customer.organization or customer.id


def customer_fields(customer: Customer) -> dict[str, Any]:
    """What the replica keeps of a customer record."""
    return {
        "mdm_code": customer.mdm_code,
        "kind": customer.kind,
        "status": customer.status,
        "name": full_name(customer),
        "primary_bricks": sorted({a.brick for a in customer.addresses if a.primary and a.brick}),
        "bricks": sorted({a.brick for a in customer.addresses if a.brick}),
        "suppressions": sorted({s.type for s in customer.suppressions}),
        "traits": sorted(customer.traits),
        "customer_version": customer.version,
    }


def facts(doc: Mapping[str, Any] | None) -> CustomerFacts | None:
    if doc is None or "kind" not in doc:
        return None  # segments heard of, the record not yet
    return CustomerFacts(
        id=doc["_id"],
        kind=doc["kind"],
        status=doc["status"],
        primary_bricks=frozenset(doc.get("primary_bricks", ())),
        bricks=frozenset(doc.get("bricks", ())),
        suppressions=frozenset(doc.get("suppressions", ())),
        segments=doc.get("segments", {}),
    )


def to_team(doc: Mapping[str, Any]) -> Team:
    return Team(doc["_id"], doc["name"], frozenset(doc["bricks"]), frozenset(doc.get("reps", ())))


def to_plan(doc: Mapping[str, Any]) -> Plan:
    return Plan(
        id=doc["_id"],
        team_id=doc["team_id"],
        period=doc["period"],
        segmentations=tuple(doc["segmentations"]),
        targeted_segments=frozenset(
            (t["segmentation"], t["segment"]) for t in doc["targeted_segments"]
        ),
        primary_address_only=doc["primary_address_only"],
        excluded_suppressions=frozenset(doc.get("excluded_suppressions", ())),
        status=doc["status"],
        additions=frozenset(doc.get("additions", ())),
        removals=frozenset(doc.get("removals", ())),
    )


@dataclass(frozen=True)
class MembershipChange:
    """A membership to write; ``moved`` (in or out of the list) publishes an event."""

    plan: Plan
    membership: dict[str, Any]
    moved: bool
    causation_id: str | None
    seq: int | None = None  # the membership's sequence as read (its write is conditional on it)


def broken(exc: domain.PlanRuleBroken) -> Problem:
    status = 409 if exc.code == "plan-submitted" else 422
    return Problem(str(exc), status=status, code=exc.code, title="Not allowed for this plan")


@dataclass
class ListsService:
    store: ListsStore
    relay: OutboxRelay
    settings: ServiceSettings
    memberships_slot: ConsumerSlot  # the customer/segment events path's slot in memberships
    jobs: BatchJobRunner
    directory: Directory  # publishes teams' and plans' state

    # --- access

    async def team(self, team_id: str) -> dict[str, Any]:
        doc = await self.store.get("teams", team_id)
        if doc is None:
            raise NotFound(f"no team {team_id}", code="team-not-found")
        return doc

    async def plan(self, plan_id: str, identity: Identity) -> tuple[Plan, Team, dict[str, Any]]:
        doc = await self.store.get("plans", plan_id)
        if doc is None:
            raise NotFound(f"no plan {plan_id}", code="plan-not-found")
        if not identity.can_act_for_team(doc["team_id"]):
            raise Forbidden("not allowed")  # a team's plans are its reps', managers', admins'
        return to_plan(doc), to_team(await self.team(doc["team_id"])), doc

    async def visible_memberships(self, customer_id: str, identity: Identity) -> list[dict]:
        """The plans' lists the customer is in, of the plans of the caller's teams."""
        memberships = await self.store.memberships_of(customer_id)
        if identity.role == "admin" or not memberships:
            return memberships
        ids = sorted({m["plan_id"] for m in memberships})
        teams = {
            p["_id"]: p["team_id"] for p in await self.store.find("plans", {"_id": {"$in": ids}})
        }
        return [m for m in memberships if identity.can_act_for_team(teams.get(m["plan_id"], ""))]

    async def _active_plans(self, plan_ids: Sequence[str] | None = None) -> list[tuple[Plan, Team]]:
        """The plans whose lists follow events: drafts. A submitted plan's list is locked at
        its snapshot until the plan is reopened."""
        query = {"_id": {"$in": list(plan_ids)}} if plan_ids is not None else {}
        plans = [p for p in await self.store.find("plans", query) if p["status"] != "submitted"]
        teams = {t["_id"]: to_team(t) for t in await self.store.find("teams", {})}
        return [(to_plan(p), teams[p["team_id"]]) for p in plans if p["team_id"] in teams]

    # --- deciding and recording memberships

    def _membership(
        self,
        plan: Plan,
        customer: CustomerFacts,
        doc: Mapping[str, Any],
        decision: Decision,
        old: Mapping[str, Any] | None,
        caused_by: str | None,
        now: datetime,
    ) -> dict[str, Any]:
        became = decision.member and not (old or {}).get("member")
        return {
            "_id": membership_id(plan.id, customer.id),
            "plan_id": plan.id,
            "customer_id": customer.id,
            "member": decision.member,
            "reasons": [r.model_dump() for r in decision.reasons],
            "rule_versions": domain.rule_versions(plan, customer),
            "since": now if became else (old or {}).get("since"),
            "decided_at": now,
            "caused_by": caused_by,
            "name": doc.get("name"),
            "mdm_code": doc.get("mdm_code"),
            "kind": customer.kind,
            "bricks": sorted(customer.bricks_for(plan)),
            "segments": {code: customer.segment_in(code) for code in plan.segmentations},
        }

    def changed_envelope(
        self, plan: Plan, membership: Mapping[str, Any], causation_id: str | None
    ) -> Envelope:
        event = ListMembershipChanged(
            plan_id=plan.id,
            team_id=plan.team_id,
            customer_id=membership["customer_id"],
            member=membership["member"],
            reasons=membership["reasons"],
            rule_versions=membership["rule_versions"],
            caused_by=membership["caused_by"],
            decided_at=membership["decided_at"],
        )
        return event.envelope(
            source=SOURCE,
            subject=membership["customer_id"],
            correlation_id=correlation_id.get(),
            causation_id=causation_id,
        )

    def _changed_entry(
        self, plan: Plan, membership: Mapping[str, Any], causation_id: str | None
    ) -> dict[str, Any]:
        envelope = self.changed_envelope(plan, membership, causation_id)
        return outbox.entry(
            self.settings.topic(LISTS_EVENTS.name), membership["customer_id"], envelope
        )

    def decide(
        self,
        customer_ids: Sequence[str],
        causes: Mapping[str, tuple[str | None, str | None]],
        plans: Sequence[tuple[Plan, Team]],
        docs: Mapping[str, dict[str, Any]],
        existing: Mapping[str, dict[str, Any]],
        levels: Mapping[str, str],
    ) -> list[MembershipChange]:
        """The memberships that change when these customers are decided in these plans (plain
        decisions over what was read; nothing is written)."""
        now = datetime.now(UTC)
        changes: list[MembershipChange] = []
        for cid in customer_ids:
            customer = facts(docs.get(cid))
            if customer is None:
                continue
            who, causation = causes.get(cid, (None, None))
            for plan, team in plans:
                decision = domain.decide(plan, team, customer, levels)
                old = existing.get(membership_id(plan.id, cid))
                if old is None and not decision.member:
                    continue  # never in the list, still not: nothing to record
                new = self._membership(plan, customer, docs[cid], decision, old, who, now)
                moved = old is None or old["member"] != decision.member
                same_summary = old is not None and all(
                    old.get(k) == new[k] for k in ("reasons", "bricks", "segments", "name")
                )
                if not moved and same_summary:
                    continue
                if not moved and old is not None:  # keep the lineage; refresh what it shows
                    new = {**new, **{k: old.get(k) for k in ("caused_by", "decided_at")}}
                changes.append(MembershipChange(plan, new, moved, causation, (old or {}).get(SEQ)))
        return changes

    async def reconcile(
        self,
        customer_ids: Sequence[str],
        causes: Mapping[str, tuple[str | None, str | None]],
        plans: Sequence[tuple[Plan, Team]] | None = None,
        docs: Mapping[str, dict[str, Any]] | None = None,
        consumed: Mapping[str, Sequence[str]] | None = None,
    ) -> int:
        """Decide the customers' membership in the plans (every plan by default) and record
        what changed; ``causes`` gives (who or what, causing event id) per customer. The
        consumer path passes, per customer, the ids of the batch's records for them
        (``consumed``): its events go to the memberships' slot, and a redelivered record found
        there publishes the events of that write again. Others' go to the outbox. A membership
        another writer changed between the read and the write is decided again from a fresh
        read of it, the plans and the customer. Returns how many memberships changed."""
        moved = 0
        for _ in range(MAX_DECISION_ROUNDS):
            changed, conflicted = await self._reconcile_once(
                customer_ids, causes, plans, docs, consumed
            )
            moved += changed
            if not conflicted:
                return moved
            customer_ids = sorted(conflicted)
            plan_ids = None if plans is None else [plan.id for plan, _ in plans]
            plans, docs = await self._active_plans(plan_ids), None
        raise RuntimeError(f"memberships of {customer_ids} kept changing under this decision")

    async def _reconcile_once(
        self,
        customer_ids: Sequence[str],
        causes: Mapping[str, tuple[str | None, str | None]],
        plans: Sequence[tuple[Plan, Team]] | None,
        docs: Mapping[str, dict[str, Any]] | None,
        consumed: Mapping[str, Sequence[str]] | None,
    ) -> tuple[int, set[str]]:
        """One round of ``reconcile``: how many memberships it moved, and the customers whose
        membership another writer changed since it was read (nothing written for them)."""
        if plans is None:
            plans = await self._active_plans()
        if not plans or not customer_ids:
            return 0, set()
        owners = {membership_id(p.id, cid): cid for p, _ in plans for cid in customer_ids}
        # the memberships before the customers: a writer that changed a customer after this
        # read and decided from it has changed the membership's sequence too, or writes after
        existing = await self.store.memberships_by_id(list(owners))
        if docs is None:
            docs = await self.store.customers_by_id(customer_ids)
        slot = self.memberships_slot if consumed is not None else None
        carried: dict[str, SlotWrite] = {}
        if slot is not None and consumed is not None:
            for mid, old in existing.items():
                state = slot.take(old)
                if state.holds(consumed.get(owners[mid], ())):
                    carried[mid] = SlotWrite()
                    carried[mid].carry(state)  # written before a crash: publish it again
        changes = self.decide(
            customer_ids, causes, plans, docs, existing, await self.store.levels()
        )
        writes: list[MembershipWrite] = []
        pending: dict[str, list[dict[str, Any]]] = {}
        outgoing: dict[str, list[dict[str, Any]]] = {}  # the consumer path's: new and redelivered
        for change in changes:
            mid = change.membership["_id"]
            entries = (
                [self._changed_entry(change.plan, change.membership, change.causation_id)]
                if change.moved
                else []
            )
            if slot is not None and consumed is not None:
                slot_write = carried.pop(mid, None) or SlotWrite()
                slot_write.applied(consumed.get(owners[mid], ()), entries)
                writes.append(
                    MembershipWrite(change.membership, slot_write.events, slot_write, change.seq)
                )
                outgoing[mid] = slot_write.events
            else:
                writes.append(MembershipWrite(change.membership, entries, None, change.seq))
                if entries:
                    pending[mid] = entries
        for mid, slot_write in carried.items():  # redelivered, nothing to change now
            outgoing[mid] = slot_write.events
        conflicted = await self.store.write_memberships(writes, slot)
        if slot is not None:
            await slot.publish(
                [e for mid, es in outgoing.items() if mid not in conflicted for e in es]
            )
        else:
            await self.relay.deliver({m: es for m, es in pending.items() if m not in conflicted})
        moved = sum(c.moved for c in changes if c.membership["_id"] not in conflicted)
        return moved, {owners[mid] for mid in conflicted}

    async def rebuild(self, plan_id: str, cause: str) -> dict[str, Any]:
        """Decide every known customer's membership in one plan (after the plan or its team
        changed): a batch job (lists.rebuild), which replaces a rebuild of the plan still
        running."""
        return await self.jobs.submit(
            REBUILD,
            {"plan_id": plan_id, "cause": cause, "processed": 0, "changed": 0},
            supersedes={"plan_id": plan_id},
        )

    # --- events

    async def on_customer_and_segment_events(
        self, deliveries: Sequence[Delivery]
    ) -> list[Rejection]:
        """Keep the replica of customers and their segments, then reconcile their lists."""
        erased = {d.event.customer_id for d in deliveries if isinstance(d.event, CustomerErased)}
        updates: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
        causes: dict[str, tuple[str | None, str | None]] = {}
        for delivery in deliveries:
            event = delivery.event
            if isinstance(event, CustomerChanged):
                cid, version = event.customer.id, event.customer.version
                guard = {
                    "_id": cid,
                    "$or": [{"customer_version": {"$lt": version}}, {"customer_version": None}],
                }
                updates[f"c:{cid}"] = (guard, customer_fields(event.customer))
                causes[cid] = (event.changed_by, delivery.envelope.id)
            elif isinstance(event, SegmentsAssigned):
                cid, revision = event.customer_id, event.revision
                guard = {
                    "_id": cid,
                    "$or": [{"segments_revision": {"$lt": revision}}, {"segments_revision": None}],
                }
                fields = {"segments": event.as_replica(), "segments_revision": revision}
                updates[f"s:{cid}"] = (guard, fields)
                causes[cid] = (event.caused_by, delivery.envelope.id)
        gone = erased | await self.store.erased(list(causes))
        await self.store.write_customers([u for key, u in updates.items() if key[2:] not in gone])
        await self.store.erase(sorted(erased))
        inputs: dict[str, list[str]] = {}
        for delivery in deliveries:
            event = delivery.event
            if isinstance(event, CustomerChanged):
                inputs.setdefault(event.customer.id, []).append(input_id(delivery))
            elif isinstance(event, SegmentsAssigned):
                inputs.setdefault(event.customer_id, []).append(input_id(delivery))
        await self.reconcile(sorted(set(causes) - gone), causes, consumed=inputs)
        return []

    async def on_segmentation_events(self, deliveries: Sequence[Delivery]) -> list[Rejection]:
        for delivery in deliveries:
            event = delivery.event
            assert isinstance(event, SegmentationDefined)
            await self.store.upsert_segmentation(
                event.code,
                event.version,
                {"level": event.level, "segments": event.segments, "dimensions": event.dimensions},
            )
        return []

    # --- teams and plans

    async def create_team(self, doc: dict[str, Any]) -> dict[str, Any]:
        doc = {**doc, "version": 1}
        entry = self.directory.team_entry(doc)
        if not await self.store.insert("teams", doc, [entry]):
            raise Conflict(f"a team {doc['_id']} exists already", code="duplicate-team", field="id")
        await self.directory.team_changed(doc["_id"], entry)
        return doc

    async def change_team(
        self, team_id: str, fields: dict[str, Any], identity: Identity
    ) -> dict[str, Any]:
        doc = await self.team(team_id)
        if not identity.can_act_for_team(team_id):
            raise Forbidden("not allowed")
        version = doc.get("version")
        fields = {**fields, "version": (version or 0) + 1}
        entry = self.directory.team_entry({**doc, **fields})
        if not await self.store.update("teams", team_id, {"version": version}, fields, [entry]):
            raise Conflict(f"team {team_id} changed meanwhile", code="stale-version")
        await self.directory.team_changed(team_id, entry)
        for plan in await self.store.find("plans", {"team_id": team_id}):
            if plan["status"] != "submitted":  # a submitted one catches up when reopened
                await self.rebuild(plan["_id"], f"team:{team_id}")
        return await self.team(team_id)

    async def create_plan(self, doc: dict[str, Any], identity: Identity) -> dict[str, Any]:
        await self.team(doc["team_id"])
        if not identity.can_act_for_team(doc["team_id"]):
            raise Forbidden("not allowed")
        entry = self.directory.plan_entry(doc)
        if not await self.store.insert("plans", doc, [entry]):
            raise Conflict(f"a plan {doc['_id']} exists already", code="duplicate-plan", field="id")
        await self.directory.plan_changed(doc["_id"], entry)
        await self.rebuild(doc["_id"], f"plan:{doc['_id']}")
        return doc

    async def change_plan(
        self, plan_id: str, fields: dict[str, Any], identity: Identity
    ) -> dict[str, Any]:
        plan, _, doc = await self.plan(plan_id, identity)
        try:
            domain.check_editable(plan)
        except domain.PlanRuleBroken as exc:
            raise broken(exc) from exc
        fields = {**fields, "version": doc["version"] + 1}
        entry = self.directory.plan_entry({**doc, **fields})
        if not await self.store.update(
            "plans", plan_id, {"status": "draft", "version": doc["version"]}, fields, [entry]
        ):
            raise Conflict(f"plan {plan_id} changed meanwhile", code="stale-version")
        await self.directory.plan_changed(plan_id, entry)
        await self.rebuild(plan_id, f"plan:{plan_id}")
        return (await self.plan(plan_id, identity))[2]

    async def submit(self, plan_id: str, identity: Identity) -> dict[str, Any]:
        """Submit the plan and freeze a snapshot of its list."""
        plan, _, doc = await self.plan(plan_id, identity)
        try:
            domain.check_editable(plan)
        except domain.PlanRuleBroken as exc:
            raise broken(exc) from exc
        now = datetime.now(UTC)
        fields = {
            "status": "submitted",
            "submitted_at": now,
            "submitted_by": identity.user,
            "version": doc["version"] + 1,
        }
        entry = self.directory.plan_entry({**doc, **fields})
        if not await self.store.update("plans", plan_id, {"status": "draft"}, fields, [entry]):
            raise Conflict(f"plan {plan_id} was submitted meanwhile", code="plan-submitted")
        await self.directory.plan_changed(plan_id, entry)
        rows, after = [], None
        while True:
            page = await self.store.members(plan_id, {}, after, BATCH)
            if not page:
                break
            rows += [
                {
                    **{k: v for k, v in m.items() if k != "_id"},
                    "_id": f"{m['_id']}|{now.isoformat()}",
                    "taken_at": now,
                }
                for m in page
            ]
            after = page[-1]["customer_id"]
        await self.store.snapshot(plan_id, rows)
        await self.store.update("plans", plan_id, {}, {"snapshot_members": len(rows)})
        return (await self.plan(plan_id, identity))[2]

    async def reopen(self, plan_id: str, identity: Identity) -> dict[str, Any]:
        """A manager of the team (or an admin) reopens a submitted plan: a draft again, the
        reopening recorded (who, when); its list is rebuilt to catch up with what changed while
        it was locked. The snapshot stays as the record of the submission."""
        _, _, doc = await self.plan(plan_id, identity)
        if identity.role not in ("manager", "admin"):
            raise Forbidden("not allowed")
        if doc["status"] != "submitted":
            raise Problem(f"plan {plan_id} is not submitted", status=409, code="plan-not-submitted")
        reopened = [*doc.get("reopened", []), {"by": identity.user, "at": datetime.now(UTC)}]
        fields = {"status": "draft", "reopened": reopened, "version": doc["version"] + 1}
        entry = self.directory.plan_entry({**doc, **fields})
        expected = {"status": "submitted", "version": doc["version"]}
        if not await self.store.update("plans", plan_id, expected, fields, [entry]):
            raise Conflict(f"plan {plan_id} changed meanwhile", code="stale-version")
        await self.directory.plan_changed(plan_id, entry)
        await self.rebuild(plan_id, f"reopen:{plan_id}")
        return (await self.plan(plan_id, identity))[2]

    # --- the list, explain, and the add/edit flow

    async def members(
        self,
        plan_id: str,
        identity: Identity,
        filters: Mapping[str, Any],
        cursor: str | None,
        limit: int,
        snapshot: bool = False,
    ) -> dict[str, Any]:
        plan, _, _ = await self.plan(plan_id, identity)
        # A submitted plan's list is its snapshot (until the plan is reopened)
        collection = SNAPSHOTS if snapshot or plan.submitted else MEMBERSHIPS
        items = await self.store.members(plan_id, filters, cursor, limit + 1, collection)
        more = len(items) > limit
        items = items[:limit]
        return {
            "items": [{k: v for k, v in m.items() if k not in ("_id", "plan_id")} for m in items],
            "next_cursor": items[-1]["customer_id"] if more else None,
        }

    async def explain(
        self,
        plan_id: str,
        customer_id: str,
        identity: Identity,
        proposed_segments: Mapping[str, str | None] | None = None,
    ) -> dict[str, Any]:
        """Whether the customer is in the plan's list and, if not, every reason; with
        ``proposed_segments``, the decision the customer would get with those segments."""
        plan, team, _ = await self.plan(plan_id, identity)
        doc = (await self.store.customers_by_id([customer_id])).get(customer_id)
        customer = facts(doc)
        if customer is not None and proposed_segments:
            segments = {code: dict(held) for code, held in customer.segments.items()}
            for code, segment in proposed_segments.items():
                segments[code] = {**segments.get(code, {}), "segment": segment}
            customer = CustomerFacts(**{**customer.__dict__, "segments": segments})
        decision = domain.decide(plan, team, customer, await self.store.levels())
        if plan.submitted and not proposed_segments:
            frozen = (
                await self.store.memberships_by_id([membership_id(plan_id, customer_id)])
            ).get(membership_id(plan_id, customer_id))
            decision = domain.locked_decision(decision, frozen)
        return {
            "plan_id": plan_id,
            "customer_id": customer_id,
            "in_list": decision.member,
            "reasons": [r.model_dump() for r in decision.reasons],
            "customer": None
            if customer is None
            else {
                "name": (doc or {}).get("name"),
                "kind": customer.kind,
                "status": customer.status,
                "bricks": sorted(customer.bricks_for(plan)),
                "segments": {code: customer.segment_in(code) for code in plan.segmentations},
            },
        }

    async def lookup(
        self, plan_id: str, mdm_code: str, kind: str, identity: Identity
    ) -> dict[str, Any]:
        """Step 1 of the add/edit flow: find a customer or account by MDM code for this plan."""
        plan, _, _ = await self.plan(plan_id, identity)
        doc = await self.store.customer_by_mdm_code(mdm_code)
        customer = facts(doc)
        if customer is None or customer.kind != kind:
            raise NotFound(f"no {kind} with MDM code {mdm_code}", code="customer-not-found")
        try:
            domain.check_can_add(plan, customer, await self.store.levels())
        except domain.PlanRuleBroken as exc:
            raise broken(exc) from exc
        assert doc is not None
        held = doc.get("segments", {})
        return {
            "customer_id": customer.id,
            "name": doc.get("name"),
            "kind": customer.kind,
            "mdm_code": mdm_code,
            "bricks": sorted(customer.bricks_for(plan)),
            "primary_address_only": plan.primary_address_only,
            "segmentations": {
                code: {
                    "segment": held.get(code, {}).get("segment"),
                    "profile": held.get(code, {}).get("profile", {}),
                    "targeted_segments": plan.targeted_in(code),
                }
                for code in plan.segmentations
            },
            "membership": await self.explain(plan_id, customer.id, identity),
        }

    async def check_edit(
        self,
        plan_id: str,
        customer_id: str,
        identity: Identity,
        segmentations: Sequence[str] = (),
    ) -> None:
        """The add/edit flow's rules for this customer and plan (a problem if broken);
        ``segmentations`` are those whose profile values the flow would change."""
        plan, _, _ = await self.plan(plan_id, identity)
        foreign = sorted(set(segmentations) - set(plan.segmentations))
        if foreign:
            raise Problem(
                f"plan {plan_id} does not assign {', '.join(foreign)}",
                status=422,
                code="segmentation-not-in-plan",
                field="profiles",
            )
        customer = facts((await self.store.customers_by_id([customer_id])).get(customer_id))
        if customer is None:
            raise NotFound(
                f"no customer {customer_id}", code="customer-not-found", customer_id=customer_id
            )
        try:
            domain.check_can_add(plan, customer, await self.store.levels())
        except domain.PlanRuleBroken as exc:
            raise broken(exc) from exc

    async def add_or_remove(
        self, plan_id: str, customer_id: str, add: bool, identity: Identity
    ) -> dict[str, Any]:
        """A manual addition (or removal) to a draft plan's list; decided at once."""
        if add:
            await self.check_edit(plan_id, customer_id, identity)
        else:
            plan, _, _ = await self.plan(plan_id, identity)
            try:
                domain.check_editable(plan)
            except domain.PlanRuleBroken as exc:
                raise broken(exc) from exc
        field_, other = ("additions", "removals") if add else ("removals", "additions")
        if not await self.store.add_to_set(plan_id, field_, customer_id, other):
            raise Problem(
                f"plan {plan_id} was submitted meanwhile", status=409, code="plan-submitted"
            )
        plans = await self._active_plans([plan_id])
        await self.reconcile([customer_id], {customer_id: (f"user:{identity.user}", None)}, plans)
        return await self.explain(plan_id, customer_id, identity)
