"""Real input, nothing lost silently: bad rows counted to the report, loud failures, one build per out
dir, and no local path in what a build publishes."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast
from typer.testing import CliRunner

from bagel.cli import app
from bagel.config import load_recipe
from bagel.pipeline.build import run_build
from tests.pipeline.helpers import qa, write_jsonl, write_recipe

runner = CliRunner()


def _instruction_source(name: str, **extra) -> dict:
    return {"name": name, "shape": "instruction", "path": f"data/{name}.jsonl", "confidence": 2, **extra}


def _build(tmp_path, sources, **extra):
    recipe = write_recipe(tmp_path / "r.yaml", sources, format={"mode": "random", "formats": ["alpaca"]}, **extra)
    return runner.invoke(app, ["-q", "build", str(recipe), "--out", str(tmp_path / "out")])


def _report(tmp_path) -> dict:
    return json.loads((tmp_path / "out" / "report.json").read_text())


# --- point 2: bad rows are counted where every other drop is -------------------------------------


def test_undecodable_line_counts_as_malformed_encoding_in_the_report(tmp_path):
    path = write_jsonl(tmp_path / "data" / "a.jsonl", [qa("q1", "a1"), qa("q2", "a2")])
    path.write_bytes(path.read_bytes() + b'{"instruction": "caf\xe9", "output": "x"}\n')
    result = _build(tmp_path, [_instruction_source("a")])
    assert result.exit_code == 0, result.output
    convert = _report(tmp_path)["sources"]["a"]["steps"]["convert"]
    assert (convert["in"], convert["kept"], convert["dropped"]) == (3, 2, {"malformed:encoding": 1})


def test_row_arrow_cannot_encode_is_malformed_alone(tmp_path):
    write_jsonl(tmp_path / "data" / "a.jsonl", [
        qa("q1", "a1"),
        '{"instruction": "q2", "output": "lone surrogate \\ud800"}',  # valid JSON, not encodable as UTF-8
        qa("q3", "a3"),
    ])
    result = _build(tmp_path, [_instruction_source("a")])
    assert result.exit_code == 0, result.output
    convert = _report(tmp_path)["sources"]["a"]["steps"]["convert"]
    assert (convert["in"], convert["kept"], convert["dropped"]) == (3, 2, {"malformed:arrow_encoding": 1})


# --- point 3: loud failures ------------------------------------------------------------------------


def test_source_that_converted_nothing_fails_the_build_naming_file_reasons_and_an_example(tmp_path):
    write_jsonl(tmp_path / "data" / "good.jsonl", [qa("q1", "a1")])
    write_jsonl(tmp_path / "data" / "bad" / "part-0.jsonl", ["{broken", "{also broken " + "x" * 500, {"output": "o"}])
    result = _build(tmp_path, [_instruction_source("good"),
                               {**_instruction_source("bad"), "path": "data/bad"}])
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: source bad: read 3 rows from {tmp_path / 'data' / 'bad'} but converted none (malformed:invalid_json=2, "
        "malformed:missing_field:instruction=1); e.g. part-0.jsonl: {broken; fix the input or set "
        "`allow_empty: true` on the source\n"
    )
    assert not (tmp_path / "out" / "report.json").exists()


def test_allow_empty_turns_the_failure_into_a_warning(tmp_path, caplog):
    write_jsonl(tmp_path / "data" / "good.jsonl", [qa("q1", "a1")])
    write_jsonl(tmp_path / "data" / "bad.jsonl", ["{broken"])
    recipe = write_recipe(tmp_path / "r.yaml", [_instruction_source("good"),
                                                _instruction_source("bad", allow_empty=True)])
    report = run_build(load_recipe(recipe), tmp_path / "out")
    message = ("source bad: read 1 rows from data/bad.jsonl but converted none (malformed:invalid_json=1); "
               "e.g. bad.jsonl: {broken")
    assert report["sources"]["bad"]["warnings"] == [message]
    assert report["sources"]["good"]["warnings"] == []
    assert message in caplog.text
    assert report["outputs"]["records"] == 1


@pytest.mark.parametrize(("recipe_limit", "source_limit", "warned"), [(None, None, True), (0.5, None, False),
                                                                      (0.5, 0.2, True)])
def test_more_malformed_rows_than_max_malformed_warns_in_log_summary_and_report(tmp_path, recipe_limit,
                                                                               source_limit, warned):
    write_jsonl(tmp_path / "data" / "a.jsonl", [qa("q1", "a1"), qa("q2", "a2"), qa("q3", "a3"), "{broken"])
    extra = {} if recipe_limit is None else {"max_malformed": recipe_limit}
    source = _instruction_source("a", **({} if source_limit is None else {"max_malformed": source_limit}))
    result = _build(tmp_path, [source], **extra)
    assert result.exit_code == 0, result.output
    limit = source_limit or recipe_limit or 0.1
    message = (f"source a: 1 of 4 rows malformed (25.0%, over max_malformed {limit:.0%}): malformed:invalid_json=1; "
               "e.g. a.jsonl: {broken")
    report = _report(tmp_path)
    assert report["sources"]["a"]["warnings"] == ([message] if warned else [])
    assert (message in result.stderr) is warned  # the log
    assert (f"warning: {message}" in " ".join(result.stdout.split())) is warned  # the summary
    html = (tmp_path / "out" / "report.html").read_text()
    assert ("over max_malformed" in html) is warned


@pytest.mark.parametrize(("name", "options", "message"), [
    ("gutenberg", "{books: [1342, 98]}", "source gutenberg: option books must be a mapping (got a list)"),
    ("airoboros", "{older_file: [a, b]}", "source airoboros: option older_file must be a string (got a list)"),
    ("pippa", "{min_turns: {a: 1}}", "source pippa: option min_turns must be an integer (got a mapping)"),
    ("pippa", "{keep_probability: yes}", "source pippa: option keep_probability must be a number (got a boolean)"),
])
def test_wrong_option_type_is_a_recipe_error(tmp_path, name, options, message):
    (tmp_path / "r.yaml").write_text(f"name: x\nsources: [{{name: {name}, options: {options}}}]\n")
    result = runner.invoke(app, ["build", str(tmp_path / "r.yaml"), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_int_option_accepted_where_a_float_is_the_default(tmp_path):
    (tmp_path / "r.yaml").write_text("name: x\nsources: [{name: pippa, options: {keep_probability: 1}}]\n")
    assert load_recipe(tmp_path / "r.yaml").sources[0].options == {"keep_probability": 1}


# --- point 4: one build per out dir --------------------------------------------------------------


HOLD_LOCK = """
import sys, time
from pathlib import Path
from bagel.pipeline.lock import out_dir_lock
with out_dir_lock(Path(sys.argv[1])):
    print("held", flush=True)
    time.sleep(60)
