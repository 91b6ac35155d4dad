"""What picking each fold's epoch on its test fold adds to an accuracy (``stalib epoch-pick``).

HCN's published SBU figure (98.6 %, Li et al. 2018) and its one public SBU run (97.0 %) report,
per fold, the test accuracy of the epoch that did best *on that test fold*; our rows report the
final model, the STA-LSTM paper's practice and the only one that chooses nothing on the test
fold. So the two are not the same measurement. This tool measures the difference on our own
runs: it trains a named configuration on each test fold, evaluates the test fold after every
epoch (``train_run(watch=...)``, which reads the model between two steps and changes no number
of the run), and records per fold the final accuracy and the best over epochs.

A diagnostic, never a result: nothing here is a row of ``results/*/cv.csv``, nothing is chosen
with it, and the verdict reads none of it. Its final accuracies are those of the runs the grid
records for the same configuration, fold and seed (the report checks them, bit for bit, against
the portable rows).

The file (kind ``stalib-epoch-pick``, under ``results/epoch-pick/``): the configuration, seed,
mode, commit and time; per fold its test size, the final accuracy and which test sequences it
got right (as the rows keep them), the best accuracy over epochs, its epoch, and the whole
curve.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np

from stalib import determinism
from stalib.config import TrainConfig
from stalib.errors import ConfigError, FormatError
from stalib.experiment import (
    checked_folds,
    load_data_for,
    make_loss,
    new_model,
    protocol_of,
    resolve,
)
from stalib.results import code_commit, encode_correct, utc_now
from stalib.train import train_run

KIND = "stalib-epoch-pick"


def fold_curve(cfg: TrainConfig, data) -> dict:
    """Train ``cfg`` on its fold of ``data`` with its test fold evaluated after every epoch:
    ``{"fold", "n_test", "final", "test_correct", "best", "best_epoch", "curve"}`` (accuracies
    as fractions; ``curve[e]`` after epoch ``e + 1``)."""
    if cfg.epochs is None:
        raise ConfigError(f"`configuration` {cfg.configuration}: trains by iterations, not epochs; "
                          "epoch-pick needs a configuration with epochs")
    run = resolve(cfg, data=data)
    cfg, train_idx, test_idx = run.cfg, run.train_idx, run.test_idx
    per_epoch = math.ceil(len(train_idx) / cfg.effective_batch_size)
    res = train_run(cfg, new_model(cfg, data), make_loss(cfg), data, train_idx, test_idx,
                    progress=False, log_every=per_epoch, watch=test_idx)
    curve = [float(e["watch_accuracy"]) for e in res.history]
    best = int(np.argmax(curve))  # the first epoch of the highest accuracy
    return {"fold": cfg.fold, "n_test": len(test_idx), "final": res.accuracy,
            "test_correct": encode_correct(res.test_correct), "best": curve[best],
            "best_epoch": best + 1, "curve": curve}


def epoch_pick(cfg: TrainConfig, folds: list[int] | None, data_root: str | None) -> dict:
    """:func:`fold_curve` of ``cfg`` on each of ``folds`` (None: every fold of its protocol),
    with the provenance of the file."""
    mode = determinism.row_mode(cfg.device, native=False)  # refused outside the portable mode
    data = load_data_for(cfg, data_root)
    folds = checked_folds(cfg, data, folds)  # every fold checked before the first trains
    out = [fold_curve(dataclasses.replace(cfg, fold=k), data) for k in folds]
    return {"kind": KIND, "dataset": cfg.dataset, "protocol": protocol_of(cfg),
            "model": cfg.model, "configuration": cfg.configuration, "seed": cfg.seed,
            "determinism": mode,
            "git_commit": code_commit(), "timestamp": utc_now(), "folds": out}


def load(path: str | Path) -> dict:
    """A file of :func:`epoch_pick`; a one-line error when it is not one."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise FormatError(path, f"not a readable epoch-pick file ({err})") from None
    if not isinstance(doc, dict) or doc.get("kind") != KIND or not doc.get("folds"):
        raise FormatError(path, f"not an epoch-pick file (expected kind {KIND!r} with folds)")
    return doc


def load_all(folder: str | Path) -> list[dict]:
    """Every ``*.json`` of ``folder`` (``results/epoch-pick``), in name order; a one-line error
    for one that is not an epoch-pick file."""
    return [load(p) for p in sorted(Path(folder).glob("*.json"))]
