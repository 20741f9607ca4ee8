# Lysbord: `make run` serves a demo region on the embedded default; `make test` runs every test.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
DATA_DIR ?= var
PYTEST_WORKERS ?= auto
# make run PORT=8400 (DICOM_PORT=, HL7_PORT= likewise); unset: the settings' ports.
SERVE_PORTS = $(if $(PORT),--http-port $(PORT)) $(if $(DICOM_PORT),--dicom-port $(DICOM_PORT)) $(if $(HL7_PORT),--hl7-port $(HL7_PORT))

APT_GET := DEBIAN_FRONTEND=noninteractive apt-get

.PHONY: help ports install system-deps bench-deps viewer web-test-deps run demo check test lint format bench clean messages

help:
	@echo "make run    - install, create a demo region in ./$(DATA_DIR) if empty, serve it"
	@echo "make test   - the whole test suite (SQLite and PostgreSQL)"
	@echo "make lint   - ruff, mypy --strict, the layer contracts (import-linter), module sizes"
	@echo "make bench  - benchmarks, printed as tables"
	@echo "make messages - extract the services' messages into the catalogues (then translate the new ones)"
	@echo "make viewer - install the OHIF viewer (npm @ohif/app) into ./.viewer"

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# DCMTK's command-line tools are the DICOM clients of the tests (Debian package dcmtk).
# Headless Chromium (Debian's, driven by Playwright) runs the browser tests.
# `make run PORT=abc` stops here, before anything is installed or built.
ports:
	@for p in $(PORT) $(DICOM_PORT) $(HL7_PORT); do \
	  case $$p in *[!0-9]*) echo "make run: '$$p' is not a port number (1-65535)" >&2; exit 2;; esac; \
	  [ $$p -ge 1 ] && [ $$p -le 65535 ] || { echo "make run: $$p is not a port number (1-65535)" >&2; exit 2; }; \
	done

system-deps:
	@command -v storescu >/dev/null && command -v chromium >/dev/null && command -v strace >/dev/null || { $(APT_GET) update -qq && $(APT_GET) install -y -qq dcmtk chromium chromium-driver strace; }

# Orthanc is the benchmarks' comparison peer, started by the benchmark itself.
bench-deps: system-deps
	@command -v Orthanc >/dev/null || { $(APT_GET) update -qq && $(APT_GET) install -y -qq orthanc orthanc-dicomweb; }

# The OHIF Viewer (npm @ohif/app, a prebuilt web app), rewritten once for /viewer/.
OHIF_VERSION := 3.13.2
VIEWER_DIR := .viewer
VIEWER_STAMP := $(VIEWER_DIR)/.ohif-$(OHIF_VERSION)

$(VIEWER_STAMP): | $(STAMP)
	@command -v npm >/dev/null || { $(APT_GET) update -qq && $(APT_GET) install -y -qq npm; }
	rm -rf $(VIEWER_DIR).pack && mkdir -p $(VIEWER_DIR).pack
	cd $(VIEWER_DIR).pack && npm pack --silent @ohif/app@$(OHIF_VERSION) >/dev/null
	$(PY) -m lysbord.dicomweb.viewer_install $(VIEWER_DIR).pack/ohif-app-$(OHIF_VERSION).tgz $(VIEWER_DIR)
	rm -rf $(VIEWER_DIR).pack
	touch $(VIEWER_STAMP)

viewer: $(VIEWER_STAMP)

# axe-core (npm), the accessibility engine the browser tests inject into each page.
AXE_VERSION := 4.14.1
NODE_DIR := .node
AXE_STAMP := $(NODE_DIR)/.axe-core-$(AXE_VERSION)

$(AXE_STAMP):
	@command -v npm >/dev/null || { $(APT_GET) update -qq && $(APT_GET) install -y -qq npm; }
	npm install --silent --no-save --no-audit --no-fund --prefix $(NODE_DIR) axe-core@$(AXE_VERSION)
	touch $(AXE_STAMP)

web-test-deps: system-deps $(AXE_STAMP)

run: ports install viewer
	$(VENV)/bin/lysbord demo --data-dir $(DATA_DIR) --if-empty
	$(VENV)/bin/lysbord serve --data-dir $(DATA_DIR) $(SERVE_PORTS)

demo: install
	$(VENV)/bin/lysbord demo --data-dir $(DATA_DIR) --if-empty

check: install
	$(VENV)/bin/lysbord check --data-dir $(DATA_DIR)

test: install system-deps viewer web-test-deps
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadgroup --durations=30

lint: install
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

format: install
	$(VENV)/bin/ruff check --fix src tests bench
	$(VENV)/bin/ruff format src tests bench

bench: install bench-deps
	$(PY) -m bench

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache

# The services' messages (every Msg("...") in src/lysbord) into the template and each language's
# catalogue; a new message arrives untranslated, a removed one is dropped (docs/internals.md).
LOCALE_DIR := src/lysbord/locale
messages: $(STAMP)
	$(VENV)/bin/pybabel extract --no-default-keywords -k Msg --no-location --sort-output \
	  --project lysbord -o $(LOCALE_DIR)/lysbord.pot src/lysbord
	$(VENV)/bin/pybabel update --no-fuzzy-matching --ignore-obsolete -i $(LOCALE_DIR)/lysbord.pot \
	  -d $(LOCALE_DIR) -D lysbord
