"""Summaries of the results files for the book: mean ± std per model, literature, differences.

Everything here READS files under the results folder and never trains. The results folder is
``$STALIB_RESULTS`` when set, else the ``results/`` folder of the project (found by walking up
from the working directory to the folder holding ``pyproject.toml`` and ``results/``, else next
to the ``stalib`` package).

Files read:

* ``<results>/<dataset>/cv.csv``, the ONE results file of a dataset: one row per
  (dataset, protocol, variant, model, fold, seed), ``accuracy`` a fraction in [0, 1]; written by
  the trainer (:mod:`stalib.results`) for ``stalib cv`` and for the Fig. 7 and CSTA notebooks
  alike. ``variant`` is ``paper`` for the paper's settings (see :mod:`stalib.config`).
* ``<results>/<dataset>/validation.csv``: inner-validation runs (``--val-fold``), same format.
* ``<results>/<dataset>/per_class.csv``: test accuracy per class (:func:`per_class`), written
  by the errors job, which reads the data to know each test sequence's class.
* ``<results>/literature.csv``: the papers' numbers, ``accuracy`` in PERCENT as printed, with a
  citation per row (``table, dataset, protocol, method, accuracy, source``).

Our numbers are reported in percent: the mean and the sample standard deviation (ddof=1) over
all runs of a model, i.e. over folds and seeds together; ``runs`` says how many.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from stalib.config import DEFAULT_VARIANTS, PAPER_DATASETS, PAPER_VARIANT
from stalib.determinism import UNRECORDED
from stalib.errors import FormatError
from stalib.report.reproduce import CSTA_MODELS, FIG7_MODELS, PER_CLASS, get_job
from stalib.results import decode_correct, speaking_mask

RESULTS_ENV = "STALIB_RESULTS"

DATASETS: dict[str, str] = {
    "sbu": "SBU Kinect Interaction",
    "utkinect": "UTKinect-Action3D",
    "ntu60": "NTU RGB+D (60 classes)",
}
DATASET_SHORT: dict[str, str] = {"sbu": "SBU", "utkinect": "UTKinect", "ntu60": "NTU RGB+D"}

MODEL_ORDER: tuple[str, ...] = FIG7_MODELS + CSTA_MODELS
MODEL_LABELS: dict[str, str] = {
    "lstm": "LSTM",
    "sa-lstm-noreg": "SA-LSTM (w/o reg.)",
    "sa-lstm": "SA-LSTM",
    "ta-lstm-noreg": "TA-LSTM (w/o reg.)",
    "ta-lstm": "TA-LSTM",
    "sta-lstm": "STA-LSTM",
    "hcn": "HCN",
    "hcn-joint": "HCN + joint weights",
    "hcn-frame": "HCN + frame weights",
    "csta-cnn": "CSTA-CNN",
}

CV_COLUMNS: tuple[str, ...] = (
    "dataset", "protocol", "variant", "model", "fold", "seed", "accuracy", "n_test", "iterations",
    "wall_time_s", "device", "git_commit", "timestamp", "params", "versions",
)
LITERATURE_COLUMNS: tuple[str, ...] = (
    "table", "dataset", "protocol", "method", "accuracy", "source",
)

_NTU_PROTOCOLS = {
    "cs": "cs", "xsub": "cs", "crosssubject": "cs",
    "cv": "cv", "xview": "cv", "crossview": "cv",
}
PROTOCOL_LABELS = {"cs": "Cross-Subject", "cv": "Cross-View"}


# ---------------------------------------------------------------------------------------------
# Where the files are


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


# ---------------------------------------------------------------------------------------------
# Reading


def read_cv(path: str | os.PathLike) -> pd.DataFrame:
    """One results CSV, checked: the columns of the format, accuracies in [0, 1]."""
    path = Path(path)
    try:
        df = pd.read_csv(path, dtype={"dataset": str, "protocol": str, "variant": str,
                                      "model": str, "test_correct": str})
    except pd.errors.EmptyDataError:
        return pd.DataFrame(columns=list(CV_COLUMNS))
    if "variant" not in df.columns and "params" in df.columns:  # written before variants
        from stalib.results import variant_of_params

        df["variant"] = [variant_of_params(p, f"{path}, line {i}")
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
    key = ["dataset", "protocol", "variant", "model", "fold", "seed"]
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


def load_all_cv(root: str | os.PathLike | None = None) -> pd.DataFrame | None:
    """The runs of every dataset of :data:`DATASETS` that has results (None when none has)."""
    frames = [df for d in DATASETS if (df := load_cv(d, root)) is not None]
    if not frames:
        return None
    return pd.concat(frames, ignore_index=True)


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


# ---------------------------------------------------------------------------------------------
# Summaries


def canonical_protocol(dataset: str, protocol) -> str:
    """A protocol id comparable across files: NTU ``xsub``/``cross-subject`` -> ``cs`` etc."""
    if protocol is None or (isinstance(protocol, float) and np.isnan(protocol)):
        return ""
    text = re.sub(r"[\s_\-]", "", str(protocol).lower())
    if str(dataset).startswith("ntu"):
        return _NTU_PROTOCOLS.get(text, text)
    return text


def protocol_label(dataset: str, protocol: str) -> str:
    """What a reader sees: ``Cross-Subject`` for NTU ``cs``; other protocols as they are."""
    if str(dataset).startswith("ntu"):
        return PROTOCOL_LABELS.get(canonical_protocol(dataset, protocol), str(protocol))
    return str(protocol)


def _dataset_rank(dataset: str) -> int:
    order = list(DATASETS)
    return order.index(dataset) if dataset in order else len(order)


def _model_rank(model: str) -> int:
    return MODEL_ORDER.index(model) if model in MODEL_ORDER else len(MODEL_ORDER)


def summarise(df: pd.DataFrame, models: Iterable[str] | None = None,
              variants: Iterable[str] | None = None, protocol_seeds: bool = True
              ) -> pd.DataFrame:
    """Mean ± std (percent) per (dataset, protocol, variant, model) over folds and seeds.

    Columns: ``dataset, protocol, variant, model, label, mean, std, runs, folds, seeds,
    correct, sequences, ci_low, ci_high, whole``; ``std`` is NaN for a single run. ``correct``
    and ``sequences`` count the test sequences over all runs (NaN where rows lack ``n_test``).
    When every run tests ONE sequence with one seed (leave-one-sequence-out), the std over runs
    of 0/100 outcomes says little: ``ci_low``/``ci_high`` are then the Wilson 95 % interval of
    the pooled accuracy (:func:`wilson_interval`), NaN otherwise. ``whole``: the runs cover
    every fold of the protocol in ``df``, each with the same seeds and (with
    ``protocol_seeds``) as many as the most any grid of that protocol in ``df`` has; a grid
    still running is not whole, and :func:`compare` sets no difference to the paper beside it.
    Rows follow :data:`MODEL_ORDER` within each dataset and protocol, the ``paper`` variant
    first. ``variants`` keeps only those variants.
    """
    cols = ["dataset", "protocol", "variant", "model", "label", "mean", "std", "runs", "folds",
            "seeds", "correct", "sequences", "ci_low", "ci_high", "whole"]
    if df is None or df.empty:
        return pd.DataFrame(columns=cols)
    df = _with_variant(df)
    # the folds and seeds of the protocol, from every model's rows
    fold_count = df.groupby(["dataset", "protocol"])["fold"].nunique()
    seed_count = df.groupby(["dataset", "protocol"])["seed"].nunique()
    if models is not None:
        df = df[df["model"].isin(list(models))]
    if variants is not None:
        df = df[df["variant"].isin(list(variants))]
    rows = []
    for (dataset, protocol, variant, model), g in df.groupby(
            ["dataset", "protocol", "variant", "model"], sort=False):
        acc = 100.0 * g["accuracy"].astype(float)
        n_test = (pd.to_numeric(g["n_test"], errors="coerce") if "n_test" in g.columns
                  else pd.Series(np.nan, index=g.index))
        correct = sequences = low = high = float("nan")
        if n_test.notna().all():
            sequences = int(n_test.sum())
            correct = int(np.rint(g["accuracy"].astype(float) * n_test).sum())
            if _one_sequence_each(n_test, g["seed"]):
                low, high = wilson_interval(correct, sequences)
        rows.append({
            "dataset": dataset,
            "protocol": protocol,
            "variant": variant,
            "model": model,
            "label": MODEL_LABELS.get(model, model),
            "mean": float(acc.mean()),
            "std": float(acc.std(ddof=1)) if len(acc) > 1 else float("nan"),
            "runs": int(len(acc)),
            "folds": int(g["fold"].nunique()),
            "seeds": int(g["seed"].nunique()),
            "correct": correct, "sequences": sequences, "ci_low": low, "ci_high": high,
            "whole": bool(g["fold"].nunique() == fold_count[(dataset, protocol)]
                          and (not protocol_seeds
                               or g["seed"].nunique() == seed_count[(dataset, protocol)])
                          and len(g) == g["fold"].nunique() * g["seed"].nunique()),
        })
    return _in_report_order(pd.DataFrame(rows, columns=cols))


def _in_report_order(out: pd.DataFrame) -> pd.DataFrame:
    """Rows by dataset (:data:`DATASETS` order), protocol, variant (``paper`` first) and model
    (:data:`MODEL_ORDER`)."""
    out = out.assign(_drank=out["dataset"].map(_dataset_rank), _rank=out["model"].map(_model_rank),
                     _vrank=out["variant"].map(_variant_rank))
    out = out.sort_values(["_drank", "dataset", "protocol", "_vrank", "variant", "_rank",
                           "model"], kind="stable")
    return out.drop(columns=["_drank", "_rank", "_vrank"]).reset_index(drop=True)


def _one_sequence_each(n_test: pd.Series, seeds: pd.Series) -> bool:
    """Leave-one-sequence-out: every run tests ONE sequence (``n_test``) and all runs share one
    seed, so each run is one independent right/wrong outcome. Then the pooled accuracy has a
    Wilson interval (:func:`summarise`) and paired runs McNemar's test (:func:`paired`)."""
    return bool(pd.to_numeric(n_test, errors="coerce").eq(1).all()) and seeds.nunique() == 1


