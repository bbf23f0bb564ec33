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

test: $(STAMP)
	$(BIN)/python -m pytest

clean:
	rm -rf out
