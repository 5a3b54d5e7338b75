from __future__ import annotations

import time

import jwt
import pytest
from aiokafka import ConsumerRecord
from contracts.envelope import Envelope
from contracts.topics import MDM_CUSTOMERS
from servicekit.auth import mint_token, verify_token
from servicekit.consuming import Delivery, Rejection, dead_letter, decode_record
from servicekit.problems import Problem, Unauthorized, if_match_version

SECRET = "s" * 40


def test_token_round_trip_carries_role_and_teams() -> None:
    identity = verify_token(mint_token(SECRET, "ana", "rep", ["north"]), SECRET)
    assert (identity.user, identity.role, identity.teams) == ("ana", "rep", frozenset({"north"}))
    assert identity.can_act_for_team("north") and not identity.can_act_for_team("south")


@pytest.mark.parametrize(
    "token",
    [
        mint_token("another-secret-another-secret-1234", "ana", "rep"),
        jwt.encode(
            {"sub": "ana", "role": "rep", "iss": "cdp", "exp": int(time.time()) - 5},
            SECRET,
            algorithm="HS256",
        ),
        jwt.encode(
            {"sub": "ana", "role": "emperor", "iss": "cdp", "exp": int(time.time()) + 60},
            SECRET,
            algorithm="HS256",
        ),
        jwt.encode({"sub": "ana", "role": "rep", "iss": "cdp"}, SECRET, algorithm="HS256"),
        "not-a-token",
    ],
)
def test_bad_tokens_are_unauthorized(token: str) -> None:
    with pytest.raises(Unauthorized):
        verify_token(token, SECRET)


def record(headers: list[tuple[str, bytes]], value: bytes) -> ConsumerRecord:
    return ConsumerRecord("mdm.customers", 2, 41, 0, 0, b"M-1", value, None, len(value), 0, headers)


def test_decode_record_validates_each_record_on_its_own() -> None:
    good = Envelope(
        type="cdp.mdm.CustomerUpserted",
        source="erp",
        data={"mdm_code": "M-1", "version": 1, "record": {}},
    )
    assert isinstance(decode_record(MDM_CUSTOMERS, record(good.headers(), good.body())), Delivery)
    unknown = Envelope(type="cdp.mdm.Unheard", source="erp", data={})
    rejected = decode_record(MDM_CUSTOMERS, record(unknown.headers(), unknown.body()))
    assert isinstance(rejected, Rejection) and "unknown event type" in rejected.reason
    invalid = Envelope(
        type="cdp.mdm.CustomerUpserted",
        source="erp",
        data={"mdm_code": "M-1", "version": "x", "record": {}},
    )
    rejected = decode_record(MDM_CUSTOMERS, record(invalid.headers(), invalid.body()))
    assert isinstance(rejected, Rejection) and "version" in rejected.reason
    # past 64 bits the database could not store it: a dead letter, not a stalled partition
    huge = Envelope(
        type="cdp.mdm.CustomerUpserted",
        source="erp",
        data={"mdm_code": "M-1", "version": 2**63, "record": {}},
    )
    rejected = decode_record(MDM_CUSTOMERS, record(huge.headers(), huge.body()))
    assert isinstance(rejected, Rejection) and "version" in rejected.reason
    # the body is parsed by the event model: what is not a JSON object is refused there
    for body, reason in ((b"{nope", "Invalid JSON"), (b"[1]", "should be an object")):
        rejected = decode_record(MDM_CUSTOMERS, record(good.headers(), body))
        assert isinstance(rejected, Rejection) and reason in rejected.reason, rejected


def test_an_if_match_past_64_bits_is_a_bad_if_match() -> None:
    assert if_match_version(f'"{2**63 - 1}"') == 2**63 - 1
    with pytest.raises(Problem) as refused:
        if_match_version(f'"{2**63}"')
    assert refused.value.code == "bad-if-match"


def test_dead_letter_keeps_the_original_and_adds_the_error() -> None:
    original = record([("ce_id", b"\xff\xfe raw")], b"\x00bytes")
    letter = dead_letter(original, "broken", "mdm.customers.dlt", "g")
    assert (letter.topic, letter.key, letter.value) == ("mdm.customers.dlt", b"M-1", b"\x00bytes")
    headers = dict(letter.headers)
    assert headers["ce_id"] == b"\xff\xfe raw" and headers["dlt_reason"] == b"broken"
    assert headers["dlt_original_offset"] == b"41" and headers["dlt_original_partition"] == b"2"


async def test_an_unexpected_error_is_a_500_problem_not_a_bare_text() -> None:
    import httpx
    from fastapi import FastAPI
    from servicekit import problems

    app = FastAPI()
    problems.install(app)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("a bug")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/boom")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith("/internal-error")


def test_an_invalid_token_is_refused_without_the_librarys_reason() -> None:
    import jwt
    from servicekit.auth import verify_token
    from servicekit.problems import Unauthorized

    forged = jwt.encode({"sub": "eve", "iss": "cdp", "exp": 4_102_444_800}, "y" * 40)
    for token in (forged, "garbage"):
        with pytest.raises(Unauthorized) as refused:
            verify_token(token, "x" * 40)
        assert refused.value.detail == "invalid token"
