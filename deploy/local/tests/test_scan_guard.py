"""The collection-scan guard: the launcher records the queries no index served, deliberate reads
of a whole collection pass, and a test whose query scans fails naming the collection and shape."""

from __future__ import annotations

import uuid

import pytest
from devstack.scans import ScanRecord
from devstack.servers import Servers
from pymongo import ASCENDING

pytestmark = pytest.mark.servers


@pytest.fixture
def record(scan_record: ScanRecord | None) -> ScanRecord:
    if scan_record is None:
        pytest.skip("this server keeps no scan record (a real mongod): the guard is off here")
    return scan_record


async def test_the_record_names_unindexed_queries_and_tells_deliberate_reads_apart(
    record: ScanRecord, mongo_db
) -> None:
    people = mongo_db["people"]
    await people.insert_many(
        [{"_id": i, "code": f"C{i}", "colour": "red" if i % 2 else "blue"} for i in range(20)]
    )
    await people.create_index([("code", ASCENDING)], name="code")
    record.reset()

    assert await people.find_one({"code": "C3"}) is not None  # by its index: no scan
    assert len(await people.find({"colour": "red"}).to_list()) == 10
    assert await people.count_documents({"colour": "blue"}, hint={"$natural": 1}) == 10
    assert len(await people.find({}).to_list()) == 20

    scans = [s for s in record.take() if s.db == mongo_db.name]
    unexpected = [s for s in scans if not s.deliberate]
    assert [(s.collection, s.examined) for s in unexpected] == [("people", 20)]
    assert "colour" in unexpected[0].shape
    assert "red" not in unexpected[0].shape  # values are replaced by their type
    assert "code" not in " ".join(s.shape for s in scans)
    assert len([s for s in scans if s.deliberate]) == 2


GUARDED_TESTS = """
import pytest
from pymongo import MongoClient

pytestmark = pytest.mark.servers
DB = "{db}"


def people(servers):
    collection = MongoClient(servers.mongodb_url)[DB].people
    collection.update_one({{"_id": 1}}, {{"$set": {{"colour": "red"}}}}, upsert=True)
    return collection


def test_an_unindexed_query(servers):
    people(servers).find_one({{"colour": "red"}})


def test_deliberate_reads_of_the_whole_collection(servers):
    people(servers).find_one({{"colour": "red"}}, hint={{"$natural": 1}})
    list(people(servers).find({{}}))


@pytest.mark.allow_scans("shows the opt-out")
def test_opted_out(servers):
    people(servers).find_one({{"colour": "red"}})
"""


def test_a_test_whose_query_scans_fails_naming_the_collection_and_shape(
    record: ScanRecord,
    servers: Servers,
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    db = f"t{uuid.uuid4().hex[:12]}"
    pytester.makepyfile(test_guarded=GUARDED_TESTS.format(db=db))
    # the inner run uses these servers as given (and so drops nothing)
    monkeypatch.setenv("MONGODB_URL", servers.mongodb_url)
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", servers.kafka_bootstrap_servers)
    result = pytester.runpytest_subprocess("-p", "devstack.pytest_plugin", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*unexpected collection scan*",
            f"*{db}.people*colour*",
            "*FAILED*test_an_unindexed_query*",
        ]
    )
