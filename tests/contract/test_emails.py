"""contracts.emails accepts, refuses and normalises exactly as pydantic's EmailStr does."""

from __future__ import annotations

import random

from contracts.emails import Email, plain
from pydantic import EmailStr, TypeAdapter, ValidationError

FAST = TypeAdapter(Email)
REFERENCE = TypeAdapter(EmailStr)

LOCALS = [
    "ana",
    "ana.pop",
    "a",
    "ana+tag",
    "o'neil",
    "x" * 64,
    "x" * 65,
    "Ana",
    "ana..pop",
    ".ana",
    "ana.",
    "info",
    "INFO",
    "ана",
    "a b",
    '"quoted"',
    "a_b-c",
    "1",
    "%",
    "ana@",
]
LABELS = [
    "example",
    "ex-ample",
    "-example",
    "example-",
    "a",
    "x" * 63,
    "x" * 64,
    "xn--80ak6aa92e",
    "ab--cd",
    "EXAMPLE",
    "123",
    "é",
    "mail",
    "localhost",
    "test",
    "arpa",
    "onion",
    "invalid",
    "local",
    "home",
    "ro",
    "c0m",
    "co1",
    "b",
]


def generated(count: int) -> list[str]:
    rng = random.Random(20261201)
    addresses = []
    for _ in range(count):
        local = rng.choice(LOCALS)
        labels = [rng.choice(LABELS) for _ in range(rng.randint(1, 5))]
        address = f"{local}@{'.'.join(labels)}"
        if rng.random() < 0.05:
            address = " " + address
        if rng.random() < 0.05:
            address = address + ("." + "y" * 60) * 4  # past the length limits
        addresses.append(address)
    return addresses


def outcome(adapter: TypeAdapter, value: str) -> tuple[str, str]:
    try:
        return ("valid", adapter.validate_python(value))
    except ValidationError as exc:
        return ("invalid", exc.errors()[0]["msg"])


def boundaries() -> list[str]:
    """Plain-shaped addresses at each length limit, on both sides of it."""
    label, long_label = "x" * 63, "x" * 64
    return [
        "x" * 64 + "@example.org",
        "x" * 65 + "@example.org",
        f"ana@{label}.org",
        f"ana@{long_label}.org",
        f"a@{label}.{label}.{label}.{'y' * 56}.org",  # domain of 252, address of 254
        f"a@{label}.{label}.{label}.{'y' * 57}.org",  # address of 255
        f"ab@{label}.{label}.{label}.{'y' * 56}.org",  # address of 255
        "ana@example.o",
        "ana@example.o1",
        "ana@example.1o",
        "ana@a.b-c",
        "ana@xn--p1ai.ro",
        "ana@sub.localhost",
        "ana@localhost",
        "ana@example.test",
        "ana@test.example.org",
    ]


def test_it_agrees_with_email_str() -> None:
    disagreements = [
        (address, outcome(FAST, address), outcome(REFERENCE, address))
        for address in boundaries() + generated(4000)
        if outcome(FAST, address) != outcome(REFERENCE, address)
    ]
    assert disagreements == []


def test_the_generated_addresses_take_both_paths() -> None:
    addresses = generated(4000)
    fast = [a for a in addresses if plain(a)]
    assert 200 < len(fast) < len(addresses) - 200
    assert any(outcome(REFERENCE, a)[0] == "invalid" for a in addresses)


def test_its_json_schema_says_email() -> None:
    assert FAST.json_schema() == {"type": "string", "format": "email"}
