# Two commands do all set-up on a fresh machine:
#   make run    - create .venv, install, serve the API on an embedded SQLite file (port 8000)
#   make test   - create .venv, install test deps, run the whole suite on PostgreSQL and SQLite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: run test lint bench bench-quick fuzz clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

run: $(BIN)/.installed
	$(BIN)/incident-tracker serve

test: $(BIN)/.installed
	scripts/ensure-postgres
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

lint: $(BIN)/.installed
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
