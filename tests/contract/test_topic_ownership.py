"""The catalogue's producers and subscriptions against what the services do: the consumer groups
their brokers subscribe with (each service's app built as it runs, without connecting), and the
topics their code publishes to (every ``settings.topic(<TOPIC>.name)`` in their sources). The
AsyncAPI document and the ops CLI read who publishes and who consumes from the catalogue, so a
service that starts reading or writing a topic without saying so there fails here."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest
from contracts.topics import CATALOGUE, SERVICES, Topic

REPO = Path(__file__).resolve().parents[2]
catalogue = importlib.import_module("contracts.topics")
PUBLISHES = re.compile(r"\.topic\(\s*([A-Z][A-Z0-9_]*)\.name\s*\)")


def _subscribed(service: str, monkeypatch: pytest.MonkeyPatch) -> set[tuple[str, str]]:
    monkeypatch.setenv("CDP_ENV", "dev")  # the app refuses the dev secret otherwise
    monkeypatch.setenv("CDP_LOG_JSON", "false")
    app = importlib.import_module(f"{service}.app").build()
    broker = app.state.runtime.broker
    return {(s.group_id, name) for s in broker.subscribers for name in s.topic_names}


def _published(service: str) -> set[str]:
    names: set[str] = set()
    for source in (REPO / "services" / service / "src").rglob("*.py"):
        for constant in PUBLISHES.findall(source.read_text()):
            topic = getattr(catalogue, constant)
            assert isinstance(topic, Topic), f"{source}: {constant} is not a catalogue topic"
            names.add(topic.name)
    return names


@pytest.mark.parametrize("service", SERVICES)
def test_the_catalogue_names_every_group_a_service_subscribes_with(
    service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    declared = {
        (s.group, t.name) for t in CATALOGUE for s in t.subscriptions if s.service == service
    }
    assert _subscribed(service, monkeypatch) == declared


@pytest.mark.parametrize("service", SERVICES)
def test_the_catalogue_names_every_topic_a_service_publishes_to(service: str) -> None:
    declared = {t.name for t in CATALOGUE if service in t.producers}
    assert _published(service) == declared


def test_every_topic_has_a_producer_and_consumed_topics_have_subscribers() -> None:
    for topic in CATALOGUE:
        assert topic.producers or topic.external_producers, topic.name
        assert set(topic.producers) <= set(SERVICES), topic.name
        assert {s.service for s in topic.subscriptions} <= set(SERVICES), topic.name
        # a consumed topic has a dead-letter twin; one nobody consumes needs none
        assert topic.consumed == bool(topic.subscriptions), topic.name
