# SketchQ. `make demo` and `make test` install what they need on a fresh machine.
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | sha1sum | cut -c1-12)
PYTEST_ARGS ?=

.PHONY: install demo test lint format migrations-check bench bench-gpu clean

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(VENV)/bin/pip install --disable-pip-version-check -q -r requirements-dev.txt
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

install: $(STAMP)

## demo: SQLite, Celery in-process, the shared sketches, a scorer, a demo study, and the server.
demo: install
	DEBUG=1 SKETCHQ_REPORT_BUILD_THREAD=1 $(PY) manage.py demo

## test: the whole suite. DATABASE_URL/CELERY_BROKER_URL if set; otherwise PostgreSQL and Redis on
## 127.0.0.1 when they answer (a throwaway test database; Redis DB 15, or SKETCHQ_TEST_REDIS_DB).
test: install
	$(PY) -m tests.with_services $(PYTEST_ARGS)

## lint: ruff (rules and formatting) and mypy over the pure cores listed in pyproject.toml.
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: install
	$(VENV)/bin/ruff format .

migrations-check: install
	DEBUG=1 $(PY) manage.py makemigrations --check --dry-run

bench: install
	$(PY) bench/run_all.py

# The paper's 2x1024 BiLSTM on the shared data for a fixed budget (< 10 min on one H100; runs on CPU too).
bench-gpu: install
	$(PY) bench/bench_gpu.py

clean:
	rm -rf $(VENV) var db.sqlite3
