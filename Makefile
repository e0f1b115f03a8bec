# labkit: `make demo` runs the offline lab, `make test` runs the whole test suite.
# Both create .venv on first use and reuse it afterwards.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PYTEST := $(BIN)/python -m pytest
COLAB_VENV  := .venv-colab
COLAB_STAMP := $(COLAB_VENV)/.installed
NOTEBOOK_RUNS := tests/test_notebooks.py -m slow -k run_all   # both sessions, both languages, quick mode

.PHONY: venv tex demo test test-fast test-colab screenshots bench urls notebooks clean

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

# .venv-colab is built (mostly downloads) while the main suite runs, then its notebook runs follow.
test: venv tex
	@mkdir -p runs; $(MAKE) --no-print-directory $(COLAB_STAMP) > runs/venv-colab.log 2>&1 & colab=$$!; \
	$(PYTEST); status=$$?; \
	wait $$colab || { cat runs/venv-colab.log; echo "building .venv-colab failed (log above)"; exit 1; }; \
	[ $$status -eq 0 ] || exit $$status; \
	$(MAKE) --no-print-directory test-colab

# The notebooks again on Google Colab's package versions (ipywidgets 7.7.1, IPython 7.34, pandas 2.2.3, ...):
# a second venv constrained by .ci/colab-constraints.txt (scripts/colab_env.py says what differs from Colab).
$(COLAB_STAMP): .ci/colab-constraints.txt requirements.txt requirements-dev.txt scripts/colab_env.py
	$(PYTHON) scripts/colab_env.py build --python $(PYTHON)
	touch $@

test-colab: $(COLAB_STAMP)
	PYTHONPATH=$(CURDIR) $(COLAB_VENV)/bin/python -m pytest -p no:cacheprovider tests/test_notebooks.py tests/test_colab.py -m slow

test-fast: venv
	$(PYTEST) -m "not slow"

# Every benchmark checks its own targets (exit 1 when one is missed); all run, then one table of target, figure, verdict.
BENCH_RESULTS := runs/bench-results.jsonl
bench: venv
	@mkdir -p runs; rm -f $(BENCH_RESULTS); status=0; \
	for b in benchmarks/bench_*.py; do echo "== $$b"; PYTHONPATH=$(CURDIR) LABKIT_BENCH_RESULTS=$(BENCH_RESULTS) $(BIN)/python $$b || status=1; done; \
	echo; $(BIN)/python benchmarks/common.py $(BENCH_RESULTS) || status=1; exit $$status

# The README badges and the notebooks' clone cells follow [project.urls] Repository in pyproject.toml.
urls:
	$(PYTHON) scripts/set_repository_url.py

# notebooks/es and notebooks/en are written from the bilingual sources in notebooks/src.
notebooks: venv
	$(BIN)/python scripts/build_notebooks.py

# Executes the notebooks, renders them to HTML and photographs each page with headless Chromium:
# build/screenshots/<lang>-session<N>-<piece>.png (Debian's chromium package).
screenshots: venv
	LABKIT_EXECUTED_DIR=$(CURDIR)/build/notebooks $(PYTEST) $(NOTEBOOK_RUNS)
	$(BIN)/python scripts/screenshots.py build/notebooks build/screenshots

clean:
	rm -rf $(VENV) $(COLAB_VENV) .pytest_cache build *.egg-info
