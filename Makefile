# Banyan — `make demo` runs the demo, `make test` runs the whole suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PG_URL ?= postgres://postgres@127.0.0.1:5432/test

.PHONY: fixtures demo screenshots test imports typecheck test-fast test-sqlite test-postgres fuzz fuzz-sqlite fuzz-postgres lint check browser-deps clean

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

# Test data no one here wrote (an OpenStreetMap extract), fetched once: .ci/fixtures says what and from where.
FIXTURES := $(VENV)/fixtures/Helsinki.osm.pbf
$(FIXTURES): .ci/fixtures | $(STAMP)
	$(BIN)/python .ci/fixtures

fixtures: $(FIXTURES)

demo: $(STAMP)
	$(BIN)/banyan demo

lint: $(STAMP)
	$(BIN)/ruff check banyan
	$(BIN)/ruff format --check banyan

# The layering of the apps (pyproject.toml [tool.importlinter]): a back-edge, even inside a function, fails.
imports: $(STAMP)
	$(BIN)/lint-imports --no-cache

# mypy with django-stubs over the whole banyan package (pyproject.toml [tool.mypy]), once: no error outside
# the list of modules not yet clean, and each listed module still has some (the list only shrinks; its
# form and length: banyan/core/tests/test_typing_ratchet.py).
typecheck: $(STAMP)
	$(BIN)/python .ci/typecheck

check: $(STAMP)
	$(BIN)/banyan check --fail-level WARNING
	$(BIN)/banyan makemigrations --check --dry-run

# The whole suite: lint, import contracts, system checks, migrations check, types, then the tests on
# SQLite. `make test-postgres` runs the same tests on PostgreSQL; CI runs both.
test: lint check typecheck imports test-sqlite

test-sqlite: $(STAMP) $(FIXTURES)
	$(BIN)/pytest -q

# The quicker suite while developing: every test but those marked slow (servers, brokers,
# subprocesses, SIGKILL and outage drills, browsers). `make test` and CI run them all.
test-fast: $(STAMP) $(FIXTURES)
	$(BIN)/pytest -q -m "not slow"

# Re-measure which tests are slow (0.05 s or more here) into banyan/slow_tests.txt.
slow-list: $(STAMP)
	$(BIN)/pytest -q --durations=0 -p no:warnings | $(BIN)/python .ci/slow-list

test-postgres: $(STAMP) $(FIXTURES)
	DATABASE_URL=$(PG_URL) $(BIN)/pytest -q

# schemathesis over every API operation as six roles against a real `banyan serve` on a seeded database
# of its own, on SQLite and on PostgreSQL: no 5xx, every answered status declared (banyan/core/fuzz.py).
fuzz: fuzz-sqlite fuzz-postgres

fuzz-sqlite: $(STAMP)
	$(BIN)/python -m banyan.core.fuzz --database sqlite

fuzz-postgres: $(STAMP)
	PG_URL=$(PG_URL) $(BIN)/python -m banyan.core.fuzz --database postgres

clean:
	rm -rf $(VENV) var staticfiles

# Each role's main page at 1366 and 360 px, in Chinese, into docs/images/roles/ (docs/roles.md shows them).
screenshots: $(STAMP) $(FIXTURES)
	BANYAN_SCREENSHOTS=docs/images/roles $(BIN)/pytest -q -p no:randomly banyan/tests_browser/test_role_screens.py
	BANYAN_SCREENSHOTS=docs/images/onboarding $(BIN)/pytest -q banyan/tests_browser/test_onboarding_screens.py
	BANYAN_SCREENSHOTS=1 $(BIN)/pytest -q banyan/tests_browser/test_imported_community.py
