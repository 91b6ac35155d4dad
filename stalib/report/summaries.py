"""Summaries of results rows for the book: mean ± std per model, the literature beside them, paired
differences, per-class accuracy, reruns against their rows. Report layer, computing only: it takes
DataFrames (:mod:`stalib.report.results_files` reads them) and returns DataFrames
(:mod:`stalib.report.display` formats them). Our numbers are in percent: the mean and the sample
standard deviation (ddof=1) over all runs of a model, over folds and seeds together; ``runs`` says
how many.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from stalib import catalogue
from stalib.config import DEFAULT_CONFIGURATIONS, PAPER_CONFIGURATION, PAPER_DATASETS
from stalib.determinism import UNRECORDED
from stalib.errors import FormatError
from stalib.report.reproduce import CSTA_MODELS, FIG7_MODELS
from stalib.report.results_files import DATASETS, RERUNS
from stalib.results import KEY, decode_correct, settings_of_params
from stalib.stats import mcnemar_exact, wilson_interval

DATASET_SHORT: dict[str, str] = catalogue.shorts()


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


_NTU_PROTOCOLS = {
    "cs": "cs", "xsub": "cs", "crosssubject": "cs",
    "cv": "cv", "xview": "cv", "crossview": "cv",
}


PROTOCOL_LABELS = {"cs": "Cross-Subject", "cv": "Cross-View"}


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
              configurations: Iterable[str] | None = None, protocol_seeds: bool = True
              ) -> pd.DataFrame:
    """Mean ± std (percent) per (dataset, protocol, configuration, model) over folds and seeds.

    Columns: ``dataset, protocol, configuration, model, label, mean, std, runs, folds, seeds,
    correct, sequences, ci_low, ci_high, whole``; ``std`` is NaN for a single run. ``correct`` and
    ``sequences`` count the test sequences over all runs (NaN where rows lack ``n_test``). When
    every run tests ONE sequence with one seed (leave-one-sequence-out), the std over runs of 0/100
    outcomes says little: ``ci_low``/``ci_high`` are then the Wilson 95 % interval of the pooled
    accuracy (:func:`wilson_interval`), NaN otherwise. ``whole``: the runs cover every fold of the
    protocol in ``df``, each with the same seeds and (with ``protocol_seeds``) as many as the most
    any grid of that protocol in ``df`` has; a grid still running is not whole, and :func:`compare`
    sets no difference to the paper beside it. Rows follow :data:`MODEL_ORDER` within each dataset
    and protocol, the ``paper`` configuration first. ``configurations`` keeps only those
    configurations.
    """
    cols = ["dataset", "protocol", "configuration", "model", "label", "mean", "std", "runs",
            "folds", "seeds", "correct", "sequences", "ci_low", "ci_high", "whole"]
    if df is None or df.empty:
        return pd.DataFrame(columns=cols)
    df = _with_configuration(df)
    # the folds and seeds of the protocol, from every model's rows
    fold_count = df.groupby(["dataset", "protocol"])["fold"].nunique()
    seed_count = df.groupby(["dataset", "protocol"])["seed"].nunique()
    if models is not None:
        df = df[df["model"].isin(list(models))]
    if configurations is not None:
        df = df[df["configuration"].isin(list(configurations))]
    rows = []
    for (dataset, protocol, configuration, model), g in df.groupby(
            ["dataset", "protocol", "configuration", "model"], sort=False):
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
            "configuration": configuration,
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
    """Rows by dataset (:data:`DATASETS` order), protocol, configuration (``paper`` first) and model
    (:data:`MODEL_ORDER`)."""
    out = out.assign(_drank=out["dataset"].map(_dataset_rank), _rank=out["model"].map(_model_rank),
                     _vrank=out["configuration"].map(_configuration_rank))
    out = out.sort_values(["_drank", "dataset", "protocol", "_vrank", "configuration", "_rank",
                           "model"], kind="stable")
    return out.drop(columns=["_drank", "_rank", "_vrank"]).reset_index(drop=True)


def _one_sequence_each(n_test: pd.Series, seeds: pd.Series) -> bool:
    """Leave-one-sequence-out: every run tests ONE sequence (``n_test``) and all runs share one
    seed, so each run is one independent right/wrong outcome. Then the pooled accuracy has a Wilson
    interval (:func:`summarise`) and paired runs McNemar's test (:func:`paired`)."""
    return bool(pd.to_numeric(n_test, errors="coerce").eq(1).all()) and seeds.nunique() == 1


