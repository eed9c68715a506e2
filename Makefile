# Two entry points (see README): `make demo` and `make test`. Both start from python3 alone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck unit docs settings-doc clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e ".[test]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/polite-crawl demo

test: $(STAMP) lint typecheck docs unit

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

clean:
	rm -rf $(VENV) docs/_build .mypy_cache .ruff_cache
