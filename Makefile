# Two commands do everything on a fresh machine (Python 3.11): `make demo` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test test-nojit bench clean

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[test]"
	touch $(STAMP)

demo: $(STAMP)  ## the main job on built-in defaults: every built-in hardware class x the methods it runs
	$(VENV)/bin/xpusim compare --out xpusim-report

test: $(STAMP)  ## the whole test suite (slow-marked tests included)
	$(PY) -m pytest -q -p no:cacheprovider

# The twin and conformance checks again with numba off, so the kernels' Python bodies run
# (coverage; a numba-only behaviour shows as a twin difference). The checks that train tiny
# runs are left out: they repeat what the jitted suite checked, ten times slower. Integer
# wrap-around in SplitMix64 warns in Python mode; it is the intended arithmetic.
NOJIT_SKIP := not seed_determinism and not registered_kernels_run and not learns and not uses_declared_primitives
test-nojit: $(STAMP)  ## twin and conformance tests with NUMBA_DISABLE_JIT=1 (a few seconds)
	NUMBA_DISABLE_JIT=1 $(PY) -m pytest -q -p no:cacheprovider \
		-W "ignore:overflow encountered:RuntimeWarning" \
		tests/test_twins.py tests/test_conformance.py -k "$(NOJIT_SKIP)"

bench: $(STAMP)  ## simulator speed, as ratios against plain numpy
	for b in benchmarks/bench_*.py; do $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
