"""Purchases and the points they earn: recording (topic and API), returns and transfers."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from contracts.commerce import PurchaseMade, PurchaseReturned
from servicekit import faults
from servicekit.auth import Identity
from servicekit.consuming import Delivery, Rejection
from servicekit.problems import Conflict, Invalid, NotFound, Problem

from loyalty import domain
from loyalty.points import _as_stored
from loyalty.purchase_bounds import Breach, breaches
from loyalty.tiers import Tiers

PURCHASE_INGEST = "purchase_ingest"  # the purchase path (its crash point; it publishes nothing)


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
            return NotFound(
                self.reason,
                code="member-not-found",
                field="customer_id",
                customer_id=self.not_a_member,
            )
        return Invalid.from_errors(
            [{"loc": b.field, "msg": b.message, "type": b.type} for b in self.out_of_bounds]
        )


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


@dataclass(frozen=True)
class Buyers:
    """A batch's purchasing customers: the members among them (status and tier), by id, and
    the erased ones."""

    members: Mapping[str, dict[str, Any]]
    erased: set[str]


class Purchases(Tiers):
    async def on_purchases(self, deliveries: Sequence[Delivery]) -> list[Rejection]:
        """Record the batch's purchases (one batched insert) and take back returned orders; a
        purchase out of bounds or for a customer who is no member goes to the dead-letter
        topic."""
        made = [(d, d.event) for d in deliveries if isinstance(d.event, PurchaseMade)]
        # the batch's members and tombstones are read once, for the refusals and the points
        buyers = await self.buyers([purchase for _, purchase in made])
        refusals = self.refusals_among([purchase for _, purchase in made], buyers)
        rejected = [
            Rejection(d.record, refusal.reason)
            for (d, _), refusal in zip(made, refusals, strict=True)
            if refusal is not None
        ]
        admitted = [p for (_, p), refusal in zip(made, refusals, strict=True) if refusal is None]
        await self.record(admitted, "commerce", buyers)
        for delivery in deliveries:
            event = delivery.event
            if isinstance(event, PurchaseReturned):
                try:
                    await self.take_back(event.order_id, event.reason, "commerce")
                except NotFound as exc:
                    rejected.append(Rejection(delivery.record, exc.detail))
        return rejected

    async def buyers(self, purchases: Sequence[PurchaseMade]) -> Buyers:
        """The purchases' customers who are members (status and tier only) and who were erased:
        two queries by id for a whole batch."""
        ids = sorted({p.customer_id for p in purchases})
        members, erased = await asyncio.gather(
            self.store.member_states(ids), self.store.erased(ids)
        )
        return Buyers(members, erased)

    async def refusals(self, purchases: Sequence[PurchaseMade]) -> list[PurchaseRefused | None]:
        return self.refusals_among(purchases, await self.buyers(purchases))

    def refusals_among(
        self, purchases: Sequence[PurchaseMade], buyers: Buyers
    ) -> list[PurchaseRefused | None]:
        """Why each purchase may not be recorded, or None: beyond the bounds, or for a customer
        who is no member. An erased customer's purchase is not refused here: ``record`` leaves
        it out, as it always did."""
        members, gone = buyers.members, buyers.erased
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

    async def record(
        self, purchases: Sequence[PurchaseMade], origin: str, buyers: Buyers | None = None
    ) -> list[dict]:
        """Record orders (a repeated order id changes nothing) and the points they earn;
        returns the stored purchases (the first recording of each order id). ``buyers``: the
        purchases' members and erased customers as the caller read them for this batch."""
        if buyers is None:
            buyers = await self.buyers(purchases)
        wanted = [p for p in purchases if p.customer_id not in buyers.erased]
        stored = await self.points.record_purchases([purchase_doc(p, origin) for p in wanted])
        faults.crash_point(faults.AFTER_STORE, PURCHASE_INGEST)
        members = dict(buyers.members)
        # a repeated order moved by a transfer is its new owner's: read the owners not read yet
        members.update(
            await self.store.member_states(
                sorted({d["customer_id"] for d in stored.values()} - set(members))
            )
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
        earners = sorted({e["customer_id"] for e in entries})
        await self.upgrade_while_adding(earners, members, entries)
        await self.referrals.purchased(earners)
        return [stored[p.order_id] for p in wanted if p.order_id in stored]

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
