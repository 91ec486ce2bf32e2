# Ledgerline: `make run` serves the API on the embedded PostgreSQL; `make test` runs every check.
# Both create .venv and install the project first when needed (Python >= 3.11 and pip only).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

# `make run` is a local run: the simulated payment gateway is its default (production needs
# LEDGERLINE_PAYMENT_GATEWAY chosen on purpose). Set LEDGERLINE_ENVIRONMENT to override.
LEDGERLINE_ENVIRONMENT ?= development

.PHONY: run test lint typecheck contracts pytest install docs clean

run: $(INSTALLED)
	LEDGERLINE_ENVIRONMENT=$(LEDGERLINE_ENVIRONMENT) $(BIN)/ledgerline serve

test: lint typecheck contracts pytest

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(INSTALLED)
	$(BIN)/mypy --strict domain ledger projections replay api

contracts: $(INSTALLED)
	$(BIN)/lint-imports

pytest: $(INSTALLED)
	$(BIN)/pytest

install: $(INSTALLED)

# Regenerate the pages made from the code (tests fail when they are stale).
docs: $(INSTALLED)
	$(BIN)/python scripts/document_events.py
	$(BIN)/python scripts/document_rules.py
	$(BIN)/python scripts/document_api.py

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Ledgerline needs Python 3.11 or newer; set PYTHON=python3.x"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(INSTALLED): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(INSTALLED)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .import_linter_cache
