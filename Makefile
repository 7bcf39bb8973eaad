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

test: deps .venv-obv
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

# 1EdTech's Open Badges 2.0 validator, in its own virtualenv (its pins clash with the app's);
# the exact recipe of OPENBADGES.md. tests/test_validator.py and tools/obvalidate.py use it.
OBV_PACKAGES := openbadges==1.1.2 openbadges-bakery==1.2.4 python-jose==3.2.0 ecdsa==0.14.1 rsa pyasn1 \
  pycryptodome pytz aniso8601 click==6.7 future==0.16.0 jsonschema==2.6.0 language-tags==0.4.3 \
  pydux==0.2.2 PyLD==0.7.1 python-mimeparse==1.6.0 requests requests-cache==0.4.13 \
  rfc3986==0.4.1 validators==0.11.2 decorator pypng defusedxml six idna urllib3 certifi \
  charset-normalizer responses PyYAML

.venv-obv: .venv-obv/.installed

.venv-obv/.installed:
	rm -rf .venv-obv
	$(PYTHON) -m venv .venv-obv
	.venv-obv/bin/pip install -q --no-deps $(OBV_PACKAGES)
	.venv-obv/bin/python -c "import openbadges.verifier, responses"
	touch $@

bench: deps
	$(BIN)/python bench/badges.py

clean: db-stop
	rm -rf $(STATE) .badgekit-test
