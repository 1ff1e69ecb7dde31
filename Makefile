# `make run`: the server on the embedded default. `make test`: lint, types and every test.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3

.PHONY: run test lint schema dashboard

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

run: $(VENV)/.installed
	$(VENV)/bin/meetings serve

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/meetings export-schema --check

test: lint
	bash scripts/services.sh
	MEETINGS_TEST_DB=sqlite $(PY) -m pytest -q -p no:cacheprovider
	MEETINGS_TEST_DB=postgres $(PY) -m pytest -q -p no:cacheprovider

# The React dashboard (examples/dashboard) on the embedded default: API on 8000, Vite on 5173.
dashboard: $(VENV)/.installed
	VENV=$(VENV) bash scripts/dashboard.sh

schema: $(VENV)/.installed
	$(VENV)/bin/meetings export-schema
