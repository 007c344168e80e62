# Two commands: `make demo` (run the system) and `make test` (run the whole suite on PostgreSQL + Redis).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: demo test venv lint worker beat bench reconcile clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

venv: $(STAMP)

demo: venv
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	$(PY) manage.py runserver 127.0.0.1:8000 --noreload

test: venv
	$(PY) -m tests.services -- $(PY) -m pytest $(PYTEST_ARGS)

lint: venv
	$(PY) -m ruff check .

worker: venv
	$(VENV)/bin/celery -A config.celery_app worker -l INFO

beat: venv
	$(VENV)/bin/celery -A config.celery_app beat -l INFO

reconcile: venv
	$(PY) manage.py reconcile

bench: venv
	$(PY) -m tests.services -- $(PY) bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) demo.sqlite3 media
