# Newsflow — `make help` lists the targets.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help install demo up test unit integration reliability netfault lint typecheck bench bench-dedupe bench-dedupe-ab clean

help: ## show this help
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) ## create .venv and install newsflow with its dev tools

demo: $(STAMP) ## run the four seed articles through the whole pipeline on the embedded stack
	$(BIN)/newsflow demo seeds/

up: $(STAMP) ## start the embedded stack and all four workers (Ctrl-C stops)
	$(BIN)/newsflow up

lint: $(STAMP) ## ruff check and ruff format --check
	$(BIN)/ruff check services tests scripts bench
	$(BIN)/ruff format --check services tests scripts bench

typecheck: $(STAMP) ## mypy: --strict on services/, the default checks on tests/, scripts/ and bench/
	$(BIN)/mypy --strict services
	$(BIN)/mypy tests scripts bench

test: $(STAMP) lint typecheck ## lint, type-check and run every test (unit + real broker/search server)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

unit: $(STAMP) ## unit tests only
	$(BIN)/python -m pytest tests/unit $(PYTEST_ARGS)

integration: $(STAMP) ## tests through the real broker and search server
	$(BIN)/python -m pytest -m integration $(PYTEST_ARGS)

netfault: $(STAMP) ## network partitions and slow links in namespaces (root; part of make test)
	$(BIN)/python -m pytest -m netfault $(PYTEST_ARGS)

reliability: $(STAMP) ## crash/restart/outage/bad-input proofs
	$(BIN)/python -m pytest -m reliability $(PYTEST_ARGS)

bench: $(STAMP) ## benchmarks (not tests): pipeline vs bare NER, latency at half speed, index; into bench/results/
	$(BIN)/python bench/make_bench.py

bench-dedupe: $(STAMP) ## dedupe cost per article at 1k, 10k, 100k seen
	$(BIN)/python bench/dedupe_bench.py

bench-dedupe-ab: $(STAMP) ## dedupe CPU on the make-bench corpus against another checkout, side by side: AGAINST=path
	$(BIN)/python bench/dedupe_ab.py $(AGAINST)

clean: ## remove run files of the embedded stack
	rm -rf .newsflow
