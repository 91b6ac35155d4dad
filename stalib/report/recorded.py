"""A job's recorded attention, read back so that its figures can be drawn again without the run.

The attention notebook writes ``<results>/attention/<tag>-<action>.json`` with the sequence it
chose, its prediction and its alpha and beta. ``stalib reproduce --force`` draws the figures
again (say, after a change to :mod:`stalib.report.plots`); where the run folder holding
``model.pt`` is not there (a fresh clone: run folders are never committed),
:func:`recorded_attention` gives the recorded values instead of training the run again.
``--retrain`` never uses it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from stalib.config import TrainConfig
from stalib.data.core import SkeletonSet
from stalib.report.grid import SequenceAttention


def recorded_attention(path: str | Path, cfg: TrainConfig, run_folder: str | Path,
                       data: SkeletonSet) -> tuple[SequenceAttention, dict] | None:
    """``(attention as grid.attention_of gives it, {"train_config": ...})`` from the record at
    ``path``, or None: when the run folder has its ``model.pt`` (use the model), when there is no
    record, or when the record is of another configuration or another copy of the data."""
    path = Path(path)
    if (Path(run_folder) / "model.pt").is_file() or not path.is_file():
        return None
    try:
        rec = json.loads(path.read_text())
        if not cfg.same_run(rec["train_config"]):
            return None
        index = int(rec["index"])
        if not 0 <= index < len(data) or str(data.names[index]) != rec["sequence"]:
            return None
        alpha, beta = np.asarray(rec["alpha"], float), np.asarray(rec["beta"], float)
        predicted = list(data.class_names).index(rec["predicted"])
    except (KeyError, TypeError, ValueError):
        return None
    frames = np.asarray(data[index])
    if alpha.shape != frames.shape[:2] or beta.shape != (len(frames),):
        return None
    att = SequenceAttention(index=index, name=str(data.names[index]),
                            label=int(data.labels[index]), predicted=predicted, frames=frames,
                            alpha=alpha, beta=beta)
    return att, {"train_config": rec["train_config"]}
