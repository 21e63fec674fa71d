# Two commands do all the set-up on a fresh machine with Python 3.11+:
#   make demo   - the whole pipeline locally (embedded SQLite + Redis, platform emulators)
#   make test   - the test suite (embedded defaults; DATABASE_URL / REDIS_URL for real servers)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit("otklik needs Python 3.11+") if sys.version_info < (3, 11) else None'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

.PHONY: install link demo test lint bench
install: $(STAMP)

# `otklik` where a shell finds it, without activating the virtualenv
link: $(STAMP)
	mkdir -p $(HOME)/.local/bin
	ln -sf $(CURDIR)/$(BIN)/otklik $(HOME)/.local/bin/otklik
	@echo "linked $(HOME)/.local/bin/otklik; if the shell does not find it, add ~/.local/bin to PATH"

demo: $(STAMP)
	$(BIN)/otklik demo $(ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done
