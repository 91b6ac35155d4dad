"""The verdict's numbers, kept in results/verdict.csv (`stalib verdict --write`), recomputed
from the committed rows: a refactor of the report that changes a number fails here."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from stalib import cli
from stalib.report import pooled

RESULTS = Path(__file__).resolve().parents[1] / "results"


def test_the_committed_verdict_recomputes_from_the_rows():
    kept = pd.read_csv(RESULTS / pooled.SNAPSHOT, keep_default_na=False,
                       na_values=[""], dtype={"configuration": str, "label": str, "protocol": str})
    now = pooled.snapshot(RESULTS)
    assert list(kept.columns) == pooled.SNAPSHOT_COLUMNS
    assert len(kept) == len(now), "rows were added or removed: run `stalib verdict --write`"
    for col in ("table", "claim", "dataset", "measure"):
        assert list(kept[col]) == list(now[col]), col
    for col in ("protocol", "configuration", "label"):
        assert list(kept[col].fillna("")) == list(now[col].fillna("")), col
    assert list(kept["runs"]) == list(now["runs"])
    for col in ("value", "low", "high"):
        np.testing.assert_allclose(kept[col].to_numpy(float), now[col].to_numpy(float),
                                   rtol=0, atol=1e-9, equal_nan=True, err_msg=col)


def test_a_changed_number_fails_the_comparison(tmp_path, capsys):
    """The check can fail: a snapshot written from other rows differs."""
    (tmp_path / "sbu").mkdir()
    assert cli.main(["verdict", "--results", str(tmp_path), "--write"]) == 0
    empty = pd.read_csv(tmp_path / pooled.SNAPSHOT)
    assert "not testable here" in capsys.readouterr().out
    assert set(empty["label"].dropna()) == {"not testable here"}
    with pytest.raises(AssertionError):
        np.testing.assert_allclose(empty["value"].to_numpy(float)[:1],
                                   pooled.snapshot(RESULTS)["value"].to_numpy(float)[:1])
