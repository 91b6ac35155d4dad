"""What the experiment notebooks call: the library's grid runner and attention, the folders and
figures of a notebook, and how far a job's grid is.

The notebooks of ``notebooks/`` hold no training code. They plan and run their grid with
:mod:`stalib.grid` (:func:`plan_grid`, :func:`run_grid`, named here for them) and read a trained
model's attention with :mod:`stalib.attention`; :func:`setup_notebook` and :func:`save_figure`
are the first and the last step of every notebook: threads and paths, and a figure written under
its results folder. :func:`recorded` gives the rows of a grid's runs; :func:`grid_progress` how
far a job's grid is (``stalib reproduce --list``).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import torch
from IPython.display import Image

from stalib.attention import (
    SequenceAttention,
    attention_of,
    foot_lift,
    pick_sequence,
    top_joints,
)
from stalib.config import TrainConfig
from stalib.data.registry import get_splits
from stalib.errors import ConfigError
from stalib.experiment import dataset_key, load_data
from stalib.grid import (
    RUN_FOLDER,
    PlannedRun,
    for_protocol,
    grid_label,
    make_config,
    model_folder,
    plan_grid,
    resolve_folds,
    results_csv,
    run_folder,
    run_grid,
)
from stalib.report.tables import load_cv, project_root, results_root
from stalib.results import KEY
from stalib.schedule import schedule_of, stage_iterations

#: The library's grid runner and attention are named here for the notebooks (``grid.plan_grid``,
#: ``grid.attention_of``...), beside this module's own.
__all__ = ["GridProgress", "PACE_BY", "PlannedRun", "RUN_FOLDER", "SequenceAttention",
           "YOUR_FIGURES", "attention_of", "default_folders", "figure_path", "foot_lift",
           "for_protocol", "grid_label", "grid_progress", "make_config", "model_folder",
           "pick_sequence", "plan_grid", "planned_iterations", "recorded", "recorded_rows",
           "remaining_seconds", "resolve_folds", "results_csv", "run_folder", "run_grid",
           "save_figure", "setup_notebook", "test_labels", "top_joints"]



def setup_notebook(threads: int | None, results_dir: str | Path | None = None,
                   results_root: str | Path | None = None, runs_root: str | Path | None = None
                   ) -> tuple[Path, Path, Path]:
    """What every experiment notebook does first: sets torch's CPU threads (``threads``; None or 0:
    torch's default), silences tqdm's warning that ipywidgets is missing, and returns its
    ``results_dir``, ``results_root`` and ``runs_root`` as paths. A folder left None is this
    checkout's, wherever the notebook runs from (:func:`default_folders`)."""
    warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm without ipywidgets
    if threads:
        torch.set_num_threads(int(threads))
    results, runs = default_folders()
    return (Path(results_dir) if results_dir is not None else results,
            Path(results_root) if results_root is not None else results,
            Path(runs_root) if runs_root is not None else runs)


def default_folders() -> tuple[Path, Path]:
    """``(results, runs)`` of a notebook started without them: ``$STALIB_RESULTS`` or this
    checkout's ``results/``, and the checkout's ``runs/``. The checkout is the one above the working
    directory (JupyterLab, ``jupyter execute``), else the one of the imported stalib (papermill from
    another folder), so a notebook never writes into the caller's folder."""
    project = project_root()
    if project is None:
        raise ConfigError("this notebook finds no stalib checkout (pyproject.toml beside "
                          "results/) above the working directory or the imported stalib: "
                          "pass results_dir, results_root and runs_root")
    return results_root(), project / "runs"


#: Where a notebook run by hand (no ``results_dir``) puts a figure it names itself: never over the
#: report's committed figures (git-ignored).
YOUR_FIGURES = "figures/yours"


