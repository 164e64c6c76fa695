# Every target sets itself up: on a fresh machine `make run` and `make test` are all you need.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
RUN_STAMP := $(VENV)/.stamp-run
DEV_STAMP := $(VENV)/.stamp-dev
BENCH_STAMP := $(VENV)/.stamp-bench
NPM_STAMP := node_modules/.stamp

.PHONY: run status backtest test test-exhaustive lint typecheck pytest bench clean help vendor-js

help:
	@echo "make run      - install and run the daemon on the sample data (DATA_DIR=data/demo, fresh)"
	@echo "make status   - show-status of that demo run"
	@echo "make backtest - backtest the sample data; report in results/demo_backtest.{json,html}"
	@echo "make test     - install dev tools; ruff, mypy, pytest"
	@echo "make lint     - ruff check and format check"
	@echo "make bench    - run the benchmarks under benchmarks/"
	@echo "make clean    - remove the venv, the caches and what the demo made"

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(RUN_STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e .
	@touch $@

$(DEV_STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@ $(RUN_STAMP)

# Azurite (the Azure Blob emulator) for the cloud sync tests; needs Node.js >= 18.
$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# The chart library served by the dashboard and inlined into the reports, copied from npm
# (package.json pins it); the copy is committed so the package needs no Node.js to run.
LWC_DIR := vibe/trading_bot/web/static/vendor/lightweight-charts
vendor-js: $(NPM_STAMP)
	cp node_modules/lightweight-charts/dist/lightweight-charts.standalone.production.js \
		node_modules/lightweight-charts/LICENSE $(LWC_DIR)/

# The whole daemon on the shipped sample (7 symbols, Jun-Aug 2025, 5m) as fast as it goes.
# The demo has its own DATA_DIR (never the live ./data), emptied first so every run starts
# fresh; its databases stay there for `make status`. `make backtest` keeps its data cache
# there too and its report in results/demo_backtest.*. `make clean` removes them.
SAMPLE_SYMBOLS := AAPL,AMZN,GOOGL,MSFT,QQQ,SPY,TSLA
DEMO_DIR := data/demo
DEMO_REPORT := results/demo_backtest
run: $(RUN_STAMP)
	rm -rf $(DEMO_DIR)
	DATA_DIR=$(DEMO_DIR) $(PY) -m vibe.trading_bot run --replay examples/data --speed max \
		--symbols $(SAMPLE_SYMBOLS)

status: $(RUN_STAMP)
	DATA_DIR=$(DEMO_DIR) $(PY) -m vibe.trading_bot show-status

backtest: $(RUN_STAMP)
	DATA_DIR=$(DEMO_DIR) $(PY) -m vibe.trading_bot backtest --start 2025-06-05 --end 2025-08-28 --data examples/data \
		--symbols $(SAMPLE_SYMBOLS) --output $(DEMO_REPORT).json

lint: $(DEV_STAMP)
	$(VENV)/bin/ruff check vibe benchmarks
	$(VENV)/bin/ruff format --check vibe benchmarks

typecheck: $(DEV_STAMP)
	$(VENV)/bin/mypy

# Two pytest workers (the machine has two cores; most end-to-end tests wait on processes),
# a test file per worker at a time so module fixtures are built once.
pytest: $(DEV_STAMP) $(NPM_STAMP)
	$(PY) -m pytest -n 2 --dist loadfile

test: lint typecheck pytest

# Every kill point of the crash-safety enumeration (minutes; not part of `make test`).
test-exhaustive: $(DEV_STAMP)
	$(PY) -m pytest -m exhaustive

# backtesting.py (the `bench` extra) is only the reference of benchmarks/bench_optimize.py
$(BENCH_STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[dev,bench]'
	@touch $@ $(DEV_STAMP) $(RUN_STAMP)

# The package is byte-compiled first, as `pip install` does for an installed one: an
# editable checkout under PYTHONDONTWRITEBYTECODE=1 (as in the image) would otherwise
# compile every module it imports at every start of every command it times.
bench: $(BENCH_STAMP)
	$(PY) -m compileall -q vibe
	@set -e; for script in benchmarks/bench_*.py; do \
		echo "== $$script"; $(PY) $$script; done

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache *.egg-info $(DEMO_DIR)
	rm -f $(DEMO_REPORT).json $(DEMO_REPORT).html
	@rmdir data results 2>/dev/null || true  # only when the demo's were the only things there
