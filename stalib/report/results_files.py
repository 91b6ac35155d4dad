"""The results files the report reads: where they are, and their rows as DataFrames.

Report layer, files only (no summaries, no display): the runs of a results folder are the library's
(:mod:`stalib.results_folder`: ``cv.csv``, ``validation.csv``, named here for the book); here
``per_class.csv``, ``literature.csv`` and the reruns under ``reruns/``. The formats are described in
:mod:`stalib.report.tables`.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from stalib.errors import FormatError
from stalib.report.reproduce import PER_CLASS
from stalib.results_folder import (
    CV_COLUMNS,
    DATASETS,
    RESULTS_ENV,
    cv_files,
    load_all_cv,
    load_all_validation,
    load_cv,
    project_root,
    read_cv,
    results_root,
)

__all__ = ["CV_COLUMNS", "DATASETS", "LITERATURE_COLUMNS", "PORTABLE_RERUNS", "RERUNS",
           "RESULTS_ENV", "cv_files", "literature_path", "load_all_cv", "load_all_validation",
           "load_cv", "load_literature", "load_per_class", "load_reruns", "project_root",
           "read_cv", "results_root"]

LITERATURE_COLUMNS = ("table", "dataset", "protocol", "method", "accuracy", "source")


def literature_path() -> Path:
    """``<results>/literature.csv``, else the project's own ``results/literature.csv``.

    The literature is part of the project, not of a run, so a results folder made elsewhere
    (``$STALIB_RESULTS``, a quick run) need not carry a copy.
    """
    path = results_root() / "literature.csv"
    if path.is_file():
        return path
    project = project_root()
    return (project / "results" / "literature.csv") if project else path


def load_literature(path: str | os.PathLike | None = None) -> pd.DataFrame:
    """``results/literature.csv``: the papers' numbers (percent), one citation per row."""
    path = Path(path) if path is not None else literature_path()
    df = pd.read_csv(path, dtype={"protocol": str, "accuracy": str})
    missing = [c for c in LITERATURE_COLUMNS if c not in df.columns]
    if missing:
        raise FormatError(path, f"missing columns {', '.join(missing)}")
    if df["source"].isna().any() or (df["source"].astype(str).str.strip() == "").any():
        raise FormatError(path, "every row needs a citation in 'source'")
    df["accuracy_text"] = df["accuracy"].str.strip()  # as printed in the paper ("64.0")
    try:
        df["accuracy"] = pd.to_numeric(df["accuracy"], errors="raise")
    except ValueError as err:
        raise FormatError(path, f"accuracy must be a number: {err}") from None
    return df


def load_per_class(dataset: str, root: str | os.PathLike | None = None) -> pd.DataFrame | None:
    """The per-class test accuracy the errors job wrote for ``dataset`` (:func:`per_class`), or None
    when it has not run."""
    path = results_root(root) / dataset / PER_CLASS
    if not path.is_file():
        return None
    df = pd.read_csv(path)
    missing = [c for c in ("dataset", "protocol", "configuration", "model", "label", "runs")
               if c not in df.columns]
    if missing:
        raise FormatError(str(path), f"expected the columns of stalib.report.per_class, "
                                     f"missing {', '.join(missing)}")
    return df


#: Runs trained again to check that recorded rows reproduce: ``<results>/reruns/<dataset>-<file>``
#: (``sbu-cv.csv``, ``sbu-validation.csv``), rows of the results format. They are checks, not
#: results: no table or claim reads them but :func:`rerun_agreement`.
RERUNS = "reruns"
#: The reruns of portable rows by ``stalib rerun``.
PORTABLE_RERUNS = "reruns/portable"


def load_reruns(dataset: str, root: str | os.PathLike | None = None,
                name: str = "cv.csv", folder: str = RERUNS) -> pd.DataFrame | None:
    """The reruns of ``dataset``'s ``name`` rows kept under ``folder`` of the results (None when
    there are none): :data:`RERUNS` those before the portable mode, :data:`PORTABLE_RERUNS` those of
    portable rows by ``stalib rerun``."""
    path = results_root(root) / folder / f"{dataset}-{name}"
    return read_cv(path) if path.is_file() else None
