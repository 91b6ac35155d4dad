"""What the experiment notebooks call: a grid of runs, and the attention of one trained model.

The notebooks of ``notebooks/`` hold no training code; they call these functions, which call
:mod:`stalib.experiment`.

**A grid** is every (model, protocol, seed, fold) of a job. :func:`plan_grid` lists them with
their configuration and run folder, :func:`run_grid` runs those whose row is not in the results
file yet, so a notebook continues a grid that ``stalib cv`` (or an interrupted notebook) partly
ran. Run folders have the layout ``stalib cv`` uses by default::

    <runs_root>/<dataset>/<protocol>/<model>/fold<f>-seed<s>/

and configurations are built as ``stalib cv`` builds them with default options (no
``--protocol`` for a dataset's standard protocol), so both find each other's checkpoints and
finished models.

Seeds and folds may differ per protocol: ``seeds`` and ``folds`` are either one value for every
protocol or a dict ``{protocol: value}`` (e.g. UTKinect ``{"xsub": [0, 1, 2], "loso": [0]}``).
``folds`` is ``"all"``, a list of 1-based folds, or an int ``n`` for the first ``n`` folds.

:func:`setup_notebook` and :func:`save_figure` are the first and the last step of every
notebook: threads and paths, and a figure written under its results folder.

**Attention** (Figs. 5 and 6 of Song et al. 2017; the coupled map of CSTA-CNN):
:func:`attention_of` evaluates a model on one sequence and returns its ``alpha`` (T, K) and
``beta`` (T,); :func:`pick_sequence` chooses a test sequence of a class; :func:`foot_lift` says
when a foot is highest, to set beside the peak of ``beta_t - beta_{t-1}``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from stalib.config import TrainConfig
from stalib.errors import ConfigError

RUN_FOLDER = "fold{fold}-seed{seed}"


def setup_notebook(threads: int | None, results_dir: str | Path | None = None,
                   results_root: str | Path | None = None, runs_root: str | Path | None = None
                   ) -> tuple[Path, Path, Path]:
    """What every experiment notebook does first: sets torch's CPU threads (``threads``; None
    or 0: torch's default), silences tqdm's warning that ipywidgets is missing, and returns its
    ``results_dir``, ``results_root`` and ``runs_root`` as paths. A folder left None is this
    checkout's, wherever the notebook runs from (:func:`default_folders`)."""
    import warnings

    import torch

    warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm without ipywidgets
    if threads:
        torch.set_num_threads(int(threads))
    results, runs = default_folders()
    return (Path(results_dir) if results_dir is not None else results,
            Path(results_root) if results_root is not None else results,
            Path(runs_root) if runs_root is not None else runs)


def default_folders() -> tuple[Path, Path]:
    """``(results, runs)`` of a notebook started without them: ``$STALIB_RESULTS`` or this
    checkout's ``results/``, and the checkout's ``runs/``. The checkout is the one above the
    working directory (JupyterLab, ``jupyter execute``), else the one of the imported stalib
    (papermill from another folder), so a notebook never writes into the caller's folder."""
    from stalib.report.tables import project_root, results_root

    project = project_root()
    if project is None:
        raise ConfigError("this notebook finds no stalib checkout (pyproject.toml beside "
                          "results/) above the working directory or the imported stalib: "
                          "pass results_dir, results_root and runs_root")
    return results_root(), project / "runs"


#: Where a notebook run by hand (no ``results_dir``) puts a figure it names itself: never over
#: the report's committed figures (git-ignored).
YOUR_FIGURES = "figures/yours"


def figure_path(figure: str | None, notebook: str, dataset: str, options: dict | None,
                results_dir: Path, by_hand: bool) -> Path:
    """Where a notebook's figure goes. ``figure`` given: ``results_dir / figure`` (asked for).
    None: named from the parameters, ``<notebook>-<dataset>[-<variant>].png`` (an npz by its
    path-safe name), under ``figures/`` when ``stalib reproduce`` runs it and under
    :data:`YOUR_FIGURES` when run by hand (``by_hand``: no ``results_dir`` given), so a hand run
    with other parameters never overwrites a figure of the report."""
    if figure is not None:
        return Path(results_dir) / figure
    from stalib.experiment import dataset_key

    variant = (options or {}).get("variant")
    name = f"{notebook}-{dataset_key(dataset)}" + (f"-{variant}" if variant else "") + ".png"
    return Path(results_dir) / (YOUR_FIGURES if by_hand else "figures") / name


