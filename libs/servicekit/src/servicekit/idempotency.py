"""Idempotency keys: a client that retries a POST (its first try timed out at the gateway while
the write went through) gets the first answer again instead of a second effect.

ASGI middleware in every service, so each service stores the keys of the resources it owns (the
gateway has no database and passes the header through). A POST with ``Idempotency-Key: <key>``
first claims the key in the ``idempotency_keys`` collection with one insert on ``_id`` (the
caller's token subject and the key): of two concurrent requests exactly one wins. Then:

- same key, same request (method, path, query, body) and an answer stored: the answer replayed,
  status, body and headers, with ``Idempotent-Replayed: true``;
- same key while the first request still runs: 409 problem;
- same key, another request: 422 problem.

Answers under 500 are kept (a 4xx is the answer to that body too), before the caller has the
last of them; a 5xx, an answer over 1 MiB (not a created thing) or a crash of the handler gives
the key up, so the retry runs. Keys live 24 h: a TTL index removes them, and a
key past its expiry is treated as absent on read (the dev/CI server does not expire TTL
indexes). A claim whose request never finished (the process died) is taken over after its lease.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from bson import Binary
from fastapi import FastAPI
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from servicekit import problems
from servicekit.auth import SERVICE, TokenVerifier

COLLECTION = "idempotency_keys"
HEADER = b"idempotency-key"
REPLAYED_HEADER = b"idempotent-replayed"
MAX_KEY_LENGTH = 255
# a larger answer (a page of search results, not a created thing) is not kept: the key is given up
MAX_KEPT_BYTES = 1_048_576
# the headers an answer is replayed with (the outer middleware adds the correlation id)
KEPT_HEADERS = (b"content-type", b"location", b"etag", b"content-disposition")


def document(app: FastAPI) -> None:
    """Show the header on every POST in the app's OpenAPI (the middleware, not the routes,
    reads it)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        name = HEADER.decode()
        for path in schema.get("paths", {}).values():
            post = path.get("post")
            if post is None:
                continue
            parameters = post.setdefault("parameters", [])
            if any(
                p.get("in") == "header" and p.get("name") == HEADER.decode() for p in parameters
            ):
                continue
            parameters.append(
                {
                    "name": name,
                    "in": "header",
                    "required": False,
                    "schema": {"type": "string", "maxLength": MAX_KEY_LENGTH},
                    "description": "A key of yours (e.g. a UUID per operation): a retry with the "
                    "same key and body gets the first answer; 409 while the first still runs, "
                    "422 for another body. Kept 24 h, per caller.",
                }
            )
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


async def create_indexes(keys: AsyncCollection) -> None:
    await keys.create_index("expires_at", expireAfterSeconds=0)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def fingerprint(scope: Scope, content_type: bytes, body: bytes) -> str:
    """What makes two requests "the same": method, path, query and body. A multipart body's
    boundary is random per request, so it is left out (a retried upload is the same upload)."""
    media, _, params = content_type.partition(b";")
    boundary = b""
    for param in params.split(b";"):
        name, _, value = param.strip().partition(b"=")
        if name.lower() == b"boundary":
            boundary = value.strip(b'"')
    if boundary:
        body = body.replace(boundary, b"")
    digest = hashlib.sha256()
    for part in (scope["method"].encode(), scope["path"].encode(), scope["query_string"]):
        digest.update(part + b"\0")
    digest.update(media.strip().lower() + b"\0")
    digest.update(body)
    return digest.hexdigest()