"""


def _recipe_with_one_source(tmp_path):
    write_jsonl(tmp_path / "data" / "a.jsonl", [qa("q1", "a1")])
    return write_recipe(tmp_path / "r.yaml", [_instruction_source("a")])


def test_second_build_in_a_busy_out_dir_exits_2_naming_the_holder(tmp_path):
    recipe = _recipe_with_one_source(tmp_path)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(tmp_path / "out")], stdout=subprocess.PIPE,
                              env=env, text=True)
    try:
        assert holder.stdout.readline() == "held\n"
        result = runner.invoke(app, ["-q", "build", str(recipe), "--out", str(tmp_path / "out")])
    finally:
        holder.kill()
        holder.wait()
    assert result.exit_code == 2
    assert re.fullmatch(rf"error: out dir {re.escape(str(tmp_path / 'out'))} is in use by another build "
                        rf"\(pid {holder.pid} on {re.escape(socket.gethostname())} since [0-9T:+-]+\); wait for it "
                        r"or build into another --out\n", result.stderr), result.stderr
    assert not (tmp_path / "out" / "report.json").exists()


def test_stale_lock_of_a_killed_build_is_taken_over(tmp_path):
    recipe = _recipe_with_one_source(tmp_path)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / "out").mkdir()
    lock = {"pid": dead.pid, "host": socket.gethostname(), "started": "2026-01-01T00:00:00+00:00"}
    (tmp_path / "out" / ".bagel-build.lock").write_text(json.dumps(lock))
    result = runner.invoke(app, ["-q", "build", str(recipe), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert f"stale lock of build pid {dead.pid}" in result.stderr
    assert _report(tmp_path)["outputs"]["records"] == 1


def test_sequential_builds_in_one_out_dir(tmp_path):
    recipe = _recipe_with_one_source(tmp_path)
    for _ in range(2):
        result = runner.invoke(app, ["-q", "build", str(recipe), "--out", str(tmp_path / "out")])
        assert result.exit_code == 0, result.output


# --- point 6: no local path leaves the machine ----------------------------------------------------


def test_no_absolute_local_path_in_report_page_or_card(tmp_path):
    recipe_dir, elsewhere = tmp_path / "recipes", tmp_path / "elsewhere"
    write_jsonl(recipe_dir / "data" / "a.jsonl", [qa("q1", "a1"), "{broken"])
    write_jsonl(elsewhere / "b.jsonl", [qa("q2", "a2")])
    (elsewhere / "bench.jsonl").write_text(json.dumps({"question": "What is the capital of Peru?"}) + "\n")
    tokenizer = Tokenizer(models.WordLevel({"[UNK]": 0}, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    PreTrainedTokenizerFast(tokenizer_object=tokenizer, unk_token="[UNK]").save_pretrained(elsewhere / "tok")
    recipe = write_recipe(recipe_dir / "r.yaml", [
        _instruction_source("a"),
        {"name": "b", "shape": "instruction", "path": str(elsewhere / "b.jsonl"), "confidence": 1},
    ], decontamination={"preset": "ngram", "cache_dir": str(tmp_path / "decontam-cache"),
                        "benchmarks": [{"name": "mine", "path": str(elsewhere / "bench.jsonl"),
                                        "fields": ["question"]}]},
        format={"mode": "random", "formats": ["alpaca"], "tokenizer": str(elsewhere / "tok")})
    result = runner.invoke(app, ["-q", "build", str(recipe), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    report = _report(tmp_path)
    assert [s["path"] for s in report["recipe_config"]["sources"]] == ["data/a.jsonl", "../elsewhere/b.jsonl"]
    assert report["recipe_config"]["decontamination"]["benchmarks"][0]["path"] == "../elsewhere/bench.jsonl"
    assert report["recipe_config"]["decontamination"]["cache_dir"] == "../decontam-cache"
    assert "tokenizer ../elsewhere/tok, no special tokens added" in (tmp_path / "out" / "report.html").read_text()
    local = {str(tmp_path), str(tmp_path.resolve()), str(Path.home()), os.getcwd()}
    for name in ("report.json", "report.html", "README.md"):
        text = (tmp_path / "out" / name).read_text()
        text = text + json.dumps(text)  # escaped forms too
        assert not [path for path in local if path in text], name
