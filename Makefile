# The one list of dev commands; README, .ci/run and hooks call these targets.
VENV      ?= .venv
PY        := $(VENV)/bin/python
PIP       := $(VENV)/bin/pip
MVN_POM   := tests/compat/java/pom.xml
COMPAT_JAR := tests/compat/java/target/rmq-compat-0.1.0.jar

.PHONY: help install build build-release compat-deps browser-deps fmt lint test test-rust test-python \
        bench bench-e2e bench-compare bench-compare-quick run clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(PY):
	python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip

install: $(PY)  ## install rmq (editable, with test tools) into .venv; builds the Rust extension
	$(PIP) install -q -e '.[test]'

build: $(PY)  ## rebuild the Rust extension in place (removes a stale .so first)
	rm -f python/rmq/_store*.so
	$(PIP) install -q -e '.[test]'

build-release: $(PY)  ## build a release wheel into dist/
	$(PIP) install -q maturin
	$(VENV)/bin/maturin build --release --out dist

compat-deps: $(COMPAT_JAR)  ## fetch Apache RocketMQ 4.9.7 jars from Maven Central, build the compat driver

$(COMPAT_JAR): $(MVN_POM) $(shell find tests/compat/java/src -type f 2>/dev/null)
	mvn -B -q -f $(MVN_POM) package dependency:copy-dependencies

# Debian's Chromium for the console's browser tests (Playwright drives it; no browser
# download), and a CJK font so screenshots of the Chinese pages are legible.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser-deps:  ## install Debian's chromium (and a CJK font) for the console browser tests
	command -v chromium >/dev/null && fc-list | grep -qi zenhei || \
	  ($(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q chromium fonts-wqy-zenhei)

fmt:  ## format Python and Rust
	$(VENV)/bin/ruff format python tests bench
	$(VENV)/bin/ruff check --fix python tests bench
	cargo fmt

lint:  ## ruff, mypy --strict, stubtest, rustfmt --check, clippy -D warnings
	$(VENV)/bin/ruff format --check python tests bench
	$(VENV)/bin/ruff check python tests bench
	$(VENV)/bin/mypy
	$(PY) -m mypy.stubtest rmq._store --allowlist .mypy-stubtest-allowlist
	cargo fmt --check
	cargo clippy --all-targets --all-features -- -D warnings

test-rust:  ## cargo test (no Python needed)
	cargo test --quiet

# Two workers: most tests wait on real processes, so two share the two cores well; a module
# stays on one worker so its cluster fixture starts once.
test-python:  ## every pytest test: unit, integration, compat, browser
	$(VENV)/bin/pytest -n 2 --dist loadscope

test: install compat-deps browser-deps lint test-rust test-python  ## install everything, lint, run every test

bench: install  ## pytest-benchmark micro benchmarks
	$(VENV)/bin/pytest bench/micro --benchmark-only -p no:randomly -o testpaths=bench

bench-compare: install compat-deps  ## rmq against Apache RocketMQ, every workload, 3 repetitions (report in bench/results)
	$(PY) -m bench.e2e.compare --full

bench-compare-quick: install compat-deps  ## the same in about 10 minutes: fewer workloads, 1 repetition
	$(PY) -m bench.e2e.compare --quick

bench-e2e: install compat-deps  ## rmq against Apache RocketMQ on this machine (routes, broker send/consume)
	$(PY) -m bench.e2e.namesrv_routes
	$(PY) -m bench.e2e.broker_throughput

run: install  ## start a single node (NameServer 9876, broker 10911, console 8080) in the foreground
	$(VENV)/bin/rmq-standalone

clean:  ## remove build output
	rm -rf target dist tests/compat/java/target python/rmq/_store*.so .pytest_cache .mypy_cache
