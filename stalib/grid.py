"""A grid of runs: every (model, protocol, seed, fold) of an experiment, planned and run.

:func:`plan_grid` lists the runs with their configuration and run folder; :func:`run_grid` runs
those whose row is not in the results file yet, so a notebook continues a grid that ``stalib
cv`` (or an interrupted notebook) partly ran. Run folders have the layout ``stalib cv`` uses by
default::

    <runs_root>/<dataset>/<protocol>/<model>/fold<f>-seed<s>/

and configurations are built as ``stalib cv`` builds them with default options (no
``--protocol`` for a dataset's standard protocol), so both find each other's checkpoints and
finished models.

Seeds and folds may differ per protocol: ``seeds`` and ``folds`` are either one value for every
protocol or a dict ``{protocol: value}`` (e.g. UTKinect ``{"xsub": [0, 1, 2], "loso": [0]}``).
``folds`` is ``"all"``, a list of 1-based folds, or an int ``n`` for the first ``n`` folds.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import multiprocessing as mp
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from stalib.config import CUSTOM_CONFIGURATION, DEFAULT_CONFIGURATIONS, TrainConfig
from stalib.errors import ConfigError, StalibError
from stalib.experiment import (
    dataset_key,
    load_data,
    load_data_for,
    num_folds,
    record_key,
    run_experiment,
)
from stalib.models import check_model_name
from stalib.results import has_record

RUN_FOLDER = "fold{fold}-seed{seed}"


def model_folder(model: str, configuration: str = "paper", settings: str | None = None) -> str:
    """``<model>`` for the paper's settings, ``<model>@<configuration>`` for another configuration;
    an unnamed one (``custom``) with its ``settings`` hash (:meth:`TrainConfig.settings_hash`),
    ``<model>@custom-<hash>``: two unnamed configurations never share a run folder."""
    if configuration in DEFAULT_CONFIGURATIONS:
        return model
    if configuration == CUSTOM_CONFIGURATION and settings:
        return f"{model}@{configuration}-{settings}"
    return f"{model}@{configuration}"


def run_folder(runs_root: str | Path, dataset: str, protocol: str, model: str, fold: int,
               seed: int, configuration: str = "paper", settings: str | None = None) -> Path:
    """``<runs_root>/<dataset>/<protocol>/<model>[@<configuration>]/fold<f>-seed<s>`` (``stalib
    cv``'s layout; the configuration is in the folder name unless it is ``paper``, an unnamed one
    with its ``settings`` hash: :func:`model_folder`)."""
    return (Path(runs_root) / dataset_key(dataset) / protocol
            / model_folder(model, configuration, settings)
            / RUN_FOLDER.format(fold=fold, seed=seed))


def for_protocol(value: Any, protocol: str, what: str) -> Any:
    """``value[protocol]`` when ``value`` is a dict, else ``value`` itself."""
    if isinstance(value, Mapping):
        if protocol not in value:
            raise ConfigError(f"{what} gives no value for protocol {protocol!r} "
                              f"(it has {', '.join(map(str, value)) or 'none'})")
        return value[protocol]
    return value


def make_config(dataset: str, model: str, protocol: str | None, fold: int, seed: int,
                n1: int, n2: int, options: Mapping[str, Any] | None = None,
                model_overrides: Mapping[str, Mapping[str, Any]] | None = None) -> TrainConfig:
    """The configuration of one run, as ``stalib cv`` makes it.

    ``protocol`` is stored as None when it is the dataset's standard protocol (what ``stalib cv``
    records without ``--protocol``). ``options`` are further :class:`TrainConfig` fields for every
    model (``{"batch_size": 16}``); ``model_overrides[model]`` its model options.
    """
    fields = dict(options or {})
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    clash = set(fields) & {"dataset", "model", "protocol", "fold", "seed", "n1", "n2"}
    unknown = set(fields) - known
    if clash or unknown:
        raise ConfigError(f"options: {', '.join(sorted(clash | unknown))} cannot be set here "
                          f"(valid: {', '.join(sorted(known - clash - {'model_overrides'}))})")
    overrides = dict(fields.pop("model_overrides", {}) or {})
    overrides.update((model_overrides or {}).get(model, {}))
    return TrainConfig(dataset=dataset, model=model, protocol=protocol, fold=int(fold),
                       seed=int(seed), n1=int(n1), n2=int(n2), model_overrides=overrides,
                       **fields)


@dataclass(frozen=True)
class PlannedRun:
    """One run of a grid: its configuration and its run folder."""

    cfg: TrainConfig
    out: Path

    @property
    def key(self) -> tuple:
        """The results key ``(dataset, protocol, configuration, model, fold, seed)`` of
        :mod:`stalib.results`."""
        return record_key(self.cfg)


def resolve_folds(folds: Any, n: int, protocol: str) -> list[int]:
    """``"all"`` -> ``1..n``; an int ``k`` -> ``1..k``; a list as given (checked in ``1..n``)."""
    if isinstance(folds, str):
        if folds != "all":
            raise ConfigError(f"folds for {protocol}: expected 'all', an int or a list of "
                              f"folds, got {folds!r}")
        return list(range(1, n + 1))
    if isinstance(folds, (int, np.integer)) and not isinstance(folds, bool):
        if not 1 <= folds <= n:
            raise ConfigError(f"folds for {protocol}: {folds} first folds asked, there are {n}")
        return list(range(1, int(folds) + 1))
    out = [int(f) for f in folds]
    bad = [f for f in out if not 1 <= f <= n]
    if bad or not out:
        raise ConfigError(f"folds for {protocol}: {bad or 'none'} not in 1..{n}")
    return out


def plan_grid(dataset: str, models: Sequence[str], protocols: Sequence[str], seeds: Any,
              folds: Any, n1: int, n2: int, runs_root: str | Path,
              data_root: str | Path | None = None, options: Mapping[str, Any] | None = None,
              model_overrides: Mapping[str, Mapping[str, Any]] | None = None,
              data=None) -> list[PlannedRun]:
    """Every run of the grid, model by model, then protocol, seed and fold (``stalib cv``'s order).
    """
    for model in models:
        check_model_name(model)
    if data is None:  # preprocessed as its runs load it (run_grid): one load serves both
        data = load_data(dataset, data_root, (options or {}).get("preprocess"))
    runs = []
    for model in models:
        for protocol in protocols:
            n = num_folds(make_config(dataset, model, protocol, 1, 0, n1, n2), data)
            chosen = resolve_folds(for_protocol(folds, protocol, "folds"), n, protocol)
            chosen_seeds = for_protocol(seeds, protocol, "seeds")
            if isinstance(chosen_seeds, (int, np.integer)):
                chosen_seeds = [chosen_seeds]
            for seed in chosen_seeds:
                for fold in chosen:
                    cfg = make_config(dataset, model, protocol, fold, seed, n1, n2, options,
                                      model_overrides)
                    folder = run_folder(runs_root, dataset, protocol, model, fold, seed,
                                        cfg.configuration_name, cfg.settings_hash())
                    runs.append(PlannedRun(cfg, folder))
    return runs


def grid_label(cfg: TrainConfig) -> str:
    """``sta-lstm``, or ``sta-lstm@l1-off`` for a run of another configuration."""
    return model_folder(cfg.model, cfg.configuration_name)


def results_csv(results: str | Path, dataset: str) -> Path:
    """``<results>/<dataset>/cv.csv``, the one results file of a dataset."""
    return Path(results) / dataset_key(dataset) / "cv.csv"


def run_grid(runs: Iterable[PlannedRun], results_dir: str | Path,
             data_root: str | Path | None = None, done_in: Iterable[str | Path] = (),
             force: bool = False, log: Callable[[str], None] | None = print) -> pd.DataFrame:
    """Run every planned run whose row is not in ``results_dir`` (nor in any of ``done_in``).

    A run whose folder holds a checkpoint continues from it. With ``force`` every run trains
    again from the start and replaces its row. Returns one row per run: ``model, protocol, fold,
    seed, status`` (``ran`` or ``recorded``), ``accuracy`` (of the runs made here), ``out``.
    """
    rows = []
    runs = list(runs)
    how = Execution(threads=0, data_root=data_root, results_dir=Path(results_dir), force=force,
                    keep_going=False)
    for i, run in enumerate(runs, 1):
        c = run.cfg
        where = [results_csv(results_dir, c.dataset)] + [results_csv(r, c.dataset)
                                                         for r in done_in]
        protocol = run.key[1]
        row = {"model": c.model, "configuration": c.configuration_name, "protocol": protocol,
               "fold": c.fold,
               "seed": c.seed,
               "status": "recorded", "accuracy": np.nan, "out": str(run.out)}
        if not force and any(has_record(p, run.key) for p in where):
            rows.append(row)
            continue
        outcome = next(iter(execute([run], how, load_data_for(c, data_root))))
        row.update(status="ran", accuracy=outcome["accuracy"])
        rows.append(row)
        if log is not None:
            log(f"[{i}/{len(runs)}] {grid_label(c)} {protocol} fold {c.fold} seed {c.seed}: "
                f"{100 * outcome['accuracy']:.2f}% ({outcome['train_wall_s']:.0f} s)")
    table = pd.DataFrame(rows, columns=["model", "configuration", "protocol", "fold", "seed",
                                        "status", "accuracy", "out"])
    if log is not None:
        ran = int((table["status"] == "ran").sum())
        log(f"{ran} run(s) trained here, {len(table) - ran} already recorded")
    return table


@dataclass(frozen=True)
class Execution:
    """How :func:`execute` runs a grid: ``jobs`` worker processes side by side (1: in this
    process), each with ``threads`` torch threads; rows into ``results_dir`` (None: no row,
    e.g. a timing); ``resume`` from a run folder's checkpoint, ``force`` a finished run again;
    ``progress`` bars (one process only); ``native`` rows (:mod:`stalib.determinism`);
    ``keep_going``: a run's StalibError becomes its outcome's ``error`` and the other runs go
    on (``stalib cv``), else it is raised as the run raised it."""

    jobs: int = 1
    threads: int = 1
    data_root: str | Path | None = None
    results_dir: str | Path | None = None
    resume: bool = True
    force: bool = False
    progress: bool = False
    native: bool | None = None
    keep_going: bool = True


def _run_one(run: PlannedRun, how: Execution, data=None) -> dict:
    """One run of :func:`execute` (in a worker process when ``how.jobs`` > 1): its outcome, ``model,
    configuration, fold, seed`` and ``accuracy, wall_s, train_wall_s, iterations, record`` (its
    results row, :class:`stalib.results.RunRecord` as a dict) or, with ``how.keep_going``, ``error``
    (a StalibError's one line)."""
    if how.threads:
        torch.set_num_threads(how.threads)
    c = run.cfg
    outcome = {"model": c.model, "configuration": c.configuration_name, "fold": c.fold,
               "seed": c.seed,
               "out": str(run.out)}
    t0 = time.perf_counter()
    try:
        exp = run_experiment(c, run.out, how.data_root,
                             None if how.results_dir is None else Path(how.results_dir),
                             resume=how.resume and not how.force, force=how.force,
                             progress=how.progress, data=data, native=how.native)
    except StalibError as err:
        if not how.keep_going:
            raise
        return {**outcome, "error": str(err)}
    return {**outcome, "accuracy": exp.record.accuracy,
            "wall_s": round(time.perf_counter() - t0, 2),
            "train_wall_s": exp.record.wall_time_s, "iterations": exp.record.iterations,
            "record": dataclasses.asdict(exp.record)}


def execute(runs: Sequence[PlannedRun], how: Execution, data=None) -> Iterable[dict]:
    """Run ``runs`` and yield each outcome as it finishes (:func:`_run_one`): the one runner of
    ``stalib cv``, the notebooks (:func:`run_grid`), ``stalib rerun`` and ``stalib bench`` (the
    grid timing).
    With one job the runs go in order in this process (``data``, when given, is the loaded
    dataset of every run: one load serves all); with more, ``how.jobs`` spawned workers each
    load their own."""
    if how.jobs <= 1:
        for run in runs:
            yield _run_one(run, how, data)
        return
    pool = cf.ProcessPoolExecutor(how.jobs, mp_context=mp.get_context("spawn"))
    try:
        futures = [pool.submit(_run_one, run, how) for run in runs]
        for future in cf.as_completed(futures):
            yield future.result()
    finally:  # a consumer that stops early (an error) does not wait for the runs not started
        pool.shutdown(cancel_futures=True)
