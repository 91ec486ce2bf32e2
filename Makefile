# Ledgerline: `make run` serves the API on the embedded PostgreSQL; `make test` runs every check.
# Both create .venv and install the project first when needed (Python >= 3.11 and pip only),
# exactly the versions in requirements.lock, each checked against its hash.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
LOCK := requirements.lock

# `make run` is a local run: the simulated payment gateway is its default (production needs
# LEDGERLINE_PAYMENT_GATEWAY chosen on purpose). Set LEDGERLINE_ENVIRONMENT to override.
LEDGERLINE_ENVIRONMENT ?= development
# The first start of an empty database loads the demo (docs/operations.md, The demo) and prints
# keys and URLs to try it; `make run DEMO=0` (or LEDGERLINE_DEMO=off) starts empty instead.
LEDGERLINE_DEMO ?= first-start
ifeq ($(DEMO),0)
LEDGERLINE_DEMO := off
endif

.PHONY: run test test-lagged lint typecheck contracts pytest install lock docs clean

run: $(INSTALLED)
	LEDGERLINE_ENVIRONMENT=$(LEDGERLINE_ENVIRONMENT) LEDGERLINE_DEMO=$(LEDGERLINE_DEMO) \
		$(BIN)/ledgerline serve

test: lint typecheck contracts pytest

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(INSTALLED)
	$(BIN)/mypy --strict domain ledger projections replay api

contracts: $(INSTALLED)
	$(BIN)/lint-imports

# Across the machine's cores (each pytest-xdist worker has its own PostgreSQL and HTTP server),
# ending with the 15 slowest tests. PYTEST_ARGS adds to it: make pytest PYTEST_ARGS='-k otter'.
# Bytecode is written (to the __pycache__ folders git ignores) even where PYTHONDONTWRITEBYTECODE
# is set: the suite starts some fifty `ledgerline` processes, each of which would otherwise
# compile the project's modules afresh (about 0.15 s of CPU a process), and every run would
# assert-rewrite every test module again in each worker.
pytest: $(INSTALLED)
	PYTHONDONTWRITEBYTECODE= $(BIN)/pytest -n auto --maxprocesses 4 --dist worksteal --durations=15 $(PYTEST_ARGS)

# The suite with the live read models held back a quarter of a second a batch: a test that reads
# what it wrote without `min_position` fails here every time, not in CI once in a while.
test-lagged: $(INSTALLED)
	LEDGERLINE_TEST_PROJECTION_LAG_S=0.25 $(MAKE) pytest

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

# Every dependency from the lock, hashes required; then the project itself, editable, built by
# the locked hatchling (no build isolation, so nothing unpinned is fetched).
$(INSTALLED): $(LOCK) pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/python -m pip check
	@touch $(INSTALLED)

# Refresh the lock on purpose, after a change to pyproject.toml: versions already locked stay
# unless they no longer fit; `make lock UPGRADE=1` moves everything to the newest that fits.
# uv itself comes from the lock (installed from it alone: the project may need what it lacks).
lock: | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/uv pip compile pyproject.toml --extra dev --universal --generate-hashes --quiet \
		--custom-compile-command 'make lock' $(if $(UPGRADE),--upgrade) --output-file $(LOCK)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .import_linter_cache
