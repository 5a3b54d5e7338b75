"""The customer master's rules for MDM events, as plain functions."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from contracts.customer_events import (
    CustomerDeactivated,
    CustomerRegistered,
    CustomersMerged,
    CustomerUpdated,
)
from contracts.customers import CustomerCreate, CustomerFields, Suppression
from contracts.mdm import MdmCustomerDeactivated, MdmCustomersMerged, MdmCustomerUpserted
from customer import domain
from servicekit.problems import Conflict, Invalid

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
    assert event.changed_fields == ["last_name", "email"]  # in the record's field order
    assert [(c.field, c.old, c.new) for c in event.changes] == [
        ("last_name", "Pop", "Popa"),
        ("email", "a@example.org", None),
    ]


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
    change = domain.register(CustomerCreate(last_name="Pop", sms="+40 712 345 678"), NOW, "user:u")
    record = change.record
    assert record["version"] == 1 and record["status"] == "active"
    (event,) = change.events
    assert isinstance(event, CustomerRegistered) and event.changed_by == "user:u"
    assert {c.field: c.new for c in event.changes}["sms"] == "+40 712 345 678"
    with pytest.raises(ValueError, match="email address or an SMS number"):
        CustomerCreate(last_name="Pop")


def manual(**fields: object) -> dict:
    command = CustomerCreate.model_validate(
        {"last_name": "Pop", "sms": "+40 712 345 678", **fields}
    )
    return domain.register(command, NOW, "user:u").record


def test_edit_lays_the_patch_over_the_record_and_null_clears_a_field() -> None:
    record = manual(fax="+40 21 000 0000", first_name="Ana")
    change = domain.edit(record, {"first_name": "Anca", "fax": None}, NOW, "user:e")
    assert change.record["first_name"] == "Anca" and "fax" not in change.record
    assert change.record["version"] == 2 and change.previous_version == 1
    (event,) = change.events
    assert isinstance(event, CustomerUpdated) and event.changed_by == "user:e"
    assert [(c.field, c.old, c.new) for c in event.changes] == [
        ("first_name", "Ana", "Anca"),
        ("fax", "+40 21 000 0000", None),
    ]


def test_edit_that_changes_nothing_is_no_change() -> None:
    record = manual(first_name="Ana")
    change = domain.edit(record, {"first_name": "Ana"}, NOW, "user:e")
    assert change.events == [] and change.record is record


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"gender": "robot"}, "gender"),
        ({"date_of_birth": "2999-01-01"}, "date_of_birth"),
        ({"nickname": "x"}, "nickname"),
        ({"kind": None}, "kind"),
        (
            {"addresses": [{"line1": "a", "primary": True}, {"line1": "b", "primary": True}]},
            "addresses",
        ),
    ],
)
def test_edit_rejects_bad_values_naming_the_field(patch: dict, field: str) -> None:
    with pytest.raises(Invalid) as failure:
        domain.edit(manual(), patch, NOW, "user:e")
    assert [e["field"] for e in failure.value.extensions["errors"]] == [field]


def test_a_void_customer_is_not_edited() -> None:
    void = domain.set_status(manual(), "void", NOW, "user:e").record
    with pytest.raises(Conflict):
        domain.edit(void, {"first_name": "X"}, NOW, "user:e")


def test_status_transitions_and_their_events() -> None:
    record = manual()
    suspended = domain.set_status(record, "suspended", NOW, "user:e")
    assert isinstance(suspended.events[0], CustomerUpdated)
    assert suspended.events[0].changed_fields == ["status"]
    void = domain.set_status(suspended.record, "void", NOW, "user:e")
    assert isinstance(void.events[0], CustomerDeactivated)
    assert domain.set_status(void.record, "void", NOW, "user:e").events == []
    with pytest.raises(Conflict):
        domain.set_status(void.record, "suspended", NOW, "user:e")
    active = domain.set_status(void.record, "active", NOW, "user:e")
    assert active.record["status"] == "active" and active.record["version"] == 4


def test_merge_moves_the_losers_tags_to_the_survivor_and_retires_the_loser() -> None:
    survivor = domain.apply_mdm(None, upsert(1, last_name="Pop"), NOW).record
    survivor["traits"], survivor["suppressions"] = (
        ["vip"],
        [{"type": "do-not-call", "date": "2026-01-01"}],
    )
    other = MdmCustomerUpserted(mdm_code="M-2", version=4, record=CustomerFields(last_name="Popp"))
    loser = domain.apply_mdm(None, other, NOW).record
    loser["traits"], loser["suppressions"] = (
        ["speaker"],
        [{"type": "do-not-mail", "date": "2026-02-01"}],
    )
    merge = MdmCustomersMerged(mdm_code="M-1", merged_mdm_code="M-2", version=2)

    steps = domain.merge(survivor, loser, merge, NOW, "mdm:test")
    kept, retired = steps.inherit, steps.retire
    assert kept is not None and retired is not None
    assert kept.record["traits"] == ["speaker", "vip"]
    assert [s["type"] for s in kept.record["suppressions"]] == ["do-not-call", "do-not-mail"]
    assert kept.record["merged_ids"] == [loser["_id"]] and kept.record["mdm_version"] == 2
    (event,) = kept.events
    assert isinstance(event, CustomersMerged) and event.merged_customer_id == loser["_id"]
    assert retired.record["status"] == "void"
    assert retired.record["merged_into"] == survivor["_id"]
    assert isinstance(retired.events[0], CustomerDeactivated)

    with pytest.raises(domain.Stale):  # the same merge again
        domain.merge(kept.record, retired.record, merge, NOW)
    # half written (the second write lost a race): what is left is the survivor's inheritance
    rest = domain.merge(survivor, retired.record, merge, NOW, "mdm:test")
    assert rest.retire is None and rest.inherit is not None
    assert rest.inherit.record["merged_ids"] == [loser["_id"]]
    with pytest.raises(Conflict):  # the retired loser's tags are frozen
        domain.add_suppression(retired.record, Suppression(type="do-not-fax"), NOW, "user:u")
    with pytest.raises(domain.Stale):  # the master's later events for the loser
        domain.apply_mdm(
            retired.record,
            MdmCustomerUpserted(mdm_code="M-2", version=9, record=CustomerFields()),
            NOW,
        )
    with pytest.raises(Conflict):
        domain.set_status(retired.record, "active", NOW, "user:u")
    with pytest.raises(domain.UnknownCustomer):
        domain.merge(survivor, None, merge, NOW)


def test_a_customer_cannot_be_merged_into_itself() -> None:
    with pytest.raises(ValueError, match="into itself"):
        MdmCustomersMerged(mdm_code="M-1", merged_mdm_code="M-1", version=1)
