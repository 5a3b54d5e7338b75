"""RFM: each member with purchases in the lookback window gets 1-5 stars for recency, frequency
and monetary value, by independent quintiles over the customer base. Every run is versioned with
its thresholds and lookback; members whose stars changed get a CustomerMetricsChanged event, so
segment rules can use them. A run's scoring is a batch job (servicekit.batch_jobs)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from contracts.loyalty_events import CustomerMetricsChanged
from contracts.topics import LOYALTY_EVENTS
from servicekit.batch_jobs import BatchJobRunner, Chunk
from servicekit.logging import correlation_id, get_logger
from servicekit.messaging import OutgoingRecord
from servicekit.problems import Conflict, NotFound

from loyalty import domain
from loyalty.predicted_value import value_metrics
from loyalty.settings import LoyaltySettings
from loyalty.store import RfmStore

SOURCE = "cdp/loyalty"
RFM_RUN = "rfm-run"  # the batch job kind (loyalty.rfm)
log = get_logger(__name__)


def _facts(purchases: list[dict[str, Any]]) -> dict[str, tuple[datetime, int, Decimal]]:
    """Customer -> (last purchase, orders, spend) from their purchases."""
    facts: dict[str, tuple[datetime, int, Decimal]] = {}
    for purchase in purchases:
        last, orders, spend = facts.get(purchase["customer_id"], (None, 0, Decimal(0)))
        at = purchase["purchased_at"]
        facts[purchase["customer_id"]] = (
            at if last is None or at > last else last,
            orders + 1,
            spend + Decimal(purchase["total"]),
        )
    return facts


def _measures(
    now: datetime, last: datetime, orders: int, spend: Decimal
) -> tuple[float, int, float]:
    return (now - last).total_seconds() / 86400, orders, float(spend)


@dataclass
class RfmService:
    store: RfmStore
    settings: LoyaltySettings
    jobs: BatchJobRunner

    async def run(self) -> dict[str, Any]:
        """A run: the quintile thresholds from every purchase in the lookback window (one
        deliberate read of the window), then a batch job (loyalty.rfm) that scores the members
        chunk by chunk against them; answers when the job is done."""
        now = datetime.now(UTC)
        lookback = self.settings.rfm_lookback_days
        since = now - timedelta(days=lookback)
        facts = _facts(await self.store.purchase_facts(since))
        members = await self.store.members_among(list(facts))
        _, thresholds = domain.rfm_scores(
            {cid: _measures(now, *f) for cid, f in facts.items() if cid in members}
        )
        version = await self.store.next_version()
        run = {
            "_id": version,
            "computed_at": now,
            "lookback_days": lookback,
            "thresholds": thresholds,
            "customers": len(members),
        }
        if not await self.store.save_run(run):
            raise Conflict("an RFM run is under way", code="rfm-running")
        job = await self.jobs.submit(
            RFM_RUN,
            {
                "version": version,
                "computed_at": now,
                "since": since,
                "thresholds": thresholds,
                "processed": 0,
                "changed": 0,
            },
            supersedes={},
        )
        await self.jobs.wait(job["_id"])
        done = await self.jobs.get(job["_id"]) or job
        log.info("rfm run", version=version, scored=len(members), changed=done["changed"])
        return {**run, "changed": done["changed"], "state": done["state"]}

    async def latest(self) -> dict[str, Any]:
        run = await self.store.latest()
        if run is None:
            raise NotFound("no RFM run yet", code="rfm-not-run")
        return run


class RfmScoring:
    """The batch job of a run: members a chunk at a time in id order from the checkpoint, their
    purchases in the window read in one query per chunk, stars against the run's thresholds,
    changed stars written in one bulk and published. A member's ``rfm.version`` says which run
    wrote it: a job resumed after a crash publishes again the stars this run wrote in the chunk
    after its checkpoint (consumers keep the newest run's)."""

    kind = RFM_RUN

    def __init__(self, store: RfmStore, settings: LoyaltySettings, chunk_size: int) -> None:
        self.store = store
        self.settings = settings
        self.chunk_size = chunk_size

    async def run_chunk(self, job: Mapping[str, Any], after: Any) -> Chunk | None:
        members = await self.store.members_page(after, self.chunk_size)
        if not members:
            return None
        ids = [m["_id"] for m in members]
        facts = _facts(await self.store.purchase_facts_of(ids, job["since"]))
        cuts = job["thresholds"]
        version, now = job["version"], job["computed_at"]
        writes: list[tuple[str, dict[str, Any]]] = []
        events: list[OutgoingRecord] = []
        for member in members:
            cid, old = member["_id"], member.get("rfm") or {}
            new: dict[str, int | None] | None = None
            if cid in facts:
                days, orders, spend = _measures(now, *facts[cid])
                new = {
                    "recency": domain.stars(-days, [-cut for cut in cuts["recency_days"]]),
                    "frequency": domain.stars(orders, cuts["frequency"]),
                    "monetary": domain.stars(spend, cuts["monetary"]),
                }
            predicted = member.get("predicted")
            if old.get("version") == version:  # this run wrote it before a crash
                events.append(self._event(cid, old, facts.get(cid), predicted))
                continue
            if new is None and not old.get("recency"):
                continue
            if new is not None and all(old.get(k) == v for k, v in new.items()):
                continue
            rfm = {
                **(new or {"recency": None, "frequency": None, "monetary": None}),
                "version": version,
                "computed_at": now,
            }
            writes.append((cid, rfm))
            events.append(self._event(cid, rfm, facts.get(cid), predicted))
        await self.store.write_scores(writes)
        return Chunk(ids[-1], events, {"processed": len(ids), "changed": len(events)})

    async def finish(self, job: Mapping[str, Any]) -> None:
        pass

    def _event(
        self,
        cid: str,
        rfm: Mapping[str, Any],
        facts: tuple[datetime, int, Decimal] | None,
        predicted: Mapping[str, Any] | None,
    ) -> OutgoingRecord:
        last, orders, spend = facts or (None, 0, Decimal(0))
        event = CustomerMetricsChanged(
            customer_id=cid,
            rfm_recency=rfm["recency"],
            rfm_frequency=rfm["frequency"],
            rfm_monetary=rfm["monetary"],
            rfm_version=rfm["version"],
            lifetime_spend=float(spend),
            orders=orders,
            last_purchase_at=last,
            **value_metrics(predicted),  # the whole metrics: a consumer replaces what it holds
        )
        envelope = event.envelope(source=SOURCE, subject=cid, correlation_id=correlation_id.get())
        return OutgoingRecord.of(self.settings.topic(LOYALTY_EVENTS.name), cid, envelope)
