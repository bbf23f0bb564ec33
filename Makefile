# Two entry points: `make demo` (build the demo mix, then train a tiny model on it) and `make test`.
# Each creates the virtualenv it needs (.venv) and installs the project into it.

PYTHON ?= python3.11
VENV ?= .venv
BIN = $(VENV)/bin
STAMP = $(VENV)/.installed

.PHONY: demo test bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e ".[decontam,train,ray,dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/bagel build recipes/demo.yaml --out out/demo
	$(BIN)/bagel train tiny-model out/demo-models/tiny --data out/demo
	$(BIN)/bagel train sft configs/demo-sft.yaml
	$(BIN)/bagel train dpo configs/demo-dpo.yaml
	$(BIN)/bagel generate out/demo-models/dpo --format vicuna --temperature 0.7 --max-new-tokens 48 \
		--prompt "Write a SQL query for the following: How many singers do we have?"
	@echo "report: out/demo/report.html  card: out/demo/README.md  models: out/demo-models/"

bench: $(STAMP)
	$(BIN)/python bench/build.py 20000 200000
	$(BIN)/python bench/build.py 100000 --modes random --workers 2 --presets ngram,default
	$(BIN)/python bench/render.py 100000
	$(BIN)/python bench/decontam.py
	$(BIN)/python bench/sft_speed.py 2000 40

test: $(STAMP)
	$(BIN)/python -m pytest

clean:
	rm -rf out
