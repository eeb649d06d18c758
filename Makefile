# Two commands do all the set-up: `make run` and `make test`. Both create .venv on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
export DJANGO_SETTINGS_MODULE := eventhub.settings

.PHONY: run test lint bench bench-patterns chaos cluster fuzz screenshots clean

$(VENV)/.runtime: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.txt
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(BIN)/python -m pip install -q -r requirements-dev.txt
	touch $@

run: $(VENV)/.runtime
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py migrate --noinput
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py ensure_admin
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py runstack $(if $(DEMO),--demo) $(if $(PORT),--port $(PORT))

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	# Migrations do not depend on the database; an in-memory one keeps the check off the real server.
	DEBUG=1 DATABASE_URL=sqlite:///:memory: $(BIN)/python manage.py makemigrations --check --dry-run

test: lint
	DEBUG=1 $(BIN)/python -m pytest $(PYTEST_ARGS)

bench-patterns: $(VENV)/.dev
	$(BIN)/python bench/patterns.py

# Seeds demo traffic in a throwaway stack, then saves a PNG of each dashboard page into docs/screenshots/.
screenshots: $(VENV)/.dev
	DEBUG=1 $(BIN)/python bench/screenshots.py

clean:
	rm -rf $(VENV) staticfiles .eventhub test-db.sqlite3*

# Proof under load and faults. `make bench` writes docs/benchmarks/README.md and its plots (about twelve
# minutes; against PostgreSQL too when DATABASE_URL points at one). `make chaos` runs the fault scenarios
# (pass/fail, under 30 minutes) and rewrites the results in docs/reliability.md. `make fuzz` runs
# schemathesis with at least 1,000 generated requests per API operation.
bench: $(VENV)/.dev
	DEBUG=1 $(BIN)/python bench/report.py

chaos: $(VENV)/.dev
	DEBUG=1 $(BIN)/python -m chaos.run

fuzz: $(VENV)/.dev
	DEBUG=1 $(BIN)/python -m chaos.fuzz --examples 1000

# EventHub on several hosts: network namespaces on this machine (needs root), one host cut off and restored,
# throughput with one worker host against two. Rewrites docs/benchmarks/cluster.md (about five minutes).
cluster: $(VENV)/.dev
	DEBUG=1 $(BIN)/python -m chaos.cluster
