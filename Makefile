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
	rm -f core/migrations/0*.py
	$(BIN)/tortoise -c core.db.TORTOISE_ORM makemigrations --name initial

# Every benchmark in bench/ (each prints its figures; BENCHMARKS.md records them).
bench: install
	for module in $(sort $(basename $(notdir $(shell grep -l '__main__' bench/*.py)))); do \
		$(BIN)/python -m bench.$$module || exit 1; \
	done

clean:
	rm -rf $(VENV) data build *.egg-info
