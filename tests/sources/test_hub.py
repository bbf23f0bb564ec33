"""What every registered source asks the hub for: exact (id, revision, config, split, data files),
never remote code, and the commit of a pin when pinned (a fake hub records every load)."""

from __future__ import annotations

import dataclasses

import pytest

from bagel.pipeline.convert import convert_source, source_rows
from bagel.sources import registry, sources_json
from bagel.sources.base import ConvertContext
from bagel.sources.hub import HubUnavailable, classify, hub_reads, is_commit, unavailable
from tests.fakehub import CAUSE, ERRORS, FakeHub, fake_sha

PARQUET = "refs/convert/parquet"
CINEMATIKA = ("prompt_to_character_card.parquet", "rp_to_character_card.parquet", "scene_summary.parquet",
              "scene_enhancement.parquet", "scene_by_scene.parquet", "plain_scenes.parquet")
# (hub id, revision, config, split, data files) of each load, unpinned; None revision = the default branch
EXPECTED = {
    "ai2_arc": [("allenai/ai2_arc", None, "ARC-Challenge", "train", None)],
    "airoboros": [("jondurbin/airoboros-gpt4-m2.0", None, None, "train", ["instructions.jsonl"]),  # read first
                  ("unalignment/spicy-3.1", None, None, "train", ["conversations-no-mathjson.json"])],
    "apps": [("codeparrot/apps", PARQUET, None, "train", ["all/train/*.parquet"])],
    "belebele": [("facebook/belebele", None, None, "train", ["data/*.jsonl"])],
    "bluemoon": [("Squish42/bluemoon-fandom-1-1-rp-cleaned", None, None, "train", ["data/pruned/bluemoon.train.json"])],
    "boolq": [("google/boolq", None, None, "train", None)],
    "capybara": [("LDJnr/Capybara", None, None, "train", None)],
    "cinematika": [("jondurbin/cinematika-v0.1", None, None, "train", [f]) for f in CINEMATIKA],
    "drop": [("ucinlp/drop", None, None, "train", None)],
    "helpsteer": [("nvidia/HelpSteer", None, None, "train", None)],
    "lmsys_chat_1m": [("lmsys/lmsys-chat-1m", None, None, "train", None)],
    "mathinstruct": [("TIGER-Lab/MathInstruct", None, None, "train", None)],
    "mmlu": [("cais/mmlu", None, "all", "auxiliary_train", None)],
    "natural_instructions": [("Muennighoff/natural-instructions", None, None, "train", None)],
    "openbookqa": [("allenai/openbookqa", None, "main", "train", None)],
    "orca_dpo_pairs": [("Intel/orca_dpo_pairs", None, None, "train", None)],
    "pippa": [("kingbri/PIPPA-shareGPT", None, None, "train", ["pippa_sharegpt_trimmed.jsonl"])],
    "piqa": [("ybisk/piqa", PARQUET, "default", "train", None)],
    "python_alpaca": [("Vezora/Tested-22k-Python-Alpaca", None, None, "train", None)],
    "rosetta_code": [("cakiki/rosetta-code", None, None, "train", None)],
    "slimorca": [("Open-Orca/SlimOrca", None, None, "train", None)],
    "spider": [("xlangai/spider", None, "spider", "train", None)],
    "squad_v2": [("rajpurkar/squad_v2", None, "squad_v2", "train", None)],
    "synthia": [("migtissera/Synthia-v1.3", None, None, "train", None)],
    "toxic-dpo": [("unalignment/toxic-dpo-v0.1", None, None, "train", None)],
    "truthy-dpo": [("jondurbin/truthy-dpo-v0.1", None, None, "train", None)],
    "ultrafeedback": [("allenai/ultrafeedback_binarized_cleaned", None, None, "train_gen", None)],
    "winogrande": [("allenai/winogrande", None, "winogrande_xl", "train", None)],
}
NOT_HUB = {"emobank", "gutenberg"}  # downloaded from GitHub / gutenberg.org, not the hub


def read_everything(source) -> None:
    """Run a source's reader and converter over what the (fake) hub serves, as the convert step does."""
    ctx = ConvertContext(source.name, 42, dict(source.options), pins=source.pins)
    for _ in convert_source(source, source_rows(source, None), ctx, None):
        pass


