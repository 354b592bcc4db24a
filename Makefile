# The commands people type. `make run` for the demo, `make test` for the whole suite.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3
HOST ?= 127.0.0.1
PORT ?= 8000
DEMO_MERCHANTS ?= 200
DEMO_DAYS ?= 120
# Every target here is development: DEBUG on and the demo's keys, unless the caller says otherwise
# (settings keep DEBUG off and refuse to start without keys when DJANGO_DEBUG is unset).
export DJANGO_DEBUG ?= 1

.PHONY: install run test test-production lint format bench clean-demo

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

## The demo: SQLite and a filesystem Celery broker under var/; web, beat and a worker per group
## of queues together. The history ends 150 days back; scoring_demo trades and closes those days
## (loans mature, some go bad), trains a champion on their outcomes, rates every merchant and
## issues offers. The demo app is on unless XIAODAI_DEMO=0 (production leaves it out).
## The build steps (migrate, seed_demo --if-empty, scoring_demo --if-needed) run in one process
## (`run_demo --build` starts `build_demo`) with XIAODAI_SQLITE_BUILD=1: SQLite without fsync and
## with a large page cache (config/settings.py); the servers run without it. Web, beat and the
## workers start meanwhile and wait for the build before they touch the database or the broker.
run: export XIAODAI_DEMO = 1
run: install
	$(PY) manage.py run_demo --host $(HOST) --port $(PORT) --build --merchants $(DEMO_MERCHANTS) --days $(DEMO_DAYS) \
		--end-date $$($(PY) -c 'import datetime as d; print(d.date.today() - d.timedelta(days=151))')

## The whole suite. Set DATABASE_URL / REDIS_URL to run it against PostgreSQL and Redis.
test: install
	$(PY) -m pytest

## As a production install: without the demo app (XIAODAI_DEMO=0). The production apps' tests
## must pass; the demo's skip with the reason.
test-production: install
	XIAODAI_DEMO=0 $(PY) manage.py makemigrations --check --dry-run
	XIAODAI_DEMO=0 $(PY) -m pytest

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(PY) manage.py makemigrations --check --dry-run
	XIAODAI_DEMO=0 $(PY) manage.py makemigrations --check --dry-run

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: install
	$(PY) bench/seed_demo.py
	$(PY) bench/ingest_orders.py

## Throw the demo's data away; the next `make run` builds it again.
clean-demo:
	rm -rf var/
