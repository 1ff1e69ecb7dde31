# `make run`: the server on the embedded default. `make test`: lint, types and every test.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3

.PHONY: run test lint schema dashboard lock

# Dependencies come from the lock (exact versions, hashes checked); the project itself is
# installed on top without resolving anything again.
$(VENV)/.installed: pyproject.toml requirements-dev.lock
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q --require-hashes -r requirements-dev.lock
	$(PY) -m pip install -q --no-deps -e .
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

# After changing dependencies in pyproject.toml: re-resolve both locks (the Dockerfile
# installs requirements.lock, make run / make test requirements-dev.lock).
LOCK := $(VENV)/bin/uv pip compile pyproject.toml --generate-hashes --universal --python-version 3.11 -q
lock: $(VENV)/.installed
	$(LOCK) -o requirements.lock
	$(LOCK) --extra dev -o requirements-dev.lock
