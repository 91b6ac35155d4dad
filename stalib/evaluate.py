"""Evaluation: class scores, per-sequence correctness and accuracy of a model in eval mode, on
one process or split over the ranks of a process group."""

from __future__ import annotations

import numpy as np
import torch

from stalib.data.batching import pad_batch
from stalib.data.core import SkeletonSet
from stalib.distributed import DistInfo, all_sum


@torch.no_grad()
def predict(
    model: torch.nn.Module, data: SkeletonSet, indices: np.ndarray, device: torch.device,
    batch_size: int = 64,
) -> np.ndarray:
    """Class scores ``(len(indices), C)`` of the model in eval mode."""
    was_training = model.training
    model.eval()
    out = []
    for start in range(0, len(indices), batch_size):
        batch = pad_batch(data, indices[start : start + batch_size]).to(device)
        out.append(model(batch.x, batch.mask).logits.float().cpu())
    model.train(was_training)
    return torch.cat(out).numpy() if out else np.zeros((0, data.num_classes), dtype=np.float32)


def correct(model, data: SkeletonSet, indices: np.ndarray, device: torch.device) -> np.ndarray:
    """``(len(indices),)`` bool: whether the model's top class is each sequence's label."""
    indices = np.asarray(indices)
    return predict(model, data, indices, device).argmax(1) == data.labels[indices]


def accuracy(model, data: SkeletonSet, indices: np.ndarray, device: torch.device) -> float:
    if len(indices) == 0:
        return float("nan")
    return float(correct(model, data, indices, device).mean())


def accuracy_across_ranks(model, data: SkeletonSet, indices: np.ndarray, device: torch.device,
              info: DistInfo) -> float:
    """:func:`accuracy`, each rank evaluating every ``world``-th sequence."""
    if not info.enabled:
        return accuracy(model, data, indices, device)
    if len(indices) == 0:
        return float("nan")
    mine = np.asarray(indices)[info.rank :: info.world]
    correct = 0.0
    if len(mine):
        scores = predict(model, data, mine, device)
        correct = float((scores.argmax(1) == data.labels[mine]).sum())
    return all_sum([correct], device)[0] / len(indices)
