"""The AsyncAPI 3.0 document of every topic, generated from the catalogue and the event models.

    python -m contracts.asyncapi contracts/asyncapi.json

One channel per topic (its address, partitions and cleanup policy as Kafka bindings) and one per
dead-letter twin; one message per event type: the CloudEvents headers of Kafka's binary mode
(``ce_type`` and ``ce_dataschema`` fixed to the type and its schema version), the record key, and
the payload's JSON schema from the pydantic model. Operations say who publishes (``send``: our
services and the systems outside) and who consumes (``receive``: each consumer group, with its
``groupId``), as ``contracts.topics`` declares them. FastStream's own AsyncAPI output cannot say
this: our services publish through a raw producer, so it has no send operations and no payloads.

The gateway serves it at ``/asyncapi.json``; ``contracts/asyncapi.json`` is the checked-in copy
a test keeps current.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

from pydantic.json_schema import models_json_schema

from contracts.envelope import CONTENT_TYPE, SPEC_VERSION
from contracts.events import Event
from contracts.topics import CATALOGUE, DEAD_LETTER_SUFFIX, PhysicalTopic, Topic, physical_topics

ASYNCAPI_VERSION = "3.0.0"
KAFKA_BINDING = "0.5.0"
SCHEMAS = "#/components/schemas/"
CLOUD_EVENT_HEADERS = "CloudEventHeaders"
DEAD_LETTER_HEADERS = "DeadLetterHeaders"
DEAD_LETTER_MESSAGE = "DeadLetter"

DESCRIPTION = """\
Every topic of the customer data platform. Each record is a CloudEvents 1.0 event in Kafka's \
binary content mode: the attributes travel as `ce_*` headers with `content-type: \
application/json`, the body is the event's data alone, and the record key is the partition key \
(one customer's, MDM code's, team's... records stay in order). Event models ignore unknown \
fields, so producers may add fields; a breaking change gets a new schema version \
(`ce_dataschema` is `urn:cdp:schema:<type>:<version>`).

A consumed topic has a dead-letter twin `<topic>.dlt`: a record its consumer could not decode \
or apply goes there with its original key, bytes and headers plus `dlt_reason` and where it came \
from; `./dev ops dead-letters` lists them and `./dev ops redrive` sends them back.

Topic names may carry a deployment's prefix (`CDP_TOPIC_PREFIX`); consumer groups likewise \
(`CDP_CONSUMER_GROUP_PREFIX`)."""


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _summary(model: type[Event]) -> str:
    doc = (model.__doc__ or "").strip()
    return " ".join(doc.split("\n\n")[0].split()) if doc else model.TYPE


def _headers() -> dict[str, Any]:
    def text(description: str, **extra: Any) -> dict[str, Any]:
        return {"type": "string", "description": description, **extra}

    return {
        "type": "object",
        "description": "CloudEvents 1.0 attributes in Kafka's binary content mode (UTF-8 values)",
        "required": ["ce_specversion", "ce_id", "ce_source", "ce_type"],
        "properties": {
            "ce_specversion": text("CloudEvents version", const=SPEC_VERSION),
            "ce_id": text("unique per event (with ce_source)"),
            "ce_source": text("the system that wrote it, e.g. cdp/customer"),
            "ce_type": text("the event type"),
            "ce_time": text("when it happened (RFC 3339)", format="date-time"),
            "ce_subject": text("what it is about: the customer, MDM code, team..."),
            "ce_dataschema": text("urn:cdp:schema:<type>:<version>"),
            "ce_correlationid": text("the request or flow it belongs to"),
            "ce_causationid": text("the id of the event that caused it"),
            "content-type": text("the body's media type", const=CONTENT_TYPE),
        },
    }


def _dead_letter_headers() -> dict[str, Any]:
    def text(description: str) -> dict[str, Any]:
        return {"type": "string", "description": description}

    return {
        "type": "object",
        "description": "The original record's headers (as they were, possibly not CloudEvents) "
        "plus why and where from",
        "required": [
            "dlt_reason",
            "dlt_original_topic",
            "dlt_original_partition",
            "dlt_original_offset",
        ],
        "properties": {
            "dlt_reason": text("why it could not be decoded or applied (at most 4000 bytes)"),
            "dlt_original_topic": text("the topic it was read from"),
            "dlt_original_partition": text("its partition there (decimal)"),
            "dlt_original_offset": text("its offset there (decimal)"),
            "dlt_consumer_group": text("the consumer group that gave up on it"),
        },
    }


def _message(topic: Topic, model: type[Event], payload: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": model.__name__,
        "title": f"{model.TYPE} (schema version {model.VERSION})",
        "summary": _summary(model),
        "contentType": CONTENT_TYPE,
        "headers": {
            "allOf": [
                {"$ref": SCHEMAS + CLOUD_EVENT_HEADERS},
                {
                    "type": "object",
                    "properties": {
                        "ce_type": {"const": model.TYPE},
                        "ce_dataschema": {"const": model.dataschema()},
                    },
                },
            ]
        },
        "payload": payload,
        "correlationId": {
            "description": "the correlation id the event carries",
            "location": "$message.header#/ce_correlationid",
        },
        "bindings": {
            "kafka": {
                "key": {"type": "string", "description": topic.key},
                "bindingVersion": KAFKA_BINDING,
            }
        },
        "x-cdp-type": model.TYPE,
        "x-cdp-schema-version": model.VERSION,
        "x-cdp-dataschema": model.dataschema(),
    }


def _channel(address: str, description: str, created: PhysicalTopic) -> dict[str, Any]:
    """A channel with the Kafka bindings of the topic as ``devstack topics`` creates it."""
    configuration: dict[str, Any] = {
        "cleanup.policy": ["compact" if created.compacted else "delete"]
    }
    if not created.compacted:
        configuration["retention.ms"] = created.retention_ms
    return {
        "address": address,
        "title": created.name,
        "description": description,
        "messages": {},
        "bindings": {
            "kafka": {
                "partitions": created.partitions,
                "topicConfiguration": configuration,
                "bindingVersion": KAFKA_BINDING,
            }
        },
    }


def _ref_to_messages(channel_id: str, channel: dict[str, Any]) -> list[dict[str, str]]:
    pointer = channel_id.replace("~", "~0").replace("/", "~1")
    return [{"$ref": f"#/channels/{pointer}/messages/{name}"} for name in channel["messages"]]


def document(prefix: str = "") -> dict[str, Any]:
    """The AsyncAPI document; channel addresses carry ``prefix`` (a deployment's topic prefix)."""
    models = [model for topic in CATALOGUE for model in topic.events]
    refs, definitions = models_json_schema(
        [(model, "validation") for model in models], ref_template=SCHEMAS + "{model}"
    )
    schemas: dict[str, Any] = {
        CLOUD_EVENT_HEADERS: _headers(),
        DEAD_LETTER_HEADERS: _dead_letter_headers(),
        **definitions.get("$defs", {}),
    }
    messages: dict[str, Any] = {
        DEAD_LETTER_MESSAGE: {
            "name": DEAD_LETTER_MESSAGE,
            "title": "A record a consumer gave up on",
            "summary": "The original key and bytes, as read; re-driven to dlt_original_topic",
            "headers": {"$ref": SCHEMAS + DEAD_LETTER_HEADERS},
            "payload": {"description": "the original record's value, byte for byte"},
        }
    }
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    created = {t.name: t for t in physical_topics()}
    for topic in CATALOGUE:
        channel = _channel(
            topic.physical(prefix), f"{topic.description}. Key: {topic.key}.", created[topic.name]
        )
        for model in topic.events:
            messages[model.TYPE] = _message(topic, model, refs[(model, "validation")])
            channel["messages"][model.TYPE] = {"$ref": f"#/components/messages/{model.TYPE}"}
        channels[topic.name] = channel
        channel_ref = {"$ref": f"#/channels/{topic.name}"}
        every_message = _ref_to_messages(topic.name, channel)
        for service in topic.producers:
            operations[f"{service}.publishes.{topic.name}"] = {
                "action": "send",
                "channel": channel_ref,
                "title": f"{service} publishes {topic.name}",
                "messages": every_message,
                "x-cdp-producer": service,
            }
        for system in topic.external_producers:
            operations[f"{_slug(system)}.publishes.{topic.name}"] = {
                "action": "send",
                "channel": channel_ref,
                "title": f"{system} publish {topic.name}",
                "description": "A system outside the platform; any CloudEvents SDK writes "
                "this binary-mode shape.",
                "messages": every_message,
                "x-cdp-producer": system,
                "x-cdp-external": True,
            }
        for subscription in topic.subscriptions:
            operations[f"{subscription.group}.receives.{topic.name}"] = {
                "action": "receive",
                "channel": channel_ref,
                "title": f"{subscription.service} consumes {topic.name} "
                f"(group {subscription.group})",
                "messages": every_message,
                "bindings": {
                    "kafka": {
                        "groupId": {"type": "string", "const": subscription.group},
                        "bindingVersion": KAFKA_BINDING,
                    }
                },
                "x-cdp-consumer": subscription.service,
            }
        if not topic.subscriptions:
            continue
        dead_letter = topic.name + DEAD_LETTER_SUFFIX
        dlt_channel = _channel(
            prefix + dead_letter,
            f"Records of {topic.name} its consumers could not decode or apply, with the reason.",
            created[dead_letter],
        )
        dlt_channel["messages"][DEAD_LETTER_MESSAGE] = {
            "$ref": f"#/components/messages/{DEAD_LETTER_MESSAGE}"
        }
        channels[dead_letter] = dlt_channel
        for service in sorted({s.service for s in topic.subscriptions}):
            operations[f"{service}.dead-letters.{topic.name}"] = {
                "action": "send",
                "channel": {"$ref": f"#/channels/{dead_letter}"},
                "title": f"{service} dead-letters {topic.name}",
                "messages": _ref_to_messages(dead_letter, dlt_channel),
                "x-cdp-producer": service,
            }
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": "Customer data platform events",
            "version": "1.0.0",
            "description": DESCRIPTION,
        },
        "defaultContentType": CONTENT_TYPE,
        "channels": channels,
        "operations": operations,
        "components": {"schemas": schemas, "messages": messages},
    }


def text(prefix: str = "") -> str:
    return json.dumps(document(prefix), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    Path(sys.argv[1]).write_text(text())