def test_every_registered_source_is_covered():
    assert set(registry()) == set(EXPECTED) | NOT_HUB
    assert all(hub_reads(registry()[name]) == [] for name in NOT_HUB)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_exact_hub_requests_unpinned(monkeypatch, name):
    hub = FakeHub(monkeypatch)
    read_everything(registry()[name])
    assert hub.requests() == EXPECTED[name]
    assert all("/" in call["hub_id"] for call in hub.loads)  # namespaced ids only
    assert all(not call.get("trust_remote_code") for call in hub.loads)
    assert all(call["streaming"] is True for call in hub.loads)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_pinned_sources_load_their_commit(monkeypatch, name):
    source = registry()[name]
    pins = {read.key: fake_sha(read.hub_id, read.ref) for read in hub_reads(source)}
    hub = FakeHub(monkeypatch)
    read_everything(dataclasses.replace(source, pins=pins))
    expected = [(hub_id, fake_sha(hub_id, ref), config, split, files) for hub_id, ref, config, split, files
                in EXPECTED[name]]
    assert hub.requests() == expected


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_declared_reads_cover_what_is_loaded(monkeypatch, name):
    """``hub_reads`` (what `bagel lock` pins) names every (repo, ref, config, split) loaded, and its files."""
    source = registry()[name]
    hub = FakeHub(monkeypatch)
    read_everything(source)
    declared = {(r.hub_id, r.ref, r.config, r.split): set(r.data_files or ()) for r in hub_reads(source)}
    for hub_id, ref, config, split, files in hub.requests():
        assert set(files or ()) <= declared[(hub_id, ref, config, split)]


def test_a_commit_revision_pins_by_hand(monkeypatch):
    commit = fake_sha("allenai/ai2_arc", "v1")
    source = dataclasses.replace(registry()["ai2_arc"], revision=commit)
    hub = FakeHub(monkeypatch)
    read_everything(source)
    assert hub.requests() == [("allenai/ai2_arc", commit, "ARC-Challenge", "train", None)]
    assert is_commit(commit) and not is_commit("main") and not is_commit(PARQUET) and not is_commit(None)


def test_sources_json_lists_hub_facts():
    import json

    entries = {entry["name"]: entry for entry in json.loads(sources_json())}
    assert set(entries) == set(registry())
    assert entries["piqa"] | {"hub_reads": None} == {
        "name": "piqa", "kind": "sft", "confidence": 3, "license": "AFL-3.0", "hub_id": "ybisk/piqa",
        "ref": PARQUET, "revision": None, "config": "default", "split": "train", "data_files": None, "hub_reads": None}
    assert entries["emobank"]["hub_id"] is None and entries["emobank"]["hub_reads"] == []
    assert [read["hub_id"] for read in entries["airoboros"]["hub_reads"]] == [
        "unalignment/spicy-3.1", "jondurbin/airoboros-gpt4-m2.0"]


@pytest.mark.parametrize("kind", sorted(ERRORS))
def test_hub_errors_become_one_line_with_cause_and_remedy(monkeypatch, kind):
    hub_id = "lmsys/lmsys-chat-1m"
    FakeHub(monkeypatch, errors={hub_id: ERRORS[kind](hub_id)})
    with pytest.raises(HubUnavailable) as caught:
        read_everything(registry()["lmsys_chat_1m"])
    err = caught.value
    assert (err.hub_id, err.cause) == (hub_id, CAUSE[kind])
    assert classify(ERRORS[kind](hub_id)) == CAUSE[kind]
    message = str(err.for_source("lmsys_chat_1m"))
    assert message.startswith(f"source lmsys_chat_1m: {hub_id} ")
    assert "\n" not in message and "enabled: false" in message
    remedy = {"gated": "set HF_TOKEN", "not_found": "check the hub id", "revision_not_found": "`revision:`",
              "unreachable": "check the network"}[CAUSE[kind]]
    assert remedy in message
    if CAUSE[kind] == "gated":
        assert f"https://huggingface.co/datasets/{hub_id}" in message


def test_unavailable_pickles_with_its_source():
    import pickle

    err = unavailable("a/b", None, ERRORS["gated"]("a/b")).for_source("x")
    again = pickle.loads(pickle.dumps(err))
    assert (str(again), again.source, again.cause) == (str(err), "x", "gated")


def test_a_connection_lost_while_streaming_is_unreachable(monkeypatch):
    import datasets
    import httpx

    def rows():
        yield {"goal": "g", "sol1": "a", "sol2": "b", "label": 0}
        raise httpx.ReadTimeout("The read operation timed out")

    monkeypatch.setattr(datasets, "load_dataset", lambda *args, **kwargs: rows())
    with pytest.raises(HubUnavailable) as caught:
        read_everything(registry()["piqa"])
    assert (caught.value.hub_id, caught.value.cause) == ("ybisk/piqa", "unreachable")
    assert "ReadTimeout: The read operation timed out" in str(caught.value)
