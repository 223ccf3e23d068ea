# Two commands do all set-up on a fresh machine:
#   make run    - create .venv, install, serve the API on an embedded SQLite file (port 8000)
#   make test   - create .venv, install test deps, run the whole suite on PostgreSQL and SQLite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: run test lint bench bench-quick fuzz-nightly browser clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

run: $(BIN)/.installed
	$(BIN)/incident-tracker serve

test: $(BIN)/.installed browser
	scripts/ensure-postgres
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

# The benchmark suite (bench/README.md): ~10 minutes on a fresh PostgreSQL database.
bench: $(BIN)/.installed
	scripts/ensure-postgres
	$(BIN)/python -m bench

bench-quick: $(BIN)/.installed
	scripts/ensure-postgres
	$(BIN)/python -m bench --quick

# Schemathesis with >= 500 generated cases per operation, on both backends (~15 min).
fuzz-nightly: $(BIN)/.installed
	FUZZ_EXAMPLES=500 $(BIN)/python -m pytest tests/web/test_fuzz.py -q

# Debian's Chromium for the Swagger UI test (tests/web/test_swagger_ui.py); CI installs it.
browser:
	@command -v chromium >/dev/null \
	  || { command -v apt-get >/dev/null && apt-get update -qq && apt-get install -y -qq chromium >/dev/null; } \
	  || echo "warning: no chromium; the Swagger UI test is skipped here (and fails in CI)"

lint: $(BIN)/.installed
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
