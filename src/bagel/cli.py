"""The ``bagel`` command line: one small function per command, each delegating to its module.

Errors a user can fix (bad recipe, missing file, unknown name) are raised as
:class:`bagel.errors.UserError` and printed as one line with exit code 2.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Optional

import typer

from bagel import log
from bagel.errors import UserError

app = typer.Typer(
    help="Build a clean multi-format instruction-tuning mix (SFT + DPO) and fine-tune on it.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def main(
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only warnings and errors; no progress bars.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False,
) -> None:
    """bagel: a bagel, with everything."""
    log.configure(quiet=quiet, verbose=verbose)


def user_errors(fn: Callable) -> Callable:
    """Turn a :class:`UserError` into a one-line message on stderr and exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except UserError as err:
            typer.echo(f"error: {err}", err=True)
            raise typer.Exit(2) from None

    return wrapper


# --- build -------------------------------------------------------------------------------------


@app.command()
@user_errors
def build(
    recipe: Annotated[Path, typer.Argument(help="Recipe YAML.")],
    out: Annotated[Optional[Path], typer.Option(help="Output dir (default out/<recipe name>).")] = None,
    seed: Annotated[Optional[int], typer.Option(help="Override the recipe seed.")] = None,
    workers: Annotated[int, typer.Option(help="Worker processes for the local engine.")] = 1,
    engine: Annotated[str, typer.Option(help="local or ray.")] = "local",
    dedup_memory_mb: Annotated[int, typer.Option(min=1, help="Memory for the dedup seen-set before it spills to "
                                                  "disk (8 bytes per id).")] = 512,
    frozen: Annotated[bool, typer.Option("--frozen", help="Refuse hub sources the recipe's lock file does not "
                                         "pin to a commit (see `bagel lock`).")] = False,
    skip_unavailable: Annotated[bool, typer.Option("--skip-unavailable", help="Build without hub sources that "
                                                   "are gated, missing or unreachable; the report lists them.")] = False,
) -> None:
    """Build the mix described by RECIPE: load, convert, dedup, filter, decontaminate, render, write.

    Hub sources read the commits pinned in RECIPE's lock file (RECIPE.lock.yaml) when it exists.
    """
    from bagel.config import load_recipe
    from bagel.lock import apply_lock, check_pins, lock_path, read_lock
    from bagel.pipeline.build import run_build
    from bagel.report import print_summary

    cfg = load_recipe(recipe)
    if seed is not None:
        cfg = cfg.model_copy(update={"seed": seed})
    if lock_path(recipe).exists():
        apply_lock(cfg, read_lock(lock_path(recipe)))
    check_pins(cfg, recipe, frozen=frozen)
    out_dir = out or Path("out") / cfg.name
    report = run_build(cfg, out_dir, workers=workers, engine=engine, memory_budget=dedup_memory_mb << 20,
                       skip_unavailable=skip_unavailable)
    print_summary(report)


@app.command()
@user_errors
def lock(
    recipe: Annotated[Path, typer.Argument(help="Recipe YAML.")],
    skip_unavailable: Annotated[bool, typer.Option("--skip-unavailable", help="Leave sources the hub refuses "
                                                   "(gated, missing) unpinned instead of failing.")] = False,
) -> None:
    """Pin every hub source of RECIPE to the hub's current commit, in RECIPE.lock.yaml beside it (needs network)."""
    from bagel.config import load_recipe
    from bagel.lock import lock_path, make_lock, write_lock

    cfg = load_recipe(recipe)
    data = make_lock(cfg, Path(recipe).name, skip_unavailable=skip_unavailable)
    write_lock(lock_path(recipe), data)
    reads = sum(len(entries) for entries in data["sources"].values())
    typer.echo(f"wrote {lock_path(recipe)}: {len(data['sources'])} sources, {reads} hub reads pinned")


