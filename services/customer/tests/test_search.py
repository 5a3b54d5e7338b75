"""Customer search over the real database: each criterion, combinations, keyset paging."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from contracts.customers import CustomerCreate, CustomerSearch
from customer import domain, search
from customer.store import CustomerStore
from pydantic import ValidationError
from servicekit.problems import Invalid

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)

PEOPLE = [
    dict(first_name="Ádám", last_name="Kovács", email="adam.k@example.org", gender="male",
         sms="+36 30 123 4567", date_of_birth="1980-05-01", marital_status="married",
         addresses=[{"line1": "Fő utca 1", "city": "Budapest", "postal_code": "1011",
                     "country": "HU", "brick": "BR-HU1", "primary": True}]),
    dict(first_name="Adam", last_name="Smith", email="asmith@example.org", gender="male",
         phone="+44 20 7946 0000", date_of_birth="1975-01-31", preferred_contact_method="phone",
         addresses=[{"line1": "1 High Street", "city": "London", "state": "Greater London",
                     "postal_code": "EC1A 1BB", "country": "GB", "brick": "BR-GB1"},
                    {"line1": "2 Low Road", "city": "Bath", "country": "GB", "brick": "BR-GB2",
                     "primary": True}]),
    dict(first_name="Maria", middle_name="Ana", last_name="Smithers", sms="+40 712 000 111",
         work_phone="+40 712 999 000", marital_status="de_facto",
         gender="female", salutation="Dr.", date_of_birth="1990-12-24", customer_type="prospect",
         addresses=[{"line1": "Str. Lunga 5", "line3": "Mănăștur", "city": "Cluj-Napoca",
                     "country": "RO", "brick": "BR-RO1", "primary": True}]),
    dict(kind="account", organization="Spitalul Județean", email="office@spital.ro",
         customer_type="account", mdm_code="ACC-77",
         addresses=[{"line1": "Bd. Eroilor 3", "city": "Brașov", "country": "RO",
                     "brick": "BR-RO2", "primary": True}]),
]  # fmt: skip


@pytest.fixture
async def store(mongo_db) -> CustomerStore:
    store = CustomerStore(mongo_db)
    await store.create_indexes()
    for fields in PEOPLE:
        command = CustomerCreate.model_validate(fields)
        await store.insert(domain.register(command, NOW, "user:t").record, [])
    return store


async def names(store: CustomerStore, **criteria: object) -> list[str]:
    query, sort = search.build_query(CustomerSearch.model_validate(criteria))
    found = await store.search(query, sort, 100)
    return [d.get("last_name") or d.get("organization") for d in found]


pytestmark = pytest.mark.servers


@pytest.mark.parametrize(
    ("criteria", "expected"),
    [
        ({"last_name": "smith"}, ["Smith", "Smithers"]),
        ({"last_name": "KOVACS"}, ["Kovács"]),  # case and accents do not matter
        ({"first_name": "adam"}, ["Kovács", "Smith"]),
        ({"name": "ana"}, ["Smithers"]),  # the middle name
        ({"q": "adam smi"}, ["Smith"]),  # every word prefixes something
        ({"q": "spital"}, ["Spitalul Județean"]),
        ({"q": "acc-77"}, ["Spitalul Județean"]),
        ({"q": "4071200"}, ["Smithers"]),  # phone digits
        ({"phone": "+44 20"}, ["Smith"]),
        ({"phone": "36301"}, ["Kovács"]),
        ({"mobile_phone": "40712"}, ["Smithers"]),  # seed 003's Mobile, Home and Work Phone
        ({"work_phone": "+40 712 9"}, ["Smithers"]),
        ({"work_phone": "40712000"}, []),  # her mobile number, not her work number
        ({"home_phone": "4420"}, ["Smith"]),
        ({"work_phone": "4420"}, []),
        ({"email": "ASMITH@"}, ["Smith"]),
        ({"city": "bath"}, ["Smith"]),  # a secondary address counts too
        ({"city": "brasov"}, ["Spitalul Județean"]),
        ({"address": "fo utca"}, ["Kovács"]),
        ({"address": "manastur"}, ["Smithers"]),  # Address 3, the area
        ({"state": "greater"}, ["Smith"]),
        ({"postal_code": "ec1a"}, ["Smith"]),
        ({"brick": "BR-RO1"}, ["Smithers"]),
        ({"country": "RO"}, ["Spitalul Județean", "Smithers"]),  # no last name sorts first
        ({"mdm_code": "ACC-77"}, ["Spitalul Județean"]),
        ({"salutation": "dr"}, ["Smithers"]),
        ({"kind": "account"}, ["Spitalul Județean"]),
        ({"customer_type": "prospect"}, ["Smithers"]),
        ({"gender": "male", "marital_status": "married"}, ["Kovács"]),
        ({"marital_status": "de_facto"}, ["Smithers"]),
        ({"preferred_contact_method": "phone"}, ["Smith"]),
        ({"status": "active", "last_name": "smi"}, ["Smith", "Smithers"]),
        ({"date_of_birth": "1975-01-31"}, ["Smith"]),
        ({"born_from": "1978-01-01", "born_to": "1985-12-31"}, ["Kovács"]),
        ({"last_name": "smith", "city": "cluj"}, ["Smithers"]),
        ({"last_name": "nobody"}, []),
        ({"last_name": "smith.*"}, []),  # regex characters are literal
    ],
)
async def test_criteria(store: CustomerStore, criteria: dict, expected: list[str]) -> None:
    assert await names(store, **criteria) == expected


async def test_sort_orders_and_accent_insensitive_name_order(store: CustomerStore) -> None:
    assert await names(store, kind="person") == ["Kovács", "Smith", "Smithers"]
    assert await names(store, kind="person", order="desc") == ["Smithers", "Smith", "Kovács"]
    # the account has no last name: first ascending, last descending, as MongoDB sorts nulls
    assert (await names(store))[0] == "Spitalul Județean"
    assert (await names(store, order="desc"))[-1] == "Spitalul Județean"


@pytest.mark.parametrize(
    ("sort", "order"), [("last_name", "asc"), ("last_name", "desc"), ("created_at", "asc")]
)
async def test_keyset_pages_visit_every_match_once(
    store: CustomerStore, sort: str, order: str
) -> None:
    everything = await names(store, sort=sort, order=order)
    seen: list[str] = []
    cursor = None
    while True:
        criteria = CustomerSearch(sort=sort, order=order, limit=1, cursor=cursor)  # type: ignore[arg-type]
        query, sort_spec = search.build_query(criteria)
        found = await store.search(query, sort_spec, criteria.limit + 1)
        page = found[: criteria.limit]
        seen += [d.get("last_name") or d.get("organization") for d in page]
        cursor = search.next_cursor(page, criteria, more=len(found) > criteria.limit)
        if cursor is None:
            break
    assert seen == everything and len(seen) == len(PEOPLE)


def test_bad_criteria_are_rejected() -> None:
    with pytest.raises(ValidationError):
        CustomerSearch.model_validate({"shoe_size": "42"})
    with pytest.raises(ValidationError):
        CustomerSearch.model_validate({"status": "sleeping"})
    with pytest.raises(Invalid):
        search.build_query(CustomerSearch(cursor="not-a-cursor"))
    with pytest.raises(Invalid):
        search.build_query(CustomerSearch(phone="call me"))


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("  Ana \t POP ", "ana pop"),
        ("Ádám  Kovács", "adam kovacs"),
        ("Straße", "strasse"),  # casefolds to ASCII
        ("Mănăștur", "manastur"),
        ("ＡＢＣ", "abc"),  # fullwidth: NFKD makes it ASCII
    ],
)
def test_search_keys_are_casefolded_without_accents_or_extra_spaces(text: str, key: str) -> None:
    assert search.normalise(text) == key
