# Two entry points (see README): `make demo` and `make test`. Both start from python3 alone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test fuzz chromium redis lint typecheck unit min-scrapy docs settings-doc policies-doc clean

# The oldest Scrapy we support, in a venv of its own: the crawl tests of how the add-on plugs
# into Scrapy (middleware order, commands, spider middleware, write-ahead, pipelines).
MIN_VENV := .venv-min
MIN_STAMP := $(MIN_VENV)/.installed
MIN_SCRAPY := scrapy==2.13.*
MIN_TESTS := tests/test_crawl_gate.py tests/test_scrapy_project.py tests/test_crawl_signals.py \
	tests/test_audit_crash.py tests/test_crawl_image_metadata.py tests/test_crawl_optout_files.py \
	tests/test_gate_hardening.py tests/test_crawl_tos.py tests/test_crawl_wire.py \
	tests/test_crawl_internal_addresses.py tests/test_spider_settings.py \
	tests/test_crawl_size_limits.py tests/test_crawl_wire_review.py tests/test_crawl_image_sources.py \
	tests/test_crawl_botauth.py tests/test_audit_match.py tests/test_crawl_fleet.py \
	tests/test_crawl_fleet_audit.py tests/test_crawl_browser.py \
	tests/test_first_hour.py tests/test_cli_first_hour.py

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e ".[test]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/polite-crawl demo

test: $(STAMP) chromium redis lint typecheck docs unit min-scrapy

# The audit report is checked as a person would see it, in headless Chromium (Debian's package).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the report test"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# The fleet tests run against a real Redis: Debian's redis-server, started by each test on a
# free loopback port (polite_crawl/testing/redisserver.py), never as a system service.
redis:
	@command -v redis-server >/dev/null 2>&1 || { \
	  echo "installing Debian's redis-server for the fleet tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; }

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

docs: $(STAMP)
	$(BIN)/python -m sphinx -q -W --keep-going -b html docs docs/_build/html

settings-doc: $(STAMP)
	$(BIN)/python -c "from polite_crawl.settings import reference_markdown as r; print(r(), end='')" > docs/settings.md

# The platform tables of docs/policies.md, from policies/*.toml (the prose around them is kept).
policies-doc: $(STAMP)
	$(BIN)/python -c "from pathlib import Path; from polite_crawl.policy.tables import update; update(Path('docs/policies.md'))"

unit: $(STAMP)
	$(BIN)/python -m pytest -n 2

$(MIN_STAMP): pyproject.toml
	$(PYTHON) -m venv $(MIN_VENV)
	$(MIN_VENV)/bin/python -m pip install -q --upgrade pip
	$(MIN_VENV)/bin/python -m pip install -q "$(MIN_SCRAPY)" -e ".[test]"
	touch $(MIN_STAMP)

min-scrapy: $(MIN_STAMP)
	$(MIN_VENV)/bin/python -c "import scrapy; print('Scrapy', scrapy.__version__)"
	$(MIN_VENV)/bin/python -m pytest -n 2 -q $(MIN_TESTS)

# The property tests (every @given test) under the `long` Hypothesis profile: many more examples
# per test, no per-test timeout. See docs/testing.md for how long it takes.
fuzz: $(STAMP)
	HYPOTHESIS_PROFILE=long $(BIN)/python -m pytest -n 2 -m hypothesis --timeout=0 -q

clean:
	rm -rf $(VENV) $(MIN_VENV) docs/_build .mypy_cache .ruff_cache
