# Two commands set everything up: `make demo` and `make test`. Both install on first use.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(abspath $(VENV))/bin
STAMP := $(VENV)/.installed
MANIFEST := dbt_project/target/manifest.json
DBT_SOURCES := $(shell find dbt_project -path dbt_project/target -prune -o -type f \( -name '*.sql' -o -name '*.yml' -o -name '*.csv' \) -print 2>/dev/null)

export NDC_HOME ?= $(CURDIR)/.ndc
export DAGSTER_HOME ?= $(NDC_HOME)/dagster
export PATH := $(BIN):$(PATH)

.PHONY: install manifest sources browser spark bi-client bi demo test dev docs load-time bench clean help

help:
	@echo "make demo     generate a sample, run the whole pipeline, publish"
	@echo "make test     run every test"
	@echo "make dev      the Dagster UI on workspace.yaml, on http://127.0.0.1:\$$DEV_PORT (default 3000)"
	@echo "make docs     dbt's documentation of the warehouse, served on http://127.0.0.1:8080"
	@echo "make install  create .venv, install, build the dbt manifest"
	@echo "make sources  regenerate the dbt sources of the raw layer from ingestion/contracts.py"
	@echo "make spark    add dbt-spark and pyspark (NDC_DBT_TARGET=spark)"
	@echo "make bi       Apache Superset reads both serving copies and draws a chart of a mart (tests/bi)"

install: $(STAMP) $(MANIFEST)

# uv installs from its cache alone when the cache already holds every package (a second clone, CI), and asks the
# index only when it does not: asking makes uv fetch and build pyspark's source distribution again whenever the
# index's validators change, 20-29 s where the cache alone takes about 1 s (docs/benchmark.md).
UV_INSTALL = $(BIN)/uv pip install --quiet
uv_install = $(UV_INSTALL) --offline $(1) 2>/dev/null || $(UV_INSTALL) $(1)
DEV_EXTRAS := -e ".[dev]"
SPARK_EXTRAS := -e ".[dev,spark]"

# uv resolves and installs the pinned stack in seconds; pip only bootstraps it. Bytecode is compiled at install
# so imports stay fast where PYTHONDONTWRITEBYTECODE is set (the code location's load time depends on it).
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv>=0.5"
	$(call uv_install,--compile-bytecode --python $(BIN)/python $(DEV_EXTRAS))
	@touch $@

# The manifest is built ahead of time so the code location never parses dbt at load.
$(MANIFEST): $(STAMP) $(DBT_SOURCES)
	cd dbt_project && NDC_DBT_DATABASE=build.duckdb $(BIN)/dbt parse --quiet --profiles-dir "$(CURDIR)/dbt_project" --project-dir "$(CURDIR)/dbt_project"
	@touch $@

manifest: $(MANIFEST)

# The raw layer's dbt sources are rendered from the filing contract; tests/dbt/test_sources.py fails when they drift.
sources: $(STAMP)
	$(BIN)/python -m ingestion.dbt_sources

# A demo builds everything from scratch, whatever an earlier version left in $(NDC_HOME).
demo: install
	$(BIN)/ndc generate --scale sample --years 2021-2023 --seed 42
	$(BIN)/ndc run --full-refresh

# The UI test drives Debian's Chromium (Playwright's own browser download cannot work on these machines); CJK fonts
# so the report's Chinese labels render. Installed once, as root or through sudo.
BROWSER_PACKAGES := chromium fonts-noto-cjk
browser:
	@if [ ! -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qi "noto.*cjk"; then \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(BROWSER_PACKAGES) >/dev/null; \
	fi

# The Spark target (dbt-spark's session method, pyspark 4) and the Java 17 it runs on, for `NDC_DBT_TARGET=spark` and
# the Spark parity test.
SPARK_STAMP := $(VENV)/.spark-installed
spark: install $(SPARK_STAMP)
$(SPARK_STAMP): $(STAMP)
	@if ! java -version 2>&1 | grep -qE 'version "(1[7-9]|2[0-9])'; then \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq openjdk-17-jre-headless >/dev/null; \
	fi
	$(call uv_install,--compile-bytecode --python $(BIN)/python $(SPARK_EXTRAS))
	@touch $@

# Apache Superset from PyPI, in its own environment (its pins clash with the pipeline's), for the BI test
# (tests/bi): the drivers of both serving copies, and what its wheel uses without declaring it (rich, cachetools;
# flask-caching 2.4 renamed an argument its cache passes).
BI_VENV := .venv-bi
BI_STAMP := $(BI_VENV)/.installed
BI_PACKAGES := "apache-superset==6.1.0" "duckdb-engine==0.17.0" "duckdb==1.5.6" "psycopg2-binary>=2.9,<3" \
	"rich>=13" "cachetools>=5" "flask-caching>=2.1,<2.4"
bi-client: $(BI_STAMP)
$(BI_STAMP): $(STAMP)
	@test -x $(BI_VENV)/bin/python || $(PYTHON) -m venv $(BI_VENV)
	$(call uv_install,--python $(BI_VENV)/bin/python $(BI_PACKAGES))
	@touch $@

# Superset connects to each serving copy of a published sample, lists its tables with their comments and keys, and
# draws a chart of a mart in headless Chromium (artifacts/bi/).
bi: install browser bi-client
	$(BIN)/python -m pytest -p no:xdist tests/bi

# Three workers on these two cores: a pipeline run leaves a core partly idle while it waits on dbt and the database.
# TEST_WORKERS=0 runs serially.
TEST_WORKERS ?= 3
test: install browser spark bi-client
	$(BIN)/python -m pytest --numprocesses $(TEST_WORKERS) --dist worksteal

# The UI's port: make dev DEV_PORT=3001 when 3000 is taken.
DEV_PORT ?= 3000
dev: install
	@mkdir -p $(DAGSTER_HOME)
	@$(BIN)/python -c "import pathlib, sys; from orchestration.freshness import enable_in_instance; enable_in_instance(pathlib.Path(sys.argv[1]))" "$(DAGSTER_HOME)"
	$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p $(DEV_PORT)

# dbt's documentation site, generated against the built warehouse ($(NDC_HOME)/docs/dbt/), then served.
docs: install
	$(BIN)/ndc docs --serve

# How long the Dagster code location takes to load (import + resolve the asset graph), five fresh processes.
load-time: install
	@for i in 1 2 3 4 5; do $(BIN)/python -c "import time; t = time.perf_counter(); import orchestration.definitions as d; d.defs.resolve_asset_graph(); print(f'{time.perf_counter() - t:.2f}')"; done | sort -n | awk '{a[NR]=$$1} END {print "code location load: median " a[3] " s (min " a[1] ", max " a[5] ", 5 runs)"}'

# The benchmark against a bare-DuckDB baseline (docs/benchmark.md); e.g. make bench BENCH_SCALE=national BENCH_YEARS=5
BENCH_SCALE ?= sample
BENCH_YEARS ?= 1
BENCH_JSON ?= artifacts/bench.json
bench: install
	$(BIN)/ndc bench --scale $(BENCH_SCALE) --years $(BENCH_YEARS) --json $(BENCH_JSON)

clean:
	rm -rf $(VENV) $(BI_VENV) .ndc dbt_project/target dbt_project/logs
