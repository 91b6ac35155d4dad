"""The experiment notebooks are jupytext pairs, in sync, and ready for papermill.

Each notebook of ``notebooks/`` is ``NAME.py`` (its text source, jupytext's percent format: what
one reads, reviews and edits) and ``NAME.ipynb`` (the same cells without outputs: what
``stalib reproduce`` runs with papermill), paired by ``notebooks/jupytext.toml``. After editing
one of the two, ``jupytext --sync notebooks/*.ipynb`` writes the other; these tests fail (and so
CI) while a pair differs.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import jupytext
import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
PAIRED = sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb"))
SYNC = "jupytext --sync notebooks/*.ipynb"


def cells(nb) -> list[tuple[str, str, tuple[str, ...]]]:
    """What a pair must agree on: each cell's type, source and tags, in order."""
    return [(c.cell_type, c.source, tuple(c.metadata.get("tags", []))) for c in nb.cells]


def test_every_notebook_has_its_text_source_and_nothing_else_is_there():
    assert PAIRED, "no notebook in notebooks/"
    assert sorted(p.stem for p in NOTEBOOKS.glob("*.py")) == PAIRED
    config = tomllib.loads((NOTEBOOKS / "jupytext.toml").read_text())
    assert config["formats"] == "ipynb,py:percent"


@pytest.mark.parametrize("name", PAIRED)
def test_the_pair_is_in_sync(name):
    text = jupytext.read(NOTEBOOKS / f"{name}.py")
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    ours, theirs = cells(text), cells(nb)
    for i, (a, b) in enumerate(zip(ours, theirs, strict=False)):
        assert a == b, f"{name}.py and {name}.ipynb differ in cell {i}: run {SYNC}"
    assert len(ours) == len(theirs), f"{name}.py and {name}.ipynb differ in length: run {SYNC}"


@pytest.mark.parametrize("name", PAIRED)
def test_the_notebook_is_ready_for_papermill(name):
    path = NOTEBOOKS / f"{name}.ipynb"
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    first = nb.cells[0] if nb.cells[0].cell_type == "code" else nb.cells[1]
    assert "parameters" in first.metadata.get("tags", []), path.name
    for param in ("dataset", "models", "protocols", "seeds", "folds", "n1", "n2", "data_root",
                  "results_dir", "results_root", "quick", "retrain"):
        assert f"\n{param} = " in "\n" + first.source, (path.name, param)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")