@app.command()
def sources(
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list (name, kind, hub_id, revision, config, "
                                          "split, data_files, license, confidence, hub_reads).")] = False,
) -> None:
    """List the registered sources: name, kind, confidence, hub id."""
    from bagel.sources import print_sources, sources_json

    if as_json:
        typer.echo(sources_json())
    else:
        print_sources()


@app.command()
@user_errors
def report(
    out_dir: Annotated[Path, typer.Argument(help="A build's output dir (holds report.json).")],
) -> None:
    """Regenerate report.html and the dataset card README.md of a build from its outputs (same bytes)."""
    from bagel.report import write_views

    write_views(out_dir)
    typer.echo(f"wrote {out_dir / 'report.html'} and {out_dir / 'README.md'}")


@app.command()
@user_errors
def push(
    out_dir: Annotated[Path, typer.Argument(help="A build's output dir.")],
    repo_id: Annotated[str, typer.Argument(help="Hub dataset repo, e.g. user/bagel-mix.")],
    private: Annotated[bool, typer.Option("--private", help="Create the repo as private.")] = False,
) -> None:
    """Upload a build's outputs (not its cache) to a Hugging Face dataset repo; needs network and a token."""
    from bagel.report.push import push as push_build

    typer.echo(push_build(out_dir, repo_id, private=private))


# --- formats -----------------------------------------------------------------------------------


@app.command("format")
@user_errors
def format_records(
    records: Annotated[Path, typer.Argument(help="records.parquet or .jsonl of unified records.")],
    out: Annotated[Path, typer.Option(help="Output dir for sft.parquet and dpo.parquet.")],
    mode: Annotated[Optional[str], typer.Option(help="every, slices or random.")] = None,
    formats: Annotated[Optional[str], typer.Option(help="Comma-separated, e.g. alpaca,vicuna,chatml,llama2.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of every per-item choice.")] = 42,
    bos: Annotated[Optional[str], typer.Option(help="BOS string.")] = None,
    eos: Annotated[Optional[str], typer.Option(help="EOS string.")] = None,
    tokenizer: Annotated[Optional[str], typer.Option(help="Local tokenizer dir to read BOS/EOS from.")] = None,
    chatml_markers: Annotated[bool, typer.Option(help="Real <|im_start|>/<|im_end|> chatml markers.")] = False,
) -> None:
    """Render a records file into sft.parquet / dpo.parquet in the chosen prompt formats."""
    from bagel.formats.files import format_file
    from bagel.formats.options import options_from_flags

    options = options_from_flags(
        mode=mode,
        formats=formats.split(",") if formats else None,
        bos=bos,
        eos=eos,
        tokenizer=tokenizer,
        chatml_markers=chatml_markers,
    )
    sft, dpo, dropped = format_file(records, out, options, seed)
    for table, counts in (("sft", sft), ("dpo", dpo), ("dropped", dropped)):
        detail = ", ".join(f"{name} {count}" for name, count in sorted(counts.items()))
        typer.echo(f"{table}: {sum(counts.values())}" + (f" ({detail})" if detail else ""))


@app.command("chat-template")
@user_errors
def chat_template(
    fmt: Annotated[str, typer.Argument(metavar="FORMAT", help="alpaca, vicuna, chatml or llama2.")],
    bos: Annotated[str, typer.Option(help="BOS string.")] = "<s>",
    eos: Annotated[str, typer.Option(help="EOS string.")] = "</s>",
    chatml_markers: Annotated[bool, typer.Option(help="Real <|im_start|>/<|im_end|> chatml markers.")] = False,
) -> None:
    """Print the Jinja chat template of FORMAT (for tokenizer_config.json)."""
    from bagel.formats import chat_template as template

    typer.echo(template(fmt, bos=bos, eos=eos, chatml_markers=chatml_markers))


