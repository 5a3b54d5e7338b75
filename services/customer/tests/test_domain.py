"""The customer master's rules for MDM events, as plain functions."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from contracts.customer_events import CustomerDeactivated, CustomerRegistered, CustomerUpdated
from contracts.customers import CustomerCreate, CustomerFields
from contracts.mdm import MdmCustomerDeactivated, MdmCustomerUpserted
from customer import domain

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def upsert(version: int, **fields: object) -> MdmCustomerUpserted:
    return MdmCustomerUpserted(
        mdm_code="M-1", version=version, record=CustomerFields.model_validate(fields)
    )


def test_first_event_registers_with_an_id_derived_from_the_mdm_code() -> None:
    change = domain.apply_mdm(None, upsert(1, last_name="Pop"), NOW)
    assert change.previous_version is None
    assert change.record["_id"] == domain.customer_id_for_mdm_code("M-1")
    assert (change.record["version"], change.record["mdm_version"]) == (1, 1)
    assert [type(e) for e in change.events] == [CustomerRegistered]


def test_newer_version_updates_and_names_the_changed_fields() -> None:
    first = domain.apply_mdm(None, upsert(1, last_name="Pop", email="a@example.org"), NOW).record
    change = domain.apply_mdm(first, upsert(2, last_name="Popa"), NOW)
    assert change.record["version"] == 2 and change.previous_version == 1
    assert "email" not in change.record, "a field the master dropped is dropped"
    (event,) = change.events
    assert isinstance(event, CustomerUpdated)
    assert event.changed_fields == ["email", "last_name"]


@pytest.mark.parametrize("version", [1, 0])
def test_same_or_older_version_is_stale(version: int) -> None:
    first = domain.apply_mdm(None, upsert(1, last_name="Pop"), NOW).record
    with pytest.raises(domain.Stale):
        domain.apply_mdm(first, upsert(version, last_name="Other"), NOW)


def test_newer_version_with_same_data_publishes_nothing() -> None:
    first = domain.apply_mdm(None, upsert(1, last_name="Pop"), NOW).record
    change = domain.apply_mdm(first, upsert(5, last_name="Pop"), NOW)
    assert change.events == [] and change.record["version"] == 1
    assert change.record["mdm_version"] == 5


def test_deactivation_voids_and_a_later_upsert_reactivates() -> None:
    first = domain.apply_mdm(None, upsert(1, last_name="Pop"), NOW).record
    void = domain.apply_mdm(first, MdmCustomerDeactivated(mdm_code="M-1", version=2), NOW)
    assert void.record["status"] == "void"
    assert isinstance(void.events[0], CustomerDeactivated)
    back = domain.apply_mdm(void.record, upsert(3, last_name="Pop"), NOW)
    assert back.record["status"] == "active"
    assert back.events[0].changed_fields == ["status"]  # type: ignore[attr-defined]


def test_deactivating_an_unknown_customer_is_rejected() -> None:
    with pytest.raises(domain.UnknownCustomer):
        domain.apply_mdm(None, MdmCustomerDeactivated(mdm_code="M-9", version=1), NOW)


def test_manual_registration_needs_email_or_sms() -> None:
    record = domain.register(CustomerCreate(last_name="Pop", sms="+40 712 345 678"), NOW)
    assert record["version"] == 1 and record["status"] == "active"
    with pytest.raises(ValueError, match="email address or an SMS number"):
        CustomerCreate(last_name="Pop")
