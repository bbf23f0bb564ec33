"""belebele: multilingual reading comprehension, every language variant (``facebook/belebele``)."""

from bagel.pipeline.convert import STRATUM
from bagel.sources.base import ConvertContext, Sample, Source
from bagel.sources.shapes import passage_question


def convert(row: dict, ctx: ConvertContext) -> dict:
    """``flores_passage`` + "\\n" + ``question`` (choices not shown), answered by the correct choice's text."""
    answer = row[f"mc_answer{row['correct_answer_num']}"]
    rec = passage_question(row["flores_passage"], row["question"], answer)
    rec[STRATUM] = row.get("__split__") or row.get("dialect")
    return rec


SOURCE = Source(
    name="belebele",
    kind="sft",
    confidence=2,
    description="Multi-lingual reading comprehension dataset.",
    license="CC-BY-SA-4.0",
    # One JSON Lines file per language variant, data/<code>.jsonl (card; the repo's configs are one per
    # language with a `test` split): all of them are read as one `train` split and stratified by `dialect`.
    # unverified: that no other .jsonl lies under data/.
    hub_id="facebook/belebele",
    split="train",
    data_files=("data/*.jsonl",),
    convert_row=convert,
    sample=Sample(300, stratify="each"),
)