@app.command()
@user_errors
def render(
    fmt: Annotated[str, typer.Option("--format", help="alpaca, vicuna, chatml or llama2.")],
    system: Annotated[Optional[str], typer.Option(help="System prompt (replaces any in the conversation).")] = None,
    bos: Annotated[str, typer.Option(help="BOS string.")] = "<s>",
    eos: Annotated[str, typer.Option(help="EOS string.")] = "</s>",
    chatml_markers: Annotated[bool, typer.Option(help="Real <|im_start|>/<|im_end|> chatml markers.")] = False,
) -> None:
    """Print the prompt for a conversation read as JSON from stdin (list of {from,value} or {role,content})."""
    import json

    from bagel.formats import render_prompt

    try:
        conversation = json.loads(sys.stdin.read())
    except json.JSONDecodeError as err:
        raise UserError(f"stdin is not JSON: {err}") from None
    if not isinstance(conversation, list) or not all(isinstance(turn, dict) for turn in conversation):
        raise UserError("stdin must hold a JSON list of {from, value} or {role, content} objects")
    if system is not None:
        conversation = [{"from": "system", "value": system}] + [
            turn for turn in conversation if turn.get("from", turn.get("role")) != "system"
        ]
    typer.echo(render_prompt(conversation, fmt, bos=bos, eos=eos, chatml_markers=chatml_markers), nl=False)


# --- train, chat, generate ---------------------------------------------------------------------

train_app = typer.Typer(help="Fine-tune on a build with TRL + PEFT: SFT, then DPO.", no_args_is_help=True)
app.add_typer(train_app, name="train")


@train_app.command("sft")
@user_errors
def train_sft(config: Annotated[Path, typer.Argument(help="SFT config YAML (see configs/).")]) -> None:
    """Supervised fine-tuning described by CONFIG: loss on the responses only."""
    from bagel.train.config import SFTTrainConfig, load_train_config
    from bagel.train.sft import run_sft

    typer.echo(f"saved {run_sft(load_train_config(config, SFTTrainConfig))}")


@train_app.command("dpo")
@user_errors
def train_dpo(config: Annotated[Path, typer.Argument(help="DPO config YAML (see configs/).")]) -> None:
    """Preference tuning (DPO) described by CONFIG, usually starting from the SFT output."""
    from bagel.train.config import DPOTrainConfig, load_train_config
    from bagel.train.dpo import run_dpo

    typer.echo(f"saved {run_dpo(load_train_config(config, DPOTrainConfig))}")


@train_app.command("tiny-model")
@user_errors
def train_tiny_model(
    out: Annotated[Path, typer.Argument(help="Output model dir.")],
    data: Annotated[Path, typer.Option(help="Build output dir whose rows train the tokenizer.")],
    vocab_size: Annotated[int, typer.Option(help="BPE vocabulary size.")] = 2048,
    hidden_size: Annotated[int, typer.Option(help="Hidden size of the model.")] = 64,
    layers: Annotated[int, typer.Option(help="Number of transformer layers.")] = 2,
) -> None:
    """Make a tiny random-weight Llama with a BPE tokenizer trained on a build (offline demos and tests)."""
    from bagel.train.tiny import make_tiny_model_for_build

    make_tiny_model_for_build(out, data, vocab_size=vocab_size, hidden_size=hidden_size, layers=layers)
    typer.echo(f"saved {out}")


@app.command()
@user_errors
def chat(
    model: Annotated[str, typer.Argument(help="Model dir, PEFT adapter dir or hub name.")],
    fmt: Annotated[str, typer.Option("--format", help="alpaca, vicuna, chatml or llama2.")] = "chatml",
    system: Annotated[Optional[str], typer.Option(help="System prompt.")] = None,
    max_new_tokens: Annotated[int, typer.Option(help="Longest reply, in tokens.")] = 256,
    temperature: Annotated[float, typer.Option(help="Sampling temperature; 0 = greedy.")] = 0.7,
) -> None:
    """Chat with MODEL in a prompt format, replies streamed (/reset starts over, /exit or Ctrl-D quits)."""
    from bagel.formats.registry import get_format
    from bagel.train.chat import chat_loop, load_chat_model

    get_format(fmt)  # an unknown format fails before the model loads
    chat_loop(load_chat_model(model), fmt, system, max_new_tokens=max_new_tokens, temperature=temperature)


