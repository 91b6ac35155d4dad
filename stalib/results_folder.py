"""A results folder read into tables: ``<results>/<dataset>/cv.csv`` (test-fold runs) and
``validation.csv`` (inner-validation runs) of every dataset, as pandas DataFrames, checked.

The results folder is ``$STALIB_RESULTS`` when set, else the ``results/`` folder of the project
(found by walking up from the working directory to the folder holding ``pyproject.toml`` and
``results/``, else next to the ``stalib`` package). One row per run (:data:`stalib.results.KEY`),
as :mod:`stalib.results` writes it; the report reads its numbers from here
(:mod:`stalib.report.tables`), and so can you, for your own grids.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from stalib import catalogue
from stalib.determinism import UNRECORDED
from stalib.errors import FormatError
from stalib.results import KEY, configuration_of_params, speaking_mask

RESULTS_ENV = "STALIB_RESULTS"


#: Every dataset of the catalogue, by name, with its title.
DATASETS: dict[str, str] = catalogue.titles()


CV_COLUMNS: tuple[str, ...] = (
    "dataset", "protocol", "configuration", "model", "fold", "seed", "accuracy", "n_test",
    "iterations", "wall_time_s", "device", "git_commit", "timestamp", "params", "versions",
)


def project_root() -> Path | None:
    """The project folder (holding ``pyproject.toml`` and ``results/``) or None."""
    starts = [Path.cwd(), Path(__file__).resolve().parent]
    for start in starts:
        for folder in (start, *start.parents):
            if (folder / "pyproject.toml").is_file() and (folder / "results").is_dir():
                return folder
    return None


def results_root(root: str | os.PathLike | None = None) -> Path:
    """The results folder: ``root``, else ``$STALIB_RESULTS``, else ``<project>/results``."""
    if root is not None:
        return Path(root)
    env = os.environ.get(RESULTS_ENV)
    if env:
        return Path(env)
    project = project_root()
    if project is None:
        return Path("results")
    return project / "results"


def cv_files(dataset: str, root: str | os.PathLike | None = None,
             name: str = "cv.csv") -> list[Path]:
    """``[<results>/<dataset>/<name>]`` when it exists, else ``[]``."""
    path = results_root(root) / dataset / name
    return [path] if path.is_file() else []


def read_cv(path: str | os.PathLike) -> pd.DataFrame:
    """One results CSV, checked: the columns of the format, accuracies in [0, 1]."""
    path = Path(path)
    try:
        df = pd.read_csv(path, dtype={"dataset": str, "protocol": str, "configuration": str,
                                      "model": str, "test_correct": str})
    except pd.errors.EmptyDataError:
        return pd.DataFrame(columns=list(CV_COLUMNS))
    # written before configurations
    if "configuration" not in df.columns and "params" in df.columns:
        df["configuration"] = [configuration_of_params(p, f"{path}, line {i}")
                         for i, p in enumerate(df["params"].astype(str), 2)]
    missing = [c for c in CV_COLUMNS if c not in df.columns]
    if missing:
        raise FormatError(path, f"not a results file: missing columns {', '.join(missing)}")
    if "determinism" not in df.columns:  # written before the column existed
        df["determinism"] = UNRECORDED
    acc = pd.to_numeric(df["accuracy"], errors="coerce")
    bad = ~acc.between(0.0, 1.0)
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise FormatError(
            path, f"accuracy must be a fraction in [0, 1], got {df['accuracy'].iloc[row]!r}",
            line=row + 2,
        )
    df["accuracy"] = acc
    df["source_file"] = str(path)
    return df


def load_cv(dataset: str, root: str | os.PathLike | None = None,
            name: str = "cv.csv", every_mode: bool = False) -> pd.DataFrame | None:
    """The runs of ``dataset`` that speak (None when no results file exists yet);
    ``name="validation.csv"`` for the inner-validation runs. A run recorded in the portable
    mode and before it speaks in the portable mode once its configuration's portable grid is
    whole, else as recorded before (:func:`stalib.results.speaking_mask`); ``every_mode``: each
    run in every mode it was recorded in."""
    files = cv_files(dataset, root, name)
    if not files:
        return None
    df = pd.concat([read_cv(f) for f in files], ignore_index=True)
    key = list(KEY)
    if every_mode:
        key.append("determinism")
    else:
        df = df[speaking_mask(df.to_dict("records"))]
    # the same run recorded twice counts once; two different results for it are an error
    for _, group in df[df.duplicated(key, keep=False)].groupby(key):
        if group["accuracy"].nunique() > 1:
            first = group.iloc[0]
            raise FormatError(
                group["source_file"].iloc[-1],
                f"run {dict(zip(key, (first[k] for k in key), strict=True))} also recorded "
                f"with another accuracy in {group['source_file'].iloc[0]}",
            )
    return df.drop_duplicates(key, keep="first").reset_index(drop=True)


def load_all_cv(root: str | os.PathLike | None = None,
                every_mode: bool = False) -> pd.DataFrame | None:
    """The runs of every dataset of :data:`DATASETS` that has results (None when none has);
    ``every_mode`` as in :func:`load_cv`."""
    frames = [df for d in DATASETS if (df := load_cv(d, root, every_mode=every_mode)) is not None]
    if not frames:
        return None
    return pd.concat(frames, ignore_index=True)


def load_all_validation(root: str | os.PathLike | None = None) -> pd.DataFrame | None:
    """The inner-validation runs (``validation.csv``) of every dataset (None when none has)."""
    frames = [df for d in DATASETS if (df := load_cv(d, root, "validation.csv")) is not None]
    return pd.concat(frames, ignore_index=True) if frames else None
