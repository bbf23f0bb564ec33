"""The format, chat-template and render commands."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
from tests.formats.format_helpers import sft_record
from typer.testing import CliRunner

from bagel.cli import app
from bagel.formats import DPO_SCHEMA, SFT_SCHEMA, chat_template
from bagel.records import record, to_table

runner = CliRunner()
RECORDS = [
    sft_record("a", "Hi", "Hello", source="chats"),
    sft_record("b", "q1", "r1", "q2", "r2", source="chats"),
    record("sft", id="bad", source="chats", conversations=[{"from": "gpt", "value": "x"}]),
    record("dpo", id="d", source="prefs", prompt="p", chosen="c", rejected="r"),
    record("text", id="t", source="books", text="words"),
]


def _check_outputs(out_dir, sft_rows: int, dpo_rows: int) -> None:
    sft, dpo = pq.read_table(out_dir / "sft.parquet"), pq.read_table(out_dir / "dpo.parquet")
    assert (sft.schema, dpo.schema) == (SFT_SCHEMA, DPO_SCHEMA)
    assert (sft.num_rows, dpo.num_rows) == (sft_rows, dpo_rows)
    assert sorted(p.name for p in out_dir.iterdir()) == ["dpo.parquet", "sft.parquet"]


def test_format_parquet_every_mode(tmp_path):
    pq.write_table(to_table(RECORDS), tmp_path / "records.parquet")
    result = runner.invoke(app, ["-q", "format", str(tmp_path / "records.parquet"), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "sft: 13 (alpaca 3, chatml 3, llama2 3, plain_text 1, vicuna 3)",
        "dpo: 4 (alpaca 1, chatml 1, llama2 1, vicuna 1)",
        "dropped: 1 (malformed:roles_do_not_alternate 1)",
    ]
    _check_outputs(tmp_path / "out", 13, 4)


def test_format_jsonl_slices_two_formats(tmp_path):
    lines = [json.dumps(r) for r in RECORDS] + ["{not json"]
    (tmp_path / "records.jsonl").write_text("\n".join(lines) + "\n")
    args = ["-q", "format", str(tmp_path / "records.jsonl"), "--out", str(tmp_path / "out"), "--mode", "slices"]
    result = runner.invoke(app, args + ["--formats", "vicuna,llama2", "--seed", "3", "--bos", "[B]", "--eos", "[E]"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[2] == "dropped: 2 (malformed:invalid_json 1, malformed:roles_do_not_alternate 1)"
    _check_outputs(tmp_path / "out", 4, 1)  # a, b's two turns, the text; the pair in one of two formats


def test_format_user_errors(tmp_path):
    result = runner.invoke(app, ["format", str(tmp_path / "none.parquet"), "--out", str(tmp_path)])
    assert (result.exit_code, result.output) == (2, f"error: file not found: {tmp_path / 'none.parquet'}\n")
    (tmp_path / "r.jsonl").write_text("{}\n")
    result = runner.invoke(app, ["format", str(tmp_path / "r.jsonl"), "--out", str(tmp_path), "--mode", "sometimes"])
    assert result.exit_code == 2 and result.output.startswith("error: invalid format option mode:")


def test_chat_template_command():
    result = runner.invoke(app, ["chat-template", "chatml", "--bos", "<b>", "--eos", "<e>"])
    assert (result.exit_code, result.output) == (0, chat_template("chatml", bos="<b>", eos="<e>") + "\n")
    result = runner.invoke(app, ["chat-template", "chatml", "--chatml-markers"])
    assert result.output == chat_template("chatml", chatml_markers=True) + "\n"
    assert runner.invoke(app, ["chat-template", "orca"]).exit_code == 2


def test_render_command():
    conversation = [
        {"role": "system", "content": "Old."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello"},
        {"role": "user", "content": "Bye"},
    ]
    result = runner.invoke(app, ["render", "--format", "llama2", "--system", "New."], input=json.dumps(conversation))
    assert (result.exit_code, result.output) == (0, "[INST] <<SYS>>\nNew.\n<</SYS>>\n\nHi [/INST] Hello </s><s>[INST] Bye [/INST]")
    turns = [{"from": "human", "value": "Hi"}]
    result = runner.invoke(app, ["render", "--format", "chatml", "--chatml-markers"], input=json.dumps(turns))
    assert result.output == "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"


def test_render_command_errors():
    ends_with_gpt = [{"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Hello"}]
    result = runner.invoke(app, ["render", "--format", "vicuna"], input=json.dumps(ends_with_gpt))
    assert (result.exit_code, result.output) == (2, "error: cannot render this conversation: malformed:does_not_end_with_human\n")
    result = runner.invoke(app, ["render", "--format", "vicuna"], input="[1, 2]")
    assert result.exit_code == 2 and "JSON list" in result.output
