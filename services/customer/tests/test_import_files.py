"""An import's file is kept in parts, so a CSV of 100,000 rows and more (larger than one
document may be) is stored and read back whole, over the real database."""

from __future__ import annotations

import pytest
from customer.store import IMPORT_FILE_PART, ImportStore

pytestmark = pytest.mark.servers


async def test_a_file_larger_than_a_document_is_kept_in_parts(mongo_db) -> None:
    store = ImportStore(mongo_db)
    row = "First,Last,person@example.org,+40700000000,1 Main Street,400001,Brasov\r\n"
    text = "first_name,last_name,email,sms,address_line1,postal_code,city\r\n" + row * 250_000
    assert len(text) > 17 * 1024 * 1024  # more than one document holds
    await store.save("job-1", text)
    await store.save("job-10", "another,file\r\n")  # a job whose id the first one's prefixes
    assert await mongo_db["import_files"].count_documents(
        {"_id": {"$gte": "job-1:", "$lt": "job-1;"}}
    ) == (len(text) // IMPORT_FILE_PART + 1)
    assert await store.text("job-1") == text
    assert await store.text("job-10") == "another,file\r\n"
    await store.forget("job-1")
    with pytest.raises(LookupError):
        await store.text("job-1")
    assert await store.text("job-10") == "another,file\r\n"


async def test_an_empty_file_and_one_saved_whole_before_are_read(mongo_db) -> None:
    store = ImportStore(mongo_db)
    await store.save("job-empty", "")
    assert await store.text("job-empty") == ""
    await mongo_db["import_files"].insert_one({"_id": "job-old", "text": "a,b\r\n"})
    assert await store.text("job-old") == "a,b\r\n"
    await store.forget("job-old")
    with pytest.raises(LookupError):
        await store.text("job-old")
