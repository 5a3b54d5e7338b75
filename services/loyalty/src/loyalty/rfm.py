"""RFM: each member with purchases in the lookback window gets 1-5 stars for recency, frequency
and monetary value, by independent quintiles over the customer base. Every run is versioned with
its thresholds and lookback; members whose stars changed get a CustomerMetricsChanged event, so
segment rules can use them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from contracts.loyalty_events import CustomerMetricsChanged
from contracts.topics import LOYALTY_EVENTS
from servicekit import outbox
from servicekit.logging import correlation_id, get_logger
from servicekit.outbox import OutboxRelay
from servicekit.problems import Conflict, NotFound

from loyalty import domain
from loyalty.settings import LoyaltySettings
from loyalty.store import RfmStore

SOURCE = "cdp/loyalty"
log = get_logger(__name__)


@dataclass
class RfmService:
    store: RfmStore
    relay: OutboxRelay  # the members collection's
    settings: LoyaltySettings

    async def run(self) -> dict[str, Any]:
        now = datetime.now(UTC)
        lookback = self.settings.rfm_lookback_days
        facts: dict[str, list[Any]] = {}
        for purchase in await self.store.purchase_facts(now - timedelta(days=lookback)):
            last, orders, spend = facts.get(purchase["customer_id"], (None, 0, Decimal(0)))
            at = purchase["purchased_at"]
            facts[purchase["customer_id"]] = [
                at if last is None or at > last else last,
                orders + 1,
                spend + Decimal(purchase["total"]),
            ]
        members = await self.store.scored_members()
        known = {cid: f for cid, f in facts.items() if cid in members}
        scores, thresholds = domain.rfm_scores(
            {
                cid: ((now - last).total_seconds() / 86400, orders, float(spend))
                for cid, (last, orders, spend) in known.items()
            }
        )
        version = await self.store.next_version()
        run = {
            "_id": version,
            "computed_at": now,
            "lookback_days": lookback,
            "thresholds": thresholds,
            "customers": len(scores),
        }
        if not await self.store.save_run(run):
            raise Conflict("an RFM run is under way", code="rfm-running")
        writes = []
        for cid, member in members.items():
            new = scores.get(cid)
            old = member.get("rfm") or {}
            if new is None and not old.get("recency"):
                continue
            if new is not None and all(old.get(k) == v for k, v in new.items()):
                continue
            last, orders, spend = known.get(cid, (None, 0, Decimal(0)))
            rfm = {
                **(new or {"recency": None, "frequency": None, "monetary": None}),
                "version": version,
                "computed_at": now,
            }
            event = CustomerMetricsChanged(
                customer_id=cid,
                rfm_recency=rfm["recency"],
                rfm_frequency=rfm["frequency"],
                rfm_monetary=rfm["monetary"],
                rfm_version=version,
                lifetime_spend=float(spend),
                orders=orders,
                last_purchase_at=last,
            )
            envelope = event.envelope(
                source=SOURCE, subject=cid, correlation_id=correlation_id.get()
            )
            entry = outbox.entry(self.settings.topic(LOYALTY_EVENTS.name), cid, envelope)
            writes.append((cid, rfm, [entry]))
        await self.store.write_scores(writes)
        await self.relay.deliver({cid: entries for cid, _, entries in writes})
        log.info("rfm run", version=version, scored=len(scores), changed=len(writes))
        return {**run, "changed": len(writes)}

    async def latest(self) -> dict[str, Any]:
        run = await self.store.latest()
        if run is None:
            raise NotFound("no RFM run yet", code="rfm-not-run")
        return run
