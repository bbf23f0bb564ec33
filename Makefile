# Two entry points: `make demo` (build the demo mix, then train a tiny model on it) and `make test`.
# Each creates the virtualenv it needs (.venv) and installs the project into it.

PYTHON ?= python3.11
VENV ?= .venv
BIN = $(VENV)/bin
STAMP = $(VENV)/.installed

.PHONY: demo test bench lock clean

EXTRAS = decontam,train,ray,eval,dev

# Installs are reproducible: every package is pinned by constraints.txt (`make lock` refreshes it).
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt torch==2.13.0
	$(BIN)/python -m pip install -q -c constraints.txt -e ".[$(EXTRAS)]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/bagel build recipes/demo.yaml --out out/demo
	$(BIN)/bagel train tiny-model out/demo-models/tiny --data out/demo
	$(BIN)/bagel train sft configs/demo-sft.yaml
	$(BIN)/bagel train dpo configs/demo-dpo.yaml
	$(BIN)/bagel generate out/demo-models/dpo --format vicuna --temperature 0.7 --max-new-tokens 48 \
		--prompt "Write a SQL query for the following: How many singers do we have?"
	$(BIN)/bagel eval out/demo-models/dpo --tasks arc_challenge,gsm8k,truthfulqa --limit 20 --max-gen-toks 64 \
		--out out/demo-eval/dpo
	@echo "report: out/demo/report.html  card: out/demo/README.md  models: out/demo-models/  eval: out/demo-eval/dpo/"

bench: $(STAMP)
	$(BIN)/python bench/build.py 20000 200000
	$(BIN)/python bench/build.py 100000 --modes random --workers 2 --presets ngram,default
	$(BIN)/python bench/render.py 100000
	$(BIN)/python bench/decontam.py
	$(BIN)/python bench/sft_speed.py 2000 40

test: $(STAMP)
	$(BIN)/python -m pytest

# Re-resolve every dependency to the newest versions pyproject.toml allows and pin them in constraints.txt
# (a fresh venv, so nothing installed by hand leaks in). Needs the package registry.
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install -q --upgrade pip
	.lock-venv/bin/python -m pip install -q torch==2.13.0
	.lock-venv/bin/python -m pip install -q ".[$(EXTRAS)]"
	{ echo "# Exact versions that make demo/test install (pip -c). Refresh: make lock"; \
	  .lock-venv/bin/python -m pip freeze --exclude bagel-mix | sed 's/+[A-Za-z0-9.]*$$//'; } > constraints.txt.tmp
	mv constraints.txt.tmp constraints.txt && rm -rf .lock-venv

clean:
	rm -rf out
