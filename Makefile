# Two commands after cloning: `make demo` and `make test`. Both create the virtual
# environment on first use, with every package pinned (constraints.txt).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
SCALE  ?= s

.PHONY: install install-spark demo test test-spark lint bench docs clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "pip==24.3.1"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[dev]"
	@touch $(STAMP)

# The Spark engine (--engine spark): pyspark (a local cluster's jars) and dbt-spark over Thrift
SPARK_STAMP := $(VENV)/.installed-spark-stamp
install-spark: $(SPARK_STAMP)

$(SPARK_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[dev,spark]"
	@touch $(SPARK_STAMP)

demo: $(STAMP)
	$(BIN)/customer-status demo

test: $(STAMP)
	@bash tools/install-system-packages
	$(BIN)/python -m pytest

# Starts a local Spark cluster (stopped again at the end, whatever happens) and checks the
# Spark engine against DuckDB: tests/spark (not part of `make test`: minutes of JVM work)
test-spark: $(SPARK_STAMP)
	CUSTOMER_STATUS_SPARK_TESTS=1 $(BIN)/python -m pytest tests/spark -s -v

# S = 100k customers (a few minutes), M = 1M (about 10 min), L = 10M (hours): see docs/benchmarks.md
# ENGINE=spark: the nights on a local Spark cluster the benchmark starts and stops
ENGINE ?= duckdb
bench: $(if $(filter spark,$(ENGINE)),$(SPARK_STAMP),$(STAMP))
	$(BIN)/python benchmarks/nightly.py --scale $(SCALE) --engine $(ENGINE)

# the dbt docs site of the last night's models and a link to its Great Expectations Data Docs
docs: $(STAMP)
	$(BIN)/customer-status docs

# ruff for Python; sqlfluff for the dbt project's SQL (dbt_project/.sqlfluff: jinja templater, no database)
lint: $(STAMP)
	$(BIN)/ruff check plugins dags tests
	cd dbt_project && ../$(BIN)/sqlfluff lint models tests --disable-progress-bar

clean:
	rm -rf data dbt_project/target dbt_project/logs .pytest_cache
