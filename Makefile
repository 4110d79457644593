# neurodose: two commands matter. `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev
# lint only the source folders that exist (calibration/ and benchmarks/ may be absent)
LINT_DIRS := $(wildcard src tests benchmarks calibration examples)
# parallel workers for the fast tier (pytest-xdist); PYTEST_WORKERS=0 runs in one process
PYTEST_WORKERS ?= 2

.PHONY: run test serve screenshots venv lint typecheck layers fast validate bench docs examples clean

$(BIN)/python:
	@echo "==> [1/4] creating the virtual environment $(VENV)"
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	@echo "==> [2/4] installing neurodose and its development extras into $(VENV) (a few minutes the first time)"
	$(BIN)/python -m pip install -q -e ".[dev]"
	@echo "==> [3/4] compiling the PK engine's numba kernels into numba's cache (about a minute, once)"
	$(BIN)/neurodose warmup
	touch $(STAMP)

venv: $(STAMP)

## run: create .venv, install, run the main job (demo); figures go to out/
run: $(STAMP)
	@echo "==> [4/4] running the demo (a short tour with sources; figures go to out/)"
	mkdir -p out
	NEURODOSE_OUTPUT_DIR=out $(BIN)/neurodose demo
	@echo ""
	@echo "Done. To type 'neurodose' as in the README, put it on your PATH first:"
	@echo "  source $(VENV)/bin/activate      (or call $(BIN)/neurodose directly)"
	@echo "Then try:"
	@echo "  neurodose assess examples/patients/sample.json      # screen, rank and plan for a patient"
	@echo "  neurodose plan titrate --drug amitriptyline          # a dated titration plan"
	@echo "  neurodose explain --drug duloxetine --dose '60 mg'   # occupancy and pathways of relief"
	@echo "  neurodose --help                                     # every command"
	@echo "  make serve                                           # the clinic on http://127.0.0.1:8000"
	@echo "  make test                                            # lint, types and the fast tests"

## serve: the clinic web service (SQLite in $$NEURODOSE_DATA_DIR, default ./neurodose-data)
serve: $(STAMP)
	$(BIN)/neurodose serve --host $${HOST:-127.0.0.1} --port $${PORT:-8000}

## screenshots: the browser walk of the clinic, screenshots into docs/figures/ui
screenshots: $(STAMP)
	NEURODOSE_SCREENSHOTS=docs/figures/ui $(BIN)/python -m pytest -q -n 0 -p no:cacheprovider tests/service/test_browser.py tests/service/test_browser_trials.py

## test: create .venv, install dev extras, run lint, layer check, types and the fast test tier
test: $(STAMP) lint layers typecheck fast

lint: $(STAMP)
	$(BIN)/ruff check $(LINT_DIRS)
	$(BIN)/ruff format --check $(LINT_DIRS)

layers: $(STAMP)
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

## fast: the fast test tier (unit tests, doctests, examples), warnings are errors
fast: $(STAMP)
	$(BIN)/python -m pytest -q -n $(PYTEST_WORKERS) -m "not validation and not slow" -p no:cacheprovider --durations=10

## validate: validation tier against published values
validate: $(STAMP)
	$(BIN)/python -m pytest -q -m validation tests/validation -p no:cacheprovider

## bench: benchmarks; writes docs/performance.md
bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

## examples: run every example script (also part of the fast tier)
examples: $(STAMP)
	$(BIN)/python -m pytest -q tests/test_examples.py -p no:cacheprovider

## docs: regenerate docs generated from the knowledge base
docs: $(STAMP)
	$(BIN)/python -m neurodose.knowledge.docgen

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info