def summarise_validation(df: pd.DataFrame | None,
                         models: Iterable[str] | None = None) -> pd.DataFrame:
    """:func:`summarise` of inner-validation runs: per (dataset, protocol, configuration, model)
    over every (test fold, validation fold) pair and seed; ``protocol`` without its ``:val<j>``.
    Explorations ran one seed or two by design, so a configuration is whole on every fold with its
    own seeds."""
    if df is None or df.empty:
        return summarise(df)
    base = df["protocol"].astype(str).str.split(":").str[0]
    return summarise(df.assign(protocol=base), models=models, protocol_seeds=False)


def validation_choice(val: pd.DataFrame) -> pd.DataFrame:
    """The rule by which a Fig. 7 configuration is chosen, applied to :func:`summarise_validation`:
    per dataset, each configuration's validation accuracy averaged over the models that every
    configuration has (one setting for the whole ablation, so its bars stay comparable); ``chosen``
    marks the best. Columns: ``dataset, configuration, models, mean, chosen``."""
    cols = ["dataset", "configuration", "models", "mean", "chosen"]
    if val is None or val.empty:
        return pd.DataFrame(columns=cols)
    rows = []
    for dataset, g in val.groupby("dataset", sort=False):
        common = set.intersection(*(set(v["model"]) for _, v in g.groupby("configuration")))
        g = g[g["model"].isin(common)]
        means = g.groupby("configuration", sort=False)["mean"].mean()
        for configuration, mean in means.items():
            rows.append({"dataset": dataset, "configuration": configuration, "models": len(common),
                         "mean": float(mean), "chosen": bool(mean == means.max())})
    return pd.DataFrame(rows, columns=cols)


def _with_configuration(df: pd.DataFrame) -> pd.DataFrame:
    """``df``, with ``configuration`` = paper when a hand-made frame has no such column."""
    return df if "configuration" in df.columns else df.assign(configuration=PAPER_CONFIGURATION)


def _configuration_rank(configuration: str) -> int:
    return 0 if configuration in DEFAULT_CONFIGURATIONS else 1


def configuration_settings(df: pd.DataFrame | None) -> pd.DataFrame:
    """What each configuration changes from the paper's settings, read from the rows' ``params``.

    One row per (dataset, configuration, model) with the settings that differ (``settings``, a text
    such as ``lambda3=0.0``; ``the paper's`` for none, ``the paper's SBU settings`` on a dataset the
    paper gives no settings for), so a reader never has to guess what a configuration name means.
    """
    cols = ["dataset", "configuration", "model", "settings"]
    if df is None or df.empty:
        return pd.DataFrame(columns=cols)
    rows = []
    by = ["dataset", "configuration", "model"]
    for (dataset, configuration, model), g in df.groupby(by, sort=False):
        none = "the paper's" if dataset in PAPER_DATASETS else "the paper's SBU settings"
        texts = set()
        for i, params in enumerate(g["params"].astype(str)):
            settings = settings_of_params(params, f"{dataset} {configuration} {model} row {i}")
            texts.add("unrecorded" if settings is None else ", ".join(
                f"{k}={v}" for k, v in sorted(settings.items())) or none)
        rows.append({"dataset": dataset, "configuration": configuration, "model": model,
                     "settings": "; ".join(sorted(texts))})
    out = pd.DataFrame(rows, columns=cols)
    out = out.assign(_vrank=out["configuration"].map(_configuration_rank),
                     _rank=out["model"].map(_model_rank))
    out = out.sort_values(["dataset", "_vrank", "configuration", "_rank"], kind="stable")
    return out.drop(columns=["_vrank", "_rank"]).reset_index(drop=True)


