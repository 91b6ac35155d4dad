"""stalib.report.modes: per configuration, its rows of each mode and how many pre-mode runs
came back identical in the portable mode."""

from __future__ import annotations

import pandas as pd

from stalib.report.modes import mode_table, modes_said

PORTABLE = "portable cpu isa=AVX2 threads=1 cbwr=AVX2,STRICT"


def _row(fold, mode, acc=0.5, correct="cw", model="lstm"):
    return {"dataset": "sbu", "protocol": "5fold", "configuration": "v", "model": model,
            "fold": fold, "seed": 0, "accuracy": acc, "train_accuracy": 1.0,
            "test_correct": correct, "determinism": mode}


def test_identical_reruns_are_counted_and_a_differing_one_is_not():
    rows = pd.DataFrame([
        _row(1, ""), _row(2, ""), _row(3, ""),
        _row(1, PORTABLE), _row(2, PORTABLE, correct="cc"),  # fold 2 predicts otherwise
        _row(1, "", model="sta-lstm"),  # no portable rows: not listed
    ])
    (line,) = mode_table(rows).to_dict("records")
    assert line["model"] == "lstm"
    assert (line["rows before the mode"], line["portable rows"], line["native rows"]) == (3, 2, 0)
    assert line["portable grid whole"] == "no"  # fold 3 not yet recorded again
    assert (line["recorded again"], line["identical"]) == (2, 1)


def test_a_whole_portable_grid_is_said_so():
    rows = pd.DataFrame([_row(1, ""), _row(1, PORTABLE), _row(2, PORTABLE)])
    (line,) = mode_table(rows).to_dict("records")
    assert line["portable grid whole"] == "yes" and line["identical"] == 1


def test_no_rows_no_lines():
    assert mode_table(None).empty and mode_table(pd.DataFrame()).empty


def test_modes_are_said_in_words_once_each():
    assert modes_said([PORTABLE, PORTABLE]) == "portable"
    assert modes_said([None, "", "native cpu threads=2", PORTABLE]) == (
        "--native, portable, recorded before the mode")
