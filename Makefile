# gongzhi — the two commands a newcomer needs:  make run   and   make test
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export GONGZHI_DATABASE_URL ?= sqlite+aiosqlite:///$(CURDIR)/var/gongzhi.db
# Python's own bytecode cache, even where the environment turns it off (PYTHONDONTWRITEBYTECODE=1, as on
# this project's machines): a test run starts many Python processes — a worker per core, the server and
# CLI processes tests start — and without __pycache__ each compiles this checkout again and pytest
# rewrites every test module's asserts again, ≈ 5 s of CPU per test process (CI time, issue #21).
unexport PYTHONDONTWRITEBYTECODE

.PHONY: run test test-sqlite test-pgbouncer lint typecheck layers schema schema-check schema-compat http-audit portal-ts explorer-browser check clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

# Demo: SQLite file under ./var, the four street offices, GraphiQL on, http://127.0.0.1:8000/graphql
run: $(STAMP)
	mkdir -p var
	GONGZHI_DEMO=1 $(BIN)/gongzhi migrate
	GONGZHI_DEMO=1 $(BIN)/gongzhi seed-demo
	@echo "Demo users:  $(BIN)/gongzhi demo-users   Token:  GONGZHI_DEMO=1 $(BIN)/gongzhi token --tenant langya --user langya.grid"
	GONGZHI_DEMO=1 $(BIN)/gongzhi serve --host 127.0.0.1 --port 8000

# Test processes side by side (pytest-xdist), one per core up to 4; each builds its own databases
# with the real migrations. PYTEST_WORKERS=0 runs everything in this one process. worksteal: each
# worker starts on its own half of the ordered tests (fewer module worlds built twice) and an idle
# worker takes over the tail of the other's, instead of waiting on a last slow test (CI time, issue #21).
PYTEST_WORKERS ?= auto --maxprocesses=4
PYTEST_N := $(if $(filter 0,$(PYTEST_WORKERS)),,-n $(PYTEST_WORKERS) --dist worksteal)
# More arguments for pytest in `make test` and `make test-pgbouncer` (CI: the slowest tests, --durations=N).
PYTEST_ARGS ?=

# The whole suite on SQLite and, when it is reachable, PostgreSQL (GONGZHI_TEST_PG_ADMIN_URL).
test: $(STAMP)
	$(BIN)/python -m pytest -q $(PYTEST_N) $(PYTEST_ARGS)

test-sqlite: $(STAMP)
	GONGZHI_TEST_BACKENDS=sqlite $(BIN)/python -m pytest -q $(PYTEST_N)

# The whole PostgreSQL half of the suite with the app's connections through a real pgbouncer in
# transaction mode (issue #10; tests/pgbouncer/run.sh starts and stops it). Deselected there (tests/conftest.py):
# tests that use no database backend, and the compiled reads' equivalence files
# tests/compiled/test_compiled_<domain>.py — their subject is the answer's bytes on the two read paths,
# which pgbouncer does not change; they run on PostgreSQL in `make test`, and tests/compiled/test_compiled.py
# (the compiled path's connections and transactions, and its cases compared) stays here
# (GONGZHI_TEST_PGBOUNCER_ALL=1 runs them too). PGBOUNCER_TESTS=tests/tenants/test_isolation.py (say) runs only those.
PGBOUNCER_TESTS ?=
test-pgbouncer: $(STAMP)
	bash tests/pgbouncer/run.sh $(PYTEST_N) $(PYTEST_ARGS) $(PGBOUNCER_TESTS)

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

layers: $(STAMP)
	$(BIN)/lint-imports

schema: $(STAMP)
	$(BIN)/gongzhi export-schema -o schema.graphql

# Fails when the committed schema.graphql differs from the code's schema. A file of its own: two checkouts'
# CI runs side by side on one machine must not diff each other's export.
schema-check: $(STAMP)
	out=$$(mktemp --suffix=.graphql) && trap 'rm -f "$$out"' EXIT && \
	$(BIN)/gongzhi export-schema -o "$$out" && diff -u schema.graphql "$$out"

# Fails on a breaking change against schema/released.graphql unless the element was deprecated
# first with a dated reason (issue #12). Release: cp schema.graphql schema/released.graphql
schema-compat: $(STAMP)
	$(BIN)/python -m gongzhi.ops.schema_compat

# The graphql-http audit suite (GraphQL over HTTP spec) against a live demo server; needs node.
http-audit: $(STAMP)
	bash tests/http_audit/run.sh

# The TypeScript example: codegen from schema.graphql + tsc; fails when a schema change breaks an
# operation a portal documents. Needs node/npm (skipped, plainly, without them).
portal-ts:
	@if command -v npm >/dev/null 2>&1; then cd examples/portal-ts && npm ci --no-audit --no-fund --silent && npm test --silent; \
	else echo "portal-ts SKIPPED: node/npm not installed"; fi

# The demo explorer in the system's headless Chromium (playwright-core, no browser download): a
# demo server; no error on opening, docs per actor, every example tab run for its intended actor,
# actor and language remembered; screenshots in artifacts/explorer-*.png.
# Skipped, plainly, without node or /usr/bin/chromium (GONGZHI_REQUIRE_BROWSER=1 makes that fail).
explorer-browser: $(STAMP)
	$(BIN)/python -m pytest -q -s tests/http/test_explorer_browser.py

check: lint typecheck layers schema-check schema-compat portal-ts test http-audit

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
