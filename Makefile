# The two commands of the README:
#   make report   builds the jupyter-book report into book/_build/html (creates .venv if missing)
#   make test     runs ruff and the test suite (creates .venv if missing)
# Everything else here is a helper of those two.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: report test venv lint clean-book

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	$(BIN)/pip install --quiet --no-deps -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (stalib)" >/dev/null
	$(BIN)/python -m stalib.determinism --kernel-spec
	touch $(STAMP)

venv: $(STAMP)

report: $(STAMP)
	$(BIN)/jupyter-book build book/

lint: $(STAMP)
	$(BIN)/ruff check stalib tests

# pytest's default output: one line per test file as it runs (a loaded machine shows progress).
test: $(STAMP)
	$(BIN)/ruff check stalib tests
	$(BIN)/python -m pytest --durations=10

clean-book:
	rm -rf book/_build
