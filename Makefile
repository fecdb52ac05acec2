# The README's commands. Everything installs into .venv from the lock files.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint bench install install-dev clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade "pip>=24"

$(VENV)/.installed: $(BIN)/python requirements.lock pyproject.toml
	@echo "Installing the pinned dependencies into $(VENV) (the first time takes a minute or so)..."
	$(BIN)/pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.lock
	@echo "Installing the pinned development tools into $(VENV)..."
	$(BIN)/pip install --quiet --require-hashes -r requirements-dev.lock
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

## run: set up, load the demo vendor and orders, start the service on $(HOST):$(PORT)
run: install
	$(BIN)/tfs demo --url http://$(HOST):$(PORT)
	$(BIN)/tfs serve --host $(HOST) --port $(PORT)

## test: set up, lint, type-check and run the whole test suite
test: install-dev
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/mypy
	$(BIN)/pytest

lint: install-dev
	$(BIN)/ruff check src tests
	$(BIN)/mypy

bench: install-dev
	$(BIN)/tfs bench

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
