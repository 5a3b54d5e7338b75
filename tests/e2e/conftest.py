"""What the end-to-end tests share: a gateway client, and an outside MDM producer that writes
CloudEvents with the SDK (not our own code), as an enterprise system would."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest_asyncio
from aiokafka import AIOKafkaProducer
from aiokafka.structs import RecordMetadata
from cloudevents.core.bindings.kafka import to_binary_event
from cloudevents.core.v1.event import CloudEvent
from playwright.async_api import Browser, Page

from tests.e2e.console_kit import launched_browser, new_page
from tests.e2e.targeting_kit import make_plan


@pytest_asyncio.fixture(loop_scope="session")
async def gateway(platform) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=platform.gateway_url, headers=platform.auth(), timeout=10
    ) as client:
        yield client


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def browser() -> AsyncIterator[Browser]:
    """Chromium for a module's browser tests (skipped, outside CI, where it is missing)."""
    async for launched in launched_browser():
        yield launched


@pytest_asyncio.fixture(loop_scope="session")
async def page(browser: Browser) -> AsyncIterator[Page]:
    """A fresh browser context and page for each test."""
    async for opened in new_page(browser):
        yield opened


def mdm_event(kind: str, code: str, data: dict[str, Any]) -> CloudEvent:
    return CloudEvent(
        attributes={
            "type": f"cdp.mdm.{kind}",
            "source": "erp/mdm-hub",
            "id": str(uuid.uuid4()),
            "subject": code,
            "datacontenttype": "application/json",
            "dataschema": f"urn:cdp:schema:cdp.mdm.{kind}:1",
        },
        data=data,
    )


def mdm_upsert(code: str, version: int, **record: Any) -> CloudEvent:
    data = {"mdm_code": code, "version": version, "record": record}
    return mdm_event("CustomerUpserted", code, {**data, "an_unknown_field": "consumers ignore it"})


@dataclass
class Mdm:
    """Publishes on this run's MDM topic, keyed by MDM code."""

    producer: AIOKafkaProducer
    topic: str

    async def send(self, event: CloudEvent, key: str) -> RecordMetadata:
        message = to_binary_event(event)
        return await self.producer.send_and_wait(
            self.topic, message.value, key=key.encode(), headers=list(message.headers.items())
        )

    async def upsert(self, code: str, version: int, **record: Any) -> RecordMetadata:
        return await self.send(mdm_upsert(code, version, **record), code)

    async def merge(self, survivor: str, loser: str, version: int) -> RecordMetadata:
        data = {"mdm_code": survivor, "merged_mdm_code": loser, "version": version}
        return await self.send(mdm_event("CustomersMerged", survivor, data), survivor)

    @staticmethod
    def upsert_event(code: str, version: int, **record: Any) -> CloudEvent:
        return mdm_upsert(code, version, **record)


@pytest_asyncio.fixture(loop_scope="session")
async def mdm(platform) -> AsyncIterator[Mdm]:
    producer = AIOKafkaProducer(
        bootstrap_servers=platform.deployment.servers.kafka_bootstrap_servers, acks="all"
    )
    await producer.start()
    yield Mdm(producer, platform.topic("mdm.customers"))
    await producer.stop()


@pytest_asyncio.fixture(loop_scope="session")
async def find_by_mdm_code(gateway: httpx.AsyncClient) -> Callable[[str], Awaitable[dict | None]]:
    async def find(code: str) -> dict | None:
        response = await gateway.get("/api/customers", params={"mdm_code": code})
        assert response.status_code == 200, response.text
        items = response.json()["items"]
        return items[0] if items else None

    return find


@pytest_asyncio.fixture(loop_scope="session")
async def plan(gateway: httpx.AsyncClient) -> dict[str, Any]:
    """A segmentation, a team with two bricks and a draft plan targeting segments a and b."""
    return await make_plan(gateway)
