"""An erased customer stays erased whatever races the erasure: an edit or an MDM change computed
from the record before it was erased must not write the record back (against the real
database, with two writers at once, many times)."""

from __future__ import annotations

import asyncio
import random
import uuid

import pytest
from contracts.customers import CustomerCreate
from customer.domain import customer_id_for_mdm_code
from customer.store import is_tombstone
from servicekit.auth import Identity
from servicekit.problems import Conflict, NotFound

pytestmark = pytest.mark.servers
ROUNDS = 20
MANAGER = Identity(user="mia", role="manager")
PERSONAL = ("first_name", "last_name", "email", "middle_name", "addresses")


async def register(customers, **fields: str) -> str:
    command = CustomerCreate.model_validate(
        {"first_name": "Ana", "last_name": "Pop", "email": "ana@example.org", **fields}
    )
    return (await customers.register(command, MANAGER)).id


async def assert_erased(customers, customer_id: str) -> None:
    with pytest.raises(NotFound):
        await customers.get(customer_id)
    stored = await customers.store.customers.find_one({"_id": customer_id})
    left = {k: v for k, v in (stored or {}).items() if k in PERSONAL}
    assert not left, f"personal data came back: {left}"
    with pytest.raises(NotFound):
        await customers.history(customer_id, 10, None)


async def jittered(call):
    await asyncio.sleep(random.random() / 500)
    return await call


async def test_an_edit_read_before_the_erasure_does_not_write_the_record_back(service) -> None:
    customers, _ = service
    customer_id = await register(customers)
    before = await customers.store.get(customer_id)
    await customers.erase(customer_id, MANAGER)
    with pytest.raises((Conflict, NotFound)):
        await customers.apply_edit(before, {"middle_name": "Maria"}, MANAGER)
    await assert_erased(customers, customer_id)


async def test_an_edit_and_an_erasure_at_once_leave_the_customer_erased(service) -> None:
    customers, _ = service
    for _ in range(ROUNDS):
        customer_id = await register(customers)
        results = await asyncio.gather(
            jittered(customers.edit(customer_id, {"middle_name": "Maria"}, 1, MANAGER)),
            jittered(customers.erase(customer_id, MANAGER)),
            return_exceptions=True,
        )
        edit, erase = results
        assert erase is None, erase
        assert not isinstance(edit, Exception) or isinstance(edit, Conflict | NotFound), edit
        await assert_erased(customers, customer_id)


async def test_an_mdm_change_read_before_the_erasure_does_not_write_the_record_back(
    service, mdm
) -> None:
    customers, _ = service
    code = f"HCP-{uuid.uuid4().hex[:6]}"
    await customers.ingest_mdm([mdm.upsert(code, 1, 0, first_name="Ana")])
    customer_id = customer_id_for_mdm_code(code)
    read = customers.store.by_mdm_codes

    async def read_then_erase(*args, **kwargs):
        found = await read(*args, **kwargs)
        if not any(map(is_tombstone, found.values())):
            await customers.erase(customer_id, MANAGER)
        return found

    customers.store.by_mdm_codes = read_then_erase
    assert await customers.ingest_mdm([mdm.upsert(code, 2, 1, first_name="Anna")]) == []
    customers.store.by_mdm_codes = read
    await assert_erased(customers, customer_id)
    # the master goes on sending it: still nothing comes back
    assert await customers.ingest_mdm([mdm.upsert(code, 3, 2, first_name="Anka")]) == []
    await assert_erased(customers, customer_id)


async def test_an_mdm_create_read_before_the_erasure_of_its_api_twin_stays_out(
    service, mdm
) -> None:
    """A customer made through the API with an MDM code, erased while the master's first event
    about that code is being applied: the master's create must not bring the data back."""
    customers, _ = service
    code = f"HCP-{uuid.uuid4().hex[:6]}"
    read = customers.store.by_mdm_codes
    twin: list[str] = []

    async def read_then_register_and_erase(*args, **kwargs):
        found = await read(*args, **kwargs)
        if not twin:
            twin.append(await register(customers, mdm_code=code))
            await customers.erase(twin[0], MANAGER)
        return found

    customers.store.by_mdm_codes = read_then_register_and_erase
    await customers.ingest_mdm([mdm.upsert(code, 1, 0, first_name="Ana", last_name="Pop")])
    customers.store.by_mdm_codes = read
    await assert_erased(customers, twin[0])
    assert await customers.store.get(customer_id_for_mdm_code(code)) is None, "no create either"
    assert [is_tombstone(d) for d in (await customers.store.by_mdm_codes([code])).values()] == [
        True
    ]


async def test_an_mdm_change_and_an_erasure_at_once_leave_the_customer_erased(service, mdm) -> None:
    customers, _ = service
    for n in range(ROUNDS):
        code = f"HCP-{uuid.uuid4().hex[:6]}"
        await customers.ingest_mdm([mdm.upsert(code, 1, 0, first_name="Ana")])
        customer_id = customer_id_for_mdm_code(code)
        results = await asyncio.gather(
            jittered(customers.ingest_mdm([mdm.upsert(code, 2, 1, first_name="Anna")])),
            jittered(customers.erase(customer_id, MANAGER)),
            return_exceptions=True,
        )
        assert results == [[], None], (n, results)
        await assert_erased(customers, customer_id)
