# Two entry points for a fresh clone: `make demo` and `make test`. Each creates .venv if missing.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PACKAGES := -e ./fedmeki_data -e ./fedmeki_eval -e ./fedmeki_models
STAMP := $(VENV)/.installed
SOURCES := pyproject.toml constraints.txt fedmeki_data/pyproject.toml fedmeki_eval/pyproject.toml fedmeki_models/pyproject.toml

.PHONY: demo test install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# torch is constrained to the CPU build (constraints.txt): a plain `torch` would pull a CUDA build.
$(STAMP): $(BIN)/python $(SOURCES)
	$(BIN)/python -m pip install --quiet -c constraints.txt $(PACKAGES) -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/fedmeki demo

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n 2 --dist loadfile -q

clean:
	rm -rf $(VENV) fedmeki-demo
