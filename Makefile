# labkit: `make demo` runs the offline lab, `make test` runs the whole test suite.
# Both create .venv on first use and reuse it afterwards.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PYTEST := $(BIN)/python -m pytest

.PHONY: venv tex demo test test-fast bench urls clean

$(STAMP): requirements-dev.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	$(BIN)/python -m pip install -q --disable-pip-version-check --no-deps resemblyzer==0.1.4
	$(BIN)/python -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

venv: $(STAMP)

demo: venv
	$(BIN)/labkit demo

# The TeX set for the report's PDF tests (Debian packages; says so and goes on when it cannot install).
tex:
	@bash scripts/install-tex.sh

test: venv tex
	$(PYTEST)

test-fast: venv
	$(PYTEST) -m "not slow"

bench: venv
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

# The README badges and the notebooks' clone cells follow [project.urls] Repository in pyproject.toml.
urls:
	$(PYTHON) scripts/set_repository_url.py

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
