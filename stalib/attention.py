"""The attention of one trained model on one sequence (Figs. 5 and 6 of Song et al. 2017; the
coupled map of CSTA-CNN).

:func:`attention_of` evaluates a model on one sequence and returns its ``alpha`` (T, K) and
``beta`` (T,); :func:`pick_sequence` chooses a test sequence of a class; :func:`foot_lift` says
when a foot is highest, to set beside the peak of ``beta_t - beta_{t-1}``; :func:`top_joints`
names the joints of largest weight. :func:`recorded_attention` reads back the attention a
notebook recorded (``<results>/attention/<tag>-<action>.json``), so that its figures can be
drawn again where the run folder holding ``model.pt`` is not there (a fresh clone: run folders
are never committed); ``stalib reproduce --retrain`` never uses it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from stalib.config import TrainConfig
from stalib.data.batching import pad_batch
from stalib.data.core import SkeletonSet
from stalib.data.skeletons import get_layout
from stalib.errors import ConfigError


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


def recorded_attention(path: str | Path, cfg: TrainConfig, run_folder: str | Path,
                       data: SkeletonSet) -> tuple[SequenceAttention, dict] | None:
    """``(attention as attention_of gives it, {"train_config": ...})`` from the record at
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
