"""The Idempotency-Key middleware over a real database: the answer is stored before the caller
has it, so a retry the moment the answer arrives is replayed, never refused as in flight."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from servicekit.auth import TokenVerifier, mint_token
from servicekit.idempotency import IdempotentPosts
from starlette.types import Message

pytestmark = pytest.mark.servers

SECRET = "k" * 40


def app_with_keys(mongo_db: Any, answer_size: int = 10) -> tuple[FastAPI, list[int]]:
    effects: list[int] = []
    app = FastAPI()

    @app.post("/things", status_code=201)
    async def make() -> dict[str, Any]:
        effects.append(1)
        return {"n": len(effects), "pad": "x" * answer_size}

    app.add_middleware(
        IdempotentPosts,
        keys=mongo_db["idempotency_keys"],
        verifier=TokenVerifier("cdp", secret=SECRET),
        ttl_seconds=60,
        lease_seconds=60,
    )
    return app, effects


async def post(app: FastAPI, key: str, on_final_body: Any = None) -> tuple[int, bytes]:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/things",
        "raw_path": b"/things",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"authorization", f"Bearer {mint_token(SECRET, 'ana', 'rep')}".encode()),
            (b"idempotency-key", key.encode()),
            (b"content-type", b"application/json"),
        ],
        "client": ("127.0.0.1", 1),
        "server": ("test", 80),
    }
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": b"{}", "more_body": False}
        return {"type": "http.disconnect"}

    status = 0
    chunks: list[bytes] = []

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))
            if not message.get("more_body") and on_final_body is not None:
                await on_final_body()

    await app(scope, receive, send)
    return status, b"".join(chunks)


async def test_a_retry_the_moment_the_answer_arrives_is_replayed(mongo_db) -> None:
    app, effects = app_with_keys(mongo_db)
    retried: list[tuple[int, bytes]] = []

    async def retry_at_once() -> None:
        retried.append(await post(app, "k-1"))

    first = await post(app, "k-1", on_final_body=retry_at_once)
    assert first[0] == 201
    assert retried == [first]
    assert effects == [1]


async def test_an_answer_too_large_to_keep_gives_the_key_up(mongo_db) -> None:
    app, effects = app_with_keys(mongo_db, answer_size=2_000_000)
    assert (await post(app, "k-2"))[0] == 201
    assert (await post(app, "k-2"))[0] == 201
    assert effects == [1, 1]
    assert await mongo_db["idempotency_keys"].find_one({"_id": "user:ana\x1fk-2"}) is None
