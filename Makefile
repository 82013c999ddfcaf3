# The first two targets are the README's two commands: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install run test lint migrations bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: install
	$(BIN)/loyalty serve

# -rs: say why tests were skipped (the race tests run on PostgreSQL only).
test: install
	$(BIN)/python -m pytest -rs

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Regenerate the migrations from the models (nothing is deployed yet, so one initial
# migration is kept; once released, use `tortoise makemigrations` for incremental ones).
migrations: install
	rm -f migrations/0*.py
	$(BIN)/tortoise -c core.db.TORTOISE_ORM makemigrations --name initial

# The hot paths in one table (bench/hotpaths.py, BENCHMARKS.md), with wrk (Debian's `wrk`:
# installed here when missing and run as root) and py-spy (the `bench` extra). Options go in
# BENCH_ARGS, e.g. make bench BENCH_ARGS="--only trackAction --workers 1 --profile".
# The other benchmarks run one at a time: .venv/bin/python -m bench.<name> (BENCHMARKS.md).
bench: install
	@command -v wrk >/dev/null || [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null || \
		apt-get install -y -qq wrk >/dev/null 2>&1 || \
		{ apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq wrk >/dev/null 2>&1; } || true
	@test -x $(BIN)/py-spy || $(BIN)/python -m pip install --quiet -e '.[test,bench]'
	$(BIN)/python -m bench.hotpaths $(BENCH_ARGS)

clean:
	rm -rf $(VENV) data build *.egg-info
