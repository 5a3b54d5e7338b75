"""The customer service's use cases, called by the API and by the MDM consumer."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from contracts.customer_events import CustomerRegistered
from contracts.customers import Customer, CustomerCreate
from contracts.events import Event
from contracts.mdm import MdmCustomerDeactivated, MdmCustomerUpserted
from contracts.topics import CUSTOMER_EVENTS
from servicekit import outbox
from servicekit.consuming import Delivery, Rejection
from servicekit.logging import correlation_id, get_logger
from servicekit.outbox import OutboxRelay
from servicekit.problems import Conflict, NotFound
from servicekit.settings import ServiceSettings

from customer import domain
from customer.store import CustomerStore, DuplicateMdmCode, RecordWrite

SOURCE = "cdp/customer"
MAX_RACE_RETRIES = 5
log = get_logger(__name__)


@dataclass
class CustomerService:
    store: CustomerStore
    relay: OutboxRelay
    settings: ServiceSettings

    def _entry(
        self,
        event: Event,
        customer_id: str,
        causation_id: str | None = None,
        correlation: str | None = None,
    ) -> dict[str, Any]:
        envelope = event.envelope(
            source=SOURCE,
            subject=customer_id,
            correlation_id=correlation or correlation_id.get(),
            causation_id=causation_id,
        )
        return outbox.entry(self.settings.topic(CUSTOMER_EVENTS.name), customer_id, envelope)

    async def register(self, command: CustomerCreate) -> Customer:
        record = domain.register(command, datetime.now(UTC))
        customer = domain.to_customer(record)
        entries = [self._entry(CustomerRegistered(customer=customer, origin="api"), record["_id"])]
        try:
            await self.store.insert(record, entries)
        except DuplicateMdmCode as exc:
            raise Conflict(
                f"a customer with MDM code {command.mdm_code} already exists",
                code="duplicate-mdm-code",
                field="mdm_code",
            ) from exc
        await self.relay.deliver({record["_id"]: entries})
        return customer

    async def get(self, customer_id: str) -> Customer:
        record = await self.store.get(customer_id)
        if record is None:
            raise NotFound(f"no customer with id {customer_id}", code="customer-not-found")
        return domain.to_customer(record)

    async def by_mdm_code(self, mdm_code: str) -> Customer | None:
        found = await self.store.by_mdm_codes([mdm_code])
        return domain.to_customer(found[mdm_code]) if mdm_code in found else None

    async def ingest_mdm(self, deliveries: Sequence[Delivery]) -> list[Rejection]:
        """Apply a batch of MDM events: per MDM code, in version order, in one bulk write."""
        by_code: dict[str, list[Delivery]] = defaultdict(list)
        for delivery in deliveries:
            event = delivery.event
            assert isinstance(event, MdmCustomerUpserted | MdmCustomerDeactivated)
            by_code[event.mdm_code].append(delivery)
        for items in by_code.values():
            items.sort(key=lambda d: d.event.version)  # type: ignore[attr-defined]
        rejections: dict[str, list[Rejection]] = {}
        pending = dict(by_code)
        for _ in range(MAX_RACE_RETRIES):
            current = await self.store.by_mdm_codes(pending)
            now = datetime.now(UTC)
            writes: list[RecordWrite] = []
            codes: list[str] = []
            for code, items in pending.items():
                record, write = current.get(code), None
                entries: list[dict[str, Any]] = []
                previous_version = record["version"] if record else None
                start = record
                rejections[code] = []
                for delivery in items:
                    try:
                        change = domain.apply_mdm(record, delivery.event, now)  # type: ignore[arg-type]
                    except domain.Stale:
                        continue
                    except domain.UnknownCustomer as exc:
                        rejections[code].append(Rejection(delivery.record, str(exc)))
                        continue
                    record = change.record
                    entries += [
                        self._entry(
                            e,
                            record["_id"],
                            delivery.envelope.id,
                            delivery.envelope.correlation_id or delivery.envelope.id,
                        )
                        for e in change.events
                    ]
                    write = record
                if write is not None:
                    removed = set(start or {}) - set(write)
                    writes.append((write, previous_version, entries, removed))
                    codes.append(code)
            lost = await self.store.write_changes(writes)
            await self.relay.deliver(
                {w[0]["_id"]: w[2] for i, w in enumerate(writes) if i not in lost and w[2]}
            )
            if not lost:
                return [r for code_rejections in rejections.values() for r in code_rejections]
            pending = {codes[i]: pending[codes[i]] for i in lost}
            log.info("MDM writes raced with other changes; recomputing", customers=len(pending))
        raise RuntimeError(f"MDM batch kept racing with other writers for {len(pending)} customers")
