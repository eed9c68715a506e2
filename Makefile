# Two entry points (see README): `make demo` and `make test`. Both start from python3 alone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test fuzz chromium lint typecheck unit docs settings-doc clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e ".[test]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/polite-crawl demo

test: $(STAMP) chromium lint typecheck docs unit

# The audit report is checked as a person would see it, in headless Chromium (Debian's package).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the report test"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

docs: $(STAMP)
	$(BIN)/python -m sphinx -q -W --keep-going -b html docs docs/_build/html

settings-doc: $(STAMP)
	$(BIN)/python -c "from polite_crawl.settings import reference_markdown as r; print(r(), end='')" > docs/settings.md

unit: $(STAMP)
	$(BIN)/python -m pytest -n 2

# The property tests (every @given test) under the `long` Hypothesis profile: many more examples
# per test, no per-test timeout. See docs/testing.md for how long it takes.
fuzz: $(STAMP)
	HYPOTHESIS_PROFILE=long $(BIN)/python -m pytest -n 2 -m hypothesis --timeout=0 -q

clean:
	rm -rf $(VENV) docs/_build .mypy_cache .ruff_cache
