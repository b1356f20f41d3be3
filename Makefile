# Developer entry points. `make run` and `make test` are the README's two commands.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
EA_DATA_DIR ?= $(CURDIR)/.data
HOST ?= 127.0.0.1
PORT ?= 8000
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
# The accessibility engine the browser tests inject; its version is also in scripts/fetch-axe
# (with the integrity it checks) and tests/web/browser/harness.py.
AXE := .cache/axe-core/4.14.1/axe.min.js

.PHONY: all run test lint format typecheck bench clean lock wheelhouse deb apt-repo

all: test lint

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || { \
	  echo "error: could not create a virtualenv; on Debian/Ubuntu run: sudo apt install python3-venv" >&2; exit 1; }
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(DEV_STAMP): pyproject.toml $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

run: $(STAMP)
	EA_DATA_DIR=$(EA_DATA_DIR) EA_CONFIG=$(CURDIR)/etc/editorial-assistant/dev.toml \
	  $(BIN)/editorial-assistant serve --host $(HOST) --port $(PORT)

$(AXE):
	scripts/fetch-axe

test: $(DEV_STAMP) $(AXE)
	$(BIN)/python -m pytest

lint: $(DEV_STAMP)
	$(BIN)/ruff check editorial_assistant tests scripts
	$(BIN)/ruff format --check editorial_assistant tests scripts

format: $(DEV_STAMP)
	$(BIN)/ruff format editorial_assistant tests scripts
	$(BIN)/ruff check --fix editorial_assistant tests scripts

typecheck: $(DEV_STAMP)
	$(BIN)/mypy editorial_assistant

bench: $(DEV_STAMP)
	$(BIN)/python scripts/bench

# The package: `make wheelhouse` downloads the hash-pinned dependencies (needs PyPI), then
# `make deb` builds .build/deb/editorial-assistant_<version>_<arch>.deb offline from them.
LOCKS := packaging/requirements.lock packaging/requirements-build.lock packaging/requirements-test.lock

lock: $(DEV_STAMP)
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --universal --python-version 3.10 --generate-hashes \
	  --no-header --quiet -o packaging/requirements.lock
	echo 'setuptools>=68' | $(BIN)/uv pip compile - --universal --python-version 3.10 \
	  --generate-hashes --no-header --quiet -o packaging/requirements-build.lock
	echo 'pytest>=8' | $(BIN)/uv pip compile - -c packaging/requirements.lock --universal \
	  --python-version 3.10 --generate-hashes --no-header --quiet -o packaging/requirements-test.lock

wheelhouse: $(LOCKS) | $(BIN)/python
	for lock in $(LOCKS); do \
	  $(BIN)/python -m pip download --quiet --require-hashes --no-deps --only-binary=:all: \
	    --dest wheelhouse -r $$lock || exit 1; \
	done
	@touch wheelhouse

deb: wheelhouse
	scripts/build-deb

apt-repo: deb
	scripts/make-apt-repo .build/deb/*.deb

clean:
	rm -rf $(VENV) .data build *.egg-info .pytest_cache .ruff_cache .mypy_cache .build