def compare(summary: pd.DataFrame, literature: pd.DataFrame) -> pd.DataFrame:
    """``summary`` with the paper's value beside each model, where the literature has one.

    A literature row matches a summary row with the same dataset, the same canonical protocol (or
    any protocol when the literature gives the dataset only one) and ``method`` equal to the model's
    label (e.g. ``STA-LSTM``). Added columns: ``paper`` (percent, NaN when the paper gives no
    number), ``diff`` (ours - paper, percentage points), ``paper_source``.
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
    by = ["dataset", "protocol", "configuration"]
    for (dataset, protocol, configuration), g in summary.groupby(by, sort=False):
        ref = g.loc[g["model"] == base, "mean"]
        if ref.empty:
            continue
        for _, r in g[g["model"] != base].iterrows():
            rows.append({"dataset": dataset, "protocol": protocol, "configuration": configuration,
                         "model": r["model"], "label": r["label"],
                         "gain": float(r["mean"] - ref.iloc[0])})
    return pd.DataFrame(rows, columns=["dataset", "protocol", "configuration", "model", "label",
                                       "gain"])


def paired(df: pd.DataFrame, models: Iterable[str], reference: str = "sta-lstm",
           reference_configuration: str | None = None) -> pd.DataFrame:
    """Each model against ``reference`` on the runs both have (same protocol, fold and seed).

    The reference's runs are those of the model's own configuration, or of
    ``reference_configuration`` when given (e.g. CSTA-CNN at its settings against STA-LSTM's
    validated configuration).

    Columns: ``dataset, protocol, configuration, model, label, reference, reference_configuration,
    runs`` (common runs), ``mean``, ``reference_mean`` (percent, over the common runs), ``diff``
    (mean of the paired differences, percentage points), ``diff_std`` (their sample std, NaN for one
    run), ``wins`` and ``losses`` (runs where the model is more, or less, accurate), ``p_value``.

    ``p_value`` is McNemar's exact test, where it applies: when every common run tests one sequence
    with one seed (leave-one-sequence-out), each run is one paired correct/wrong outcome and the
    runs are independent sequences, so :func:`mcnemar_exact` of the discordant counts ``wins`` and
    ``losses``. Otherwise NaN: runs of several seeds share their folds and are not independent, and
    the spread over runs (``diff_std``) is the honest summary.
    """
    cols = ["dataset", "protocol", "configuration", "model", "label", "reference",
            "reference_configuration", "runs", "mean", "reference_mean", "diff", "diff_std", "wins",
            "losses", "p_value"]
    if df is None or df.empty:
        return pd.DataFrame(columns=cols)
    key = ["dataset", "protocol", "fold", "seed"]
    df = _with_configuration(df)
    if "n_test" not in df.columns:
        df = df.assign(n_test=np.nan)
    ref = df[df["model"] == reference][key + ["configuration", "accuracy", "n_test"]]
    rows = []
    for model in models:
        if model == reference:
            continue
        mine = df[df["model"] == model][key + ["configuration", "accuracy", "n_test"]]
        if reference_configuration is None:
            both = mine.merge(ref, on=key + ["configuration"], suffixes=("", "_ref"))
            both["configuration_ref"] = both["configuration"]
        else:
            both = mine.merge(ref[ref["configuration"] == reference_configuration], on=key,
                              suffixes=("", "_ref"))
        by = ["dataset", "protocol", "configuration"]
        for (dataset, protocol, configuration), g in both.groupby(by, sort=False):
            diff = 100.0 * (g["accuracy"].astype(float) - g["accuracy_ref"].astype(float))
            wins, losses = int((diff > 0).sum()), int((diff < 0).sum())
            single = (_one_sequence_each(g["n_test"], g["seed"])
                      and _one_sequence_each(g["n_test_ref"], g["seed"]))
            rows.append({
                "dataset": dataset, "protocol": protocol, "configuration": configuration,
                "model": model,
                "label": MODEL_LABELS.get(model, model), "reference": reference,
                "reference_configuration": g["configuration_ref"].iloc[0],
                "runs": int(len(g)), "mean": float(100.0 * g["accuracy"].astype(float).mean()),
                "reference_mean": float(100.0 * g["accuracy_ref"].astype(float).mean()),
                "diff": float(diff.mean()),
                "diff_std": float(diff.std(ddof=1)) if len(g) > 1 else float("nan"),
                "wins": wins, "losses": losses,
                "p_value": mcnemar_exact(wins, losses) if single else float("nan"),
            })
    return _in_report_order(pd.DataFrame(rows, columns=cols))


def per_class(df: pd.DataFrame | None, labels: Mapping | None) -> pd.DataFrame:
    """Test accuracy per class (percent) of each (dataset, protocol, configuration, model), over the
    runs whose row keeps ``test_correct``: each run's right/wrong sequences are matched to their
    classes with ``labels``, ``{"classes": [name, ...], "protocols": {protocol: {fold: [label of
    each test sequence, in test order]}}}`` (:func:`stalib.report.grid.test_labels`).

    Columns: ``dataset, protocol, configuration, model, label, runs``, then one per class (the
    classes of ``labels``, in their order). A row whose ``test_correct`` has another length than its
    fold's test labels is an error (the labels belong to other splits).
    """
    classes = list(labels["classes"]) if labels else []
    cols = ["dataset", "protocol", "configuration", "model", "label", "runs", *classes]
    if df is None or df.empty or not labels or "test_correct" not in df.columns:
        return pd.DataFrame(columns=cols)
    df = _with_configuration(df)
    kept = df["test_correct"].map(decode_correct).notna()
    rows = []
    for (dataset, protocol, configuration, model), g in df[kept].groupby(
            ["dataset", "protocol", "configuration", "model"], sort=False):
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
                raise FormatError(where, f"{model} {configuration} {protocol} fold {fold}: "
                                  f"test_correct has {len(hit)} sequences, the fold's test "
                                  f"labels {len(y)}")
            right += np.bincount(y[hit], minlength=len(classes))
            total += np.bincount(y, minlength=len(classes))
        with np.errstate(invalid="ignore", divide="ignore"):
            acc = 100.0 * right / total
        rows.append({"dataset": dataset, "protocol": protocol, "configuration": configuration,
                     "model": model, "label": MODEL_LABELS.get(model, model), "runs": len(g),
                     **dict(zip(classes, acc, strict=True))})
    return _in_report_order(pd.DataFrame(rows, columns=cols))


def sequences_in_runs(df: pd.DataFrame | None, dataset: str) -> int | None:
    """How many sequences the runs of ``dataset`` used (``n_train + n_test`` of a row)."""
    if df is None or df.empty or "n_train" not in df.columns:
        return None
    rows = df[df["dataset"] == dataset]
    total = pd.to_numeric(rows["n_train"], errors="coerce") + pd.to_numeric(rows["n_test"],
                                                                             errors="coerce")
    total = total.dropna()
    return int(total.max()) if len(total) else None


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
    cols = ["dataset", "protocol", "configuration", "model", "device", "runs", "iterations",
            "wall_time_s_median", "ms_per_iteration"]
    if df is None or df.empty:
        return pd.DataFrame(columns=cols)
    rows = []
    df = _with_configuration(df)
    for (dataset, protocol, configuration, model, device), g in df.groupby(
        ["dataset", "protocol", "configuration", "model", "device"], sort=False
    ):
        wall = g["wall_time_s"].astype(float)
        iters = g["iterations"].astype(float)
        per_iter = (wall / iters.where(iters > 0)).median()
        rows.append({
            "dataset": dataset, "protocol": protocol, "configuration": configuration,
            "model": model,
            "device": device, "runs": int(len(g)), "iterations": int(iters.median()),
            "wall_time_s_median": float(wall.median()),
            "ms_per_iteration": float(1000.0 * per_iter),
        })
    out = pd.DataFrame(rows, columns=cols)
    out = out.assign(_drank=out["dataset"].map(_dataset_rank), _rank=out["model"].map(_model_rank))
    out = out.sort_values(["_drank", "dataset", "protocol", "_rank", "device"])
    return out.drop(columns=["_drank", "_rank"]).reset_index(drop=True)


def rerun_agreement(recorded: pd.DataFrame | None, reruns: pd.DataFrame | None) -> pd.DataFrame:
    """Each rerun beside the recorded row of the same run (dataset, protocol, configuration, model,
    fold, seed, and mode: ``recorded`` holds every mode, :func:`load_cv`'s ``every_mode``), per
    (protocol, configuration, model): how many runs, how many predicted every test sequence as the
    recorded one did (``test_correct`` equal), how many are identical (that, and the same accuracy
    and training accuracy), the mean accuracy (percent) of the recorded rows and of the reruns, and
    the largest difference of one run. A rerun with no recorded row is a FormatError: it checks
    nothing."""
    cols = ["protocol", "configuration", "model", "runs", "same predictions", "identical",
            "recorded (%)", "rerun (%)", "largest difference (pp)", "recorded commits",
            "rerun commits"]
    if reruns is None or reruns.empty or recorded is None:
        return pd.DataFrame(columns=cols)
    key = [*KEY, "determinism"]
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
    for (protocol, configuration, model), g in both.groupby(["protocol", "configuration", "model"],
                                                      sort=False):
        recorded_bits = [decode_correct(x) for x in g["test_correct"]]
        same = pd.Series([a is not None and a == decode_correct(b) for a, b in zip(
            recorded_bits, g["test_correct_rerun"], strict=True)], index=g.index)
        identical = same & (g["accuracy"] == g["accuracy_rerun"])
        if "train_accuracy" in g:
            identical &= (g["train_accuracy"].astype(float)
                          == g["train_accuracy_rerun"].astype(float))
        rows.append({
            "protocol": protocol, "configuration": configuration, "model": model, "runs": len(g),
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


def epoch_pick_table(doc: dict, recorded: pd.DataFrame | None) -> pd.DataFrame:
    """Per fold of an epoch-pick file (:mod:`stalib.tools.epoch_pick`): test sequences, the final
    model's accuracy (percent, what our rows report), the best over epochs on the test fold (what a
    figure that picked epochs there reports), its epoch, the gain, and whether the final model is
    the recorded row of the same run, bit for bit (``recorded``: rows in every mode,
    :func:`stalib.report.results_files.load_cv` with ``every_mode``; "no row" when the run has none
    in the file's mode). Last, the mean over folds."""
    rows = []
    for f in doc["folds"]:
        same = "no row"
        if recorded is not None:
            mine = recorded[(recorded["dataset"] == doc["dataset"])
                            & (recorded["protocol"].astype(str) == str(doc["protocol"]))
                            & (recorded["configuration"] == doc["configuration"])
                            & (recorded["model"] == doc["model"])
                            & (recorded["fold"].astype(int) == int(f["fold"]))
                            & (recorded["seed"].astype(int) == int(doc["seed"]))
                            & (recorded["determinism"] == doc["determinism"])]
            if len(mine):
                same = "yes" if str(mine["test_correct"].iloc[0]) == f["test_correct"] else "no"
        rows.append({"fold": str(f["fold"]), "test sequences": f["n_test"],
                     "final model (%)": 100 * f["final"], "best epoch on test (%)": 100 * f["best"],
                     "epoch": f["best_epoch"], "gain (points)": 100 * (f["best"] - f["final"]),
                     "same as its recorded row": same})
    table = pd.DataFrame(rows)
    mean = {"fold": "mean", "test sequences": int(table["test sequences"].sum()),
            **{c: table[c].mean() for c in ("final model (%)", "best epoch on test (%)",
                                             "gain (points)")},
            "epoch": "", "same as its recorded row": ""}
    return pd.concat([table, pd.DataFrame([mean])], ignore_index=True)


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


#: Frames apart within which "Δβ peaks when the foot is highest" (the paper's reading of Fig. 5)
#: counts as holding.
ATTENTION_TOLERANCE = 2


def attention_reading(records: Iterable[Mapping], speaks: str | None = None) -> str:
    """Whether the paper's reading of Fig. 5 holds in our attention records (the
    ``results/attention/*.json`` of the attention jobs): the frame where Δβ peaks against the frame
    where the kicking foot is highest, at the configuration ``speaks`` first, then over all
    configurations drawn. It holds where the two are at most :data:`ATTENTION_TOLERANCE` frames
    apart."""
    records = sorted(records, key=lambda r: (r["configuration"] != speaks, r["configuration"]))
    if not records:
        return ""

    def gap(r):
        return abs(int(r["delta_beta_peak_frame"]) - int(r["foot_highest_frame"]))

    first = records[0]
    holds = [r for r in records if gap(r) <= ATTENTION_TOLERANCE]
    head = (f"At the configuration the verdict speaks from (`{first['configuration']}`), Δβ peaks "
            f"at frame {first['delta_beta_peak_frame']} of {first['frames']} while the kicking "
            f"foot is highest at frame {first['foot_highest_frame']}: the paper's reading of "
            "Fig. 5 " + ("holds" if gap(first) <= ATTENTION_TOLERANCE else "does not hold")
            + " there.")
    peaks = sorted(int(r["delta_beta_peak_frame"]) for r in records)
    feet = sorted(int(r["foot_highest_frame"]) for r in records)
    return (f"**{head}** Over the {len(records)} models drawn, it holds in {len(holds)}: Δβ "
            f"peaks at frames {peaks[0]}-{peaks[-1]}, the foot is highest at frames "
            f"{feet[0]}-{feet[-1]} (within {ATTENTION_TOLERANCE} frames counts as holding).")
