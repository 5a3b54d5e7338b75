"""The AsyncAPI document: the checked-in copy is current, it is valid AsyncAPI 3.0, every
reference resolves, it says what the catalogue says, its payload schemas accept real events and
refuse broken ones, and the gateway serves it without a token.

The AsyncAPI 3.0.0 JSON schema is vendored in ``schemas/asyncapi-3.0.0.json``: the
``3.0.0-without-$id.json`` of the ``@asyncapi/specs`` npm package 6.11.1 (Apache-2.0), which
includes the Kafka bindings' schemas (checked by their ``bindingVersion``)."""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import contracts.asyncapi as asyncapi
import httpx
import jsonschema
import pytest
from contracts.topics import CATALOGUE
from gateway.app import build
from gateway.settings import GatewaySettings

REPO = Path(__file__).resolve().parents[2]
CHECKED_IN = REPO / "contracts" / "asyncapi.json"
SPEC_SCHEMA = Path(__file__).parent / "schemas" / "asyncapi-3.0.0.json"
REGENERATE = "uv run python -m contracts.asyncapi contracts/asyncapi.json"


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return asyncapi.document()


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(json.loads(SPEC_SCHEMA.read_text()))


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = document
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def test_the_checked_in_copy_is_current() -> None:
    current, checked_in = asyncapi.text(), CHECKED_IN.read_text()
    if current != checked_in:
        diff = difflib.unified_diff(
            checked_in.splitlines(), current.splitlines(), "checked in", "generated", lineterm=""
        )
        pytest.fail(
            f"contracts/asyncapi.json is out of date; run `{REGENERATE}`:\n"
            + "\n".join(list(diff)[:40])
        )


def test_it_is_valid_asyncapi_3(
    document: dict[str, Any], validator: jsonschema.Draft7Validator
) -> None:
    errors = [
        f"{list(e.absolute_path)}: {e.message[:200]}" for e in validator.iter_errors(document)
    ]
    assert errors == []
    # the vendored schema does look inside: a wrong Kafka binding and a wrong action fail it
    broken = json.loads(json.dumps(document))
    broken["channels"]["customer.events"]["bindings"]["kafka"]["partitions"] = "twelve"
    broken["operations"]["customer.publishes.customer.events"]["action"] = "publish"
    assert len(list(validator.iter_errors(broken))) >= 2


def test_every_reference_resolves_and_operations_use_their_channels_messages(
    document: dict[str, Any],
) -> None:
    for ref in set(_refs(document)):
        _resolve(document, ref)
    for name, operation in document["operations"].items():
        channel = operation["channel"]["$ref"]
        for message in operation["messages"]:
            assert message["$ref"].startswith(channel + "/messages/"), name


def test_it_says_what_the_catalogue_says(document: dict[str, Any]) -> None:
    channels, operations = document["channels"], document["operations"]
    for topic in CATALOGUE:
        channel = channels[topic.name]
        assert channel["address"] == topic.name
        kafka = channel["bindings"]["kafka"]
        assert kafka["partitions"] == topic.partitions
        policy = kafka["topicConfiguration"]["cleanup.policy"]
        assert policy == (["compact"] if topic.compacted else ["delete"])
        for event in topic.events:
            message = _resolve(document, channel["messages"][event.TYPE]["$ref"])
            assert message["x-cdp-schema-version"] == event.VERSION
            assert message["bindings"]["kafka"]["key"]["description"] == topic.key
            fixed = message["headers"]["allOf"][1]["properties"]
            assert fixed["ce_type"]["const"] == event.TYPE
            assert fixed["ce_dataschema"]["const"] == event.dataschema()
        sends = {
            op["x-cdp-producer"]
            for op in operations.values()
            if op["action"] == "send" and op["channel"]["$ref"] == f"#/channels/{topic.name}"
        }
        assert sends == set(topic.producers) | set(topic.external_producers)
        groups = {
            op["bindings"]["kafka"]["groupId"]["const"]
            for op in operations.values()
            if op["action"] == "receive" and op["channel"]["$ref"] == f"#/channels/{topic.name}"
        }
        assert groups == {s.group for s in topic.subscriptions}
        assert (topic.dead_letter in channels) == topic.consumed
    assert (
        asyncapi.document("t1.")["channels"]["customer.events"]["address"] == "t1.customer.events"
    )


def _payload_validator(document: dict[str, Any], ce_type: str) -> jsonschema.Draft7Validator:
    """The payload schema of one event, its references resolved within the document."""
    payload = document["components"]["messages"][ce_type]["payload"]
    return jsonschema.Draft7Validator({**payload, "components": document["components"]})


def test_the_payload_schemas_accept_real_events_and_refuse_broken_ones(
    document: dict[str, Any],
) -> None:
    upsert = {
        "mdm_code": "HCP-0042",
        "version": 17,
        "record": {
            "kind": "person",
            "first_name": "Ana",
            "last_name": "Pop",
            "email": "ana@example.org",
            "addresses": [{"line1": "1 Main St", "city": "Cluj", "brick": "BR-N01"}],
        },
    }
    mdm = _payload_validator(document, "cdp.mdm.CustomerUpserted")
    assert list(mdm.iter_errors(upsert)) == []
    assert list(mdm.iter_errors({**upsert, "version": "seventeen"}))
    assert list(mdm.iter_errors({"version": 17, "record": {}}))  # no mdm_code
    purchase = {
        "order_id": "o-1",
        "customer_id": "c-1",
        "lines": [{"product": "p", "category": "c", "quantity": 1, "amount": "9.50"}],
        "currency": "EUR",
        "purchased_at": "2026-11-01T12:00:00Z",
        "store": "web",
    }
    made = _payload_validator(document, "cdp.commerce.PurchaseMade")
    assert list(made.iter_errors(purchase)) == []
    assert list(made.iter_errors({**purchase, "lines": "many"}))


async def test_the_gateway_serves_it_without_a_token() -> None:
    settings = GatewaySettings(env="dev", log_json=False, topic_prefix="t9.")
    transport = httpx.ASGITransport(app=build(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        answer = await client.get("/asyncapi.json")
    assert answer.status_code == 200
    assert answer.json() == asyncapi.document("t9.")
