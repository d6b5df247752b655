# Kapbook: `make run` starts everything on embedded defaults; `make test` runs every test.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PORT ?= 8080
export KAPBOOK_VAR_DIR ?= $(CURDIR)/var
export KAPBOOK_PUBLIC_URL ?= http://127.0.0.1:$(PORT)

.PHONY: help setup migrate seed run screenshots test test-unit test-faults bench staff-token staff-account clean migration compose-env

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

$(STAMP): requirements/constraints.txt requirements/dev.txt shared/pyproject.toml services/*/pyproject.toml
	@echo "==> Creating the virtual environment in $(VENV) and installing pinned dependencies"
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Kapbook needs Python 3.11 or newer"'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/pip install --quiet --disable-pip-version-check -c requirements/constraints.txt -r requirements/dev.txt \
		-e shared -e services/booking -e services/eligibility -e services/reminders
	@touch $@

setup: $(STAMP) ## Create the virtual environment and install everything

migrate: setup ## Apply every service's database migrations
	@echo "==> Migrating databases in $(KAPBOOK_VAR_DIR)"
	@$(BIN)/kapbook-booking migrate
	@$(BIN)/kapbook-eligibility migrate
	@$(BIN)/kapbook-reminders migrate

seed: migrate ## Seed the demo clinic (idempotent)
	@$(BIN)/kapbook-booking seed-demo

run: seed ## Start the whole system on http://127.0.0.1:$(PORT) (Ctrl-C stops it)
	@scripts/run.sh

screenshots: setup ## Retake the README's patient-journey screenshots into docs/images (starts its own system, headless Chromium)
	@$(BIN)/python scripts/screenshots.py $(SCREENSHOTS_DIR)

staff-token: migrate ## Create a demo admin and print a staff bearer token
	@$(BIN)/kapbook-booking create-staff --name "Demo Admin" --email admin@clinic.example --role admin

staff-account: migrate ## Create the demo admin with a console password (asked twice), and print a token
	@$(BIN)/kapbook-booking create-staff --name "Demo Admin" --email admin@clinic.example --role admin --password

test: setup ## Run every test (set KAPBOOK_TEST_POSTGRES_URL / KAPBOOK_TEST_AMQP_URL for real services)
	@$(BIN)/python -m pytest $(PYTEST_ARGS)

test-unit: setup ## Only the fast unit tests
	@$(BIN)/python -m pytest tests -m "not integration" $(PYTEST_ARGS)

test-faults: setup ## Only the fault-injection tests (private PostgreSQL and RabbitMQ servers they may restart)
	@KAPBOOK_RUN_FAULTS=1 $(BIN)/python -m pytest tests/faults $(PYTEST_ARGS)

bench: setup ## Run every benchmark (needs PostgreSQL and RabbitMQ) and print one table; see docs/PERFORMANCE.md
	@KAPBOOK_TEST_POSTGRES_URL=$${KAPBOOK_TEST_POSTGRES_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/postgres} \
	KAPBOOK_TEST_AMQP_URL=$${KAPBOOK_TEST_AMQP_URL:-amqp://guest:guest@127.0.0.1:5672//} \
	$(BIN)/python bench/run_all.py $(BENCH_ARGS)

.PHONY: load
load: setup ## Load test: 200 patients search and book for 60 s on gunicorn + PostgreSQL + RabbitMQ (LOAD_ARGS="--users 50")
	@KAPBOOK_TEST_POSTGRES_URL=$${KAPBOOK_TEST_POSTGRES_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/postgres} \
	KAPBOOK_TEST_AMQP_URL=$${KAPBOOK_TEST_AMQP_URL:-amqp://guest:guest@127.0.0.1:5672//} \
	$(BIN)/python bench/load/run_load.py $(LOAD_ARGS)

migration: setup ## Autogenerate a migration: make migration SERVICE=booking MESSAGE="add x"
	@$(BIN)/python -m kapbook_platform.devtools $(SERVICE) "$(MESSAGE)"

compose-env: setup ## Write .env with random secrets for docker compose (keeps an existing one)
	@test -f .env && echo ".env exists; leaving it alone" || $(BIN)/python -m kapbook_platform.devtools compose-env > .env
	@test -s .env && echo "==> .env ready: docker compose up"

clean: ## Remove the virtual environment and all local data (var/)
	rm -rf $(VENV) var
