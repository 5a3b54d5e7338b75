"""The loyalty service's use cases: enrollment and leaving the program, purchases and the points
they earn, adjustments and purchase transfers."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from contracts.commerce import PurchaseMade, PurchaseReturned
from contracts.customer_events import (
    CustomerChanged,
    CustomerErased,
    CustomerRegistered,
)
from contracts.loyalty_events import MemberEnrolled
from contracts.marketing import CommunicationSent, FeedbackGiven
from contracts.topics import LOYALTY_EVENTS
from servicekit import faults, outbox
from servicekit.auth import Identity
from servicekit.consumer_slot import ConsumerSlot, SlotWrite, input_id
from servicekit.consuming import Delivery, Rejection
from servicekit.outbox import OutboxRelay
from servicekit.problems import Conflict, Invalid, NotFound, Problem

from loyalty import domain
from loyalty.purchase_bounds import Breach, breaches
from loyalty.referrals import ReferralService
from loyalty.settings import LoyaltySettings
from loyalty.store import (
    GUARD_FIELDS,
    CouponStore,
    EngagementStore,
    LoyaltyStore,
    PointsStore,
)

SOURCE = "cdp/loyalty"
ENROLLMENT = "customer_events"  # the customer-events path's slot: enrollments
PURCHASE_INGEST = "purchase_ingest"  # the purchase path (its crash point; it publishes nothing)


TIMELINE_COMMUNICATIONS = 500
DEBIT_ATTEMPTS = 20  # a debit that keeps meeting concurrent ones gives up (409) after these


@dataclass(frozen=True)
class PurchaseRefused:
    """A purchase that may not be recorded: beyond its bounds, or for a non-member."""

    order_id: str
    out_of_bounds: list[Breach]
    not_a_member: str | None = None  # the customer id

    @property
    def reason(self) -> str:
        if self.not_a_member:
            return f"customer {self.not_a_member} is not a loyalty member"
        return "out of bounds: " + "; ".join(b.reason for b in self.out_of_bounds)

    def problem(self) -> Problem:
        if self.not_a_member:
            return NotFound(self.reason, code="member-not-found", field="customer_id")
        return Invalid.from_errors(
            [{"loc": b.field, "msg": b.message, "type": b.type} for b in self.out_of_bounds]
        )


@dataclass(frozen=True)
class MemberHistory:
    """A member with their purchases and ledger (newest first), coupons, communications sent
    and last NPS answer."""

    member: dict[str, Any]
    purchases: list[dict[str, Any]]
    entries: list[dict[str, Any]]
    coupons: list[dict[str, Any]]
    communications: list[dict[str, Any]]
    last_nps: dict[str, Any] | None


def _problem(exc: domain.RuleBroken) -> Problem:
    status = 409 if exc.code == "insufficient-points" else 422
    extensions = {"field": exc.field} if exc.field else {}
    return Problem(str(exc), status=status, code=exc.code, title="Not allowed", **extensions)


def _as_stored(moment: datetime) -> datetime:
    """A datetime as the database gives it back (UTC, milliseconds), so a purchase answered
    as inserted equals the same purchase read later."""
    moment = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def purchase_doc(purchase: PurchaseMade, origin: str) -> dict[str, Any]:
    return {
        "_id": purchase.order_id,
        "customer_id": purchase.customer_id,
        "lines": [line.model_dump(mode="json") for line in purchase.lines],
        "total": str(purchase.total),
        "currency": purchase.currency,
        "purchased_at": _as_stored(purchase.purchased_at),
        "store": purchase.store,
        "origin": origin,
        "recorded_at": _as_stored(datetime.now(UTC)),
    }


@dataclass
class LoyaltyService:
    store: LoyaltyStore
    points: PointsStore
    coupons: CouponStore
    engagement: EngagementStore
    referrals: ReferralService
    relay: OutboxRelay
    settings: LoyaltySettings
    enrollment_slot: ConsumerSlot  # the customer-events path's slot in each member

    async def member(self, customer_id: str) -> dict[str, Any]:
        member = await self.store.get_member(customer_id)
        if member is None:
            raise NotFound(
                f"customer {customer_id} is not a loyalty member", code="member-not-found"
            )
        return member

    async def on_customer_events(self, deliveries: Sequence[Delivery]) -> list[Rejection]:
        """Enroll registered customers (unless erased since) and forget erased ones."""
        erased = {d.event.customer_id for d in deliveries if isinstance(d.event, CustomerErased)}
        if self.settings.enroll_on_registration:
            candidates = {
                d.event.customer.id: d
                for d in deliveries
                if isinstance(d.event, CustomerRegistered) and domain.may_enroll(d.event.customer)
            }
            gone = erased | await self.store.erased(list(candidates))
            await self._enroll([d for cid, d in candidates.items() if cid not in gone])
        await self._follow_status(deliveries, erased)
        await self.store.erase(sorted(erased))
        await self.points.forget(sorted(erased))
        await self.coupons.forget(sorted(erased))
        await self.engagement.forget(sorted(erased))
        await self.referrals.store.forget(sorted(erased))
        return []

    async def _follow_status(self, deliveries: Sequence[Delivery], erased: set[str]) -> None:
        """A suspended or void customer leaves the program; reactivated, they are back."""
        latest: dict[str, CustomerChanged] = {}
        for delivery in deliveries:
            event = delivery.event
            if isinstance(event, CustomerChanged) and not isinstance(event, CustomerRegistered):
                latest[event.customer.id] = event
        await self.store.set_statuses(
            [
                (
                    cid,
                    "active" if domain.may_enroll(event.customer) else "left",
                    event.customer.version,
                )
                for cid, event in latest.items()
                if cid not in erased
            ]
        )

    # --- purchases and points

    async def on_purchases(self, deliveries: Sequence[Delivery]) -> list[Rejection]:
        """Record the batch's purchases (one batched insert) and take back returned orders; a
        purchase out of bounds or for a customer who is no member goes to the dead-letter
        topic."""
        made = [(d, d.event) for d in deliveries if isinstance(d.event, PurchaseMade)]
        refusals = await self.refusals([purchase for _, purchase in made])
        rejected = [
            Rejection(d.record, refusal.reason)
            for (d, _), refusal in zip(made, refusals, strict=True)
            if refusal is not None
        ]
        admitted = [p for (_, p), refusal in zip(made, refusals, strict=True) if refusal is None]
        await self.record(admitted, "commerce")
        for delivery in deliveries:
            event = delivery.event
            if isinstance(event, PurchaseReturned):
                try:
                    await self.take_back(event.order_id, event.reason, "commerce")
                except NotFound as exc:
                    rejected.append(Rejection(delivery.record, exc.detail))
        return rejected

    async def refusals(self, purchases: Sequence[PurchaseMade]) -> list[PurchaseRefused | None]:
        """Why each purchase may not be recorded, or None: beyond the bounds, or for a customer
        who is no member (one query for the batch). An erased customer's purchase is not refused
        here: ``record`` leaves it out, as it always did."""
        ids = sorted({p.customer_id for p in purchases})
        members = await self.store.members_by_id(ids)
        gone = await self.store.erased([cid for cid in ids if cid not in members])
        now = datetime.now(UTC)
        found: list[PurchaseRefused | None] = []
        for purchase in purchases:
            out_of_bounds = breaches(purchase, self.settings, now)
            if out_of_bounds:
                found.append(PurchaseRefused(purchase.order_id, out_of_bounds))
            elif purchase.customer_id not in members and purchase.customer_id not in gone:
                found.append(PurchaseRefused(purchase.order_id, [], purchase.customer_id))
            else:
                found.append(None)
        return found

    async def take_back(self, order_id: str, reason: str | None, actor: str) -> dict[str, Any]:
        """A full return: the purchase no longer counts, and its current owner gives back the
        points it earned (the balance may go below zero if they were spent). Idempotent."""
        purchase = await self.purchase(order_id)
        owner = purchase["customer_id"]
        earned = sum(
            e["points"]
            for e in await self.points.entries_for_order(order_id)
            if e["customer_id"] == owner and e["kind"] in ("earn", "transfer-in")
        )
        now = datetime.now(UTC)
        if earned:
            await self.points.add_entries(
                [
                    {
                        "_id": f"return:{order_id}",
                        "customer_id": owner,
                        "kind": "return",
                        "points": -earned,
                        "order_id": order_id,
                        "reason": reason,
                        "actor": actor,
                        "at": now,
                    }
                ]
            )
        await self.points.mark_returned(order_id, now, reason)
        return await self.purchase(order_id)

    async def record(self, purchases: Sequence[PurchaseMade], origin: str) -> list[dict]:
        """Record orders (a repeated order id changes nothing) and the points they earn;
        returns the stored purchases (the first recording of each order id)."""
        gone = await self.store.erased(sorted({p.customer_id for p in purchases}))
        wanted = [p for p in purchases if p.customer_id not in gone]
        stored = await self.points.record_purchases([purchase_doc(p, origin) for p in wanted])
        faults.crash_point(faults.AFTER_STORE, PURCHASE_INGEST)
        members = await self.store.members_by_id(
            sorted({d["customer_id"] for d in stored.values()})
        )
        multipliers = {k.lower(): v for k, v in self.settings.category_multipliers.items()}
        entries = []
        for order_id, doc in stored.items():
            member = members.get(doc["customer_id"])
            if member is None or member["status"] != "active" or doc.get("transfers"):
                continue  # no points outside the program; a transfer moved them already
            earned = domain.points_for(doc["lines"], self.settings.points_per_unit, multipliers)
            if earned > 0:
                entries.append(
                    {
                        "_id": f"earn:{order_id}",
                        "customer_id": doc["customer_id"],
                        "kind": "earn",
                        "points": earned,
                        "order_id": order_id,
                        "at": doc["purchased_at"],
                    }
                )
        # Entries are derived from the stored purchases every time, so a crash between the two
        # writes is repaired by the redelivery; their ids make the repeat a no-op.
        await self.points.add_entries(entries)
        earners = sorted({e["customer_id"] for e in entries})
        await self.assess_tiers(earners, downgrade=False, members=members)
        await self.referrals.purchased(earners)
        return [stored[p.order_id] for p in wanted if p.order_id in stored]

    # --- tiers

    def _tier_points(self, entries: Sequence[Mapping[str, Any]]) -> int:
        since = datetime.now(UTC) - timedelta(days=self.settings.tier_window_days)
        return domain.tier_points(entries, since)

    async def assess_tiers(
        self,
        customer_ids: Sequence[str],
        downgrade: bool,
        members: Mapping[str, dict[str, Any]] | None = None,
    ) -> int:
        """Move members to the tier their tier points qualify for: up at once (after a
        purchase), down one level at a periodic reassessment. Returns how many moved.
        ``members``: the members as the caller read them in this batch, if it did."""
        if members is None:
            members = await self.store.members_by_id(customer_ids)
        active = [
            cid for cid in customer_ids if cid in members and members[cid]["status"] == "active"
        ]
        since = datetime.now(UTC) - timedelta(days=self.settings.tier_window_days)
        window = await self.points.entries_since(active, since)  # one query for them all
        moves = []
        for cid in active:
            member = members[cid]
            points = domain.tier_points(window[cid], since)
            tier = domain.assess_tier(member["tier"], points, self.settings.tiers, downgrade)
            if tier != member["tier"]:
                change = {
                    "from": member["tier"],
                    "to": tier,
                    "at": datetime.now(UTC),
                    "reason": "reassessment" if downgrade else "qualified",
                    "tier_points": points,
                    "actor": "system",
                }
                moves.append((cid, tier, change))
        await self.store.set_tiers(moves)
        return len(moves)

    async def set_tier(
        self, customer_id: str, tier: str, reason: str, identity: Identity
    ) -> dict[str, Any]:
        """A tier set by hand (it holds until the next reassessment or upgrade)."""
        member = await self.member(customer_id)
        if tier not in self.settings.tiers:
            raise Invalid.from_errors(
                [
                    {
                        "loc": ("tier",),
                        "msg": f"tiers are {', '.join(self.settings.tiers)}",
                        "type": "unknown_tier",
                    }
                ]
            )
        change = {
            "from": member["tier"],
            "to": tier,
            "at": datetime.now(UTC),
            "reason": reason,
            "actor": f"user:{identity.user}",
        }
        await self.store.set_tier(customer_id, tier, change)
        return await self.summary(customer_id)

    async def history(self, customer_id: str) -> MemberHistory:
        """Everything the member's views derive from, each read once."""
        member = await self.member(customer_id)
        purchases, entries, coupons, sent, nps = await asyncio.gather(
            self.points.purchases_of(customer_id),
            self.points.entries_of(customer_id, None),
            self.coupons.coupons_of(customer_id),
            self.engagement.latest(customer_id, "communication", TIMELINE_COMMUNICATIONS),
            self.engagement.latest(customer_id, "nps", 1),
        )
        return MemberHistory(member, purchases, entries, coupons, sent, nps[0] if nps else None)

    def summary_of(self, history: MemberHistory) -> dict[str, Any]:
        """Status, tier and tier points, points by state, purchase metrics and last NPS."""
        member, nps = history.member, history.last_nps
        points = self._tier_points(history.entries)
        return {
            **member,
            "tier_points": points,
            "next_tier": domain.next_tier(member["tier"], points, self.settings.tiers),
            **self._points_summary(history.entries),
            "metrics": {
                **domain.metrics(history.purchases),
                "last_nps": {k: nps.get(k) for k in ("nps", "comment", "at")} if nps else None,
            },
        }

    async def summary(self, customer_id: str) -> dict[str, Any]:
        return self.summary_of(await self.history(customer_id))

    @staticmethod
    def timeline_of(
        history: MemberHistory, limit: int, before: datetime | None, before_id: str | None = None
    ) -> list[dict[str, Any]]:
        """The member's loyalty history, newest first: enrollment, purchases (and returns),
        points other than those purchases earned, tier changes, coupons, communications. Each
        item has a stable ``id`` that breaks ties between items at the same time; a page goes on
        after the last item's (``before``, ``before_id``), or before ``before`` alone."""
        member = history.member
        items: list[dict[str, Any]] = [
            {
                "id": "enrollment",
                "kind": "enrollment",
                "at": member["enrolled_at"],
                "tier": member.get("tier"),
            }
        ]
        items += [
            {
                "id": f"purchase:{p['_id']}",
                "kind": "purchase",
                "at": p["purchased_at"],
                "order_id": p["_id"],
                "total": p["total"],
                "currency": p.get("currency"),
            }
            for p in history.purchases
        ]
        items += [
            {
                "id": f"points:{e['_id']}",
                "kind": f"points-{e['kind']}",
                "at": e["at"],
                "points": e["points"],
                "reason": e.get("reason"),
                "order_id": e.get("order_id"),
            }
            for e in history.entries
            if e["kind"] != "earn"
        ]
        items += [
            {
                "id": f"tier:{n:06d}",  # the tier history only grows: its place is stable
                "kind": "tier",
                "at": change["at"],
                "from": change["from"],
                "to": change["to"],
                "reason": change.get("reason"),
            }
            for n, change in enumerate(member.get("tier_history", []))
        ]
        for c in history.coupons:
            items.append(
                {
                    "id": f"coupon-issued:{c['_id']}",
                    "kind": "coupon-issued",
                    "at": c["issued_at"],
                    "coupon": c["_id"],
                    "name": c.get("name"),
                }
            )
            if c.get("redeemed_at"):
                items.append(
                    {
                        "id": f"coupon-redeemed:{c['_id']}",
                        "kind": "coupon-redeemed",
                        "at": c["redeemed_at"],
                        "coupon": c["_id"],
                        "order_id": c.get("order_id"),
                    }
                )
        items += [
            {
                "id": f"communication:{sent['_id']}",
                "kind": "communication",
                "at": sent["at"],
                "channel": sent.get("channel"),
                "campaign": sent.get("campaign"),
            }
            for sent in history.communications
        ]
        if before is not None:
            items = [
                i
                for i in items
                if i["at"] < before
                or (before_id is not None and i["at"] == before and i["id"] > before_id)
            ]
        items.sort(key=lambda i: i["id"])
        items.sort(key=lambda i: i["at"], reverse=True)  # stable: ties stay in id order
        return items[:limit]

    @property
    def policy(self) -> domain.PointsPolicy:
        return domain.PointsPolicy(
            pending_days=self.settings.points_pending_days,
            expiry_days=self.settings.points_expiry_days,
            rolling_expiry=self.settings.points_rolling_expiry,
            expiry_date=(
                (
                    int(self.settings.points_expiry_date[:2]),
                    int(self.settings.points_expiry_date[3:]),
                )
                if self.settings.points_expiry_date
                else None
            ),
        )

    def _points_summary(self, entries: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        """The spendable balance and the points by state, replayed from the ledger."""
        state = domain.points_state(entries, datetime.now(UTC), self.policy)
        return {"points_balance": state["active"], "points": state}

    async def balance(self, customer_id: str) -> int:
        entries = await self.points.entries_of(customer_id, None)
        return int(self._points_summary(entries)["points_balance"])

    async def _debit(
        self, entry: dict[str, Any], check: Callable[[int], None]
    ) -> tuple[dict[str, Any], bool]:
        """Insert a debit that ``check`` allows against the member's balance, as the member's
        next guarded debit (PointsStore.add_debit): a concurrent debit that checked the same
        balance takes the same number, so one of them reads the ledger again and checks anew.
        Returns the entry as stored and whether this call wrote it (False: an entry with its id
        was there already)."""
        customer_id = entry["customer_id"]
        for _ in range(DEBIT_ATTEMPTS):
            last = await self.points.last_debit(customer_id)
            try:
                check(await self.balance(customer_id))
            except domain.RuleBroken as exc:
                raise _problem(exc) from exc
            if await self.points.add_debit(entry, last + 1):
                return entry, True
            stored = await self.points.entry(entry["_id"])
            if stored is not None:
                return stored, False
        raise Conflict(f"the points of {customer_id} kept changing; try again", code="points-busy")

    async def redeem(
        self, customer_id: str, points: int, order_id: str | None, identity: Identity
    ) -> dict[str, Any]:
        """Spend points (the soonest-expiring first); with an order id, once per order and
        customer (another customer's redemption for the same order id is theirs)."""
        member = await self.member(customer_id)
        if order_id:
            done = [
                e
                for e in await self.points.entries_for_order(order_id)
                if e["kind"] == "redeem" and e["customer_id"] == customer_id
            ]
            if done:
                return {k: v for k, v in done[0].items() if k not in GUARD_FIELDS}
        if member["status"] != "active":
            raise Conflict(
                f"customer {customer_id} has left the loyalty program", code="member-inactive"
            )
        entry = {
            "_id": (
                f"redeem:{customer_id}:{order_id}" if order_id else f"redeem:{uuid.uuid4().hex}"
            ),
            "customer_id": customer_id,
            "kind": "redeem",
            "points": -points,
            "order_id": order_id,
            "actor": f"user:{identity.user}",
            "at": _as_stored(datetime.now(UTC)),
        }
        stored, _ = await self._debit(
            entry, lambda balance: domain.check_redemption(points, balance)
        )
        return stored

    async def on_engagement(self, deliveries: Sequence[Delivery]) -> list[Rejection]:
        """Keep survey answers (the last NPS) and the communications log; repeats change
        nothing, erased customers are not brought back."""
        docs: list[dict[str, Any]] = []
        for delivery in deliveries:
            event = delivery.event
            if isinstance(event, FeedbackGiven):
                docs.append(
                    {
                        "_id": f"nps:{event.response_id}",
                        "kind": "nps",
                        "customer_id": event.customer_id,
                        "nps": event.nps,
                        "comment": event.comment,
                        "at": event.given_at,
                    }
                )
            elif isinstance(event, CommunicationSent):
                docs.append(
                    {
                        "_id": f"communication:{event.communication_id}",
                        "kind": "communication",
                        "customer_id": event.customer_id,
                        "channel": event.channel,
                        "campaign": event.campaign,
                        "subject": event.subject,
                        "at": event.sent_at,
                    }
                )
        gone = await self.store.erased(sorted({d["customer_id"] for d in docs}))
        await self.engagement.add([d for d in docs if d["customer_id"] not in gone])
        return []

    async def adjust(
        self, customer_id: str, points: int, reason: str, identity: Identity
    ) -> dict[str, Any]:
        member = await self.member(customer_id)
        if member["status"] != "active":
            raise Conflict(
                f"customer {customer_id} has left the loyalty program", code="member-inactive"
            )
        entry = {
            "_id": f"adjust:{uuid.uuid4().hex}",
            "customer_id": customer_id,
            "kind": "adjust",
            "points": points,
            "reason": reason,
            "actor": f"user:{identity.user}",
            "at": _as_stored(datetime.now(UTC)),
        }
        if points > 0:  # a credit cannot overdraw: no guard to take
            try:
                domain.check_adjustment(points, 0)
            except domain.RuleBroken as exc:
                raise _problem(exc) from exc
            await self.points.add_entries([entry])
            return entry
        stored, _ = await self._debit(
            entry, lambda balance: domain.check_adjustment(points, balance)
        )
        return stored

    async def purchase(self, order_id: str) -> dict[str, Any]:
        found = (await self.points.purchases_by_id([order_id])).get(order_id)
        if found is None:
            raise NotFound(f"no purchase {order_id}", code="purchase-not-found")
        return found

    async def transfer(
        self, order_id: str, to_customer: str, reason: str, identity: Identity
    ) -> dict[str, Any]:
        """Move a purchase to another customer; the points it earned move with it."""
        purchase = await self.purchase(order_id)
        source = purchase["customer_id"]
        if purchase.get("returned_at"):
            raise Conflict(f"purchase {order_id} was returned", code="purchase-returned")
        if source == to_customer:
            raise Invalid.from_errors(
                [
                    {
                        "loc": ("to_customer_id",),
                        "msg": "the purchase is theirs already",
                        "type": "same_customer",
                    }
                ]
            )
        target = await self.member(to_customer)
        if target["status"] != "active":
            raise Conflict(f"customer {to_customer} is not in the program", code="member-inactive")
        earned = sum(
            e["points"]
            for e in await self.points.entries_for_order(order_id)
            if e["customer_id"] == source and e["kind"] in ("earn", "transfer-in")
        )
        n = len(purchase.get("transfers", [])) + 1
        decided = await self.points.entry(f"transfer-out:{order_id}:{n}")
        if decided is not None:
            # A transfer took the points and has not moved the purchase yet (it crashed, or it
            # is on its way): finish it first.
            await self._finish_transfer(decided, n)
            if decided["to_customer_id"] == to_customer:
                return await self.purchase(order_id)
            raise Conflict(f"purchase {order_id} moved meanwhile", code="purchase-moved")
        now = _as_stored(datetime.now(UTC))
        common = {
            "order_id": order_id,
            "reason": reason,
            "actor": f"user:{identity.user}",
            "at": now,
        }
        taken = f"transfer-out:{order_id}:{n}"
        change = {"from": source, "to": to_customer, "points": earned, **common}
        if not earned:  # nothing to move but the purchase: its conditional update decides
            if not await self.points.move_purchase(order_id, n, change):
                raise Conflict(f"purchase {order_id} moved meanwhile", code="purchase-moved")
            return await self.purchase(order_id)
        # The points leave the source first, as a guarded debit whose id names this order's n-th
        # transfer: of two transfers that read the purchase at once, only one writes it, and
        # that entry holds all the transfer decided, so whoever finds it can finish it.
        out, won = await self._debit(
            {
                "_id": taken,
                "customer_id": source,
                "kind": "transfer-out",
                "points": -earned,
                "to_customer_id": to_customer,
                **common,
            },
            lambda balance: self._check_points_left(source, earned, balance),
        )
        if not won:
            await self._finish_transfer(out, n)
            raise Conflict(f"purchase {order_id} moved meanwhile", code="purchase-moved")
        if not await self._finish_transfer(out, n):
            # only a transfer that moved no points can have taken the n-th place: give back
            await self.points.drop_entries([taken, f"transfer-in:{order_id}:{n}"])
            raise Conflict(f"purchase {order_id} moved meanwhile", code="purchase-moved")
        return await self.purchase(order_id)

    async def _finish_transfer(self, out: Mapping[str, Any], n: int) -> bool:
        """Finish the order's n-th transfer from its transfer-out entry: the points reach the
        target, then the purchase moves (so whoever reads the moved purchase finds them). Each
        step is idempotent: a retry, a concurrent transfer or a later one may finish it. True
        if the purchase went to the target by this transfer."""
        order_id, target = out["order_id"], out["to_customer_id"]
        common = {k: out[k] for k in ("order_id", "reason", "actor", "at")}
        await self.points.add_entries(
            [
                {
                    "_id": f"transfer-in:{order_id}:{n}",
                    "customer_id": target,
                    "kind": "transfer-in",
                    "points": -out["points"],
                    **common,
                }
            ]
        )
        change = {"from": out["customer_id"], "to": target, "points": -out["points"], **common}
        if await self.points.move_purchase(order_id, n, change):
            return True
        moves = (await self.purchase(order_id)).get("transfers", [])
        return len(moves) >= n and moves[n - 1]["to"] == target

    @staticmethod
    def _check_points_left(source: str, earned: int, balance: int) -> None:
        if balance < earned:
            raise domain.RuleBroken(
                "insufficient-points",
                f"{source} has spent the points this purchase earned",
                "order_id",
            )

    async def _enroll(self, deliveries: Sequence[Delivery]) -> None:
        """Enroll newly registered customers: the member and its MemberEnrolled event in one
        write (the event in the enrollment path's slot), published after it. A redelivered
        registration whose member's slot holds it publishes that event again."""
        now = datetime.now(UTC)
        slot = self.enrollment_slot
        enrolments: dict[str, tuple[dict[str, Any], SlotWrite]] = {}
        known = await self.store.members_with_slots([d.event.customer.id for d in deliveries])  # type: ignore[attr-defined]
        republish: list[dict[str, Any]] = []
        for delivery in deliveries:
            event = delivery.event
            assert isinstance(event, CustomerRegistered)
            if event.customer.id in known:
                state = slot.take(known.pop(event.customer.id))
                if state.holds([input_id(delivery)]):
                    republish += state.events  # enrolled before a crash: publish it again
                continue
            member = domain.new_member(event.customer, self.settings.base_tier, now)
            enrolled = MemberEnrolled(
                customer_id=member["_id"],
                referral_code=member["referral_code"],
                tier=member["tier"],
                enrolled_at=now,
            )
            envelope = enrolled.envelope(
                source=SOURCE,
                subject=member["_id"],
                correlation_id=delivery.envelope.correlation_id or delivery.envelope.id,
                causation_id=delivery.envelope.id,
            )
            entry = outbox.entry(self.settings.topic(LOYALTY_EVENTS.name), member["_id"], envelope)
            slot_write = SlotWrite()
            slot_write.applied([input_id(delivery)], [entry])
            enrolments[member["_id"]] = (member, slot_write)
        inserted = await self.store.enroll(list(enrolments.values()), slot)
        await slot.publish(
            republish + [e for cid in sorted(inserted) for e in enrolments[cid][1].events]
        )
        await self.referrals.registered(
            [
                (d.event.customer.id, d.event.customer.email)
                for d in deliveries
                if isinstance(d.event, CustomerRegistered)
            ]
        )
