# The two commands a new user needs: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# `make run HOST=… PORT=… DATA=…`, else the server's own ASTRA_HOST / ASTRA_PORT / ASTRA_DATA_DIR.
HOST   ?= $(or $(ASTRA_HOST),127.0.0.1)
PORT   ?= $(or $(ASTRA_PORT),8000)
DATA   ?= $(or $(ASTRA_DATA_DIR),data)

.PHONY: run test lint typecheck bench bench-finalize bench-load clean

# A venv whose making failed half-way (Debian without python3-venv makes bin/python, then fails
# on pip) is removed, so the next `make` makes it again instead of taking it for done.
$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); exit 1; }
	$(BIN)/python -m pip install --quiet --upgrade pip==25.3 || { rm -rf $(VENV); exit 1; }

# Reinstall whenever pyproject.toml changes.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/astra serve --host $(HOST) --port $(PORT) --data-dir $(DATA)

test: $(STAMP)
	$(BIN)/ruff check server tests tools bench
	$(BIN)/mypy
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check server tests tools
	$(BIN)/ruff format --check server tests tools

typecheck: $(STAMP)
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python bench/bench_audio.py
	$(BIN)/python bench/bench_finalize.py
	$(BIN)/python bench/bench_redis_calls.py
	$(BIN)/python bench/bench_http_client.py
	$(BIN)/python bench/bench_load.py all

# Ingest versus a bare echo server, the largest N of live sessions, 1/2/4 processes (bench/bench_load.py
# --help; BENCH_SESSIONS, BENCH_SECONDS, BENCH_WORKERS, ... override sizes and durations).
bench-load: $(STAMP)
	$(BIN)/python bench/bench_load.py $(or $(PART),all)

bench-finalize: $(STAMP)
	$(BIN)/python bench/bench_finalize.py

# The environment and caches only: $(DATA) holds the sessions (Redis's AOF), the sealed actas and
# the token secret, and is never removed by make.
clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