def save_figure(fig, path: str | Path):
    """Write ``fig`` to ``path`` (PNG, 120 dpi, tight; folders made as needed) and return it as
    an IPython image, for the notebook to display."""
    from IPython.display import Image

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    return Image(filename=str(path))


def model_folder(model: str, variant: str = "paper", settings: str | None = None) -> str:
    """``<model>`` for the paper's settings, ``<model>@<variant>`` for another variant; an
    unnamed one (``custom``) with its ``settings`` hash (:meth:`TrainConfig.settings_hash`),
    ``<model>@custom-<hash>``: two unnamed configurations never share a run folder."""
    from stalib.config import CUSTOM_VARIANT, DEFAULT_VARIANTS

    if variant in DEFAULT_VARIANTS:
        return model
    if variant == CUSTOM_VARIANT and settings:
        return f"{model}@{variant}-{settings}"
    return f"{model}@{variant}"


def run_folder(runs_root: str | Path, dataset: str, protocol: str, model: str, fold: int,
               seed: int, variant: str = "paper", settings: str | None = None) -> Path:
    """``<runs_root>/<dataset>/<protocol>/<model>[@<variant>]/fold<f>-seed<s>`` (``stalib
    cv``'s layout; the variant is in the folder name unless it is ``paper``, an unnamed one
    with its ``settings`` hash: :func:`model_folder`)."""
    from stalib.experiment import dataset_key

    return (Path(runs_root) / dataset_key(dataset) / protocol
            / model_folder(model, variant, settings) / RUN_FOLDER.format(fold=fold, seed=seed))


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
        """The results key ``(dataset, protocol, variant, model, fold, seed)`` of
        :mod:`stalib.results`."""
        from stalib.experiment import record_key

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
    from stalib.experiment import load_data, num_folds
    from stalib.models import check_model_name

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
                    runs.append(PlannedRun(cfg, run_folder(runs_root, dataset, protocol, model,
                                                           fold, seed, cfg.variant_name,
                                                           cfg.settings_hash())))
    return runs


def grid_label(cfg: TrainConfig) -> str:
    """``sta-lstm``, or ``sta-lstm@l1-off`` for a run of another variant."""
    return model_folder(cfg.model, cfg.variant_name)


def results_csv(results: str | Path, dataset: str) -> Path:
    """``<results>/<dataset>/cv.csv``, the one results file of a dataset."""
    from stalib.experiment import dataset_key

    return Path(results) / dataset_key(dataset) / "cv.csv"


def run_grid(runs: Iterable[PlannedRun], results_dir: str | Path,
             data_root: str | Path | None = None, done_in: Iterable[str | Path] = (),
             force: bool = False, log: Callable[[str], None] | None = print) -> pd.DataFrame:
    """Run every planned run whose row is not in ``results_dir`` (nor in any of ``done_in``).

    A run whose folder holds a checkpoint continues from it. With ``force`` every run trains
    again from the start and replaces its row. Returns one row per run: ``model, protocol, fold,
    seed, status`` (``ran`` or ``recorded``), ``accuracy`` (of the runs made here), ``out``.
    """
    from stalib.experiment import load_data_for, run_experiment
    from stalib.results import has_record

    rows = []
    runs = list(runs)
    for i, run in enumerate(runs, 1):
        c = run.cfg
        where = [results_csv(results_dir, c.dataset)] + [results_csv(r, c.dataset)
                                                         for r in done_in]
        protocol = run.key[1]
        row = {"model": c.model, "variant": c.variant_name, "protocol": protocol, "fold": c.fold,
               "seed": c.seed,
               "status": "recorded", "accuracy": np.nan, "out": str(run.out)}
        if not force and any(has_record(p, run.key) for p in where):
            rows.append(row)
            continue
        exp = run_experiment(c, run.out, data_root, results_dir=Path(results_dir),
                             resume=not force, force=force, progress=False,
                             data=load_data_for(c, data_root))
        row.update(status="ran", accuracy=exp.record.accuracy)
        rows.append(row)
        if log is not None:
            log(f"[{i}/{len(runs)}] {grid_label(c)} {protocol} fold {c.fold} seed {c.seed}: "
                f"{100 * exp.record.accuracy:.2f}% ({exp.record.wall_time_s:.0f} s)")
    table = pd.DataFrame(rows, columns=["model", "variant", "protocol", "fold", "seed",
                                        "status", "accuracy", "out"])
    if log is not None:
        ran = int((table["status"] == "ran").sum())
        log(f"{ran} run(s) trained here, {len(table) - ran} already recorded")
    return table