def figure_path(figure: str | None, notebook: str, dataset: str, options: dict | None,
                results_dir: Path, by_hand: bool) -> Path:
    """Where a notebook's figure goes. ``figure`` given: ``results_dir / figure`` (asked for).
    None: named from the parameters, ``<notebook>-<dataset>[-<configuration>].png`` (an npz by its
    path-safe name), under ``figures/`` when ``stalib reproduce`` runs it and under
    :data:`YOUR_FIGURES` when run by hand (``by_hand``: no ``results_dir`` given), so a hand run
    with other parameters never overwrites a figure of the report."""
    if figure is not None:
        return Path(results_dir) / figure

    configuration = (options or {}).get("configuration")
    name = (f"{notebook}-{dataset_key(dataset)}" + (f"-{configuration}" if configuration else "")
            + ".png")
    return Path(results_dir) / (YOUR_FIGURES if by_hand else "figures") / name


def save_figure(fig, path: str | Path):
    """Write ``fig`` to ``path`` (PNG, 120 dpi, tight; folders made as needed) and return it as an
    IPython image, for the notebook to display."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    return Image(filename=str(path))


def recorded_rows(dataset: str, *results: str | Path) -> pd.DataFrame | None:
    """The rows of ``dataset`` in the results folders ``results`` (a run recorded in several counts
    once: the first folder's row wins). None when none has a results file."""
    frames = [df for r in results if (df := load_cv(dataset_key(dataset), r)) is not None]
    if not frames:
        return None
    df = pd.concat(frames, ignore_index=True)
    return df.drop_duplicates(list(KEY), keep="first").reset_index(drop=True)


def test_labels(dataset: str, data, protocols: Iterable[str]) -> dict:
    """The class of every test sequence of every fold of ``protocols``, in the fold's test order
    (the order of a row's ``test_correct``): ``{"classes": [...], "protocols": {protocol: {fold:
    labels}}}``, folds 1-based (:func:`stalib.report.tables.per_class` reads it)."""
    return {"classes": list(data.class_names), "protocols": {
        protocol: {i: np.asarray(data.labels)[np.asarray(split.test, dtype=int)]
                   for i, split in enumerate(get_splits(dataset, data, protocol), start=1)}
        for protocol in protocols}}


def recorded(runs: Sequence[PlannedRun], *results: str | Path) -> pd.DataFrame:
    """The recorded rows of exactly the runs ``runs`` (see :func:`recorded_rows`)."""
    frames = []
    for dataset in dict.fromkeys(r.cfg.dataset for r in runs):
        df = recorded_rows(dataset, *results)
        if df is not None:
            frames.append(df)
    if not frames:
        return pd.DataFrame()
    df = pd.concat(frames, ignore_index=True)
    keys = {tuple(map(str, r.key)) for r in runs}
    mine = [tuple(map(str, row)) in keys for row in df[list(KEY)].itertuples(index=False)]
    return df[mine].reset_index(drop=True)


class GridProgress(NamedTuple):
    """How far the training grid of a job is (``stalib reproduce --list``)."""

    recorded: int  # runs of the grid whose row is in the results
    planned: int  # runs of the grid
    left_s: float  # estimated seconds of the missing runs, one after the other
    untimed: int  # missing runs with no recorded run of their kind to time them by

    def describe(self) -> str:
        """``25/90 runs, ~3.1 h left`` (the pace of the recorded runs of each kind)."""
        text = f"{self.recorded}/{self.planned} runs"
        if self.recorded == self.planned:
            return text
        parts = []
        if self.left_s > 0:
            hours = self.left_s / 3600
            parts.append(f"~{hours:.1f} h" if hours >= 1 else f"~{self.left_s / 60:.0f} min")
        if self.untimed:
            parts.append(f"{self.untimed} untimed")
        return f"{text}, {' + '.join(parts)} left" if parts else text


#: The rows that time a missing run, tried in this order: its own kind (dataset, protocol,
#: configuration, model), then the same model and configuration under any protocol, then any model
#: of the same configuration and protocol (SA-LSTM's pace for TA-LSTM: a rough estimate).
PACE_BY: tuple[tuple[str, ...], ...] = (("dataset", "protocol", "configuration", "model"),
                                        ("dataset", "configuration", "model"),
                                        ("dataset", "protocol", "configuration"))


def planned_iterations(cfg: TrainConfig, n_train: int) -> int:
    """The iterations run ``cfg`` trains on ``n_train`` sequences: every stage of its schedule
    (:func:`stalib.schedule.stage_iterations`)."""
    return sum(stage_iterations(stage, cfg, n_train) for stage in schedule_of(cfg))


def remaining_seconds(missing: Sequence[PlannedRun], rows: pd.DataFrame | None,
                      iterations: Sequence[int] | None = None) -> tuple[float, int]:
    """``(seconds, untimed)`` for the runs ``missing``, one after the other: each costs the median
    ``wall_time_s`` of the recorded rows ``rows`` closest to its kind (:data:`PACE_BY`: the pace of
    the machine that ran them, load included) or, given each run's ``iterations``
    (:func:`planned_iterations`), that many times their median seconds per iteration (a
    leave-one-out fold trains on more sequences than a cross-subject one); a run that no row of its
    configuration times is counted in ``untimed``."""
    pace: list[dict[tuple[str, ...], float]] = []
    if rows is not None and not rows.empty and "wall_time_s" in rows.columns:
        times = pd.to_numeric(rows["wall_time_s"], errors="coerce")
        if iterations is not None:
            times = times / pd.to_numeric(rows["iterations"], errors="coerce").where(
                lambda n: n > 0)
        for cols in PACE_BY:
            groups = times.groupby([rows[c].astype(str) for c in cols]).median()
            pace.append({tuple(k): float(v) for k, v in groups.dropna().items()})

    seconds, untimed = 0.0, 0
    for i, run in enumerate(missing):
        key = dict(zip(KEY, map(str, run.key), strict=True))
        found = (level.get(tuple(key[c] for c in cols))
                 for cols, level in zip(PACE_BY, pace, strict=False))  # pace: [] without rows
        t = next((v for v in found if v is not None), None)
        if t is None:
            untimed += 1
        else:
            seconds += t if iterations is None else t * iterations[i]
    return seconds, untimed


def grid_progress(job, results: Path, data_root: Path | None, quick: bool = False,
                  cache: dict | None = None) -> GridProgress | None:
    """How many runs of the grid of ``job`` (a :class:`stalib.report.reproduce.Job`: its ``models``
    x protocols x seeds x folds, as its notebook plans them) have their row in ``results``, and an
    estimate of the time the others take (:func:`remaining_seconds`); None for a job that trains
    nothing or whose data is not under ``data_root``. ``cache`` keeps each dataset's load between
    jobs."""
    params = job.effective_parameters(quick)
    if "models" not in params or data_root is None or any(
            not (Path(data_root) / f).is_dir() for f in job.requires):
        return None

    cache = {} if cache is None else cache
    ds = params["dataset"]
    if ds not in cache:  # the number of folds does not depend on the preprocessing
        cache[ds] = load_data(ds, data_root)
    runs = plan_grid(ds, params["models"], params["protocols"], params["seeds"],
                     params["folds"], params["n1"], params["n2"], ".", data=cache[ds],
                     options=params.get("options"), model_overrides=params.get("model_overrides"))
    rows = recorded_rows(ds, results)  # read once: the recorded keys and the pace
    keys = (set() if rows is None else
            {tuple(map(str, k)) for k in rows[list(KEY)].itertuples(index=False)})
    missing = [r for r in runs if tuple(map(str, r.key)) not in keys]

    where = [dict(zip(KEY, r.key, strict=True)) for r in missing]  # protocol, 1-based fold
    splits = {p: get_splits(ds, cache[ds], p) for p in {w["protocol"] for w in where}}
    iterations = [planned_iterations(r.cfg, len(splits[w["protocol"]][int(w["fold"]) - 1].train))
                  for r, w in zip(missing, where, strict=True)]
    left, untimed = remaining_seconds(missing, rows, iterations)
    return GridProgress(len(runs) - len(missing), len(runs), left, untimed)
