# Two entry points on a fresh machine: `make study` (the default study) and `make test`.
# Both create .venv and install frbench with its pinned dependencies first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Extra pip arguments for torch only, e.g. a CPU wheel index on a machine that would
# otherwise fetch a CUDA build: make setup TORCH_PIP_ARGS="--index-url <cpu index>"
TORCH_PIP_ARGS ?=
# snakemake --cores: this machine's cores unless given (CORES=8 make study)
CORES ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: setup study figures test lint venv-deps java-test-deps browser-test-deps allocator-deps cluster-test clean

setup: $(VENV)/.installed

# Debian's python3 lacks ensurepip (so `python3 -m venv` fails) until python3-venv is installed;
# installed here when missing and apt is usable (as root, e.g. in CI).
venv-deps:
	@if ! $(PYTHON) -c "import ensurepip" 2>/dev/null \
		&& command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null; fi

$(VENV)/.installed: pyproject.toml | venv-deps
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0 $(TORCH_PIP_ARGS)
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

study: setup
	$(BIN)/snakemake --cores $(CORES) all

figures: setup
	$(BIN)/snakemake --cores $(CORES) figures

# Debian's junit4 runs the Android app's plain-Java unit tests (tests/test_android_java.py);
# installed here when missing and apt is usable (as root, e.g. in CI).
java-test-deps:
	@if { [ ! -f /usr/share/java/junit4.jar ] || ! command -v javac >/dev/null; } \
		&& command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && apt-get install -y -qq openjdk-17-jdk-headless junit4 >/dev/null; fi

# Debian's chromium runs the report's browser tests (tests/test_report.py: the tables' width at 1366
# and 1280 px, the figures and sorting with no network); installed here when missing and apt is usable.
browser-test-deps:
	@if ! command -v chromium >/dev/null && command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		{ apt-get update -qq && apt-get install -y -qq chromium >/dev/null; } \
		|| echo "chromium could not be installed: the browser tests will skip"; fi

# Debian's jemalloc and tcmalloc, the allocators `bench.allocator` offers beside glibc
# (frbench/bench/allocator.py, benchmarks/allocators.py); installed here when missing and apt is usable.
allocator-deps:
	@if ! { /sbin/ldconfig -p 2>/dev/null | grep -q libjemalloc.so.2 \
		&& /sbin/ldconfig -p 2>/dev/null | grep -q libtcmalloc_minimal.so.4; } \
		&& command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		{ apt-get update -qq && apt-get install -y -qq libjemalloc2 libtcmalloc-minimal4 >/dev/null; } \
		|| echo "jemalloc/tcmalloc could not be installed: bench.allocator offers glibc only here"; fi

# ruff (pycodestyle, pyflakes, blind excepts, import order) and snakefmt, configured in pyproject.toml
lint: setup
	$(BIN)/ruff check .
	$(BIN)/snakefmt --check workflow

# pytest-xdist runs the tests on this machine's cores; the tiny study is built once for all of them
# (tests/conftest.py)
test: setup java-test-deps browser-test-deps allocator-deps lint
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python -m pytest -n $(CORES)

# The cluster path run for real, apart from `make test`: a one-node SLURM with accounting on this
# machine (scripts/slurm_one_node.sh installs Debian's slurm-wlm, slurmdbd, munge and MariaDB when
# missing and starts them; as root, with apt), then the tiny study through workflow/profiles/slurm
# beside a local run (tests/test_cluster.py). Every wait is bounded; the wall time is printed.
cluster-test: setup
	@start=$$(date +%s); \
	timeout 600 scripts/slurm_one_node.sh start \
	&& FRBENCH_CLUSTER_TEST=1 PATH="$(abspath $(BIN)):$$PATH" timeout 2400 $(BIN)/python -m pytest -v -s tests/test_cluster.py; \
	status=$$?; echo "cluster-test: $$(( $$(date +%s) - start )) s, exit status $$status"; exit $$status

clean:
	rm -rf results .snakemake
