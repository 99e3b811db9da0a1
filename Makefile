# labelapp: `make run` starts the whole product, `make test` runs every test.
# Both install what they need on a fresh machine (Python 3.11, Node 20, apt) and reuse it after.

PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
FRONTEND_STAMP := frontend/node_modules/.installed
FRONTEND_BUILD := frontend/dist/index.html

.PHONY: run test test-python test-postgres test-frontend test-e2e lint bench install frontend demo clean

install: $(STAMP)

$(STAMP): requirements.lock requirements-nodeps.lock pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements.lock
	$(PIP) install --quiet --no-deps -r requirements-nodeps.lock
	$(PIP) install --quiet --no-deps -e .
	touch $(STAMP)

$(FRONTEND_STAMP): frontend/package.json frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund
	touch $(FRONTEND_STAMP)

$(FRONTEND_BUILD): $(FRONTEND_STAMP) $(shell find frontend/src frontend/index.html frontend/vite.config.ts -type f 2>/dev/null)
	cd frontend && npm run build

frontend: $(FRONTEND_BUILD)

demo: $(STAMP)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py demo

run: $(STAMP) $(FRONTEND_BUILD)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput -v 0
	$(PY) manage.py demo
	.ci/run-stack

test: $(STAMP) $(FRONTEND_BUILD)
	.ci/system-deps
	$(MAKE) lint test-frontend test-python test-postgres

lint: $(STAMP) $(FRONTEND_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	cd frontend && npm run lint
	.ci/check-api-schema
	DJANGO_SETTINGS_MODULE=labelapp.settings.test $(PY) manage.py makemigrations --check --dry-run
	$(VENV)/bin/check-jsonschema --builtin-schema vendor.compose-spec docker-compose.yml

test-frontend: $(FRONTEND_STAMP)
	cd frontend && npm test

test-python: $(STAMP) $(FRONTEND_BUILD)
	$(VENV)/bin/pytest -m "not postgres and not isolated"
	$(VENV)/bin/pytest -m "isolated and not postgres"

test-postgres: $(STAMP)
	.ci/with-postgres .ci/with-redis $(VENV)/bin/pytest -m postgres

bench: $(STAMP)
	.ci/system-deps
	for script in benchmarks/bench_*.py; do echo "== $$script"; $(PY) $$script || exit 1; done
	echo "== benchmarks/bench_queue.py on PostgreSQL"; .ci/with-postgres $(PY) benchmarks/bench_queue.py

clean:
	rm -rf var/ frontend/dist test-artifacts/
