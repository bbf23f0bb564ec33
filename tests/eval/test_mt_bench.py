"""MT-Bench answers in FastChat's answer-file format, both turns in one conversation."""

from __future__ import annotations

import json

import pytest

from bagel.errors import UserError
from bagel.eval.mt_bench import generate_mt_bench, load_questions


def test_bundled_questions():
    questions = load_questions()
    assert len(questions) == 80 and questions[0]["question_id"] == 81 and questions[0]["category"] == "writing"
    assert all(len(q["turns"]) == 2 for q in questions)


def test_answer_file_shape_and_carried_conversation(trained_dir, tmp_path, monkeypatch):
    import bagel.train.chat as chat

    seen, real = [], chat.generate_reply

    def spy(model, conversation, fmt, **kwargs):
        seen.append(([dict(turn) for turn in conversation], fmt))
        return real(model, conversation, fmt, **kwargs)

    monkeypatch.setattr(chat, "generate_reply", spy)
    path = generate_mt_bench(str(trained_dir), tmp_path, limit=2, max_new_tokens=3, model_id="tiny")
    assert path == tmp_path / "model_answer" / "tiny.jsonl"
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    questions = load_questions()[:2]
    assert [line["question_id"] for line in lines] == [81, 82]
    for line in lines:
        assert set(line) == {"question_id", "answer_id", "model_id", "choices", "tstamp"}
        assert line["model_id"] == "tiny" and len(line["answer_id"]) == 32 and isinstance(line["tstamp"], float)
        assert [choice["index"] for choice in line["choices"]] == [0]
        turns = line["choices"][0]["turns"]
        assert len(turns) == 2 and all(isinstance(turn, str) for turn in turns)
    # the second turn is asked after the first question and the model's first answer, in the trained format
    first, second = seen[0][0], seen[1][0]
    assert first == [{"from": "human", "value": questions[0]["turns"][0]}]
    assert second == first + [{"from": "gpt", "value": lines[0]["choices"][0]["turns"][0]},
                              {"from": "human", "value": questions[0]["turns"][1]}]
    assert {fmt for _, fmt in seen} == {"vicuna"} and len(seen) == 4


def test_untrained_model_needs_a_format(tmp_path):
    with pytest.raises(UserError, match="give the prompt format with --format"):
        generate_mt_bench(str(tmp_path), tmp_path)