def wilson_interval(correct: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """The Wilson score interval (percent) of ``correct`` successes in ``n`` trials; 95 % by
    default. Unlike the normal approximation it stays inside [0, 100] near 0 and 100 %."""
    if n <= 0 or not 0 <= correct <= n:
        raise ValueError(f"wilson_interval: need 0 <= correct <= n and n > 0, got {correct}, {n}")
    p = correct / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return float(100.0 * max(0.0, centre - half)), float(100.0 * min(1.0, centre + half))


def error_bars(summary: pd.DataFrame) -> np.ndarray:
    """``(2, rows)`` distances below and above each mean: the Wilson interval where
    :func:`summarise` gives one, else ± std (0 for a single run)."""
    mean = summary["mean"].to_numpy(dtype=float)
    std = summary["std"].fillna(0.0).to_numpy(dtype=float)
    low = summary["ci_low"].to_numpy(dtype=float) if "ci_low" in summary else np.full_like(
        mean, np.nan)
    high = summary["ci_high"].to_numpy(dtype=float) if "ci_high" in summary else np.full_like(
        mean, np.nan)
    has = ~np.isnan(low)
    return np.vstack([np.where(has, mean - low, std), np.where(has, high - mean, std)])


def load_all_validation(root: str | os.PathLike | None = None) -> pd.DataFrame | None:
    """The inner-validation runs (``validation.csv``) of every dataset (None when none has)."""
    frames = [df for d in DATASETS if (df := load_cv(d, root, "validation.csv")) is not None]
    return pd.concat(frames, ignore_index=True) if frames else None


def summarise_validation(df: pd.DataFrame | None,
                         models: Iterable[str] | None = None) -> pd.DataFrame:
    """:func:`summarise` of inner-validation runs: per (dataset, protocol, variant, model) over
    every (test fold, validation fold) pair and seed; ``protocol`` without its ``:val<j>``.
    Explorations ran one seed or two by design, so a variant is whole on every fold with its
    own seeds."""
    if df is None or df.empty:
        return summarise(df)
    base = df["protocol"].astype(str).str.split(":").str[0]
    return summarise(df.assign(protocol=base), models=models, protocol_seeds=False)


def validation_choice(val: pd.DataFrame) -> pd.DataFrame:
    """The rule by which a Fig. 7 variant is chosen, applied to :func:`summarise_validation`:
    per dataset, each variant's validation accuracy averaged over the models that every variant
    has (one setting for the whole ablation, so its bars stay comparable); ``chosen`` marks
    the best. Columns: ``dataset, variant, models, mean, chosen``."""
    cols = ["dataset", "variant", "models", "mean", "chosen"]
    if val is None or val.empty:
        return pd.DataFrame(columns=cols)
    rows = []
    for dataset, g in val.groupby("dataset", sort=False):
        common = set.intersection(*(set(v["model"]) for _, v in g.groupby("variant")))
        g = g[g["model"].isin(common)]
        means = g.groupby("variant", sort=False)["mean"].mean()
        for variant, mean in means.items():
            rows.append({"dataset": dataset, "variant": variant, "models": len(common),
                         "mean": float(mean), "chosen": bool(mean == means.max())})
    return pd.DataFrame(rows, columns=cols)


def format_choice(choice: pd.DataFrame) -> pd.DataFrame:
    """:func:`validation_choice` as a display table (two decimals, ``yes`` on the chosen)."""
    return pd.DataFrame({
        "Dataset": [DATASET_SHORT.get(d, d) for d in choice["dataset"]],
        "Variant": list(choice["variant"]),
        "Models averaged": list(choice["models"]),
        "Mean validation accuracy (%)": [f"{m:.2f}" for m in choice["mean"]],
        "Chosen": ["yes" if c else "" for c in choice["chosen"]],
    })


def _with_variant(df: pd.DataFrame) -> pd.DataFrame:
    """``df``, with ``variant`` = paper when a hand-made frame has no such column."""
    return df if "variant" in df.columns else df.assign(variant=PAPER_VARIANT)


def _variant_rank(variant: str) -> int:
    return 0 if variant in DEFAULT_VARIANTS else 1


def variant_settings(df: pd.DataFrame | None) -> pd.DataFrame:
    """What each variant changes from the paper's settings, read from the rows' ``params``.

    One row per (dataset, variant, model) with the settings that differ (``settings``, a text
    such as ``lambda3=0.0``; ``the paper's`` for none, ``the paper's SBU settings`` on a dataset
    the paper gives no settings for), so a reader never has to guess what a variant name means.
    """
    from stalib.results import settings_of_params

    cols = ["dataset", "variant", "model", "settings"]
    if df is None or df.empty:
        return pd.DataFrame(columns=cols)
    rows = []
    for (dataset, variant, model), g in df.groupby(["dataset", "variant", "model"], sort=False):
        none = "the paper's" if dataset in PAPER_DATASETS else "the paper's SBU settings"
        texts = set()
        for i, params in enumerate(g["params"].astype(str)):
            settings = settings_of_params(params, f"{dataset} {variant} {model} row {i}")
            texts.add("unrecorded" if settings is None else ", ".join(
                f"{k}={v}" for k, v in sorted(settings.items())) or none)
        rows.append({"dataset": dataset, "variant": variant, "model": model,
                     "settings": "; ".join(sorted(texts))})
    out = pd.DataFrame(rows, columns=cols)
    out = out.assign(_vrank=out["variant"].map(_variant_rank), _rank=out["model"].map(_model_rank))
    out = out.sort_values(["dataset", "_vrank", "variant", "_rank"], kind="stable")
    return out.drop(columns=["_vrank", "_rank"]).reset_index(drop=True)


def compare(summary: pd.DataFrame, literature: pd.DataFrame) -> pd.DataFrame:
    """``summary`` with the paper's value beside each model, where the literature has one.

    A literature row matches a summary row with the same dataset, the same canonical protocol
    (or any protocol when the literature gives the dataset only one) and ``method`` equal to the
    model's label (e.g. ``STA-LSTM``). Added columns: ``paper`` (percent, NaN when the paper gives
    no number), ``diff`` (ours - paper, percentage points), ``paper_source``.
    """
    out = summary.copy()
    paper, source = [], []
    for _, row in out.iterrows():
        lit = literature[(literature["dataset"] == row["dataset"])
                         & (literature["method"] == row["label"])]
        protocols = {canonical_protocol(row["dataset"], p) for p in
                     literature.loc[literature["dataset"] == row["dataset"], "protocol"]}
        if len(protocols) > 1:
            want = canonical_protocol(row["dataset"], row["protocol"])
            lit = lit[[canonical_protocol(row["dataset"], p) == want for p in lit["protocol"]]]
        if len(lit):
            paper.append(float(lit["accuracy"].iloc[0]))
            source.append(str(lit["source"].iloc[0]))
        else:
            paper.append(float("nan"))
            source.append("")
    out["paper"] = paper
    # a grid still running (summarise's ``whole``) is no measurement to set against the paper
    out["diff"] = (out["mean"] - out["paper"]).where(out["whole"].astype(bool)
                                                     if "whole" in out.columns else True)
    out["paper_source"] = source
    return out


def gains(summary: pd.DataFrame, base: str = "lstm") -> pd.DataFrame:
    """Each model's mean minus the ``base`` model's mean (percentage points), per setting."""
    rows = []
    for (dataset, protocol, variant), g in summary.groupby(["dataset", "protocol", "variant"],
                                                           sort=False):
        ref = g.loc[g["model"] == base, "mean"]
        if ref.empty:
            continue
        for _, r in g[g["model"] != base].iterrows():
            rows.append({"dataset": dataset, "protocol": protocol, "variant": variant,
                         "model": r["model"], "label": r["label"],
                         "gain": float(r["mean"] - ref.iloc[0])})
    return pd.DataFrame(rows, columns=["dataset", "protocol", "variant", "model", "label",
                                       "gain"])


def paired(df: pd.DataFrame, models: Iterable[str], reference: str = "sta-lstm",
           reference_variant: str | None = None) -> pd.DataFrame:
    """Each model against ``reference`` on the runs both have (same protocol, fold and seed).

    The reference's runs are those of the model's own variant, or of ``reference_variant``
    when given (e.g. CSTA-CNN at its settings against STA-LSTM's validated variant).

    Columns: ``dataset, protocol, variant, model, label, reference, reference_variant, runs``
    (common runs), ``mean``, ``reference_mean`` (percent, over the common runs), ``diff`` (mean
    of the paired differences, percentage points), ``diff_std`` (their sample std, NaN for one
    run), ``wins`` and ``losses`` (runs where the model is more, or less, accurate), ``p_value``.

    ``p_value`` is McNemar's exact test, where it applies: when every common run tests one
    sequence with one seed (leave-one-sequence-out), each run is one paired correct/wrong
    outcome and the runs are independent sequences, so :func:`mcnemar_exact` of the discordant
    counts ``wins`` and ``losses``. Otherwise NaN: runs of several seeds share their folds and
    are not independent, and the spread over runs (``diff_std``) is the honest summary.
    """
    cols = ["dataset", "protocol", "variant", "model", "label", "reference",
            "reference_variant", "runs", "mean", "reference_mean", "diff", "diff_std", "wins",
            "losses", "p_value"]
    if df is None or df.empty:
        return pd.DataFrame(columns=cols)
    key = ["dataset", "protocol", "fold", "seed"]
    df = _with_variant(df)
    if "n_test" not in df.columns:
        df = df.assign(n_test=np.nan)
    ref = df[df["model"] == reference][key + ["variant", "accuracy", "n_test"]]
    rows = []
    for model in models:
        if model == reference:
            continue
        mine = df[df["model"] == model][key + ["variant", "accuracy", "n_test"]]
        if reference_variant is None:
            both = mine.merge(ref, on=key + ["variant"], suffixes=("", "_ref"))
            both["variant_ref"] = both["variant"]
        else:
            both = mine.merge(ref[ref["variant"] == reference_variant], on=key,
                              suffixes=("", "_ref"))
        for (dataset, protocol, variant), g in both.groupby(["dataset", "protocol", "variant"],
                                                            sort=False):
            diff = 100.0 * (g["accuracy"].astype(float) - g["accuracy_ref"].astype(float))
            wins, losses = int((diff > 0).sum()), int((diff < 0).sum())
            single = (_one_sequence_each(g["n_test"], g["seed"])
                      and _one_sequence_each(g["n_test_ref"], g["seed"]))
            rows.append({
                "dataset": dataset, "protocol": protocol, "variant": variant, "model": model,
                "label": MODEL_LABELS.get(model, model), "reference": reference,
                "reference_variant": g["variant_ref"].iloc[0],
                "runs": int(len(g)), "mean": float(100.0 * g["accuracy"].astype(float).mean()),
                "reference_mean": float(100.0 * g["accuracy_ref"].astype(float).mean()),
                "diff": float(diff.mean()),
                "diff_std": float(diff.std(ddof=1)) if len(g) > 1 else float("nan"),
                "wins": wins, "losses": losses,
                "p_value": mcnemar_exact(wins, losses) if single else float("nan"),
            })
    return _in_report_order(pd.DataFrame(rows, columns=cols))


def load_per_class(dataset: str, root: str | os.PathLike | None = None) -> pd.DataFrame | None:
    """The per-class test accuracy the errors job wrote for ``dataset`` (:func:`per_class`),
    or None when it has not run."""
    path = results_root(root) / dataset / PER_CLASS
    if not path.is_file():
        return None
    df = pd.read_csv(path)
    missing = [c for c in ("dataset", "protocol", "variant", "model", "label", "runs")
               if c not in df.columns]
    if missing:
        raise FormatError(str(path), f"expected the columns of stalib.report.per_class, "
                                     f"missing {', '.join(missing)}")
    return df


def per_class(df: pd.DataFrame | None, labels: Mapping | None) -> pd.DataFrame:
    """Test accuracy per class (percent) of each (dataset, protocol, variant, model), over the
    runs whose row keeps ``test_correct``: each run's right/wrong sequences are matched to their
    classes with ``labels``, ``{"classes": [name, ...], "protocols": {protocol: {fold: [label
    of each test sequence, in test order]}}}`` (:func:`stalib.report.grid.test_labels`).

    Columns: ``dataset, protocol, variant, model, label, runs``, then one per class (the
    classes of ``labels``, in their order). A row whose ``test_correct`` has another length
    than its fold's test labels is an error (the labels belong to other splits).
    """
    classes = list(labels["classes"]) if labels else []
    cols = ["dataset", "protocol", "variant", "model", "label", "runs", *classes]
    if df is None or df.empty or not labels or "test_correct" not in df.columns:
        return pd.DataFrame(columns=cols)
    df = _with_variant(df)
    kept = df["test_correct"].map(decode_correct).notna()
    rows = []
    for (dataset, protocol, variant, model), g in df[kept].groupby(
            ["dataset", "protocol", "variant", "model"], sort=False):
        folds = labels["protocols"].get(str(protocol))
        if folds is None:
            continue
        right, total = np.zeros(len(classes)), np.zeros(len(classes))
        for fold, correct in zip(g["fold"], g["test_correct"], strict=True):
            y = np.asarray(folds.get(int(fold), []), dtype=int)
            hit = np.array(decode_correct(correct), dtype=bool)
            if len(y) != len(hit):
                where = (str(g["source_file"].iloc[0]) if "source_file" in g.columns
                         else dataset)
                raise FormatError(where, f"{model} {variant} {protocol} fold {fold}: "
                                  f"test_correct has {len(hit)} sequences, the fold's test "
                                  f"labels {len(y)}")
            right += np.bincount(y[hit], minlength=len(classes))
            total += np.bincount(y, minlength=len(classes))
        with np.errstate(invalid="ignore", divide="ignore"):
            acc = 100.0 * right / total
        rows.append({"dataset": dataset, "protocol": protocol, "variant": variant,
                     "model": model, "label": MODEL_LABELS.get(model, model), "runs": len(g),
                     **dict(zip(classes, acc, strict=True))})
    return _in_report_order(pd.DataFrame(rows, columns=cols))


def mcnemar_exact(only_model: int, only_reference: int) -> float:
    """McNemar's exact test, two-sided: the probability, under "both models are equally often
    right", of discordant counts at least as uneven as ``only_model`` against
    ``only_reference`` (sequences only one of the two got right). Under that hypothesis each
    discordant sequence goes either way with probability 1/2, so this is a binomial tail,
    doubled and capped at 1; with no discordant sequence it is 1.
    """
    if only_model < 0 or only_reference < 0:
        raise ValueError(f"mcnemar_exact: counts must be >= 0, got {only_model}, "
                         f"{only_reference}")
    n, k = only_model + only_reference, min(only_model, only_reference)
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2.0 ** n
    return min(1.0, 2.0 * tail)


def format_paired(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`paired` for display (the p-value column only when some row has one)."""
    ref = MODEL_LABELS.get(table["reference"].iloc[0], "reference") if len(table) else ""
    shown = pd.DataFrame({
        "Dataset": [DATASET_SHORT.get(d, d) for d in table["dataset"]],
        "Protocol": [protocol_label(d, p) for d, p in zip(table["dataset"], table["protocol"],
                                                          strict=True)],
        "Model": [f"{label} ({v})" for label, v in zip(table["label"], table["variant"],
                                                          strict=True)],
        "Reference": [f"{MODEL_LABELS.get(r, r)} ({v})" for r, v in
                      zip(table["reference"], table["reference_variant"], strict=True)],
        "Common runs": table["runs"],
        "Model (%)": [_fmt(x) for x in table["mean"]],
        f"{ref} (%)": [_fmt(x) for x in table["reference_mean"]],
        # the std of differences of 0/100 outcomes says nothing: McNemar's test stands for it
        "Paired difference (pp)": [
            _fmt(d, "+.2f") + ("" if np.isnan(sd) or not np.isnan(p) else f" ± {_fmt(sd)}")
            for d, sd, p in zip(table["diff"], table["diff_std"], table["p_value"],
                                strict=True)],
        "Runs won": [f"{w} of {n}" for w, n in zip(table["wins"], table["runs"], strict=True)],
    })
    if table["p_value"].notna().any():
        shown["Won / lost (sequences)"] = [
            f"{w} / {lost}" if not np.isnan(p) else "—"
            for w, lost, p in zip(table["wins"], table["losses"], table["p_value"], strict=True)]
        shown["McNemar exact p"] = [_fmt(p, ".3f") for p in table["p_value"]]
    return shown


def sequences_in_runs(df: pd.DataFrame | None, dataset: str) -> int | None:
    """How many sequences the runs of ``dataset`` used (``n_train + n_test`` of a row)."""
    if df is None or df.empty or "n_train" not in df.columns:
        return None
    rows = df[df["dataset"] == dataset]
    total = pd.to_numeric(rows["n_train"], errors="coerce") + pd.to_numeric(rows["n_test"],
                                                                             errors="coerce")
    total = total.dropna()
    return int(total.max()) if len(total) else None


def _fmt(x: float, spec: str = ".2f") -> str:
    return "—" if x is None or (isinstance(x, float) and np.isnan(x)) else format(x, spec)


def format_comparison(table: pd.DataFrame, dataset_column: bool = True) -> pd.DataFrame:
    """Strings for display: ``Ours (%)`` as ``mean ± std``, ``Paper (%)``, ``Difference``."""
    rows = []
    for _, r in table.iterrows():
        ours = _fmt(r["mean"])
        if not np.isnan(r.get("ci_low", np.nan)):  # one sequence per run: pooled, with its CI
            ours += (f" ({int(r['correct'])} of {int(r['sequences'])}; 95 % CI "
                     f"{r['ci_low']:.1f}–{r['ci_high']:.1f})")
        elif not np.isnan(r["std"]):
            ours += f" ± {_fmt(r['std'])}"
        row = {
            "Dataset": DATASET_SHORT.get(r["dataset"], r["dataset"]),
            "Protocol": protocol_label(r["dataset"], r["protocol"]),
            "Variant": r.get("variant", PAPER_VARIANT),
            "Model": r["label"],
            "Ours (%)": ours,
            "Runs (folds × seeds)": f"{r['runs']} ({r['folds']} × {r['seeds']})"
            + ("" if r.get("whole", True) else ", running"),
        }
        if "paper" in table.columns:
            row["Paper (%)"] = _fmt(r["paper"])
            row["Difference (pp)"] = _fmt(r["diff"], "+.2f")
        if not dataset_column:
            del row["Dataset"]
        rows.append(row)
    return pd.DataFrame(rows)


def comparison_sources(table: pd.DataFrame) -> str:
    """Markdown naming the source of every paper value in a :func:`compare` table."""
    seen: dict[str, list[str]] = {}
    for _, r in table.iterrows():
        source = r.get("paper_source", "")
        if source:
            where = (f"{r['label']} ({DATASET_SHORT.get(r['dataset'], r['dataset'])}, "
                     f"{protocol_label(r['dataset'], r['protocol'])})")
            places = seen.setdefault(source, [])
            if where not in places:  # one per model and protocol, whatever the variants
                places.append(where)
    if not seen:
        return "The papers' text gives no value for these models (literature: none)."
    lines = [f"- {', '.join(where)}: {source}" for source, where in seen.items()]
    return "Paper values (literature, `results/literature.csv`):\n\n" + "\n".join(lines)


def literature_rows(literature: pd.DataFrame, table: str) -> pd.DataFrame:
    """The rows of one literature table (e.g. ``Table 1``), for display, labelled literature."""
    lit = literature[literature["table"] == table]
    return pd.DataFrame({
        "Method (literature)": lit["method"],
        "Dataset": [DATASET_SHORT.get(d, d) for d in lit["dataset"]],
        "Protocol": [protocol_label(d, p) for d, p in zip(lit["dataset"], lit["protocol"],
                                                          strict=True)],
        "Accuracy (%)": list(lit["accuracy_text"]),
        "Source": lit["source"],
    }).reset_index(drop=True)


def performance(df: pd.DataFrame) -> pd.DataFrame:
    """Wall time per run and per iteration, by dataset, protocol, model and device."""
    cols = ["dataset", "protocol", "variant", "model", "device", "runs", "iterations",
            "wall_time_s_median", "ms_per_iteration"]
    if df is None or df.empty:
        return pd.DataFrame(columns=cols)
    rows = []
    df = _with_variant(df)
    for (dataset, protocol, variant, model, device), g in df.groupby(
        ["dataset", "protocol", "variant", "model", "device"], sort=False
    ):
        wall = g["wall_time_s"].astype(float)
        iters = g["iterations"].astype(float)
        per_iter = (wall / iters.where(iters > 0)).median()
        rows.append({
            "dataset": dataset, "protocol": protocol, "variant": variant, "model": model,
            "device": device, "runs": int(len(g)), "iterations": int(iters.median()),
            "wall_time_s_median": float(wall.median()),
            "ms_per_iteration": float(1000.0 * per_iter),
        })
    out = pd.DataFrame(rows, columns=cols)
    out = out.assign(_drank=out["dataset"].map(_dataset_rank), _rank=out["model"].map(_model_rank))
    out = out.sort_values(["_drank", "dataset", "protocol", "_rank", "device"])
    return out.drop(columns=["_drank", "_rank"]).reset_index(drop=True)


#: Runs trained again to check that recorded rows reproduce: ``<results>/reruns/<dataset>-<file>``
#: (``sbu-cv.csv``, ``sbu-validation.csv``), rows of the results format. They are checks, not
#: results: no table or claim reads them but :func:`rerun_agreement`.
RERUNS = "reruns"
PORTABLE_RERUNS = "reruns/portable"


def load_reruns(dataset: str, root: str | os.PathLike | None = None,
                name: str = "cv.csv", folder: str = RERUNS) -> pd.DataFrame | None:
    """The reruns of ``dataset``'s ``name`` rows kept under ``folder`` of the results (None when
    there are none): :data:`RERUNS` those before the portable mode, :data:`PORTABLE_RERUNS`
    those of portable rows by ``stalib rerun``."""
    path = results_root(root) / folder / f"{dataset}-{name}"
    return read_cv(path) if path.is_file() else None


def rerun_agreement(recorded: pd.DataFrame | None, reruns: pd.DataFrame | None) -> pd.DataFrame:
    """Each rerun beside the recorded row of the same run (dataset, protocol, variant, model,
    fold, seed, and mode: ``recorded`` holds every mode, :func:`load_cv`'s ``every_mode``), per
    (protocol, variant, model): how many runs, how many predicted every test sequence as the
    recorded one did (``test_correct`` equal), how many are identical (that, and the same
    accuracy and training accuracy), the mean accuracy (percent) of the recorded rows and of the
    reruns, and the largest difference of one run. A rerun with no recorded row is a
    FormatError: it checks nothing."""
    cols = ["protocol", "variant", "model", "runs", "same predictions", "identical",
            "recorded (%)", "rerun (%)", "largest difference (pp)", "recorded commits",
            "rerun commits"]
    if reruns is None or reruns.empty or recorded is None:
        return pd.DataFrame(columns=cols)
    key = ["dataset", "protocol", "variant", "model", "fold", "seed", "determinism"]
    recorded, reruns = (df if "determinism" in df else df.assign(determinism=UNRECORDED)
                        for df in (recorded, reruns))
    both = reruns.merge(recorded, on=key, how="left", suffixes=("_rerun", ""),
                        indicator=True)
    lost = both[both["_merge"] != "both"]
    if not lost.empty:
        first = lost.iloc[0]
        source = reruns["source_file"].iloc[0] if "source_file" in reruns else RERUNS
        raise FormatError(source,
                          f"rerun of {dict(zip(key, (first[k] for k in key), strict=True))} "
                          "has no recorded row to compare with")
    both["protocol"] = both["protocol"].astype(str).str.split(":").str[0]  # val folds together
    rows = []
    for (protocol, variant, model), g in both.groupby(["protocol", "variant", "model"],
                                                      sort=False):
        recorded_bits = [decode_correct(x) for x in g["test_correct"]]
        same = pd.Series([a is not None and a == decode_correct(b) for a, b in zip(
            recorded_bits, g["test_correct_rerun"], strict=True)], index=g.index)
        identical = same & (g["accuracy"] == g["accuracy_rerun"])
        if "train_accuracy" in g:
            identical &= (g["train_accuracy"].astype(float)
                          == g["train_accuracy_rerun"].astype(float))
        rows.append({
            "protocol": protocol, "variant": variant, "model": model, "runs": len(g),
            "same predictions": int(same.sum()), "identical": int(identical.sum()),
            "recorded (%)": round(100 * g["accuracy"].mean(), 2),
            "rerun (%)": round(100 * g["accuracy_rerun"].mean(), 2),
            "largest difference (pp)": round(100 * (g["accuracy_rerun"] - g["accuracy"]).abs()
                                             .max(), 2),
            "recorded commits": ", ".join(sorted(c[:7] for c in g["git_commit"].astype(str)
                                                 .unique())),
            "rerun commits": ", ".join(sorted(c[:7] for c in g["git_commit_rerun"]
                                              .astype(str).unique())),
        })
    return pd.DataFrame(rows, columns=cols)


def rerun_provenance(recorded: pd.DataFrame, reruns: pd.DataFrame) -> str:
    """When, on which CPU and at which commit the rerun runs were recorded, and when and where
    they were rerun: one sentence for the table of :func:`rerun_agreement`."""
    key = ["dataset", "protocol", "variant", "model", "fold", "seed", "determinism"]
    rows = recorded.merge(reruns[key], on=key)

    def where(df: pd.DataFrame) -> str:
        days = sorted({str(t)[:10] for t in df["timestamp"]})
        cpus = sorted({str(json.loads(v).get("cpu", "?")) if str(v).startswith("{") else "?"
                       for v in df["versions"]})
        commits = sorted({str(c)[:7] for c in df["git_commit"]})
        span = days[0] if len(days) == 1 else f"{days[0]} to {days[-1]}"
        return f"{span} on {'; '.join(cpus)}, commit {', '.join(commits)}"

    return f"Recorded {where(rows)}; rerun {where(reruns)}."


def provenance(df: pd.DataFrame) -> dict:
    """Where the runs came from: commits, seeds, devices, package versions, time span."""
    if df is None or df.empty:
        return {}
    versions = set()
    for text in df["versions"].dropna().astype(str):
        try:
            versions.add(json.dumps(json.loads(text), sort_keys=True))
        except json.JSONDecodeError:
            versions.add(text)
    return {
        "runs": int(len(df)),
        "git_commits": sorted(df["git_commit"].astype(str).unique()),
        "seeds": sorted(int(s) for s in df["seed"].unique()),
        "devices": sorted(df["device"].astype(str).unique()),
        "versions": [json.loads(v) if v.startswith("{") else v for v in sorted(versions)],
        "first": str(df["timestamp"].astype(str).min()),
        "last": str(df["timestamp"].astype(str).max()),
    }


# ---------------------------------------------------------------------------------------------
# Messages


def missing_note(what: str, command: str, why: str | None = None) -> str:
    """The Markdown a page shows instead of a table or figure whose results file is absent."""
    why = why or "it has not been run yet"
    return f"**{what}: no result here** — {why}. To produce it, run `{command}`."


def ntu_missing_note(what: str, job: str | None = None, command: str | None = None) -> str:
    """The note for NTU results, which need the (large, licensed) dataset."""
    return missing_note(
        what,
        command or f"stalib reproduce --only {job}",
        why="NTU RGB+D was not available where these results were made; the command needs a "
        "data root (`--data-root DIR` or `STALIB_DATA`) holding `NTU/`",
    )


def jobs_note(what: str, jobs: Sequence[str]) -> str:
    """The note for results that the named jobs of :mod:`stalib.report.reproduce` produce."""
    command = "stalib reproduce " + " ".join(f"--only {name}" for name in jobs)
    if any("NTU" in get_job(name).requires for name in jobs):
        return ntu_missing_note(what, command=command)
    return missing_note(what, command)


# ---------------------------------------------------------------------------------------------
# Display helpers for the book's pages (IPython objects)


def show_markdown(text: str):
    from IPython.display import Markdown

    return Markdown(text)


def show_table(df: pd.DataFrame, kind: str = "ours", caption: str | None = None):
    """An HTML table; ``kind`` is ``ours`` (measured here) or ``literature`` (quoted)."""
    from IPython.display import HTML

    html = df.to_html(index=False, border=0, escape=True, na_rep="—", justify="left",
                      classes=["stalib-table", f"stalib-{kind}"])
    if caption:
        html = html.replace(">", f"><caption>{_escape(caption)}</caption>", 1)
    # a table wider than the text column scrolls inside this box, never cut at the right
    return HTML(f'<div class="stalib-scroll">{html}</div>')


def show_plot(fig, dpi: int = 200):
    """A matplotlib figure as an embedded PNG (works without pyplot or an inline backend)."""
    import io

    from IPython.display import Image

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    return Image(data=buf.getvalue(), format="png")


def show_figure(rel: str, job: str, root: str | os.PathLike | None = None):
    """The PNG ``<results>/rel`` if it exists, else the note naming the job that makes it."""
    from IPython.display import Image

    path = results_root(root) / rel
    if path.is_file():
        return Image(filename=str(path))
    return show_markdown(jobs_note(f"`{rel}`", [job]))


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
