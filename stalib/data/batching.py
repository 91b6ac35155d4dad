"""Batching: pad variable-length sequences to one tensor and return a mask.

A batch is ``x`` of shape ``(B, T_max, K, 3)``, zero beyond each sequence's end, ``mask``
``(B, T_max)`` bool (True on real frames), ``lengths`` ``(B,)`` and ``labels`` ``(B,)``.
Models must never let padded frames influence their output; the mask says which frames are real.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch

from stalib.data.core import SkeletonSet


@dataclass
class Batch:
    x: torch.Tensor  # (B, T, K, 3) float32, zero-padded
    mask: torch.Tensor  # (B, T) bool, True on real frames
    lengths: torch.Tensor  # (B,) int64
    labels: torch.Tensor  # (B,) int64
    index: torch.Tensor  # (B,) int64 position of each sequence in its SkeletonSet

    def to(self, device: torch.device | str, non_blocking: bool = False) -> Batch:
        return Batch(*(t.to(device, non_blocking=non_blocking) for t in
                       (self.x, self.mask, self.lengths, self.labels, self.index)))

    def __len__(self) -> int:
        return self.x.shape[0]


def pad_batch(
    data: SkeletonSet, indices: np.ndarray | list[int], max_len: int | None = None
) -> Batch:
    """Pad the sequences ``data[indices]`` into one :class:`Batch`.

    ``max_len`` fixes the padded length (it must be >= every sequence's length); by default it is
    the longest sequence in the batch.
    """
    idx = np.asarray(indices, dtype=np.int64)
    lengths = data.lengths[idx]
    t_max = int(lengths.max()) if max_len is None else int(max_len)
    if len(idx) and lengths.max() > t_max:
        raise ValueError(f"max_len={t_max} is shorter than a sequence of {lengths.max()} frames")
    x = np.zeros((len(idx), t_max, data.num_joints, 3), dtype=np.float32)
    for row, i in enumerate(idx):
        x[row, : lengths[row]] = data[int(i)]
    mask = np.arange(t_max)[None, :] < lengths[:, None]
    return Batch(
        x=torch.from_numpy(x),
        mask=torch.from_numpy(mask),
        lengths=torch.from_numpy(lengths.astype(np.int64)),
        labels=torch.from_numpy(data.labels[idx]),
        index=torch.from_numpy(idx),
    )


def iterate_batches(
    data: SkeletonSet,
    batch_size: int,
    shuffle: bool = False,
    generator: np.random.Generator | None = None,
    indices: np.ndarray | None = None,
) -> Iterator[Batch]:
    """One pass over ``data`` (or over ``indices`` of it) in batches of ``batch_size``."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    order = np.arange(len(data)) if indices is None else np.asarray(indices, dtype=np.int64)
    if shuffle:
        rng = generator if generator is not None else np.random.default_rng()
        order = rng.permutation(order)
    for start in range(0, len(order), batch_size):
        yield pad_batch(data, order[start : start + batch_size])
