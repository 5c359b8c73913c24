# leanplan — `make run` and `make test` do all set-up themselves on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
POSTGRES_URL ?= postgresql://postgres@127.0.0.1:5432/test
PYTEST_ARGS ?=
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: setup run test lint format bench clean browser wrk

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

run: setup
	$(BIN)/leanplan db upgrade
	$(BIN)/leanplan import data/sample
	$(BIN)/leanplan train -c experiments/quick.yaml
	$(BIN)/leanplan plan replenishment --skus 'RAF-*'
	$(BIN)/leanplan plan production --time-limit 20
	$(BIN)/leanplan plan placement --time-limit 20
	$(BIN)/leanplan plan mrp
	@KEY=$$($(BIN)/leanplan keys create --role admin --name "make run" 2>/dev/null) && \
	echo "" && \
	echo "leanplan API on http://$(HOST):$(PORT)  (OpenAPI: http://$(HOST):$(PORT)/docs, planner pages: http://$(HOST):$(PORT)/app)" && \
	echo "admin key (shown once): $$KEY" && \
	echo "" && \
	echo "try:" && \
	echo "  curl -H 'Authorization: Bearer $$KEY' 'http://$(HOST):$(PORT)/v1/forecasts/RAF-0001'" && \
	echo "  curl -H 'Authorization: Bearer $$KEY' 'http://$(HOST):$(PORT)/v1/forecasts?sku=RAF-0001,RAF-0002&format=csv'" && \
	echo "  curl -X POST -H 'Authorization: Bearer $$KEY' -H 'Content-Type: application/json' -d '{\"skus\": \"RAF-*\"}' http://$(HOST):$(PORT)/v1/plans" && \
	echo "MLflow UI: $(BIN)/mlflow ui --backend-store-uri sqlite:///$(CURDIR)/var/mlflow.db" && \
	echo "" && \
	exec $(BIN)/leanplan serve --host $(HOST) --port $(PORT) --job-workers 1

browser:
	@command -v chromium >/dev/null || (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium)

test: setup browser
	LEANPLAN_TEST_POSTGRES_URL=$${LEANPLAN_TEST_POSTGRES_URL:-$(POSTGRES_URL)} $(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: setup wrk browser
	@mkdir -p var/bench
	$(BIN)/leanplan bench load --rows 1000000 --database-url sqlite:///var/bench/load.db \
		--database-url $${LEANPLAN_TEST_POSTGRES_URL:-$(POSTGRES_URL)} --out var/bench/load.json
	$(BIN)/leanplan bench forecast --demand data/sample/demand.pbs.csv --horizon 12 --json var/bench/forecast_pbs.json
	$(BIN)/leanplan bench forecast --demand data/sample/demand.raf.csv --horizon 12 --json var/bench/forecast_raf.json
	$(BIN)/leanplan bench train -c experiments/raf.yaml --json var/bench/train_raf.json
	$(BIN)/leanplan bench raf-inputs --receipts data/sample/receipts.csv --suppliers data/sample/suppliers.csv --out var/bench
	$(BIN)/leanplan bench policy --demand var/bench/raf_demand.csv --items var/bench/raf_items.csv --fill-rate 0.95 --json var/bench/policy_raf.json
	$(BIN)/leanplan bench policy-speed --skus 10000 --skus 100000 --json var/bench/policy_speed.json
	$(BIN)/leanplan bench schedule data/real/scheduling/brandimarte --bounds data/real/scheduling/brandimarte/bounds.csv \
		--time-limit 60 --json var/bench/schedule_brandimarte.json --solutions var/bench/solutions/brandimarte
	$(BIN)/leanplan bench schedule data/real/scheduling/jsplib --bounds data/real/scheduling/jsplib/optima.csv \
		--time-limit 60 --only ft10 --json var/bench/schedule_ft10.json --solutions var/bench/solutions/jsplib
	$(BIN)/leanplan bench factory-schedule --time-limit 60 --json var/bench/schedule_factory.json
	$(BIN)/leanplan bench mrp --json var/bench/mrp.json
	$(BIN)/leanplan bench api --database-url sqlite:///var/bench/api.db --database-url $${LEANPLAN_TEST_POSTGRES_URL:-$(POSTGRES_URL)} --json var/bench/api.json
	$(BIN)/leanplan bench upload --rows 1000000 --database-url sqlite:///var/bench/upload.db \
		--database-url $${LEANPLAN_TEST_POSTGRES_URL:-$(POSTGRES_URL)} --json var/bench/upload.json
	$(BIN)/leanplan bench pages --json var/bench/pages.json

wrk:
	@command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y wrk; }

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache *.egg-info
