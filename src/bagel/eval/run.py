"""``bagel eval``: score a model on the benchmarks with lm-evaluation-harness (``simple_evaluate``).

The tasks are written into a temporary include dir (:mod:`bagel.eval.taskfiles`), the model is
lm-eval's ``HFLM`` with the prompt format's chat template (:mod:`bagel.eval.model`), and lm-eval
does the rest: requests, batching, filters, metrics, standard errors. Under ``accelerate launch``
every process scores its share and only the main one returns the results.
"""

from __future__ import annotations

import importlib.metadata
import os
import tempfile
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

import bagel
from bagel.eval.taskfiles import DEFAULT_BENCHMARKS, select_tasks

VERSIONED = ("lm_eval", "transformers", "torch", "peft", "accelerate", "datasets")


class EvalOptions(BaseModel):
    """What ``bagel eval`` runs: the model and its prompt format, the tasks, and how."""

    model_config = ConfigDict(extra="forbid")

    model: str
    tasks: list[str] = Field(default_factory=lambda: list(DEFAULT_BENCHMARKS), min_length=1)
    fmt: str | None = None  # alpaca, vicuna, chatml, llama2; None: the model dir's default
    limit: float | None = Field(None, gt=0)  # items per task; below 1: a fraction
    device: str | None = None  # None: cuda when there is one (or accelerate's placement)
    batch_size: int | str = 1  # or "auto" / "auto:N"
    dtype: str = "auto"
    parallelize: bool = False  # split one copy of the model over the visible GPUs (too big for one)
    seed: int = 42
    use_hub: bool = False
    allow_code_execution: bool = False
    trust_remote_code: bool = False
    max_gen_toks: int | None = Field(None, gt=0)  # cap on generated tokens of generate-until tasks
    bootstrap_iters: int = Field(100_000, ge=0)

    @field_validator("batch_size")
    @classmethod
    def _batch_size(cls, value: int | str) -> int | str:
        """A positive integer, ``auto`` or ``auto:N``."""
        text = str(value)
        if text.isdigit() and int(text) > 0:
            return int(text)
        if text == "auto" or (text.startswith("auto:") and text[5:].replace(".", "", 1).isdigit()):
            return text
        raise ValueError(f"batch size must be a positive integer, auto or auto:N, not {value!r}")

    @property
    def lm_eval_limit(self) -> int | float | None:
        """lm-eval's ``limit``: an item count, or a fraction when below 1."""
        return None if self.limit is None else self.limit if self.limit < 1 else int(self.limit)


def versions() -> dict[str, str]:
    """Versions of bagel and of the libraries that shape the scores."""
    found = {"bagel": bagel.__version__}
    for name in VERSIONED:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return found


def _environment(options: EvalOptions) -> None:
    """No hub access unless ``use_hub``; lm-eval's code-execution switch only with ``allow_code_execution``."""
    if not options.use_hub and "HF_HUB_OFFLINE" not in os.environ:
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
        import huggingface_hub.constants

        huggingface_hub.constants.HF_HUB_OFFLINE = True  # read at its import, which may have happened already
    if options.allow_code_execution:
        os.environ["HF_ALLOW_CODE_EVAL"] = "1"


def run_eval(options: EvalOptions) -> dict | None:
    """Score ``options.model``; lm-eval's results (with its per-sample log under ``samples``) plus ``bagel``:
    the model, format, chat template, tasks and their sources, limit, seed and versions. None on
    processes other than the main one."""
    _environment(options)
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    from bagel.eval.model import make_lm, resolve_model

    with tempfile.TemporaryDirectory(prefix="bagel-eval-") as include_dir:
        selection = select_tasks(options.tasks, Path(include_dir), use_hub=options.use_hub,
                                 allow_code_execution=options.allow_code_execution)
        model = resolve_model(options.model, options.fmt, options.trust_remote_code)
        lm = make_lm(model, device=options.device, batch_size=options.batch_size, dtype=options.dtype,
                     parallelize=options.parallelize, trust_remote_code=options.trust_remote_code)
        chat = model.template is not None
        results = simple_evaluate(
            model=lm,
            tasks=selection.tasks,
            task_manager=TaskManager(include_path=include_dir, include_defaults=options.use_hub),
            limit=options.lm_eval_limit,
            bootstrap_iters=options.bootstrap_iters,
            gen_kwargs=f"max_gen_toks={options.max_gen_toks}" if options.max_gen_toks else None,
            apply_chat_template=chat,
            fewshot_as_multiturn=chat,
            random_seed=options.seed,
            numpy_random_seed=options.seed,
            torch_random_seed=options.seed,
            fewshot_random_seed=options.seed,
            confirm_run_unsafe_code=options.allow_code_execution,
            log_samples=True,
        )
    if results is None:
        return None
    results["bagel"] = {
        "model": options.model,
        "base_model": model.base,
        "adapter": model.adapter,
        "format": model.fmt,
        "chat_template": model.template,
        "tasks": selection.tasks,
        "requested": options.tasks,
        "task_sources": selection.sources,
        "skipped": selection.skipped,
        "limit": options.lm_eval_limit,
        "max_gen_toks": options.max_gen_toks,
        "seed": options.seed,
        "device": str(lm.device),
        "batch_size": options.batch_size,
        "dtype": options.dtype,
        "parallelize": options.parallelize,
        "use_hub": options.use_hub,
        "versions": versions(),
    }
    return results
