# Two commands do everything on a fresh machine (Python 3.11): `make demo` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test bench clean

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[test]"
	touch $(STAMP)

demo: $(STAMP)  ## the main job on built-in defaults: every built-in hardware class x the methods it runs
	$(VENV)/bin/xpusim compare --out xpusim-report

test: $(STAMP)  ## the whole test suite (slow-marked tests included)
	$(PY) -m pytest -q -p no:cacheprovider

bench: $(STAMP)  ## simulator speed, as ratios against plain numpy
	for b in benchmarks/bench_*.py; do $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
