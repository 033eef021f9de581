# dataquest: `make help` lists every target. `make run` and `make test` are all a newcomer needs.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(shell command -v uv 2>/dev/null || echo $(TOOLS)/bin/uv)
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
PYTEST_ARGS ?=

.PHONY: help
help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_.-]+:.*## / {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(TOOLS)/bin/uv:
	python3 -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check 'uv==$(UV_VERSION)'

$(VENV)/.synced: uv.lock pyproject.toml | $(UV)
	$(UV) sync --frozen --all-extras
	@touch $@

.PHONY: install
install: $(VENV)/.synced ## create .venv from the lock file (uv sync --frozen)

.PHONY: lock
lock: | $(UV) ## re-resolve uv.lock after changing dependencies
	$(UV) lock

.PHONY: run
run: install ## the whole pipeline on the embedded default (needs DQ_CONTACT): report files in ./out
	$(BIN)/dataquest run --out out

.PHONY: test
test: install ## every test: unit, integration, Terraform against moto, Docker where an engine runs
	$(BIN)/pytest $(PYTEST_ARGS)

.PHONY: test-unit
test-unit: install ## the fast tests only
	$(BIN)/pytest tests/unit $(PYTEST_ARGS)

.PHONY: lint
lint: install ## ruff (format and lint) and mypy --strict
	$(BIN)/ruff format --check src tests bench
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

.PHONY: fmt
fmt: install ## format the code (ruff) and Terraform
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

.PHONY: check
check: lint test ## what CI runs: lint, then every test

.PHONY: clean
clean: ## remove the environment, caches and outputs
	rm -rf $(VENV) $(TOOLS) out .pytest_cache .mypy_cache .ruff_cache .bench