def recorded_rows(dataset: str, *results: str | Path) -> pd.DataFrame | None:
    """The rows of ``dataset`` in the results folders ``results`` (a run recorded in several
    counts once: the first folder's row wins). None when none has a results file."""
    from stalib.experiment import dataset_key
    from stalib.report.tables import load_cv
    from stalib.results import KEY

    frames = [df for r in results if (df := load_cv(dataset_key(dataset), r)) is not None]
    if not frames:
        return None
    df = pd.concat(frames, ignore_index=True)
    return df.drop_duplicates(list(KEY), keep="first").reset_index(drop=True)


def test_labels(dataset: str, data, protocols: Iterable[str]) -> dict:
    """The class of every test sequence of every fold of ``protocols``, in the fold's test order
    (the order of a row's ``test_correct``): ``{"classes": [...], "protocols": {protocol:
    {fold: labels}}}``, folds 1-based (:func:`stalib.report.tables.per_class` reads it)."""
    from stalib.data.registry import get_splits

    return {"classes": list(data.class_names), "protocols": {
        protocol: {i: np.asarray(data.labels)[np.asarray(split.test, dtype=int)]
                   for i, split in enumerate(get_splits(dataset, data, protocol), start=1)}
        for protocol in protocols}}


def recorded(runs: Sequence[PlannedRun], *results: str | Path) -> pd.DataFrame:
    """The recorded rows of exactly the runs ``runs`` (see :func:`recorded_rows`)."""
    from stalib.results import KEY

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


# ---------------------------------------------------------------------------------------------
# Attention of one sequence


@dataclass
class SequenceAttention:
    """A model's output on one sequence ``index`` of a dataset (its ``T`` real frames)."""

    index: int
    name: str
    label: int
    predicted: int
    frames: np.ndarray  # (T, K, 3) the (preprocessed) joint positions fed to the model
    alpha: np.ndarray | None  # (T, K) spatial attention (CSTA-CNN: the coupled map)
    beta: np.ndarray | None  # (T,) temporal attention

    @property
    def correct(self) -> bool:
        return self.label == self.predicted


def attention_of(model, data, index: int) -> SequenceAttention:
    """Evaluate ``model`` (in eval mode, on the CPU) on sequence ``index`` of ``data``."""
    import torch

    from stalib.data.batching import pad_batch

    batch = pad_batch(data, [int(index)])
    device = next(model.parameters()).device
    model.eval()
    with torch.no_grad():
        out = model(batch.x.to(device), batch.mask.to(device))
    t = int(batch.lengths[0])

    def first(v):
        return None if v is None else v[0, :t].float().cpu().numpy().astype(np.float64)

    return SequenceAttention(
        index=int(index), name=str(data.names[index]), label=int(data.labels[index]),
        predicted=int(out.logits[0].argmax()), frames=np.asarray(data[int(index)]),
        alpha=first(out.alpha), beta=first(out.beta),
    )


def pick_sequence(data, indices: Sequence[int], class_name: str | None = None,
                  model=None) -> int:
    """A sequence of class ``class_name`` among ``indices`` (e.g. a fold's test set).

    The first one (in ``indices`` order) that ``model`` classifies correctly, else the first
    one. Without ``class_name``: the class of the first of ``indices``.
    """
    indices = [int(i) for i in indices]
    if not indices:
        raise ConfigError("no sequence to choose from")
    if class_name is None:
        label = int(data.labels[indices[0]])
    elif class_name in data.class_names:
        label = list(data.class_names).index(class_name)
    else:
        raise ConfigError(f"{data.name} has no class {class_name!r}; classes: "
                          f"{', '.join(data.class_names)}")
    of_class = [i for i in indices if data.labels[i] == label]
    if not of_class:
        raise ConfigError(f"no sequence of class {data.class_names[label]!r} among the "
                          f"{len(indices)} given")
    if model is not None:
        for i in of_class:
            if attention_of(model, data, i).correct:
                return i
    return of_class[0]


