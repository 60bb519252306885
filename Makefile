# The two commands a newcomer needs: `make demo` and `make test`.
# Each creates (or reuses) .venv and installs what it needs; a stamp file per
# extra records that pyproject.toml has not changed since the last install.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

# uv (from PyPI, into the venv) installs the same packages as pip in a fraction of
# the time, which keeps a first `make demo` short; pip takes over where uv is missing.
# The test extra is byte-compiled as it is installed (pip does that by default; uv when asked,
# the macro's second argument — and uv compiles only what it installs, so every package of the
# extra is installed again, from uv's cache), and `make test` compiles src/: the suite's hundreds
# of processes then start from .pyc files instead of compiling every module they import — every
# time, where PYTHONDONTWRITEBYTECODE is set (as here) or site-packages is read-only
# (BENCHMARKS.md: a CLI `train` 5.5 s → 1.2 s).  `make demo` runs one process: compiling first
# would only add time.
INSTALL = if [ -x $(BIN)/uv ]; then $(BIN)/uv pip install --quiet $(2) --python $(BIN)/python $(1); \
          else $(BIN)/python -m pip install --quiet $(1); fi

.PHONY: demo test bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet uv || echo "uv is not available: installing with pip"

$(VENV)/.installed-base: pyproject.toml | $(BIN)/python
	$(call INSTALL,-e .)
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(call INSTALL,-e '.[test]',--compile-bytecode --reinstall)
	touch $@ $(VENV)/.installed-base

demo: $(VENV)/.installed-base
	$(BIN)/neuronlab demo

# torch==2.13.0 is a CPU wheel on this machine's disk, which only pip looks for
$(VENV)/.installed-bench: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	touch $@ $(VENV)/.installed-base

bench: $(VENV)/.installed-bench
	$(BIN)/python bench/bench_training.py

test: $(VENV)/.installed-test
	$(BIN)/python -m compileall -q src
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache
