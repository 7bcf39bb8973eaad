# Two commands: `make run` (server with its own MariaDB) and `make test` (the whole suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STATE := .badgekit
HOST ?= 127.0.0.1
PORT ?= 8080

.PHONY: run test deps mariadb db-start db-stop bench clean system

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/pip install -q -e '.[test]'
	touch $@

deps: $(VENV)/.installed mariadb

mariadb:
	@command -v mariadbd >/dev/null 2>&1 || test -x /usr/sbin/mariadbd || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mariadb-server mariadb-client >/dev/null)

db-start: deps
	$(BIN)/python tools/devdb.py start

db-stop:
	$(BIN)/python tools/devdb.py stop

run: db-start
	@eval "$$($(BIN)/python tools/devdb.py env)" && \
	  $(BIN)/badgekit migrate && \
	  echo "BadgeKit dev master secret (kept in $(STATE)/master_secret): $$BADGEKIT_MASTER_SECRET" && \
	  echo "Create a system and a client key (in another shell): make system SLUG=chicago NAME=Chicago" && \
	  BADGEKIT_PUBLIC_URL=$${BADGEKIT_PUBLIC_URL:-http://$(HOST):$(PORT)} exec $(BIN)/badgekit serve --host $(HOST) --port $(PORT)

system: db-start
	@eval "$$($(BIN)/python tools/devdb.py env)" && $(BIN)/badgekit systems create $(SLUG) --name "$(or $(NAME),$(SLUG))" --key

test: deps
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

bench: deps
	$(BIN)/python bench/badges.py

clean: db-stop
	rm -rf $(STATE) .badgekit-test
