# neurodose: two commands matter. `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev

.PHONY: run test venv lint typecheck layers validate bench docs clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $(STAMP)

venv: $(STAMP)

## run: create .venv, install, run the main job (demo)
run: $(STAMP)
	$(BIN)/neurodose demo

## test: create .venv, install dev extras, run lint, layer check and the fast test tier
test: $(STAMP)
	$(BIN)/ruff check src tests benchmarks calibration examples
	$(BIN)/ruff format --check src tests benchmarks calibration examples
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/python -m pytest -q -n 2 -m "not validation and not slow" -p no:cacheprovider

## validate: validation tier against published values
validate: $(STAMP)
	$(BIN)/python -m pytest -q -m validation tests/validation -p no:cacheprovider

## bench: benchmarks; writes docs/performance.md
bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

## docs: regenerate docs generated from the knowledge base
docs: $(STAMP)
	$(BIN)/python -m neurodose.knowledge.docgen

lint: $(STAMP)
	$(BIN)/ruff check src tests && $(BIN)/ruff format --check src tests

typecheck: $(STAMP)
	$(BIN)/mypy

layers: $(STAMP)
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) build *.egg-info
