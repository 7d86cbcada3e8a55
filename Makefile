# linewise: `make demo` and `make test` each do all set-up (venvs under .venvs/, builds, installs).
SHELL := /bin/bash
NEWEST := $(lastword $(shell scripts/pythons.sh))

.PHONY: all build test test-timing-load test-asan test-asan-all fuzz fuzz-merge demo bench bench-memory bench-programs clean

all: build

build:
	@for py in $$(scripts/pythons.sh); do scripts/venv.sh $$py >/dev/null || exit 1; done

test:
	scripts/test-all.sh

# The time-asserting tests RUNS times (default 20) with one CPU hog per core, on every
# Python and backend (scripts/timing-under-load.sh); any failed run fails.
test-timing-load:
	@status=0; for py in $$(scripts/pythons.sh); do \
	  vpy=$$(scripts/venv.sh $$py | tail -n 1) || exit 1; \
	  backends=legacy; $$vpy -c 'import sys; sys.exit(sys.version_info < (3, 12))' && backends="monitoring legacy"; \
	  for b in $$backends; do LINEWISE_BACKEND=$$b scripts/timing-under-load.sh $$vpy || status=1; done; \
	done; exit $$status

# The whole suite against an ASan+UBSan build of the engine (.venvs/asan-X.Y), on the
# oldest and the newest Python, every backend; any sanitizer report fails.
# ASAN_PYTHONS="path ..." to choose; `make test-asan-all` for every Python.
test-asan:
	scripts/test-asan.sh

test-asan-all:
	ASAN_PYTHONS=all scripts/test-asan.sh

# libFuzzer on the results-file reader for FUZZ_SECONDS (default 300); FUZZ_JOBS=2 for
# two processes. Installs clang from Debian's packages if it is missing.
FUZZ_SECONDS ?= 300
fuzz:
	scripts/fuzz.sh $(FUZZ_SECONDS)

# Folds what `make fuzz` found (build/fuzz/corpus) into the committed corpus fuzz/corpus.
fuzz-merge:
	scripts/fuzz.sh --merge

demo:
	@set -o pipefail; vpy=$$(scripts/venv.sh $(NEWEST) scikit-learn | tail -n 1) && $$vpy examples/walkthrough.py

bench:
	@set -o pipefail; rm -rf build/bench; \
	for py in $$(scripts/pythons.sh); do \
	  vpy=$$(scripts/venv.sh $$py numpy scikit-learn | tail -n 1) && $$vpy benchmarks/overhead.py --json build/bench $(BENCH_ARGS) || exit 1; \
	done; \
	$(NEWEST) benchmarks/overhead.py --report build/bench/overhead-*.json

# Memory per line next to memory_profiler, tracemalloc, memray and Scalene, on the newest
# Python (benchmarks/memory.py; BENCH_ARGS="--reps 3 --only strings" and so on).
bench-memory:
	@set -o pipefail; vpy=$$(scripts/venv.sh $(NEWEST) memory_profiler memray scalene numpy scikit-learn | tail -n 1) && $$vpy benchmarks/memory.py $(BENCH_ARGS)

# Real programs (pyperformance's, fetched into build/programs/), every function profiled:
# bare, line_profiler, linewise and the null-hook floor on every Python, then one table.
bench-programs:
	@set -o pipefail; rm -rf build/bench-programs; \
	for py in $$(scripts/pythons.sh); do \
	  vpy=$$(scripts/venv.sh $$py | tail -n 1) && $$vpy benchmarks/programs.py --json build/bench-programs $(BENCH_ARGS) || exit 1; \
	done; \
	$(NEWEST) benchmarks/programs.py --report build/bench-programs/programs-*.json

clean:
	rm -rf build .venvs src/*.egg-info src/linewise/*.so
