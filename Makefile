# The README's two commands: `make demo` and `make test`. Each creates .venv and installs what it
# needs on a fresh machine. torch is pinned to the CPU build for CI and laptops; GPU users install
# their own torch first (any torch>=2.3 satisfies the package).
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
PIP     = $(PY) -m pip
TORCH  ?= torch==2.13.0
STAMP   = $(VENV)/.spectm-installed
DATA   ?= spectm-data

.PHONY: install demo test lint bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q "$(TORCH)"
	$(PIP) install -q -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/spectm --data-dir $(DATA) run pipelines/demo.yaml

test: $(STAMP)
	$(VENV)/bin/ruff check spectm tests benchmarks
	$(VENV)/bin/ruff format --check spectm tests benchmarks
	$(VENV)/bin/lint-imports --no-cache
	$(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check spectm tests benchmarks
	$(VENV)/bin/ruff format --check spectm tests benchmarks
	$(VENV)/bin/lint-imports --no-cache

bench: $(STAMP)
	$(PY) benchmarks/run_all.py

clean:
	rm -rf $(VENV) $(DATA) .pytest_cache .ruff_cache