@app.command()
@user_errors
def generate(
    model: Annotated[str, typer.Argument(help="Model dir, PEFT adapter dir or hub name.")],
    prompt: Annotated[str, typer.Option(help="The user message.")],
    fmt: Annotated[str, typer.Option("--format", help="alpaca, vicuna, chatml or llama2.")] = "chatml",
    system: Annotated[Optional[str], typer.Option(help="System prompt.")] = None,
    max_new_tokens: Annotated[int, typer.Option(help="Longest reply, in tokens.")] = 256,
    temperature: Annotated[float, typer.Option(help="Sampling temperature; 0 = greedy.")] = 0.0,
) -> None:
    """Answer one PROMPT with MODEL in a prompt format, streamed to stdout."""
    from bagel.formats.registry import get_format
    from bagel.train.chat import generate_reply, load_chat_model

    get_format(fmt)  # an unknown format fails before the model loads
    conversation = ([{"from": "system", "value": system}] if system else []) + [{"from": "human", "value": prompt}]
    generate_reply(load_chat_model(model), conversation, fmt, max_new_tokens=max_new_tokens, temperature=temperature)
    typer.echo()


# --- decontaminate -----------------------------------------------------------------------------


@app.command()
@user_errors
def decontaminate(
    input_path: Annotated[Path, typer.Argument(metavar="INPUT", help="Unified records (.parquet or .jsonl).")],
    out: Annotated[Path, typer.Option(help="Kept records (.parquet or .jsonl).")],
    removed: Annotated[Optional[Path], typer.Option(help="Removal records, JSON Lines.")] = None,
    benchmark: Annotated[
        Optional[list[str]], typer.Option(help="NAME or NAME=PATH (repeatable); default: all bundled ones.")
    ] = None,
    preset: Annotated[str, typer.Option(help="default, ngram or bagel-original.")] = "default",
    use_hub: Annotated[bool, typer.Option(help="Load benchmarks with no local file from the hub.")] = False,
    cache_dir: Annotated[Optional[Path], typer.Option(help="Cache of models and benchmark embeddings.")] = None,
) -> None:
    """Remove training rows that match benchmark items; print a per-source x benchmark summary."""
    from pydantic import ValidationError

    from bagel.decontam import DecontamOptions
    from bagel.decontam.run import decontaminate_file, summary_lines

    try:
        options = DecontamOptions(benchmarks=benchmark or None, preset=preset, use_hub=use_hub, cache_dir=cache_dir)
    except ValidationError as err:
        raise UserError(f"bad decontamination option: {err.errors()[0]['msg']}") from None
    rows, counts = decontaminate_file(input_path, out, removed, options)
    for line in summary_lines(rows, counts):
        typer.echo(line)


# --- eval --------------------------------------------------------------------------------------


