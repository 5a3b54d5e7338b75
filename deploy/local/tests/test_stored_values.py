"""What the launcher stores comes back as it went in: every BSON type, across a restart (read
from the file, not the page cache), and from a store an older launcher wrote.

``python deploy/local/tests/test_stored_values.py DIR`` writes the documents into a fresh store in
DIR with whatever launcher the checkout has: that is how ``fixtures/store-2026-11-30/db.mv`` (a
store of the launcher that kept values with Java serialization) was made.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import sys
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from bson import Binary, Code, Decimal128, Int64, MaxKey, MinKey, ObjectId, Regex, Timestamp
from bson.binary import UuidRepresentation
from bson.codec_options import CodecOptions
from devstack.mongo import start_mongo
from pymongo import MongoClient
from pymongo.errors import DuplicateKeyError

OPTIONS: CodecOptions = CodecOptions(uuid_representation=UuidRepresentation.STANDARD, tz_aware=True)


def documents() -> list[dict[str, Any]]:
    """Fixed values (no clock, no randomness): the same documents in every run."""
    moment = dt.datetime(2026, 11, 30, 12, 34, 56, 789000, tzinfo=dt.UTC)
    return [
        {
            "_id": "text-id",
            "kind": "scalars",
            "s": "Ana Pop ăîșț 😀",
            "i": 42,
            "l": Int64(2**40),
            "d": 3.25,
            "t": True,
            "f": False,
            "n": None,
            "at": moment,
            "dec": Decimal128(Decimal("1234.5678")),
            "ts": Timestamp(1_700_000_000, 7),
        },
        {
            "_id": ObjectId("656a1b2c3d4e5f6071829304"),
            "kind": "object id key",
            "ref": ObjectId("656a1b2c3d4e5f6071829305"),
        },
        {
            "_id": 7,
            "kind": "binary",
            "bin": b"\x00\x01\xfe\xff",
            "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
            "legacy": Binary(b"0123456789abcdef", 3),
        },
        {
            "_id": Int64(2**50),
            "kind": "nested",
            "addresses": [
                {"line1": "1 Main St", "bricks": ["BR-1", "BR-2"], "primary": True},
                {"line1": "", "bricks": [], "geo": {"lat": 46.77, "lon": 23.6}},
            ],
            "outbox": [],
            "empty": {},
            "matrix": [[1, 2], [3, [4, {"deep": "yes"}]]],
        },
        {
            "_id": "special",
            "kind": "special",
            "re": Regex("^ana", "i"),
            "code": Code("x+1"),
            "min": MinKey(),
            "max": MaxKey(),
        },
        {"_id": 3.5, "kind": "double key", "version": 1},
    ]


def regex_free(value: Any) -> Any:
    """A comparable form: PyMongo decodes a stored regular expression as ``Regex``; compile it."""
    if isinstance(value, Regex):
        return (value.pattern, value.flags)
    if isinstance(value, re.Pattern):
        return (value.pattern, value.flags)
    if isinstance(value, dict):
        return {k: regex_free(v) for k, v in value.items()}
    if isinstance(value, list):
        return [regex_free(v) for v in value]
    return value


def write_store(data_dir: Path) -> None:
    server = start_mongo(data_dir)
    client: MongoClient = MongoClient(server.url)
    try:
        docs = client.stored.get_collection("docs", codec_options=OPTIONS)
        docs.create_index("kind")
        docs.create_index("ref", unique=True, sparse=True)
        docs.insert_many(documents())
    finally:
        client.close()
        server.process.stop()


pytestmark = pytest.mark.servers

FIXTURES = Path(__file__).parent / "fixtures"


def stored(data_dir: Path) -> tuple[list[dict], list[str], list[str]]:
    """The documents by ``_id`` order of insertion, and two reads that go through the indexes."""
    server = start_mongo(data_dir)
    client: MongoClient = MongoClient(server.url)
    try:
        docs = client.stored.get_collection("docs", codec_options=OPTIONS)
        by_kind = [d["kind"] for d in docs.find({"kind": {"$gte": "a"}}).sort("kind", 1)]
        by_ref = [d["kind"] for d in docs.find({"ref": documents()[1]["ref"]})]
        found = {repr(d["_id"]): d for d in docs.find({})}
        return [found[repr(d["_id"])] for d in documents()], by_kind, by_ref
    finally:
        client.close()
        server.process.stop()


def assert_as_written(data_dir: Path) -> None:
    read, by_kind, by_ref = stored(data_dir)
    assert [regex_free(d) for d in read] == [regex_free(d) for d in documents()]
    assert by_kind == sorted(d["kind"] for d in documents())
    assert by_ref == ["object id key"]


def test_every_bson_type_survives_a_restart(tmp_path: Path) -> None:
    write_store(tmp_path / "mongo")
    assert_as_written(tmp_path / "mongo")


def test_a_store_written_by_the_launcher_of_2026_11_30_opens_unchanged(tmp_path: Path) -> None:
    """That launcher kept values with Java serialization; today's reads them and writes BSON."""
    data_dir = tmp_path / "mongo"
    data_dir.mkdir()
    shutil.copy(FIXTURES / "store-2026-11-30" / "db.mv", data_dir / "db.mv")
    assert_as_written(data_dir)
    # a write rewrites pages in today's form; old and new values then sit side by side
    server = start_mongo(data_dir)
    client: MongoClient = MongoClient(server.url)
    try:
        docs = client.stored.docs
        docs.insert_one({"_id": "added", "kind": "zz added"})
        # the unique indexes, rebuilt in today's order, still refuse what they refused
        for taken in (
            {"_id": "text-id"},
            {"_id": ObjectId("656a1b2c3d4e5f6071829304")},
            {"_id": "other", "ref": ObjectId("656a1b2c3d4e5f6071829305")},
        ):
            with pytest.raises(DuplicateKeyError):
                docs.insert_one(taken)
    finally:
        client.close()
        server.process.stop()
    read, by_kind, _ = stored(data_dir)
    assert [regex_free(d) for d in read] == [regex_free(d) for d in documents()]
    assert by_kind[-1] == "zz added"


if __name__ == "__main__":
    write_store(Path(sys.argv[1]))


def test_a_unique_index_over_mixed_keys_finds_and_refuses_each_after_a_restart(
    tmp_path: Path,
) -> None:
    def code(i: int) -> Any:
        return [f"C-{i:05d}", i, ObjectId(f"{i:024x}"), float(i) + 0.5, Int64(i) * 2**33][i % 5]

    server = start_mongo(tmp_path / "mongo")
    client: MongoClient = MongoClient(server.url)
    try:
        docs = client.stored.docs
        docs.create_index([("code", 1), ("part", 1)], unique=True)
        docs.insert_many([{"_id": i, "code": code(i), "part": i % 3} for i in range(3000)])
    finally:
        client.close()
        server.process.kill()  # no clean shutdown: the store as the last commit left it

    server = start_mongo(tmp_path / "mongo")
    client = MongoClient(server.url)
    try:
        docs = client.stored.docs
        for i in range(0, 3000, 7):
            assert [d["_id"] for d in docs.find({"code": code(i), "part": i % 3})] == [i]
            with pytest.raises(DuplicateKeyError):
                docs.insert_one({"_id": -i - 1, "code": code(i), "part": i % 3})
        docs.insert_one({"_id": -1, "code": code(1), "part": 2})  # another part: no clash
        assert docs.count_documents({}) == 3001
    finally:
        client.close()
        server.process.stop()
