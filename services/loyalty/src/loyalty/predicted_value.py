"""Predicted value per member: whether they still buy (probability alive), how often they will
(expected purchases over the horizon) and what they will be worth (lifetime value over the
horizon, discounted), from the BG/NBD and Gamma-Gamma models fitted on every member's purchase
history (loyalty.value_models). A run is versioned with its fitted parameters; it also happens
on a schedule. A run goes on in the background (the fit in a worker thread, so the API keeps
answering); its record says when it is done."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from servicekit.logging import get_logger
from servicekit.problems import Conflict, NotFound

from loyalty.settings import LoyaltySettings
from loyalty.value_store import ValueStore

log = get_logger(__name__)
MIN_REPEAT_BUYERS = 10


@dataclass(frozen=True)
class History:
    """A member's purchase history in the models' terms (weeks; one purchase a day)."""

    x: int  # repeat purchases: purchase days after the first
    t_x: float  # weeks from the first purchase to the last
    T: float  # weeks from the first purchase to now
    m: float  # mean value of the repeat purchases (0 without any)


def histories(
    purchases: list[dict[str, Any]], members: set[str], now: datetime
) -> dict[str, History]:
    days: dict[str, dict[date, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for purchase in purchases:
        if purchase["customer_id"] in members:
            at: datetime = purchase["purchased_at"]
            days[purchase["customer_id"]][at.date()] += Decimal(purchase["total"])
    found = {}
    for cid, by_day in days.items():
        first, last = min(by_day), max(by_day)
        repeats = [value for day, value in by_day.items() if day != first]
        found[cid] = History(
            x=len(repeats),
            t_x=(last - first).days / 7,
            T=max((now.date() - first).days, 0) / 7,
            m=float(sum(repeats) / len(repeats)) if repeats else 0.0,
        )
    return found


def predict(found: dict[str, History], settings: LoyaltySettings) -> tuple[dict, dict]:
    """The fitted parameters and each member's prediction (CPU work: run it off the loop)."""
    from loyalty import value_models  # NumPy and SciPy load with the first run

    ids = list(found)
    x, t_x, T, m = ([getattr(found[cid], name) for cid in ids] for name in ("x", "t_x", "T", "m"))
    purchases = value_models.BgNbd.fit(x, t_x, T)
    spend = value_models.GammaGamma.fit(x, m)
    months = settings.value_horizon_months
    weeks = months * value_models.WEEKS_PER_MONTH
    alive = purchases.p_alive(x, t_x, T)
    expected = purchases.expected_purchases(weeks, x, t_x, T)
    per_purchase = spend.expected_spend(x, m)
    value = value_models.lifetime_value(
        purchases, spend, x, t_x, T, m, months, settings.value_monthly_discount
    )
    params = {
        "bg_nbd": {"r": purchases.r, "alpha": purchases.alpha, "a": purchases.a, "b": purchases.b},
        "gamma_gamma": {"p": spend.p, "q": spend.q, "gamma": spend.gamma},
        "converged": purchases.converged and spend.converged,
    }
    predictions = {
        cid: {
            "p_alive": round(float(alive[i]), 4),
            "expected_purchases": round(float(expected[i]), 3),
            "expected_value_per_purchase": round(float(per_purchase[i]), 2),
            "lifetime_value": round(float(value[i]), 2),
        }
        for i, cid in enumerate(ids)
    }
    return params, predictions


@dataclass
class PredictedValueService:
    store: ValueStore
    settings: LoyaltySettings
    _running: set[asyncio.Task] = field(default_factory=set)

    async def start(self) -> dict[str, Any]:
        """Starts a run and answers at once (state ``running``); the run goes on in the
        background and its record says when it is ``done`` (or ``failed``, and why)."""
        now = datetime.now(UTC)
        version = await self.store.next_version()
        run = {
            "_id": version,
            "state": "running",
            "started_at": now,
            "horizon_months": self.settings.value_horizon_months,
            "monthly_discount": self.settings.value_monthly_discount,
        }
        if not await self.store.save_run(run):
            raise Conflict("a predicted-value run is under way", code="value-running")
        task = asyncio.create_task(self._compute(version, now))
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        return run

    async def run(self) -> dict[str, Any]:
        """A run to its end (the schedule's)."""
        started = await self.start()
        await asyncio.gather(*self._running)
        return await self.get(started["_id"])

    async def _compute(self, version: int, now: datetime) -> None:
        try:
            members = await self.store.member_ids()
            found = histories(await self.store.purchase_facts(), members, now)
            if sum(1 for h in found.values() if h.x > 0) < MIN_REPEAT_BUYERS:
                raise ValueError(
                    f"too few members with repeat purchases to fit (at least {MIN_REPEAT_BUYERS})"
                )
            params, predictions = await asyncio.to_thread(predict, found, self.settings)
            stamp = {"version": version, "computed_at": now}
            await self.store.write([(cid, {**p, **stamp}) for cid, p in predictions.items()])
            await self.store.finish_run(
                version, {"state": "done", "members": len(predictions), **params}
            )
            log.info("predicted value run", version=version, members=len(predictions))
        except Exception as exc:
            log.exception("predicted value run failed", version=version)
            await self.store.finish_run(version, {"state": "failed", "error": str(exc)})

    async def get(self, version: int) -> dict[str, Any]:
        run = await self.store.get_run(version)
        if run is None:
            raise NotFound(f"no predicted-value run {version}", code="value-run-not-found")
        return run

    async def latest(self) -> dict[str, Any]:
        run = await self.store.latest()
        if run is None:
            raise NotFound("no predicted-value run yet", code="value-not-run")
        return run
