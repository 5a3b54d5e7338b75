"""Predicted value per member: whether they still buy (probability alive), how often they will
(expected purchases over the horizon) and what they will be worth (lifetime value over the
horizon, discounted), from the BG/NBD and Gamma-Gamma models fitted on every member's purchase
history (loyalty.value_models). A run is versioned with its fitted parameters; it also happens
on a schedule. A run goes on in the background (the fit in a worker thread, so the API keeps
answering); its record says when it is done.

A run may choose the purchase model (BG/NBD, or MBG/NBD where one-time buyers lapse too), the
horizon and the monthly discount. A run as of a past date is a backtest: it fits on the purchases
up to that date, leaves every member's prediction as it is, and reports beside its forecast of
the purchases since then how many there were (the model's check on this shop's own data)."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from contracts.loyalty_events import CustomerMetricsChanged
from contracts.topics import LOYALTY_EVENTS
from contracts.value_runs import ValueRunOptions
from servicekit import outbox
from servicekit.logging import correlation_id, get_logger
from servicekit.outbox import OutboxRelay
from servicekit.problems import Conflict, Invalid, NotFound

from loyalty.settings import LoyaltySettings
from loyalty.value_store import ValueStore

log = get_logger(__name__)
SOURCE = "cdp/loyalty"
MIN_REPEAT_BUYERS = 10
CHUNK = 10_000  # members predicted and written at a time


@dataclass
class Histories:
    """Every member's purchase history in the models' terms, as arrays: ``x`` repeat purchases
    (purchase days after the first), ``t_x`` weeks from the first to the last, ``T`` weeks from
    the first to now, ``m`` the mean value of the repeat purchases (0 without any)."""

    ids: list[str] = field(default_factory=list)
    x: list[int] = field(default_factory=list)
    t_x: list[float] = field(default_factory=list)
    T: list[float] = field(default_factory=list)
    m: list[float] = field(default_factory=list)
    spend: list[float] = field(default_factory=list)  # and the plain facts, for the event
    orders: list[int] = field(default_factory=list)
    last_at: list[datetime] = field(default_factory=list)
    later: list[int] = field(default_factory=list)  # purchase days after the cut-off (backtest)

    def add(
        self,
        customer_id: str,
        days: dict[date, Decimal],
        today: date,
        orders: int,
        last_at: datetime,
        later: int = 0,
    ) -> None:
        self.later.append(later)
        first, last = min(days), max(days)
        repeats = len(days) - 1
        self.ids.append(customer_id)
        self.spend.append(float(sum(days.values())))
        self.orders.append(orders)
        self.last_at.append(last_at)
        self.x.append(repeats)
        self.t_x.append((last - first).days / 7)
        self.T.append(max((today - first).days, 0) / 7)
        self.m.append(float((sum(days.values()) - days[first]) / repeats) if repeats else 0.0)

    def repeat_buyers(self) -> int:
        return sum(1 for x in self.x if x > 0)


async def histories(purchases: Any, now: datetime) -> Histories:
    """From purchases in customer order (one customer's days in memory at a time), up to ``now``;
    the days of a customer's purchases after it are counted in ``later`` (a backtest's
    holdout), and a customer whose first purchase comes after it is left out."""
    found = Histories()
    current: str | None = None
    days: dict[date, Decimal] = defaultdict(Decimal)
    later: set[date] = set()
    orders, last_at = 0, now

    def close() -> None:
        if current is not None and days:
            found.add(current, days, now.date(), orders, last_at, len(later))

    async for purchase in purchases:
        if purchase["customer_id"] != current:
            close()
            current, days, later, orders = purchase["customer_id"], defaultdict(Decimal), set(), 0
        at = purchase["purchased_at"]
        if at > now:
            later.add(at.date())
            continue
        days[at.date()] += Decimal(purchase["total"])
        orders, last_at = orders + 1, at
    close()
    return found


def metrics_event(
    cid: str,
    rfm: Mapping[str, Any] | None,
    predicted: Mapping[str, Any],
    found: Histories,
    i: int,
) -> CustomerMetricsChanged:
    """The member's whole metrics after a predicted-value run (RFM stars as they stand)."""
    rfm = rfm or {}
    return CustomerMetricsChanged(
        customer_id=cid,
        rfm_recency=rfm.get("recency"),
        rfm_frequency=rfm.get("frequency"),
        rfm_monetary=rfm.get("monetary"),
        rfm_version=rfm.get("version", 0),
        lifetime_spend=found.spend[i],
        orders=found.orders[i],
        last_purchase_at=found.last_at[i],
        **value_metrics(predicted),
    )


def value_metrics(predicted: Mapping[str, Any] | None) -> dict[str, Any]:
    """A member's ``predicted`` as CustomerMetricsChanged fields (none before a first run)."""
    if not predicted:
        return {}
    return {
        "p_alive": predicted["p_alive"],
        "expected_purchases": predicted["expected_purchases"],
        "expected_spend_per_purchase": predicted["expected_spend_per_purchase"],
        "clv": predicted["clv"],
        "clv_version": predicted["version"],
    }


def fit(found: Histories, model: str) -> tuple[Any, Any]:
    """The two models fitted on every history (CPU work: run it off the loop)."""
    from loyalty import value_models  # NumPy and SciPy load with the first run

    return (
        value_models.MODELS[model].fit(found.x, found.t_x, found.T),
        value_models.GammaGamma.fit(found.x, found.m),
    )


