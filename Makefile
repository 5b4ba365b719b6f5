# The two commands of the quick start: `make run` and `make test`.
# Both create .venv with the system Python when it is missing, install the package with
# its dev extras, compile the message catalogs, then start the bot / run the whole suite.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
LOCALES := bot/i18n/locales

.PHONY: run test setup catalogs lint typecheck i18n-extract i18n-update bench clean

run: setup
	$(BIN)/together-bot run

test: setup
	$(BIN)/python -m pytest

setup: $(STAMP) catalogs

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --disable-pip-version-check -q -e '.[dev]'
	touch $(STAMP)

catalogs: $(STAMP)
	$(BIN)/pybabel -q compile -d $(LOCALES) -D messages --statistics

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup
	$(BIN)/mypy

# Translators' workflow (see README, "Adding a language").
i18n-extract: setup
	$(BIN)/pybabel extract -F pyproject.toml -k N_ --add-comments=Translators: --project "Together Bot" \
		--no-location --sort-by-file -o $(LOCALES)/messages.pot bot moderation

i18n-update: i18n-extract
	$(BIN)/pybabel update -i $(LOCALES)/messages.pot -d $(LOCALES) -D messages --no-fuzzy-matching --ignore-obsolete

bench: setup
	$(BIN)/python -m bench.run --record

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