@app.command("eval")
@user_errors
def eval_model(
    model: Annotated[str, typer.Argument(help="Model dir, PEFT adapter dir or hub name (cached locally).")],
    tasks: Annotated[Optional[str], typer.Option(help="Comma-separated NAME or NAME=PATH; default: "
                                                 "arc_challenge,gsm8k,mmlu,truthfulqa,winogrande,humaneval.")] = None,
    limit: Annotated[Optional[float], typer.Option(help="Items per task (below 1: a fraction).")] = None,
    fmt: Annotated[Optional[str], typer.Option("--format", help="alpaca, vicuna, chatml or llama2; default: the "
                                               "format the model was trained to chat in.")] = None,
    out: Annotated[Optional[Path], typer.Option(help="Output dir (default out/eval/<model dir name>).")] = None,
    device: Annotated[Optional[str], typer.Option(help="cpu, cuda, cuda:N (default: cuda when there is one).")] = None,
    batch_size: Annotated[str, typer.Option(help="Batch size: N, auto or auto:N.")] = "1",
    dtype: Annotated[str, typer.Option(help="Weights dtype: auto, bfloat16, float16, float32.")] = "auto",
    parallelize: Annotated[bool, typer.Option(help="Spread one copy of the model over all visible GPUs "
                                              "(a model too big for one).")] = False,
    seed: Annotated[int, typer.Option(help="Seed of every random choice (python, numpy, torch, few-shot).")] = 42,
    use_hub: Annotated[bool, typer.Option(help="Use lm-eval's own task definitions (downloads from the hub); "
                                          "other lm-eval task names are accepted too.")] = False,
    allow_code_execution: Annotated[bool, typer.Option(help="Run the model's code for humaneval "
                                                       "(sets HF_ALLOW_CODE_EVAL=1).")] = False,
    max_gen_toks: Annotated[Optional[int], typer.Option(help="Cap on the tokens generated per answer of "
                                                        "generate-until tasks (default: each task's own).")] = None,
    log_samples: Annotated[bool, typer.Option(help="Also write every prompt, response and score to "
                                              "DIR/samples/<task>.jsonl.")] = False,
    compare: Annotated[Optional[list[str]], typer.Option(help="Earlier results.json to show before this run in "
                                                         "eval.html (repeatable).")] = None,
    generate: Annotated[Optional[str], typer.Option(help="Instead of scoring, write answers for a judge: "
                                                    "mt_bench.")] = None,
    model_id: Annotated[Optional[str], typer.Option(help="--generate: model_id in the answer file.")] = None,
    max_new_tokens: Annotated[int, typer.Option(help="--generate: longest answer, in tokens.")] = 1024,
    trust_remote_code: Annotated[bool, typer.Option(help="Allow the model's own code.")] = False,
) -> None:
    """Score MODEL on the benchmarks with lm-evaluation-harness; write DIR/results.json and DIR/eval.html."""
    from pydantic import ValidationError

    out_dir = out or Path("out") / "eval" / Path(model).resolve().name
    if generate is not None:
        from bagel.eval.mt_bench import generate_mt_bench

        if generate != "mt_bench":
            raise UserError(f"--generate supports mt_bench, not {generate!r}")
        path = generate_mt_bench(model, out_dir, fmt=fmt, model_id=model_id, limit=int(limit) if limit else None,
                                 max_new_tokens=max_new_tokens, seed=seed)
        typer.echo(f"wrote {path}")
        return
    from bagel.eval.page import write_eval_html
    from bagel.eval.results import results_table, write_results
    from bagel.eval.run import EvalOptions, run_eval

    try:
        options = EvalOptions(
            model=model, fmt=fmt, limit=limit, device=device, batch_size=batch_size, dtype=dtype, seed=seed,
            parallelize=parallelize,
            use_hub=use_hub, allow_code_execution=allow_code_execution, trust_remote_code=trust_remote_code,
            max_gen_toks=max_gen_toks,
            **({"tasks": [t for t in tasks.split(",") if t.strip()]} if tasks is not None else {}),
        )
    except ValidationError as err:
        first = err.errors()[0]
        raise UserError(f"bad eval option {'.'.join(map(str, first['loc']))}: {first['msg']}") from None
    results = run_eval(options)
    if results is None:  # not the main process of an accelerate launch
        return
    path = write_results(results, out_dir, log_samples=log_samples)
    page = write_eval_html([*(compare or []), path], out_dir / "eval.html")
    typer.echo(results_table(results))
    for task, reason in results["bagel"]["skipped"].items():
        typer.echo(f"skipped {task}: {reason}")
    typer.echo(f"wrote {path} and {page}")


@app.command("eval-report")
@user_errors
def eval_report(
    results: Annotated[list[Path], typer.Argument(help="results.json files (or their dirs), the baseline first.")],
    out: Annotated[Path, typer.Option(help="The HTML page to write.")] = Path("eval.html"),
) -> None:
    """Compare several `bagel eval` runs side by side (e.g. base vs SFT vs DPO) in one HTML page."""
    from bagel.eval.page import write_eval_html

    typer.echo(f"wrote {write_eval_html(results, out)}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
