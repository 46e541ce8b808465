# The one front door: `make run` serves the embedded default, `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LLAMA_CPP_VERSION := $(shell sed -n 's/.*"llama-cpp-python==\([0-9.]*\)".*/\1/p' pyproject.toml)
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: install prepare finetune run inspect test pytest lint fmt eval bench synth browser clean

$(STAMP): pyproject.toml infra/scripts/build_llama_wheel.sh
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	bash infra/scripts/build_llama_wheel.sh $(LLAMA_CPP_VERSION) $(BIN)/pip
	$(BIN)/pip install --quiet -e '.[dev,infra]'
	touch $(STAMP)

install: $(STAMP)

## Build the retrieval index and, when this catalog has none, train the local LoRA fine-tune.
prepare: install
	$(BIN)/python -m app.prepare
	$(BIN)/python -m infra.finetune local --if-missing

finetune: install
	$(BIN)/python -m infra.finetune local

run: prepare
	$(BIN)/python -m app

## How the catalog is read: files, products, sections, chunks, warnings; e.g. `make inspect CATALOG=~/docs`.
CATALOG ?=
inspect: install
	$(BIN)/python -m app.catalog inspect $(if $(CATALOG),"$(CATALOG)",)

## Headless Chromium for the playground's browser test, where apt is available (skipped otherwise).
browser:
	@if ! command -v chromium >/dev/null && command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		(apt-get update -qq && apt-get install -y -qq chromium >/dev/null) \
		|| echo "chromium not installed: the browser test will skip"; \
	fi

pytest: install
	$(BIN)/pytest

test: install browser lint pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

fmt: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## Evaluate the running service; e.g. `make eval EVAL_ARGS=--resume` or `EVAL_ARGS="--judge bedrock"`.
EVAL_ARGS ?=
eval: install
	$(BIN)/python -m eval run --url http://127.0.0.1:$${FMT_PORT:-8000} \
		--testset data/test/test.json --out var/eval/latest $(EVAL_ARGS)

bench: install
	$(BIN)/python -m tests.benchmarks

synth: install
	$(BIN)/python -m infra.cdk.app

clean:
	rm -rf var/index cdk.out .pytest_cache .mypy_cache .ruff_cache
