"""``bagel eval --generate mt_bench``: answer the MT-Bench questions for judging elsewhere (no API calls).

Writes FastChat's answer file (``fastchat/llm_judge/data/mt_bench/model_answer/<model_id>.jsonl``
layout): one line per question with ``question_id``, ``answer_id``, ``model_id``,
``choices: [{index, turns}]`` and ``tstamp``. Both turns are answered in one conversation (the
first answer is in the prompt of the second), rendered in the bagel format, by the project's
generation code (:mod:`bagel.train.chat`). Sampling temperatures per category are FastChat's.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

from bagel.benchmarks import REGISTRY
from bagel.benchmarks.files import read_rows
from bagel.benchmarks.registry import bundled_path
from bagel.errors import UserError
from bagel.log import logger, progress
from bagel.atomic import atomic_write_bytes

ANSWER_DIR = "model_answer"
# FastChat llm_judge/common.py ``temperature_config`` (from memory: unverified offline); others greedy.
TEMPERATURES = {"writing": 0.7, "roleplay": 0.7, "extraction": 0.0, "math": 0.0, "coding": 0.0,
                "reasoning": 0.0, "stem": 0.1, "humanities": 0.1}
ANSWER_NAMESPACE = uuid.UUID("6f1d2a0e-5b7c-4c1e-9a51-2f3b8d9e7c40")


def load_questions(path: Path | None = None) -> list[dict]:
    """The MT-Bench questions (``question_id``, ``category``, ``turns``): ``path`` or the bundled copy."""
    source = path or bundled_path(REGISTRY["mt_bench"])
    rows = read_rows(Path(source))
    questions = [row for row in rows if isinstance(row.get("turns"), list) and row.get("question_id") is not None]
    if len(questions) < len(rows):
        logger.warning("mt_bench: %d of %d rows lack question_id or turns, skipped", len(rows) - len(questions),
                       len(rows))
    if not questions:
        raise UserError(f"no MT-Bench questions in {source}")
    return questions


def answer(chat, question: dict, fmt: str, max_new_tokens: int, seed: int) -> list[str]:
    """Answer every turn of ``question`` in one conversation; return the answers."""
    import torch

    from bagel.train.chat import generate_reply

    torch.manual_seed(seed)
    temperature = TEMPERATURES.get(question.get("category"), 0.0)
    conversation, answers = [], []
    for turn in question["turns"]:
        conversation.append({"from": "human", "value": turn})
        reply = generate_reply(chat, conversation, fmt, max_new_tokens=max_new_tokens, temperature=temperature,
                               stream=False)
        conversation.append({"from": "gpt", "value": reply})
        answers.append(reply)
    return answers


def answer_record(question: dict, model_id: str, turns: list[str]) -> dict:
    """One line of FastChat's answer file; the answer id is derived from model, question and answers."""
    key = json.dumps([model_id, question["question_id"], turns], ensure_ascii=False)
    return {"question_id": question["question_id"], "answer_id": uuid.uuid5(ANSWER_NAMESPACE, key).hex,
            "model_id": model_id, "choices": [{"index": 0, "turns": turns}], "tstamp": time.time()}


def generate_mt_bench(model: str, out_dir: Path, *, fmt: str | None = None, model_id: str | None = None,
                      limit: int | None = None, max_new_tokens: int = 1024, seed: int = 42,
                      questions_path: Path | None = None) -> Path:
    """Answer the MT-Bench questions with ``model`` in ``fmt``; write ``out_dir/model_answer/<model_id>.jsonl``."""
    from bagel.eval.model import default_format
    from bagel.formats.registry import get_format
    from bagel.train.chat import load_chat_model

    fmt = fmt or default_format(model)
    if fmt is None:
        raise UserError(f"{model} was not trained by bagel: give the prompt format with --format")
    get_format(fmt)
    questions = load_questions(questions_path)[:limit]
    model_id = model_id or Path(model).resolve().name
    chat = load_chat_model(model)
    lines = [answer_record(q, model_id, answer(chat, q, fmt, max_new_tokens, seed))
             for q in progress(questions, "mt_bench", unit="questions")]
    path = Path(out_dir) / ANSWER_DIR / f"{model_id}.jsonl"
    atomic_write_bytes(path, "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines).encode("utf-8"))
    logger.info("mt_bench: %d answers by %s in %s -> %s", len(lines), model_id, fmt, path)
    return path
