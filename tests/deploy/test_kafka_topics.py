"""Strimzi's KafkaTopic resources (deploy/k8s/base/topics.yaml) are generated from the topic
catalogue (contracts.topics) and match it: names, partitions, compaction, retention."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import yaml
from contracts.topics import CATALOGUE, DEAD_LETTER_SUFFIX, physical_topics

GENERATOR = Path(__file__).resolve().parents[2] / "deploy" / "k8s" / "generate_topics.py"


def generator():  # a script, not a package: loaded from its file
    spec = importlib.util.spec_from_file_location("generate_topics", GENERATOR)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_file_is_what_the_generator_writes() -> None:
    assert generator().main(["--check"]) == 0, "run deploy/k8s/generate_topics.py"


def test_every_topic_of_the_catalogue_with_its_settings() -> None:
    written = {
        doc["spec"]["topicName"]: doc["spec"]
        for doc in yaml.safe_load_all(generator().TOPICS_FILE.read_text())
        if doc
    }
    assert set(written) == {t.name for t in physical_topics()}
    for topic in CATALOGUE:
        spec = written[topic.name]
        assert spec["partitions"] == topic.partitions
        if topic.compacted:
            assert spec["config"]["cleanup.policy"] == "compact"
            assert "retention.ms" not in spec["config"]
        else:
            assert spec["config"].get("cleanup.policy", "delete") == "delete"
            assert int(spec["config"]["retention.ms"]) == topic.retention_ms
        dead_letter = topic.name + DEAD_LETTER_SUFFIX
        assert (dead_letter in written) == topic.consumed
    # co-partitioning the lists service relies on holds in the cluster too
    assert (
        written["customer.events"]["partitions"]
        == written["segmentation.assignments"]["partitions"]
    )
