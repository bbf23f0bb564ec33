"""One build over every registered source, each pointed at its hub-schema fixture (through `path:`)."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import yaml

from bagel.config import load_recipe
from bagel.pipeline.build import run_build
from bagel.sources import registry

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sources"
# source: (rows read, records after convert, records in the final mix); mmlu's and winogrande's
# fixtures are real test-split rows, so decontamination removes them.
EXPECTED = {
    'ai2_arc': (4, 2, 2),
    'airoboros': (5, 4, 4),
    'apps': (4, 1, 1),
    'belebele': (3, 2, 2),
    'bluemoon': (3, 2, 2),
    'boolq': (3, 2, 2),
    'capybara': (3, 2, 2),
    'cinematika': (12, 4, 4),
    'drop': (3, 2, 2),
    'emobank': (4, 2, 2),
    'gutenberg': (6, 147, 147),
    'helpsteer': (17, 3, 3),
    'lmsys_chat_1m': (16, 4, 4),
    'mathinstruct': (3, 2, 2),
    'mmlu': (4, 2, 0),
    'natural_instructions': (5, 4, 4),
    'openbookqa': (2, 1, 1),
    'orca_dpo_pairs': (5, 2, 2),
    'pippa': (6, 1, 1),
    'piqa': (4, 3, 3),
    'python_alpaca': (4, 1, 1),
    'rosetta_code': (4, 2, 2),
    'slimorca': (4, 2, 2),
    'spider': (3, 2, 2),
    'squad_v2': (4, 3, 3),
    'synthia': (7, 3, 3),
    'toxic-dpo': (4, 2, 2),
    'truthy-dpo': (3, 2, 2),
    'ultrafeedback': (7, 1, 1),
    'winogrande': (3, 2, 0),
}


def _fixture(name: str) -> Path:
    source = registry()[name]
    module = (source.convert_row or source.convert_rows).__module__.rsplit(".", 1)[1]
    return next(p for p in FIXTURES.iterdir() if p.name.split(".")[0] == module and ".older" not in p.name)


def test_every_source_builds_together(tmp_path):
    sources = [{"name": name, "path": str(_fixture(name))} for name in registry()]
    for entry in sources:
        if entry["name"] == "airoboros":
            entry["options"] = {"older_path": str(FIXTURES / "airoboros.older.jsonl")}
    recipe = tmp_path / "all.yaml"
    recipe.write_text(yaml.safe_dump({"name": "all", "sources": sources, "decontamination": {"preset": "ngram"}}))
    report = run_build(load_recipe(recipe), tmp_path / "out")
    got = {
        name: (info["steps"]["convert"]["in"], info["steps"]["convert"]["kept"], info["steps"]["decontam"]["kept"])
        for name, info in report["sources"].items()
    }
    assert got == EXPECTED
    assert list(report["sources"])[:2] == ["ai2_arc", "boolq"]  # load order: confidence, then name
    assert report["outputs"] == {"records": 208, "sft": 360, "dpo": 52}
    assert pq.read_metadata(tmp_path / "out" / "records.parquet").num_rows == 208
    assert report["decontamination"]["by_source"] == {"mmlu": {"mmlu": 2}, "winogrande": {"winogrande": 2}}
