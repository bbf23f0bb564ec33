"""Training rows: format selection, skip counts, and the exact prompt mask of every format."""

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bagel.errors import UserError
from bagel.train.data import drop_rows, load_dpo_rows, load_sft_rows, resolve_special_strings
from bagel.train.sft import sft_trainer


def test_formats_filter_and_plain_text(sft_config, build_dir, tmp_path):
    # 20 single-exchange chats + 2 chats of 2 exchanges = 24 rows per format; 2 plain texts
    assert len(load_sft_rows(sft_config("m", build_dir, tmp_path, formats=["alpaca"], plain_text=False))) == 24
    assert len(load_sft_rows(sft_config("m", build_dir, tmp_path, formats=["alpaca", "llama2"]))) == 50
    rows = load_sft_rows(sft_config("m", build_dir, tmp_path))
    assert len(rows) == 98 and rows.column_names == ["prompt", "completion"]


def test_dpo_rows_per_format(build_dir, tmp_path):
    from bagel.train.config import DPOTrainConfig

    cfg = DPOTrainConfig(model="m", data=str(build_dir), output_dir=str(tmp_path), formats=["vicuna"])
    rows = load_dpo_rows(cfg)
    assert len(rows) == 12 and rows.column_names == ["prompt", "chosen", "rejected"]
    assert rows[0]["prompt"].endswith("\nASSISTANT: ")


def test_drop_rows_counts_each_row_under_its_first_reason():
    table = pa.table({"x": [1, 2, 3, 4]})
    flags = {"a": pa.chunked_array([[True, False, True, False]]), "b": pa.chunked_array([[True, True, False, False]])}
    kept, skipped = drop_rows(table, flags)
    assert kept["x"].to_pylist() == [4] and skipped == {"a": 2, "b": 1}


def test_bad_rows_are_counted_and_skipped(sft_config, tmp_path):
    rows = {
        "id": ["1", "2", "3", "4"],
        "source": ["s"] * 4,
        "format": ["alpaca", "alpaca", "zephyr", "alpaca"],
        "input": ["q1", "q2", "q3", "q4"],
        "output": ["a1", "  ", "a3", None],
    }
    pq.write_table(pa.table(rows), tmp_path / "sft.parquet")
    assert load_sft_rows(sft_config("m", tmp_path, tmp_path))["completion"] == ["a1"]


def test_missing_data_and_columns_are_user_errors(sft_config, tmp_path):
    with pytest.raises(UserError, match="training data not found"):
        load_sft_rows(sft_config("m", tmp_path, tmp_path))
    pq.write_table(pa.table({"id": ["1"], "input": ["q"]}), tmp_path / "sft.parquet")
    with pytest.raises(UserError, match="missing column\\(s\\) source, format, output"):
        load_sft_rows(sft_config("m", tmp_path, tmp_path))


def test_bos_eos_come_from_the_build_report(sft_config, build_dir, tmp_path):
    cfg = resolve_special_strings(sft_config("m", build_dir, tmp_path))
    assert (cfg.bos, cfg.eos, cfg.chatml_markers) == ("<s>", "</s>", False)
    cfg = resolve_special_strings(sft_config("m", build_dir, tmp_path, eos="<|end|>"))
    assert cfg.eos == "<|end|>"


def test_labels_are_masked_exactly_on_the_prompt_tokens(sft_config, tiny_model, build_dir, tmp_path):
    trainer, _ = sft_trainer(sft_config(tiny_model, build_dir, tmp_path, max_length=1024))
    tokenizer = trainer.processing_class
    table = pq.read_table(build_dir / "sft.parquet")
    formats = table["format"].to_pylist()
    assert len(trainer.train_dataset) == len(formats)  # nothing dropped, same order
    for fmt in ("alpaca", "vicuna", "chatml", "llama2", "plain_text"):
        i = formats.index(fmt)
        prompt, output = table["input"][i].as_py(), table["output"][i].as_py()
        row = trainer.train_dataset[i]
        prompt_ids = tokenizer(prompt)["input_ids"]
        n = len(prompt_ids)
        assert row["input_ids"][:n] == prompt_ids and prompt_ids[0] == tokenizer.bos_token_id
        assert row["labels"][:n] == [-100] * n
        assert row["labels"][n:] == row["input_ids"][n:]
        assert row["input_ids"][-1] == tokenizer.eos_token_id
        assert tokenizer.decode(row["input_ids"][n:-1]) == output


def test_chatml_bos_eos_strings_are_single_special_tokens(sft_config, tiny_model, build_dir, tmp_path):
    cfg = sft_config(tiny_model, build_dir, tmp_path, formats=["chatml"], plain_text=False, max_length=1024)
    trainer, _ = sft_trainer(cfg)
    tokenizer = trainer.processing_class
    for row, prompt in zip(trainer.train_dataset, load_sft_rows(cfg)["prompt"], strict=True):
        # every "</s>"/"<s>" string of the rendered prompt is one token; plus the trained EOS and the leading BOS
        assert row["input_ids"].count(tokenizer.eos_token_id) == prompt.count("</s>") + 1
        assert row["input_ids"].count(tokenizer.bos_token_id) == prompt.count("<s>") + 1
