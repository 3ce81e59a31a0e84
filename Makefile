# Two commands set everything up: `make run` (demo on SQLite, tasks in-process) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUNTIME := $(VENV)/.runtime-installed
DEV := $(VENV)/.dev-installed
PIPELINES := var/spacy/.built

# The test run talks to the real PostgreSQL and Redis of the machine (see tests/services.sh).
TEST_ENV := DEBUG=1 SECRET_KEY=test-only-secret-key \
	DATABASE_URL=$${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test} \
	TEST_REDIS_URL=$${TEST_REDIS_URL:-redis://127.0.0.1:6379/15} REQUIRE_BROWSER=1
RUN_ENV := DEBUG=1

.PHONY: install messages run test lint bench clean

$(RUNTIME): requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.txt
	touch $@

$(DEV): $(RUNTIME) requirements-dev.txt
	$(BIN)/python -m pip install -q -r requirements-dev.txt
	touch $@

$(PIPELINES): $(RUNTIME) triage/pipelines.py
	$(BIN)/python -m triage.pipelines var/spacy
	touch $@

install: $(RUNTIME) $(PIPELINES)

# Translations of the admin (de/fr/it); without gettext the interface stays in English.
messages: $(RUNTIME)
	@if command -v msgfmt >/dev/null; then \
		$(RUN_ENV) $(BIN)/python manage.py compilemessages --ignore=.venv -v 0; \
	else echo "gettext (msgfmt) is missing: the admin stays in English"; fi

run: install messages
	$(RUN_ENV) $(BIN)/python manage.py migrate --noinput
	$(RUN_ENV) $(BIN)/python manage.py helpdesk demo
	$(RUN_ENV) $(BIN)/python manage.py runserver 127.0.0.1:8000

lint: $(DEV)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(TEST_ENV) $(BIN)/mypy .
	$(TEST_ENV) $(BIN)/python manage.py makemigrations --check --dry-run

test: $(DEV) $(PIPELINES)
	bash tests/services.sh
	$(MAKE) messages lint
	$(TEST_ENV) $(BIN)/pytest

bench: $(DEV) $(PIPELINES)
	bash tests/services.sh
	$(TEST_ENV) $(BIN)/python -m bench

clean:
	rm -rf $(VENV) var