def foot_lift(frames: np.ndarray, layout) -> np.ndarray:
    """Per frame, how high the highest foot is above that foot's lowest position (T,).

    Up is the direction from the feet to the head in the first frame (datasets differ in the
    sign of the vertical axis); persons that are absent (all-zero joints) are left out.
    """
    from stalib.data.skeletons import get_layout

    layout = get_layout(layout)
    frames = np.asarray(frames, dtype=float)
    j = layout.joints_per_person
    lifts = []
    for p in range(layout.persons_in(frames.shape[1])):
        body = frames[:, p * j:(p + 1) * j]
        if not np.any(body):
            continue
        up = np.sign(body[0, layout.head, 1] - body[0, list(layout.feet), 1].mean()) or 1.0
        for f in layout.feet:
            height = up * body[:, f, 1]
            lifts.append(height - height.min())
    if not lifts:
        return np.zeros(len(frames))
    return np.max(lifts, axis=0)


def top_joints(alpha_row: np.ndarray, names: Sequence[str], k: int = 8) -> list[dict]:
    """The ``k`` joints of largest weight, largest first: ``[{"joint", "alpha"}]``."""
    alpha_row = np.asarray(alpha_row, dtype=float)
    order = np.argsort(-alpha_row, kind="stable")[:k]
    return [{"joint": names[i], "index": int(i), "alpha": round(float(alpha_row[i]), 6)}
            for i in order]


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
#: variant, model), then the same model and variant under any protocol, then any model of the
#: same variant and protocol (SA-LSTM's pace for TA-LSTM: a rough estimate).
PACE_BY: tuple[tuple[str, ...], ...] = (("dataset", "protocol", "variant", "model"),
                                        ("dataset", "variant", "model"),
                                        ("dataset", "protocol", "variant"))


def planned_iterations(cfg: TrainConfig, n_train: int) -> int:
    """The iterations run ``cfg`` trains on ``n_train`` sequences: every stage of its schedule
    (:func:`stalib.schedule.stage_iterations`)."""
    from stalib.schedule import schedule_of, stage_iterations

    return sum(stage_iterations(stage, cfg, n_train) for stage in schedule_of(cfg))


def remaining_seconds(missing: Sequence[PlannedRun], rows: pd.DataFrame | None,
                      iterations: Sequence[int] | None = None) -> tuple[float, int]:
    """``(seconds, untimed)`` for the runs ``missing``, one after the other: each costs the
    median ``wall_time_s`` of the recorded rows ``rows`` closest to its kind (:data:`PACE_BY`:
    the pace of the machine that ran them, load included) or, given each run's ``iterations``
    (:func:`planned_iterations`), that many times their median seconds per iteration (a
    leave-one-out fold trains on more sequences than a cross-subject one); a run that no row of
    its variant times is counted in ``untimed``."""
    pace: list[dict[tuple[str, ...], float]] = []
    if rows is not None and not rows.empty and "wall_time_s" in rows.columns:
        times = pd.to_numeric(rows["wall_time_s"], errors="coerce")
        if iterations is not None:
            times = times / pd.to_numeric(rows["iterations"], errors="coerce").where(
                lambda n: n > 0)
        for cols in PACE_BY:
            groups = times.groupby([rows[c].astype(str) for c in cols]).median()
            pace.append({tuple(k): float(v) for k, v in groups.dropna().items()})
    from stalib.results import KEY

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
    """How many runs of the grid of ``job`` (a :class:`stalib.report.reproduce.Job`: its
    ``models`` x protocols x seeds x folds, as its notebook plans them) have their row in
    ``results``, and an estimate of the time the others take (:func:`remaining_seconds`); None
    for a job that trains nothing or whose data is not under ``data_root``. ``cache`` keeps
    each dataset's load between jobs."""
    from stalib.results import KEY

    params = job.effective_parameters(quick)
    if "models" not in params or data_root is None or any(
            not (Path(data_root) / f).is_dir() for f in job.requires):
        return None
    from stalib.experiment import load_data

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
    from stalib.data.registry import get_splits

    where = [dict(zip(KEY, r.key, strict=True)) for r in missing]  # protocol, 1-based fold
    splits = {p: get_splits(ds, cache[ds], p) for p in {w["protocol"] for w in where}}
    iterations = [planned_iterations(r.cfg, len(splits[w["protocol"]][int(w["fold"]) - 1].train))
                  for r, w in zip(missing, where, strict=True)]
    left, untimed = remaining_seconds(missing, rows, iterations)
    return GridProgress(len(runs) - len(missing), len(runs), left, untimed)