class IdempotentPosts:
    """ASGI middleware honouring ``Idempotency-Key`` on every POST (see the module)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        keys: AsyncCollection,
        verifier: TokenVerifier,
        ttl_seconds: float,
        lease_seconds: float,
    ) -> None:
        self.app = app
        self.keys = keys
        self.verifier = verifier
        self.ttl = timedelta(seconds=ttl_seconds)
        self.lease = timedelta(seconds=lease_seconds)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        key = headers.get(HEADER)
        caller = self._caller(headers) if key is not None else None
        if key is None or caller is None:  # no key, or no valid token: the route answers
            await self.app(scope, receive, send)
            return
        text = key.decode("latin-1").strip()
        if not text or len(text) > MAX_KEY_LENGTH or not text.isprintable():
            problem = problems.Problem(
                f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable characters",
                code="bad-idempotency-key",
                field="Idempotency-Key",
            )
            await problems.problem_response(problem)(scope, receive, send)
            return

        body = await _read_body(receive)
        claim_id = f"{caller}\x1f{text}"
        request_print = fingerprint(scope, headers.get(b"content-type", b""), body)
        claim_token = uuid.uuid4().hex
        answer = await self._claim(claim_id, request_print, claim_token)
        if answer is not None:
            await answer(scope, receive, send)
            return

        sent_body = False

        async def replay_receive() -> Message:
            nonlocal sent_body
            if not sent_body:
                sent_body = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        status: int | None = None
        kept: list[tuple[bytes, bytes]] = []
        chunks: list[bytes] = []
        settled = False

        async def give_up() -> None:
            nonlocal settled
            settled = True
            await self.keys.delete_one({"_id": claim_id, "claim": claim_token})

        async def capture(message: Message) -> None:
            """Pass the answer on, but keep it (or give the key up) before its last part
            goes: a retry sent the moment the answer arrives is then replayed."""
            nonlocal status, settled
            if message["type"] == "http.response.start":
                status = message["status"]
                kept.extend((k, v) for k, v in message.get("headers", []) if k in KEPT_HEADERS)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False) and not settled:
                    body = b"".join(chunks)
                    if status is None or status >= 500 or len(body) > MAX_KEPT_BYTES:
                        await give_up()
                    else:
                        settled = True
                        await self._keep(claim_id, claim_token, status, kept, body)
            await send(message)

        try:
            await self.app(scope, replay_receive, capture)
        except BaseException:
            if not settled:
                await give_up()
            raise
        if not settled:  # no answer at all
            await give_up()

    async def _keep(
        self,
        claim_id: str,
        claim_token: str,
        status: int,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
    ) -> None:
        await self.keys.update_one(
            {"_id": claim_id, "claim": claim_token},
            {
                "$set": {
                    "state": "done",
                    "status": status,
                    "headers": [[k.decode("latin-1"), v.decode("latin-1")] for k, v in headers],
                    "body": Binary(body),
                }
            },
        )

    def _caller(self, headers: dict[bytes, bytes]) -> str | None:
        """Whose key it is: the token's subject (a person's, or a system's); None without a
        valid token."""
        scheme, _, token = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        try:
            identity = self.verifier.verify(token.strip())
        except problems.Problem:
            return None
        if identity.role == SERVICE:
            return f"service:{identity.scope}"
        return f"user:{identity.user}"

    async def _claim(self, claim_id: str, request_print: str, token: str) -> ASGIApp | None:
        """Claim the key for this request (None: go on and run it), or the answer to give."""
        now = datetime.now(UTC)
        claim = {
            "_id": claim_id,
            "fingerprint": request_print,
            "claim": token,
            "state": "in-flight",
            "created_at": now,
            "expires_at": now + self.ttl,
            "lease_until": now + self.lease,
        }
        try:
            await self.keys.insert_one(claim)
            return None
        except DuplicateKeyError:
            pass
        found = await self.keys.find_one({"_id": claim_id})
        if found is not None:
            expired = _aware(found["expires_at"]) <= now
            abandoned = found["state"] == "in-flight" and _aware(found["lease_until"]) <= now
            if not (expired or abandoned) and found["state"] == "in-flight":
                return _in_flight()
            if not expired and found["fingerprint"] != request_print:
                return problems.problem_response(
                    problems.Problem(
                        "this Idempotency-Key was used for another request: use a new key",
                        status=422,
                        code="idempotency-key-reused",
                        title="Idempotency-Key reused",
                        field="Idempotency-Key",
                    )
                )
            if not expired and found["state"] == "done":
                return _stored_answer(found)
        # gone meanwhile, past its 24 h, or abandoned by a process that died: take it over,
        # unless another request took it first
        if found is None:
            try:
                await self.keys.insert_one(claim)
            except DuplicateKeyError:
                return _in_flight()
            return None
        taken = await self.keys.replace_one({"_id": claim_id, "claim": found["claim"]}, claim)
        return _in_flight() if taken.matched_count == 0 else None


def _in_flight() -> ASGIApp:
    return problems.problem_response(
        problems.Problem(
            "a request with this Idempotency-Key is still being processed: retry later",
            status=409,
            code="idempotency-key-in-flight",
            title="Request in progress",
            field="Idempotency-Key",
        )
    )


def _stored_answer(found: dict[str, Any]) -> ASGIApp:
    status = found["status"]
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in found["headers"]]
    headers.append((REPLAYED_HEADER, b"true"))
    body = bytes(found["body"])

    async def answer(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return answer


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)
