"""Runs grouped by their settings, for the book's reproducibility page.

A run's settings are its recorded configuration (the ``params`` JSON of its results row) less what
tells runs of one grid apart: the fold and the seed (:data:`NOT_SETTINGS`). Runs with equal settings
form one group; each group is shown with what differs from the reference group of its dataset,
protocol and model (the default configuration, ``paper`` or ``sbu-settings``, when there is one),
instead of one raw JSON per run.

A setting a row does not record (it was added to the library after that run) counts as its default,
which reproduces what the library did before the setting existed: such rows join the group of the
same settings, and the setting is not shown as a difference.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from functools import cache
from typing import Any

import pandas as pd

from stalib.config import DEFAULT_CONFIGURATIONS, TrainConfig
from stalib.loss import LossConfig
from stalib.report import DATASETS, MODEL_ORDER

#: dotted keys of ``params`` that vary within one configuration's grid, or repeat a column
NOT_SETTINGS = frozenset({"train.fold", "train.seed", "train.configuration"})


def flatten(obj: Any, prefix: str = "") -> dict[str, str]:
    """``{"train.lr": "0.001", ...}``: nested mappings as dotted keys, each value as JSON text (an
    empty mapping gives no key, so ``{}`` and an absent mapping read alike)."""
    if isinstance(obj, Mapping):
        out: dict[str, str] = {}
        for key, value in obj.items():
            out.update(flatten(value, f"{prefix}{key}."))
        return out
    return {prefix.rstrip("."): json.dumps(obj, sort_keys=True)}


def settings_of(params: str) -> dict[str, str]:
    """The settings of one row's ``params`` JSON (:data:`NOT_SETTINGS` left out)."""
    try:
        parsed = json.loads(params)
    except (TypeError, ValueError):
        return {"params": str(params)}
    return {k: v for k, v in flatten(parsed).items() if k not in NOT_SETTINGS}


def _numbers(values) -> str:
    """``1-5`` for a run of consecutive integers, else ``0, 2, 7``; long lists shortened."""
    v = sorted({int(x) for x in values})
    if len(v) > 2 and v == list(range(v[0], v[-1] + 1)):
        return f"{v[0]}-{v[-1]}"
    text = ", ".join(map(str, v[:8]))
    return text + (f", ... ({len(v)})" if len(v) > 8 else "")


@cache
def recorded_defaults() -> dict[str, str]:
    """The default of every setting of :class:`~stalib.config.TrainConfig` (``train.*``) and
    :class:`~stalib.loss.LossConfig` (``loss.*``), flattened as :func:`flatten` writes them."""
    return {**flatten({"train": dataclasses.asdict(TrainConfig())}),
            **flatten({"loss": dataclasses.asdict(LossConfig())})}


def _difference(settings: Mapping[str, str], reference: Mapping[str, str]) -> str:
    """What ``settings`` change from ``reference`` (both already hold every default, see
    :func:`configuration_groups`)."""
    keys = sorted(set(settings) | set(reference))
    changed = [f"{k}: {reference.get(k, '(none)')} → {settings.get(k, '(none)')}"
               for k in keys if settings.get(k) != reference.get(k)]
    return "; ".join(changed)


def _in_order(df: pd.DataFrame) -> pd.DataFrame:
    """The report's order: datasets as in the report, models as in Fig. 7 then CSTA, the default
    configuration (``paper``, or ``sbu-settings`` on data the paper lacks) first."""
    def rank(values, order):
        return [order.index(v) if v in order else len(order) for v in values]

    return (df.assign(_d=rank(df["dataset"], list(DATASETS)),
                      _m=rank(df["model"], list(MODEL_ORDER)),
                      _v=[v not in DEFAULT_CONFIGURATIONS for v in df["configuration"]])
            .sort_values(["_d", "dataset", "protocol", "_m", "model", "_v", "configuration"],
                         kind="stable")
            .drop(columns=["_d", "_m", "_v"]).reset_index(drop=True))


def configuration_groups(runs: pd.DataFrame | None) -> pd.DataFrame:
    """One row per (dataset, protocol, model, settings): its configuration, number of runs, folds,
    seeds and what its settings change from the reference group of the same dataset, protocol and
    model.

    Columns: ``dataset, protocol, model, configuration, runs, folds, seeds, differs``.
    """
    cols = ["dataset", "protocol", "model", "configuration", "runs", "folds", "seeds", "differs"]
    if runs is None or runs.empty:
        return pd.DataFrame(columns=cols)
    groups: dict[tuple, dict] = {}
    defaults = {k: v for k, v in recorded_defaults().items() if k not in NOT_SETTINGS}
    for _, r in runs.iterrows():
        settings = {**defaults, **settings_of(r["params"])}
        configuration = str(r.get("configuration", "paper"))
        key = (str(r["dataset"]), str(r["protocol"]), str(r["model"]), configuration,
               json.dumps(settings, sort_keys=True))
        g = groups.setdefault(key, {"settings": settings, "folds": [], "seeds": []})
        g["folds"].append(r["fold"])
        g["seeds"].append(r["seed"])
    rows = []
    for (dataset, protocol, model, configuration, _), g in groups.items():
        rows.append({"dataset": dataset, "protocol": protocol, "model": model,
                     "configuration": configuration, "runs": len(g["folds"]),
                     "folds": _numbers(g["folds"]),
                     "seeds": _numbers(g["seeds"]), "settings": g["settings"]})
    out = _in_order(pd.DataFrame(rows))
    differs = []
    for _, r in out.iterrows():
        same = out[(out["dataset"] == r["dataset"]) & (out["protocol"] == r["protocol"])
                   & (out["model"] == r["model"])]
        paper = same[same["configuration"].isin(DEFAULT_CONFIGURATIONS)]
        ref = (paper if not paper.empty else same).iloc[0]
        if ref["settings"] is r["settings"]:
            differs.append("(the reference)"
                           if len(same) > 1 else "")
        else:
            differs.append(_difference(r["settings"], ref["settings"]) or "(same settings)")
    return out.assign(differs=differs)[cols]
