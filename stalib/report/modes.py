"""How the recorded runs computed (:mod:`stalib.determinism`), for the reproducibility page.

:func:`mode_table` counts, per configuration (dataset, protocol, configuration, model), its rows of
each mode, whether its portable grid is whole (the report then reads only those,
:func:`stalib.results.speaking_mask`), and how many runs recorded before the mode came back
identical when they were recorded again in it (accuracy, train accuracy and every test
prediction).
"""

from __future__ import annotations

import pandas as pd

from stalib.determinism import NATIVE, PORTABLE, UNRECORDED, word
from stalib.results import decode_correct, speaking_mask

GROUP = ["dataset", "protocol", "configuration", "model"]
RUN = ["fold", "seed"]
COLUMNS = [*GROUP, "rows before the mode", "portable rows", "native rows", "portable grid whole",
           "recorded again", "identical"]
#: How a page names each mode of :func:`stalib.determinism.word`.
SAID = {PORTABLE: "portable", UNRECORDED: "recorded before the mode", NATIVE: "--native"}


def modes_said(determinism) -> str:
    """The modes of rows' ``determinism`` values in words, sorted and joined by ", " ("portable",
    "recorded before the mode", "--native")."""
    return ", ".join(SAID[m] for m in sorted({word(d) for d in determinism}))


def _same(a: pd.Series, b: pd.Series) -> bool:
    return (float(a["accuracy"]) == float(b["accuracy"])
            and float(a["train_accuracy"]) == float(b["train_accuracy"])
            and decode_correct(a["test_correct"]) == decode_correct(b["test_correct"]))


def mode_table(rows: pd.DataFrame | None) -> pd.DataFrame:
    """One line per configuration that has portable rows (see the module docstring), from every row
    of a results file (:func:`stalib.report.tables.read_cv`, not the speaking rows)."""
    if rows is None or rows.empty:
        return pd.DataFrame(columns=COLUMNS)
    rows = rows.assign(mode=[word(d) for d in rows.get("determinism", pd.Series(
        [""] * len(rows), index=rows.index))])
    rows = rows.assign(speaks=speaking_mask(rows.to_dict("records")))
    out = []
    for key, g in rows.groupby(GROUP, sort=False):
        portable = g[g["mode"] == PORTABLE]
        if portable.empty:
            continue
        history = g[g["mode"] == UNRECORDED].set_index(RUN)
        again = [(history.loc[run], row) for run, row in portable.set_index(RUN).iterrows()
                 if run in history.index]
        out.append({**dict(zip(GROUP, key, strict=True)),
                    "rows before the mode": len(history), "portable rows": len(portable),
                    "native rows": int((g["mode"] == NATIVE).sum()),
                    "portable grid whole": "yes" if portable["speaks"].all() else "no",
                    "recorded again": len(again),
                    "identical": sum(_same(a, b) for a, b in again)})
    return pd.DataFrame(out, columns=COLUMNS)