def holdout(purchases: Any, found: Histories, weeks: float) -> dict[str, float]:
    """A backtest's check: the purchase days forecast for the weeks since the cut-off, and
    those there were (CPU work: run it off the loop)."""
    expected = purchases.expected_purchases(weeks, found.x, found.t_x, found.T)
    return {
        "weeks": round(weeks, 2),
        "expected": round(float(expected.sum()), 1),
        "actual": sum(found.later),
    }


def predict(
    purchases: Any,
    spend: Any,
    found: Histories,
    start: int,
    end: int,
    months: int,
    monthly_discount: float,
) -> list[tuple[str, dict[str, float]]]:
    """The predictions of the members ``start:end`` (CPU work: run it off the loop)."""
    from loyalty import value_models

    x, t_x, T, m = (getattr(found, name)[start:end] for name in ("x", "t_x", "T", "m"))
    alive = purchases.p_alive(x, t_x, T)
    expected = purchases.expected_purchases(months * value_models.WEEKS_PER_MONTH, x, t_x, T)
    per_purchase = spend.expected_spend(x, m)
    value = value_models.lifetime_value(purchases, spend, x, t_x, T, m, months, monthly_discount)
    return [
        (
            cid,
            {
                "p_alive": round(float(alive[i]), 4),
                "expected_purchases": round(float(expected[i]), 3),
                "expected_spend_per_purchase": round(float(per_purchase[i]), 2),
                "clv": round(float(value[i]), 2),
            },
        )
        for i, cid in enumerate(found.ids[start:end])
    ]


@dataclass
class PredictedValueService:
    store: ValueStore
    settings: LoyaltySettings
    relay: OutboxRelay  # the members' outbox: each prediction and its event are one write
    _running: set[asyncio.Task] = field(default_factory=set)

    async def start(self, options: ValueRunOptions | None = None) -> dict[str, Any]:
        """Starts a run and answers at once (state ``running``); the run goes on in the
        background and its record says when it is ``done`` (or ``failed``, and why)."""
        options = options or ValueRunOptions()
        now = datetime.now(UTC)
        if options.as_of is not None and options.as_of >= now.date():
            raise Invalid.from_errors(
                [{"loc": ("as_of",), "msg": "must be a past day (a backtest)", "type": "past"}]
            )
        version = await self.store.next_version()
        run = {
            "_id": version,
            "state": "running",
            "started_at": now,
            "model": options.model,
            "horizon_months": options.horizon_months or self.settings.value_horizon_months,
            "monthly_discount": (
                self.settings.value_monthly_discount
                if options.monthly_discount is None
                else options.monthly_discount
            ),
            "as_of": options.as_of.isoformat() if options.as_of else None,
            "backtest": options.as_of is not None,
        }
        if not await self.store.save_run(run):
            raise Conflict("a predicted-value run is under way", code="value-running")
        task = asyncio.create_task(self._compute(run, now))
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        return run

    async def run(self) -> dict[str, Any]:
        """A run to its end (the schedule's)."""
        started = await self.start()
        await asyncio.gather(*self._running)
        return await self.get(started["_id"])

    async def _compute(self, run: Mapping[str, Any], now: datetime) -> None:
        version = run["_id"]
        cut_off = now
        if run["as_of"]:  # the end of that day
            day = date.fromisoformat(run["as_of"])
            cut_off = datetime.combine(day + timedelta(days=1), time(), UTC) - timedelta(
                microseconds=1
            )
        try:
            found = await histories(self.store.purchases_by_customer(), cut_off)
            if found.repeat_buyers() < MIN_REPEAT_BUYERS:
                raise ValueError(
                    f"too few members with repeat purchases to fit (at least {MIN_REPEAT_BUYERS})"
                )
            purchases, spend = await asyncio.to_thread(fit, found, run["model"])
            params = {
                run["model"].replace("-", "_"): {
                    "r": purchases.r, "alpha": purchases.alpha, "a": purchases.a, "b": purchases.b
                },
                "gamma_gamma": {"p": spend.p, "q": spend.q, "gamma": spend.gamma},
                "converged": purchases.converged and spend.converged,
            }  # fmt: skip
            if run["backtest"]:
                weeks = (now - cut_off).total_seconds() / (7 * 86_400)
                checked = await asyncio.to_thread(holdout, purchases, found, weeks)
                await self.store.finish_run(
                    version,
                    {"state": "done", "members": len(found.ids), "holdout": checked, **params},
                )
                log.info("predicted value backtest", version=version, **checked)
                return
            stamp = {"version": version, "computed_at": now}
            for start in range(0, len(found.ids), CHUNK):
                chunk = await asyncio.to_thread(
                    predict,
                    purchases,
                    spend,
                    found,
                    start,
                    start + CHUNK,
                    run["horizon_months"],
                    run["monthly_discount"],
                )
                stars = await self.store.rfm_of([cid for cid, _ in chunk])
                writes = []
                for offset, (cid, predicted) in enumerate(chunk, start=start):
                    value = {**predicted, **stamp}
                    event = metrics_event(cid, stars.get(cid), value, found, offset)
                    writes.append((cid, value, self._entry(cid, event)))
                pending = await self.store.write(writes)
                await self.relay.deliver(pending)
            await self.store.finish_run(
                version, {"state": "done", "members": len(found.ids), **params}
            )
            log.info("predicted value run", version=version, members=len(found.ids))
        except Exception as exc:
            log.exception("predicted value run failed", version=version)
            await self.store.finish_run(version, {"state": "failed", "error": str(exc)})

    def _entry(self, cid: str, event: CustomerMetricsChanged) -> dict[str, Any]:
        envelope = event.envelope(source=SOURCE, subject=cid, correlation_id=correlation_id.get())
        return outbox.entry(self.settings.topic(LOYALTY_EVENTS.name), cid, envelope)

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
