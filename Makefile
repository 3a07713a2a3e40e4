# Two commands do everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint bench bytecode clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(COMPILE)
	touch $(STAMP)

# An editable install runs the sources in place. Where PYTHONDONTWRITEBYTECODE is set (it is on
# these machines) Python never writes their .pyc files, so every start would compile the project
# again; it still reads .pyc files, so compile once here (compileall redoes only changed files).
COMPILE := env -u PYTHONDONTWRITEBYTECODE $(BIN)/python -m compileall -q tui admin_cli mfa store

bytecode: $(STAMP)
	$(COMPILE)

demo: bytecode
	$(BIN)/mfa-tui --demo

# Six test processes on two cores: most tests spend much of their time waiting (on the app going
# idle, on a program in a terminal), so more processes than cores keep both cores busy. Each process
# takes one test at a time, in the order tests/conftest.py gives (slowest first), so no process is
# left with a queue of long tests at the end. Like the project's own modules (COMPILE), the tests'
# compiled (assertion-rewritten) modules are kept between runs even where PYTHONDONTWRITEBYTECODE
# is set: otherwise each of the six processes compiles every test file again, every run.
test: bytecode
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/python -m pytest -q -n 6 --maxschedchunk 1

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

bench: bytecode
	$(BIN)/python benchmarks/mfa_process.py
	$(BIN)/python benchmarks/startup.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
