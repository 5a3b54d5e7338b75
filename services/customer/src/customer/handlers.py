"""The customer service's use cases, called by the API and by the MDM consumer."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from contracts.customer_events import CustomerErased, Origin
from contracts.customers import (
    Customer,
    CustomerCreate,
    CustomerPage,
    CustomerSearch,
    CustomerStatus,
    Suppression,
)
from contracts.events import Event
from contracts.mdm import MdmCustomerDeactivated, MdmCustomersMerged, MdmCustomerUpserted
from contracts.topics import CUSTOMER_EVENTS
from servicekit import outbox
from servicekit.auth import Identity
from servicekit.consumer_slot import ConsumerSlot, SlotState, SlotWrite, input_id
from servicekit.consuming import Delivery, Rejection
from servicekit.logging import correlation_id, get_logger
from servicekit.outbox import OutboxRelay
from servicekit.problems import Conflict, Invalid, NotFound
from servicekit.settings import ServiceSettings

from customer import domain, history, search
from customer.interactions import check_trait_names
from customer.store import (
    CustomerStore,
    DuplicateMdmCode,
    InteractionStore,
    RecordWrite,
    is_tombstone,
)

SOURCE = "cdp/customer"
MDM_INGEST = "mdm_ingest"  # the MDM consumer path's slot
MAX_RACE_RETRIES = 5
log = get_logger(__name__)


def _changed_by(identity: Identity) -> str:
    return f"user:{identity.user}"


@dataclass
class CustomerService:
    store: CustomerStore
    interactions: InteractionStore
    relay: OutboxRelay  # for the customers collection
    erasure_relay: OutboxRelay  # for the tombstones
    settings: ServiceSettings
    mdm_slot: ConsumerSlot  # the MDM ingest's slot in each customer record

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

    async def register(
        self, command: CustomerCreate, identity: Identity, origin: Origin = "api"
    ) -> Customer:
        change = domain.register(command, datetime.now(UTC), _changed_by(identity), origin)
        record = change.record
        await self._check_account(record)
        entries = [self._entry(e, record["_id"]) for e in change.events]
        try:
            await self.store.insert(record, entries)
        except DuplicateMdmCode as exc:
            raise Conflict(
                f"a customer with MDM code {command.mdm_code} already exists",
                code="duplicate-mdm-code",
                field="mdm_code",
            ) from exc
        await self.relay.deliver({record["_id"]: entries})
        return domain.to_customer(record)

    async def matching_ids(self, criteria: CustomerSearch) -> list[str]:
        """The ids of every customer the criteria find (all pages)."""
        ids: list[str] = []
        cursor = None
        while True:
            page = await self.search(criteria.model_copy(update={"limit": 500, "cursor": cursor}))
            ids += [customer.id for customer in page.items]
            cursor = page.next_cursor
            if cursor is None:
                return ids

    async def _record(self, customer_id: str) -> dict[str, Any]:
        record = await self.store.get(customer_id)
        if record is None:
            raise NotFound(f"no customer with id {customer_id}", code="customer-not-found")
        return record

    async def get(self, customer_id: str) -> Customer:
        return domain.to_customer(await self._record(customer_id))

    async def _save(self, before: dict[str, Any], change: domain.Change) -> Customer:
        """Write one record's change if nobody changed the record meanwhile (else 409)."""
        record = change.record
        if not change.events:
            return domain.to_customer(record)
        entries = [self._entry(e, record["_id"]) for e in change.events]
        removed = set(before) - set(record)
        lost = await self.store.write_changes(
            [RecordWrite(record, change.previous_version, entries, removed)]
        )
        if lost:
            raise Conflict(
                f"customer {record['_id']} changed meanwhile: read it again and retry",
                code="version-conflict",
            )
        await self.relay.deliver({record["_id"]: entries})
        return domain.to_customer(record)

    def _check_version(self, record: dict[str, Any], expected: int) -> None:
        if record["version"] != expected:
            raise Conflict(
                f"customer {record['_id']} is at version {record['version']}, not {expected}: "
                "read it again and retry",
                code="version-conflict",
                current_version=record["version"],
            )

    async def edit(
        self, customer_id: str, patch: dict[str, Any], expected_version: int, identity: Identity
    ) -> Customer:
        record = await self._record(customer_id)
        self._check_version(record, expected_version)
        return await self.apply_edit(record, patch, identity)

    async def apply_edit(
        self,
        record: dict[str, Any],
        patch: dict[str, Any],
        identity: Identity,
        origin: Origin = "api",
    ) -> Customer:
        """Edit a record as read (409 if it changed since)."""
        change = domain.edit(record, patch, datetime.now(UTC), _changed_by(identity), origin)
        if change.record.get("account_id") != record.get("account_id"):
            await self._check_account(change.record)
        return await self._save(record, change)

    async def _check_account(self, record: dict[str, Any]) -> None:
        """A person may belong to an account: a live customer of kind account (seed 003)."""
        account_id = record.get("account_id")
        if account_id is None:
            return
        account = await self.store.get(account_id)
        reason = (
            "an account does not belong to another account"
            if record.get("kind") == "account"
            else f"no account with id {account_id}"
            if account is None or account.get("kind") != "account"
            else "the account is void"
            if account.get("status") == "void"
            else None
        )
        if reason is not None:
            raise Invalid.from_errors([{"loc": ("account_id",), "msg": reason, "type": "account"}])

    async def set_status(
        self,
        customer_id: str,
        status: CustomerStatus,
        identity: Identity,
        expected_version: int | None = None,
    ) -> Customer:
        record = await self._record(customer_id)
        if expected_version is not None:
            self._check_version(record, expected_version)
        change = domain.set_status(record, status, datetime.now(UTC), _changed_by(identity))
        return await self._save(record, change)

    async def add_suppression(
        self, customer_id: str, suppression: Suppression, identity: Identity
    ) -> Customer:
        record = await self._record(customer_id)
        now = datetime.now(UTC)
        change = domain.add_suppression(record, suppression, now, _changed_by(identity))
        return await self._save(record, change)

    async def remove_suppression(
        self, customer_id: str, suppression_type: str, identity: Identity
    ) -> Customer:
        record = await self._record(customer_id)
        now = datetime.now(UTC)
        change = domain.remove_suppression(record, suppression_type, now, _changed_by(identity))
        return await self._save(record, change)

    async def change_traits(
        self, customer_id: str, add: list[str], remove: list[str], identity: Identity
    ) -> Customer:
        """Add and remove traits; added names must be in the trait catalogue."""
        record = await self._record(customer_id)
        if add:
            check_trait_names(add, await self.interactions.known_traits(add))
        now = datetime.now(UTC)
        change = domain.change_traits(record, add, remove, now, _changed_by(identity))
        return await self._save(record, change)

    async def erase(self, customer_id: str, identity: Identity) -> None:
        """Privacy erasure: the record goes, a tombstone stays, every service is told."""
        record = await self._record(customer_id)
        now = datetime.now(UTC)
        event = CustomerErased(
            customer_id=customer_id, mdm_code=record.get("mdm_code"), erased_at=now
        )
        entry = self._entry(event, customer_id)
        tombstone = {
            "_id": customer_id,
            "erased_at": now,
            "erased_by": _changed_by(identity),
            outbox.FIELD: [entry],
        }
        if record.get("mdm_code"):
            tombstone["mdm_code"] = record["mdm_code"]
        await self.store.erase(record, tombstone)
        await self.interactions.forget(customer_id)
        await self.erasure_relay.deliver({customer_id: [entry]})
        log.info("customer erased", customer_id=customer_id)

    async def history(
        self, customer_id: str, limit: int, before_version: int | None
    ) -> list[dict[str, Any]]:
        await self._record(customer_id)  # an unknown (or erased) customer is a 404
        return await self.store.history_of(customer_id, limit, before_version)

    async def record_history(self, deliveries: Sequence[Delivery]) -> list[Rejection]:
        """Consumer of our own customer.events (read as ``history.CUSTOMER_EVENTS_FOR_HISTORY``):
        one history entry per change event."""
        erased_now = {
            d.event.customer_id for d in deliveries if isinstance(d.event, CustomerErased)
        }
        changed = [
            (d.envelope, d.event) for d in deliveries if isinstance(d.event, history.ChangeRead)
        ]
        gone = await self.store.erased(customer_ids={event.customer.id for _, event in changed})
        entries = [
            event.entry(envelope.id, envelope.type.rsplit(".", 1)[-1])
            for envelope, event in changed
            # erased: a replay must not bring its history back
            if event.customer.id not in gone and event.customer.id not in erased_now
        ]
        await self.store.record_history(entries)
        if erased_now:
            await self.store.forget_history(erased_now)
        return []

    async def search(self, criteria: CustomerSearch) -> CustomerPage:
        if criteria.customer_ids is not None and not criteria.customer_ids:
            return CustomerPage(items=[], next_cursor=None)  # among no customers: none found
        query, sort = search.build_query(criteria)
        found = await self.store.search(query, sort, criteria.limit + 1)
        page = found[: criteria.limit]
        cursor = search.next_cursor(page, criteria, more=len(found) > criteria.limit)
        items = [
            domain.to_customer({k: v for k, v in d.items() if k != search.FIELD}) for d in page
        ]
        return CustomerPage(items=items, next_cursor=cursor)

    async def ingest_mdm(self, deliveries: Sequence[Delivery]) -> list[Rejection]:
        """Apply a batch of MDM events in order: runs of upserts and deactivations as one bulk
        each, merges (which touch two customers) one by one between them. Each change and its
        events are one write (the events in the MDM path's slot); the events are published after
        it and the offsets committed after them, so a crash redelivers the batch and the slot
        tells which events to publish again."""
        rejections: list[Rejection] = []
        run: list[Delivery] = []
        for delivery in deliveries:
            if isinstance(delivery.event, MdmCustomersMerged):
                rejections += await self._apply_records(run)
                run = []
                rejections += await self._merge(delivery)
            else:
                run.append(delivery)
        return rejections + await self._apply_records(run)

    async def _merge(self, delivery: Delivery) -> list[Rejection]:
        """Apply a master merge as an ordered pair of writes: the loser retired first (which
        freezes it), then the survivor taking what the retired loser holds. A write that loses
        a race, or a crash between the two, leaves a merge that reading both records again
        finishes: ``domain.merge`` gives only the steps still missing."""
        event = delivery.event
        assert isinstance(event, MdmCustomersMerged)
        slot = self.mdm_slot
        changed_by = f"mdm:{delivery.envelope.source}:{delivery.envelope.id}"
        published: set[str] = set()  # the customers whose merge write this call published
        for _ in range(MAX_RACE_RETRIES):
            found = await self.store.by_mdm_codes(
                [event.mdm_code, event.merged_mdm_code], with_slots=True
            )
            found = {code: doc for code, doc in found.items() if not is_tombstone(doc)}
            survivor, loser = found.get(event.mdm_code), found.get(event.merged_mdm_code)
            states = {code: slot.take(doc) for code, doc in found.items()}
            # written before a crash: what those writes caused goes out again (once per call)
            held = {
                found[code]["_id"]: state.events
                for code, state in states.items()
                if state.holds([input_id(delivery)]) and found[code]["_id"] not in published
            }
            await slot.publish([e for events in held.values() for e in events])
            published |= set(held)
            try:
                steps = domain.merge(survivor, loser, event, datetime.now(UTC), changed_by)
            except domain.Stale:
                return []
            except domain.UnknownCustomer as exc:
                return [Rejection(delivery.record, str(exc))]
            assert survivor is not None and loser is not None
            if steps.retire is not None:
                carried = states[event.merged_mdm_code]
                if not await self._write_merge_step(delivery, loser, steps.retire, carried):
                    continue
                published.add(loser["_id"])
            # Interactions move once the loser is retired (it takes no new ones) and before the
            # survivor's write: idempotent, so a crash in between is mended by the redelivery.
            await self.interactions.move(loser["_id"], survivor["_id"])
            if steps.inherit is not None:
                if not await self._write_merge_step(delivery, survivor, steps.inherit, None):
                    continue
            log.info("customers merged", survivor=survivor["_id"], merged=loser["_id"])
            return []
        raise RuntimeError(f"merge into {event.mdm_code} kept racing with other writers")

    async def _write_merge_step(
        self,
        delivery: Delivery,
        before: dict[str, Any],
        change: domain.Change,
        carried: SlotState | None,
    ) -> bool:
        """One record's merge write with its events in the MDM path's slot, published after it.
        False if the record changed meanwhile (nothing written)."""
        entries = [
            self._entry(e, change.record["_id"], delivery.envelope.id) for e in change.events
        ]
        slot_write = SlotWrite()
        if carried is not None:
            # The loser's slot may hold an upsert from its own partition (another replica's)
            # not published yet: keep it; a duplicate at worst.
            slot_write.carry(carried)
        slot_write.applied([input_id(delivery)], entries)
        write = RecordWrite(
            change.record,
            change.previous_version,
            entries,
            set(before) - set(change.record),
            slot_write,
        )
        if await self.store.write_changes([write], self.mdm_slot):
            return False
        await self.mdm_slot.publish(slot_write.events)
        return True

    async def _apply_records(self, deliveries: Sequence[Delivery]) -> list[Rejection]:
        """Upserts and deactivations: per MDM code, in the topic's order, in one bulk write."""
        if not deliveries:
            return []
        slot = self.mdm_slot
        by_code: dict[str, list[Delivery]] = defaultdict(list)
        for delivery in deliveries:
            event = delivery.event
            assert isinstance(event, MdmCustomerUpserted | MdmCustomerDeactivated)
            by_code[event.mdm_code].append(delivery)
        for items in by_code.values():
            # Kafka's order per MDM code (one partition) is the master's: applied in that order,
            # a version not newer than the last applied one is stale wherever it sits
            items.sort(key=lambda d: d.record.offset)
        for code in await self.store.erased(mdm_codes=by_code):
            # an erased customer stays erased, whatever the master still sends about it
            log.info("ignored MDM events of an erased customer", events=len(by_code.pop(code)))
        rejections: dict[str, list[Rejection]] = {}
        pending = dict(by_code)
        for _ in range(MAX_RACE_RETRIES):
            current = await self.store.by_mdm_codes(pending, with_slots=True)
            for code in [code for code, doc in current.items() if is_tombstone(doc)]:
                # erased meanwhile (its tombstone took the record's place): it stays erased
                log.info("ignored MDM events of an erased customer", events=len(pending[code]))
                del pending[code], current[code]
            now = datetime.now(UTC)
            writes: list[RecordWrite] = []
            codes: list[str] = []
            republish: list[dict[str, Any]] = []  # slots of redelivered inputs, nothing new
            for code, items in pending.items():
                record, write = current.get(code), None
                state = slot.take(record)
                slot_write = SlotWrite()
                previous_version = record["version"] if record else None
                start = record
                rejections[code] = []
                for delivery in items:
                    if state.holds([input_id(delivery)]):
                        slot_write.carry(state)  # applied before a crash: its events go again
                        continue
                    try:
                        change = domain.apply_mdm(
                            record,
                            delivery.event,  # type: ignore[arg-type]
                            now,
                            f"mdm:{delivery.envelope.source}:{delivery.envelope.id}",
                        )
                    except domain.Stale:
                        continue
                    except domain.UnknownCustomer as exc:
                        rejections[code].append(Rejection(delivery.record, str(exc)))
                        continue
                    record = change.record
                    slot_write.applied(
                        [input_id(delivery)],
                        [
                            self._entry(
                                e,
                                record["_id"],
                                delivery.envelope.id,
                                delivery.envelope.correlation_id or delivery.envelope.id,
                            )
                            for e in change.events
                        ],
                    )
                    write = record
                if write is not None:
                    removed = set(start or {}) - set(write)
                    writes.append(
                        RecordWrite(write, previous_version, slot_write.events, removed, slot_write)
                    )
                    codes.append(code)
                elif slot_write.redelivered:
                    republish += slot_write.events
            lost = await self.store.write_changes(writes, slot)
            await slot.publish(
                republish + [e for i, w in enumerate(writes) if i not in lost for e in w.entries]
            )
            if not lost:
                return [r for code_rejections in rejections.values() for r in code_rejections]
            pending = {codes[i]: pending[codes[i]] for i in lost}
            log.info("MDM writes raced with other changes; recomputing", customers=len(pending))
        raise RuntimeError(f"MDM batch kept racing with other writers for {len(pending)} customers")
