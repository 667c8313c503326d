# The book's two commands: `make book` builds the HTML, `make test` runs every test.
# Both create the virtual environment .venv/ from the pinned requirements when it is missing
# or older than the requirement files, so a fresh clone needs nothing but Python 3.11+ (the pins need it).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# extra flags for pip's installs into .venv: `make test` passes --no-compile (see tools/test.sh)
PIP_FLAGS ?=
JB_FLAGS := --all --warningiserror --nitpick --keep-going
# the tests that need the build, Chromium or LibreOffice, and those that run in the readers'
# runtimes (.envs/); the unit tests are the others (make unit, and lane 2 of make test)
BUILT_MARKS   := browser or built or spreadsheet
RUNTIME_MARKS := runtimes

.PHONY: help venv book test lint unit notebooks system-deps train benchmark gpu-check clean

help:
	@echo "make book   build the HTML book into _build/html (every chapter executed)"
	@echo "make test   every test in two lanes (tools/test.sh): the book build and its tests, beside the unit tests"
	@echo "make notebooks   regenerate the paired .ipynb of every chapter (for Colab), after make book"
	@echo "make train  the committed CPU runs: the book recipe, seeds 1-3, and the fast one, seeds 1-16 (results/)"
	@echo "make benchmark  conventional vs the book's pipeline on the same model (~15 min on 2 cores)"
	@echo "make gpu-check  on a machine with an NVIDIA GPU: device tests, CLI and Part 2 chapters on CUDA"

$(STAMP): requirements.txt requirements-test.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(PIP_FLAGS) -r requirements.txt -r requirements-test.txt
	touch $@

venv: $(STAMP)

book: $(STAMP)
	rm -rf _build/html  # no stale page survives a renamed or removed chapter
	# no progress bars in the static pages, only training's line per epoch (NNBOOK_PROGRESS, see progress.py);
	# the quick training setting: the build and CI ask for it, a reader never gets it by default
	NNBOOK_TRAINING=quick NNBOOK_PROGRESS=text $(BIN)/jupyter-book build . $(JB_FLAGS)

# Debian packages the tests drive for real: Chromium (browser test) and LibreOffice (the
# spreadsheet recomputed by a real engine). Installed only when missing.
system-deps:
	bash tools/system-deps.sh

unit: $(STAMP)
	$(BIN)/python -m pytest tests -m "not ($(BUILT_MARKS) or $(RUNTIME_MARKS))"

lint: $(STAMP)
	$(BIN)/ruff check .

# every test, on two cores: what waits on the disk (the readers' runtimes in .envs/, Debian
# packages) beside what computes (the build beside the tests that need neither); see tools/test.sh
test:
	PYTHON=$(PYTHON) BUILT="$(BUILT_MARKS)" RUNTIMES="$(RUNTIME_MARKS)" bash tools/test.sh

notebooks: $(STAMP)
	$(BIN)/python tools/notebooks.py --write

# the committed CPU runs: the book's recipe for seeds 1-3, the fast recipe for seeds 1-16
train: $(STAMP)
	$(BIN)/python tools/recipe_runs.py --recipe book --device cpu --seeds 1-3
	$(BIN)/python tools/recipe_runs.py --recipe fast --device cpu --seeds 1-16

# On a GPU machine whose Python already has torch and torchvision (it installs nothing).
# RESULTS=results keeps its runs and measurements for committing.
gpu-check:
	$(PYTHON) tools/gpu_check.py $(if $(RESULTS),--results $(RESULTS))

benchmark: $(STAMP)
	$(BIN)/python -m benchmarks.pipeline --out results/benchmark

clean:
	rm -rf _build .pytest_cache .hypothesis data/cache .envs build
