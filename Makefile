# Lysbord: `make run` serves a demo region on the embedded default; `make test` runs every test.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
DATA_DIR ?= var
PYTEST_WORKERS ?= auto

APT_GET := DEBIAN_FRONTEND=noninteractive apt-get

.PHONY: help install system-deps bench-deps run demo check test lint format bench clean

help:
	@echo "make run    - install, create a demo region in ./$(DATA_DIR) if empty, serve it"
	@echo "make test   - the whole test suite (SQLite and PostgreSQL)"
	@echo "make lint   - ruff and mypy --strict"
	@echo "make bench  - benchmarks, printed as tables"

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# DCMTK's command-line tools are the DICOM clients of the tests (Debian package dcmtk).
# Headless Chromium (Debian's, driven by Playwright) runs the browser tests.
system-deps:
	@command -v storescu >/dev/null && command -v chromium >/dev/null || { $(APT_GET) update -qq && $(APT_GET) install -y -qq dcmtk chromium chromium-driver; }

# Orthanc is the benchmarks' comparison peer, started by the benchmark itself.
bench-deps: system-deps
	@command -v Orthanc >/dev/null || { $(APT_GET) update -qq && $(APT_GET) install -y -qq orthanc orthanc-dicomweb; }

run: install
	$(VENV)/bin/lysbord demo --data-dir $(DATA_DIR) --if-empty
	$(VENV)/bin/lysbord serve --data-dir $(DATA_DIR)

demo: install
	$(VENV)/bin/lysbord demo --data-dir $(DATA_DIR) --if-empty

check: install
	$(VENV)/bin/lysbord check --data-dir $(DATA_DIR)

test: install system-deps
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadgroup

lint: install
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/mypy

format: install
	$(VENV)/bin/ruff check --fix src tests bench
	$(VENV)/bin/ruff format src tests bench

bench: install bench-deps
	$(PY) -m bench

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
