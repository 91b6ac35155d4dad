"""Diagnosis of training: why attention helps or hurts, from the histories of finished runs.

Report layer (it never trains). :func:`collect` gathers the ``history`` that the trainer logs in
every run folder's ``metrics.json`` (:func:`stalib.train.step_diagnostics`: per logging step, the
loss terms, the training-batch accuracy, the gradient norm reaching each subnetwork, the entropy of
alpha over the joints and the range of beta) into one JSON file under ``results/diagnosis/``
(``stalib diagnose RUN_DIR ... --out FILE``). :func:`plot_run` draws one run's curves against the
iteration, with Algorithm 1's stage boundaries marked; the book's diagnosis page renders those
files.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd

from stalib.config import TrainConfig
from stalib.errors import StalibError
from stalib.plots import COLUMN_WIDTH_IN, new_figure
from stalib.schedule import GROUPS, schedule_of

#: The panels of :func:`plot_curves`: (title, history keys, log scale).
PANELS = (
    ("cross-entropy", ("ce",), False),
    ("training-batch accuracy", ("train_batch_acc",), False),
    ("gradient norm per subnetwork", ("grad_main", "grad_spatial", "grad_temporal"), True),
    ("alpha entropy / log K (1: equal weights)", ("alpha_entropy",), False),
    ("beta over real frames (min, mean, max)", ("beta_min", "beta_mean", "beta_max"), False),
)


def read_run(run_dir: str | Path, label: str | None = None) -> dict:
    """One run folder's metrics as a diagnosis entry: label, model, configuration, settings, the
    commit, time and device it ran with, final accuracies and the logged history (with ``t``, the
    iteration counted over all stages)."""
    path = Path(run_dir) / "metrics.json"
    if not path.is_file():
        raise StalibError(f"{run_dir}: no metrics.json; expected a finished run folder "
                          "(stalib train --out / stalib cv)")
    try:
        m = json.loads(path.read_text())
        history, train = m["history"], m["params"]["train"]
    except (json.JSONDecodeError, KeyError, TypeError) as err:
        raise StalibError(f"{path}: not a stalib metrics file ({err.__class__.__name__})"
                          ) from None

    cfg = TrainConfig.from_dict(train)
    stages = schedule_of(cfg)
    t, last_stage, offset, prev = [], None, 0, 0
    for e in history:
        # a frozen subnetwork can keep the gradient of an earlier stage (the trainer of the first
        # issue-12 grids logged it): only the groups a stage trains have a gradient norm
        for g in GROUPS:
            if getattr(stages[e["stage"] - 1], g) != "train":
                e.pop(f"grad_{g}", None)
        if e["stage"] != last_stage:
            offset, last_stage = offset + prev, e["stage"]
        t.append(offset + e["iteration"])
        prev = e["iteration"]
    settings = cfg.deviations()
    return {
        "label": label or f"{m['model']} ({m['configuration']})", "model": m["model"],
        "configuration": m["configuration"], "fold": m["fold"], "protocol": m["protocol"],
        "seed": m["seed"], "settings": {k: str(v) for k, v in settings.items()},
        "git_commit": m.get("git_commit", "unknown"), "timestamp": m.get("timestamp", ""),
        "device": m.get("device", ""),
        "accuracy": m["accuracy"], "train_accuracy": m["train_accuracy"],
        "history": [{**e, "t": ti} for e, ti in zip(history, t, strict=True)],
    }


def collect(run_dirs: list[str | Path], out: str | Path,
            labels: list[str] | None = None) -> dict:
    """:func:`read_run` of each folder, written to ``out`` as JSON; returns the content."""
    if labels is not None and len(labels) != len(run_dirs):
        raise StalibError(f"`label`: {len(labels)} label(s) for {len(run_dirs)} run folder(s)")
    runs = [read_run(d, labels[i] if labels else None) for i, d in enumerate(run_dirs)]
    doc = {"format": "stalib-diagnosis-1", "runs": runs}
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=1))
    return doc


def load(path: str | Path) -> dict:
    doc = json.loads(Path(path).read_text())
    if doc.get("format") != "stalib-diagnosis-1":
        raise StalibError(f"{path}: not a stalib diagnosis file")
    return doc


def plot_run(run: dict):
    """The :data:`PANELS` that one run logged (an entry of a diagnosis file; a subnetwork the model
    lacks has no panel, and the figure says which were left out) in a two-column grid that grows
    down, so that it reads at a page's width; stage boundaries dashed; each panel's legend above its
    curves, never on them."""
    h = run["history"]
    t = np.array([e["t"] for e in h])
    starts = [e["t"] for i, e in enumerate(h) if i and e["stage"] != h[i - 1]["stage"]]
    curves = {name: [(k, y) for k in keys
                     if np.isfinite(y := np.array([e.get(k, np.nan) for e in h], float)).any()]
              for name, keys, _ in PANELS}
    shown = [(name, len(keys), log) for name, keys, log in PANELS if curves[name]]
    rows = (len(shown) + 1) // 2
    fig = new_figure((COLUMN_WIDTH_IN, 2.6 * rows + 0.6))
    axes = fig.subplots(rows, 2, squeeze=False)
    for ax, (name, keys, log) in zip(axes.flat, shown, strict=False):
        for k, y in curves[name]:
            ax.plot(t, y, label=k.replace("grad_", "").replace("beta_", ""), lw=1.2)
        for s in starts:
            ax.axvline(s, color="0.6", ls="--", lw=0.8)
        if log:
            ax.set_yscale("log")
        if keys > 1:  # which subnetwork (or statistic) each line is
            ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=keys, fontsize=9,
                      frameon=False, borderaxespad=0.2)
        ax.set_title(name, fontsize=10, pad=6 + (18 if keys > 1 else 0))
        ax.set_xlabel("iteration (all stages)", fontsize=9)
        ax.tick_params(labelsize=9)
    for ax in list(axes.flat)[len(shown):]:
        ax.axis("off")
    missing = [name for name, _, _ in PANELS if not curves[name]]
    title = (f"{run['label']}: test {100 * run['accuracy']:.1f} %, "
             f"train {100 * run['train_accuracy']:.1f} % (fold {run['fold']}, "
             f"{run['protocol']}, seed {run['seed']})")
    if missing:
        title += f". Not logged (no such subnetwork): {', '.join(missing)}"
    # wrapped: a line wider than the figure would widen it, and the page would shrink it
    title = textwrap.fill(title, 70)
    fig.suptitle(title, fontsize=11)
    return fig


def stage_table(run: dict):
    """One row per stage of ``run``: the last logged values of the diagnosis keys (a
    ``pandas.DataFrame``; NaN where a key was not logged in that stage)."""
    keys = ["ce", "train_batch_acc", "grad_main", "grad_spatial", "grad_temporal",
            "alpha_entropy", "beta_min", "beta_mean", "beta_max"]
    rows = []
    for stage in sorted({e["stage"] for e in run["history"]}):
        last = [e for e in run["history"] if e["stage"] == stage][-1]
        rows.append({"stage": stage, "step": last["step"], "iterations": last["iteration"],
                     **{k: last.get(k, float("nan")) for k in keys}})
    return pd.DataFrame(rows)
