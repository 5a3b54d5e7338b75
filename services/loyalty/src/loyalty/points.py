"""Points spent and adjusted: the balance replayed from the ledger, and debits guarded against
overdrawing it under concurrent writers."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from servicekit.auth import Identity
from servicekit.problems import Conflict, Problem

from loyalty import domain
from loyalty.dependencies import LoyaltyDependencies
from loyalty.store import (
    GUARD_FIELDS,
)

DEBIT_ATTEMPTS = 20  # a debit that keeps meeting concurrent ones gives up (409) after these


def _problem(exc: domain.RuleBroken) -> Problem:
    status = 409 if exc.code == "insufficient-points" else 422
    extensions = {"field": exc.field} if exc.field else {}
    return Problem(str(exc), status=status, code=exc.code, title="Not allowed", **extensions)


def _as_stored(moment: datetime) -> datetime:
    """A datetime as the database gives it back (UTC, milliseconds), so a purchase answered
    as inserted equals the same purchase read later."""
    moment = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


class PointsUseCases(LoyaltyDependencies):
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
