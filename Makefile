# linewise: `make demo` and `make test` each do all set-up (venvs under .venvs/, builds, installs).
SHELL := /bin/bash
NEWEST := $(lastword $(shell scripts/pythons.sh))

.PHONY: all build test demo bench clean

all: build

build:
	@for py in $$(scripts/pythons.sh); do scripts/venv.sh $$py >/dev/null || exit 1; done

test:
	scripts/test-all.sh

demo:
	@set -o pipefail; vpy=$$(scripts/venv.sh $(NEWEST) scikit-learn | tail -n 1) && $$vpy examples/walkthrough.py

bench:
	@set -o pipefail; rm -rf build/bench; \
	for py in $$(scripts/pythons.sh); do \
	  vpy=$$(scripts/venv.sh $$py numpy scikit-learn | tail -n 1) && $$vpy benchmarks/overhead.py --json build/bench $(BENCH_ARGS) || exit 1; \
	done; \
	$(NEWEST) benchmarks/overhead.py --report build/bench/overhead-*.json

clean:
	rm -rf build .venvs src/*.egg-info src/linewise/*.so
