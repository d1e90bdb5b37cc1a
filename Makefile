# Brigade — two commands set up a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
UV_VERSION := 0.13.9
HOST ?= 127.0.0.1
PORT ?= 8000
# The local Stripe emulator, started by `make run`; `make run STRIPE_API_BASE=` uses real Stripe
# (with STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET in the environment).
STRIPE_API_BASE ?= http://127.0.0.1:12111

.PHONY: run test lint format check venv messages clean bench

venv: $(VENV)/.synced

$(VENV)/.synced: pyproject.toml uv.lock
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(VENV)/bin/pip install -q --disable-pip-version-check "uv==$(UV_VERSION)"
	@VIRTUAL_ENV=$(abspath $(VENV)) $(VENV)/bin/uv sync --frozen --active --quiet
	@touch $@

## Start the whole product on embedded defaults with demo data.
run: venv
	@$(PY) manage.py migrate --noinput -v 0
	@$(PY) manage.py seed_demo --if-empty
	@STRIPE_API_BASE=$(STRIPE_API_BASE) $(PY) manage.py serve --host $(HOST) --port $(PORT)

## Run the whole test suite (the command CI runs).
test: venv
	@$(PY) -m pytest $(PYTEST_ARGS)

## The benchmarks (bench/RESULTS.md): the order path on embedded defaults, then the rush on the
## production shape (PostgreSQL and Redis of this machine; BENCH_DATABASE_URL, BENCH_REDIS_URL).
bench: venv
	@$(PY) bench/order_path.py --rounds 100
	@$(PY) bench/rush.py --layer core --label core $(BENCH_ARGS)
	@$(PY) bench/rush.py --layer pubsub --label pubsub $(BENCH_ARGS)
	@$(PY) bench/rush.py --layer core --batch --find-max --no-baseline --label max-batch $(BENCH_ARGS)
	@$(PY) bench/rush.py --layer core --find-max --no-baseline --label max $(BENCH_ARGS)

lint: venv
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/ruff format --check .

format: venv
	@$(VENV)/bin/ruff format .
	@$(VENV)/bin/ruff check --fix .

check: venv lint
	@$(PY) manage.py makemigrations --check --dry-run
	@$(PY) manage.py check

messages: venv
	@$(PY) manage.py makemessages -l nl --ignore '.venv/*' --ignore 'tests/*'
	@$(PY) manage.py compilemessages --ignore '.venv/*'

clean:
	rm -rf $(VENV) var/
