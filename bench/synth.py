"""Copied verbatim from the project's shared bench workload (shared/bench/synth.py), so a fresh clone can run the benches.

Deterministic synthetic bagel-shaped records, for side-by-side timing.

Rows follow the original's intermediate schema: id, source, text,
conversations (from/value), prompt, chosen, rejected. Mix: 68% single-turn
SFT, 20% multi-turn SFT (2-4 exchanges, some with system), 10% DPO, 2% text.
"""
import json
import random
import sys
import uuid

WORDS = ("the of and to in is that for it as was with be by on not he this are or his "
         "from at which but have an they you were her she there one all we their can "
         "has been if more when will would who so no model data train python function "
         "return value list string number answer question passage explain write code").split()


def sentence(rng, lo, hi):
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(lo, hi))).capitalize() + "."


def paragraph(rng, lo, hi):
    return " ".join(sentence(rng, 6, 18) for _ in range(rng.randint(lo, hi)))


def record(rng, i):
    kind = rng.random()
    base = {"id": None, "source": f"src{i % 29}", "text": None, "conversations": None,
            "prompt": None, "chosen": None, "rejected": None}
    if kind < 0.68:
        instr = paragraph(rng, 1, 5)
        conv = [{"from": "human", "value": instr}, {"from": "gpt", "value": paragraph(rng, 2, 10)}]
        if rng.random() < 0.2:
            conv.insert(0, {"from": "system", "value": sentence(rng, 5, 15)})
        base.update(id=str(uuid.uuid5(uuid.NAMESPACE_OID, instr)), conversations=conv)
    elif kind < 0.88:
        conv = [{"from": "system", "value": sentence(rng, 5, 15)}] if rng.random() < 0.3 else []
        for _ in range(rng.randint(2, 4)):
            conv += [{"from": "human", "value": paragraph(rng, 1, 3)},
                     {"from": "gpt", "value": paragraph(rng, 1, 6)}]
        key = "\n".join(t["value"] for t in conv if t["from"] == "human")
        base.update(id=str(uuid.uuid5(uuid.NAMESPACE_OID, key)), conversations=conv)
    elif kind < 0.98:
        prompt = paragraph(rng, 1, 4)
        base.update(id=str(uuid.uuid5(uuid.NAMESPACE_OID, prompt)), prompt=prompt,
                    chosen=paragraph(rng, 2, 8), rejected=paragraph(rng, 1, 4))
    else:
        text = paragraph(rng, 30, 60)
        base.update(id=str(uuid.uuid5(uuid.NAMESPACE_OID, text)), text=text)
    return base


def records(n, seed=0):
    rng = random.Random(seed)
    return [record(rng, i) for i in range(n)]


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    for r in records(n):
        print(json.dumps(r))
