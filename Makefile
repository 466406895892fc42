# Amparo: `make demo` and `make test` are all a newcomer needs (see README.md).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha256sum | cut -c1-12)
DEMO_ENV := AMPARO_DEMO=1

.PHONY: install browsers demo test lint fmt messages serve clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Amparo needs Python 3.11 or newer; set PYTHON=python3.12 (for example).")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "Installing Amparo and its dependencies into $(VENV) ..."
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@$(BIN)/python -m pip install --quiet -e ".[test]"
	@rm -f $(VENV)/.installed-* && touch $(STAMP)
	@command -v pg_dump >/dev/null && command -v pg_restore >/dev/null || echo "Note: \`amparo backup\` of a PostgreSQL database needs pg_dump and pg_restore: apt-get install postgresql-client (the server's major version or newer)."

install: $(STAMP)

# Demo keys are generated once into var/ (never used outside AMPARO_DEMO=1).
var/secret_key var/master_key:
	@mkdir -p var && chmod 700 var
	@test -s var/secret_key || $(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(50))' > var/secret_key
	@test -s var/master_key || $(BIN)/python -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())' > var/master_key
	@chmod 600 var/secret_key var/master_key

demo: install var/secret_key var/master_key
	@$(DEMO_ENV) $(BIN)/amparo migrate --noinput -v0
	@$(DEMO_ENV) $(BIN)/amparo seed_demo --once
	@$(DEMO_ENV) $(BIN)/amparo serve --host 127.0.0.1 --port 8000

# Browser tests drive Debian's chromium through Playwright (no browser download).
browsers:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then echo "Installing Debian's chromium for the browser tests ..."; \
	    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "The browser tests need Debian's chromium: run 'sudo apt-get install chromium', then 'make test' again." >&2; exit 1; fi; }

# The layer contracts (pyproject.toml, [tool.importlinter]) first: a wrong import fails in a second.
test: install browsers
	@$(BIN)/lint-imports --no-cache
	@$(BIN)/pytest

lint: install
	@$(BIN)/ruff check .
	@$(BIN)/lint-imports --no-cache
	@$(BIN)/ruff format --check .

fmt: install
	@$(BIN)/ruff check --fix .
	@$(BIN)/ruff format .

# Re-extract the message catalogues and compile them (needs GNU gettext).
messages: install
	@scripts/messages.sh

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis .import_linter_cache
