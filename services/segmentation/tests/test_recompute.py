"""The recompute job's chunks against the real database: only the job's segmentation is assessed
again, and a page read ahead that went stale before its turn is written as the customers stand
then, not as they were read."""

from __future__ import annotations

import json

import pytest
from segmentation.domain.segmentations import SegmentationDefinition
from segmentation.recompute import Recompute
from servicekit.auth import Identity

pytestmark = pytest.mark.servers

POTENTIAL = SegmentationDefinition.model_validate(
    {
        "code": "pot",
        "name": "Potential",
        "level": "customer",
        "dimensions": [{"name": "potential", "values": ["high", "low"]}],
        "segments": [
            {
                "code": "hi",
                "name": "High",
                "rule": {"field": "profile.potential", "op": "eq", "value": "high"},
            }
        ],
    }
)
# held under another segmentation, whose rules this job does not read
OTHER = {"segment": "x", "rule_version": 3}


async def test_chunks_assess_the_jobs_segmentation_and_reread_customers_changed_since_read(
    segmentation,
) -> None:
    store = segmentation.store
    doc = segmentation._segmentation_doc(POTENTIAL, 1, Identity("ana", "admin"))
    assert await store.insert_segmentation(doc, [])
    ids = [f"c{i:02d}" for i in range(25)]
    await store.customers.insert_many(
        [
            {"_id": cid, "customer": {"kind": "person"}, "customer_version": 1, "revision": 1,
             "profiles": {"pot": {"potential": "high"}}, "segments": {"other": OTHER}}
            for cid in ids
        ]
    )  # fmt: skip
    recompute = Recompute(segmentation, chunk_size=10)
    job = {"_id": "job-1", "segmentation": "pot", "version": 1}

    first = await recompute.run_chunk(job, None)
    assert first is not None and first.checkpoint == "c09" and len(first.events) == 10
    # The second page was read ahead (wait for that read); c15 is edited (profile low) after it.
    assert recompute._ahead is not None
    await recompute._ahead[1]
    await store.customers.update_one(
        {"_id": "c15"}, {"$set": {"profiles.pot.potential": "low"}, "$inc": {"revision": 1}}
    )
    second = await recompute.run_chunk(job, first.checkpoint)
    assert second is not None and second.checkpoint == "c19"
    published = [json.loads(event.value or b"{}")["customer_id"] for event in second.events]
    assert published == [f"c{i}" for i in range(10, 20) if i != 15]
    third = await recompute.run_chunk(job, second.checkpoint)
    assert third is not None and len(third.events) == 5
    assert await recompute.run_chunk(job, third.checkpoint) is None

    held = {d["_id"]: d["segments"] async for d in store.customers.find({})}
    assert held["c15"] == {"other": OTHER}
    assert all(
        held[cid] == {"other": OTHER, "pot": {"segment": "hi", "rule_version": 1}}
        for cid in ids
        if cid != "c15"
    )
