# The one front door: `make run` serves the embedded default, `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# What each front door installs (pyproject.toml's extras): `make run` the service and the local
# fine-tune it trains when the catalog has no adapter; `make test` and the tools everything.
RUN_EXTRAS := service,train
ALL_EXTRAS := service,train,aws,eval,dev
RUN_STAMP := $(VENV)/.installed-run
STAMP := $(VENV)/.installed
LLAMA_CPP_VERSION := $(shell sed -n 's/.*"llama-cpp-python==\([0-9.]*\)".*/\1/p' pyproject.toml)
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: install prepare finetune run doctor inspect test pytest lint fmt eval bench synth capacity browser clean

# $(1): the extras to install; llama-cpp-python comes from the wheel cache the script builds.
define install_extras
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	bash infra/scripts/build_llama_wheel.sh $(LLAMA_CPP_VERSION) $(BIN)/pip
	$(BIN)/pip install --quiet -e '.[$(1)]'
	touch $@
endef

$(RUN_STAMP): pyproject.toml infra/scripts/build_llama_wheel.sh
	$(call install_extras,$(RUN_EXTRAS))

$(STAMP): pyproject.toml infra/scripts/build_llama_wheel.sh
	$(call install_extras,$(ALL_EXTRAS))
	touch $(RUN_STAMP)

## Everything: the service, training, AWS, the eval and the development tools.
install: $(STAMP)

## Prepare what the configured backends use: the local retriever's index, then (in the background,
## while the service already answers) the local tuned model's LoRA fine-tune when this catalog has
## none; nothing for bedrock-kb + sagemaker.
prepare: $(RUN_STAMP)
	$(BIN)/python -m infra.prepare

## Train the catalog's adapter now, in the foreground; e.g. `make finetune PROFILE=thorough`.
PROFILE ?= quick
finetune: $(RUN_STAMP)
	nice -n 5 $(BIN)/python -m infra.finetune local --profile $(PROFILE)

run: prepare
	$(BIN)/python -m app

## Read-only preflight of the AWS account the settings point at; exits non-zero on a failure.
doctor: install
	$(BIN)/python -m infra.doctor

## How the catalog is read: files, products, sections, chunks, warnings; e.g. `make inspect CATALOG=~/docs`.
CATALOG ?=
inspect: $(RUN_STAMP)
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
	$(BIN)/lint-imports

fmt: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## Evaluate the running service; e.g. `make eval EVAL_ARGS=--resume` or `EVAL_ARGS="--judge bedrock"`;
## `make eval EVAL_URL=https://<ServiceUrl output>` evaluates the fleet on AWS;
## `make eval EVAL_TESTSET=data/test/conversations.json EVAL_OUT=var/eval/conversations` the follow-ups.
EVAL_ARGS ?=
EVAL_URL ?= http://127.0.0.1:$${FMT_PORT:-8000}
EVAL_TESTSET ?= data/test/test.json
EVAL_OUT ?= var/eval/latest
eval: install
	$(BIN)/python -m eval run --url $(EVAL_URL) \
		--testset $(EVAL_TESTSET) --out $(EVAL_OUT) $(EVAL_ARGS)

bench: install
	$(BIN)/python -m tests.benchmarks

synth: install
	$(BIN)/python -m infra.cdk.app

## The fleet's capacity table (requests/s per task, tasks and cost per load) into docs/capacity.md.
capacity: install
	$(BIN)/python -m infra.capacity --write

clean:
	rm -rf var/index cdk.out .pytest_cache .mypy_cache .ruff_cache
