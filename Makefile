# Nerava platform — the two commands: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
BUF := tools/node_modules/.bin/buf
DOCS_ASSETS := tools/node_modules/swagger-ui-dist/swagger-ui-bundle.js
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
STAMP := $(VENV)/.installed

.PHONY: run test venv gen check-gen protodeps buf docs-assets browser lint-protos breaking migrate bench bench-tools clean help

help:
	@echo "make run    - install, generate, migrate and start the whole stack (SQLite, simulators)"
	@echo "make test   - install and run every test (PostgreSQL tests need 127.0.0.1:5432)"
	@echo "make gen    - regenerate Python code from protos/"
	@echo "make bench  - run the benchmarks"

venv: $(STAMP)
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

gen: venv
	$(PY) scripts/gen_protos.py

# The generated code is committed; regenerating must change nothing.
check-gen: gen
	@git diff --exit-code --stat -- nerava || (echo "generated code drifted from protos/: run 'make gen' and commit" && exit 1)
	@test -z "$$(git status --porcelain -- nerava)" || (echo "untracked generated files: run 'make gen' and commit" && git status --porcelain -- nerava && exit 1)

# google/api and google/rpc imports, copied from the googleapis-common-protos wheel.
protodeps: venv
	$(PY) scripts/protodeps.py

$(BUF) $(DOCS_ASSETS): tools/package.json tools/package-lock.json
	cd tools && npm install --no-audit --no-fund --loglevel=error
	touch $(BUF) $(DOCS_ASSETS)

buf: $(BUF)

# Swagger UI for the gateway's /docs page, from the npm registry (served locally, never from a CDN).
docs-assets: $(DOCS_ASSETS)

# Headless Chromium (Debian package) for the docs-page browser test.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing the Debian package chromium (docs-page browser test)"; \
	  $(SUDO) apt-get install -y -q chromium >/dev/null 2>&1 || \
	  { $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q chromium; }; }

lint-protos: $(BUF)
	$(BUF) lint
	$(BUF) format --diff --exit-code --path protos/nerava

breaking: $(BUF)
	bash scripts/buf_breaking.sh

migrate: venv
	$(VENV)/bin/nerava migrate

run: venv gen docs-assets
	$(VENV)/bin/nerava migrate
	$(VENV)/bin/nerava up

test: venv gen docs-assets browser
	$(PY) -m pytest -q $(PYTEST_ARGS)

# wrk (Debian) is the HTTP load generator; installed on first use.
bench-tools:
	@command -v wrk >/dev/null || $(SUDO) apt-get install -y -q wrk >/dev/null 2>&1 \
	  || ($(SUDO) apt-get update -q >/dev/null && $(SUDO) apt-get install -y -q wrk >/dev/null) \
	  || (echo "could not install wrk: apt-get install wrk" && exit 1)

bench: venv gen bench-tools
	$(PY) -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache
