"""Training-time augmentation of a padded batch: random rotation about the vertical axis,
random scaling, a random temporal crop and, for two-person data, a random swap of the persons;
one draw per sequence.

Not in the paper (section 5.1 trains on the preprocessed skeletons as they are), so it is off
by default (:class:`stalib.config.TrainConfig` ``augment_rotation = augment_scale = 0``) and a
run that uses it is filed under a variant of its own.

Each training sequence of a batch gets an angle ``a`` drawn uniformly from ``[-rotation,
rotation]`` degrees and a factor ``s`` from ``[1 - scale, 1 + scale]``; every joint position
``(x, y, z)`` becomes ``s * (x cos a + z sin a, y, -x sin a + z cos a)``: a turn about the
vertical ``y`` axis of the camera (Kinect: ``y`` up) through the origin, which the
preprocessing puts at a body joint of the first frame, then a change of size. Both are linear,
so padded frames and absent persons (all zeros) stay zero, and ``y`` keeps its sign. The draws
come from the batch stream's own generator, so a resumed run sees the same augmented batches,
and under data-parallel training every rank draws for the whole global batch and keeps its
slice, as one process would.

The temporal crop (``crop = c``) keeps a random contiguous window of ``round(u L)`` of a
sequence's ``L`` frames, ``u`` uniform in ``[1 - c, 1]`` (at least one frame), moved to the start
of the padded row; the person swap (``swap``) exchanges person 1 and person 2 of a sequence with
probability 1/2 (the two halves of the joint axis). Their draws follow the rotation and scale
draws, and are made only when they are on, so the batches of runs without them are unchanged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from stalib.data.batching import Batch
from stalib.errors import ConfigError


@dataclass(frozen=True)
class Augment:
    """Random rotation (up to ``rotation`` degrees about ``y``) and scaling (by up to
    ``scale``) of each training sequence; both 0 (the default) leave batches untouched."""

    rotation: float = 0.0
    scale: float = 0.0
    crop: float = 0.0  # temporal crop: keep a fraction in [1 - crop, 1] of the frames
    swap: bool = False  # swap the two persons with probability 1/2

    def __post_init__(self) -> None:
        if not (math.isfinite(self.rotation) and 0.0 <= self.rotation <= 180.0):
            raise ConfigError(f"--augment-rotation must be in [0, 180] degrees, got "
                              f"{self.rotation}")
        if not (math.isfinite(self.scale) and 0.0 <= self.scale < 1.0):
            raise ConfigError(f"--augment-scale must be in [0, 1) (a factor in [1 - s, 1 + s]), "
                              f"got {self.scale}")
        if not (math.isfinite(self.crop) and 0.0 <= self.crop < 1.0):
            raise ConfigError(f"--augment-crop must be in [0, 1) (the largest share of frames a "
                              f"crop removes), got {self.crop}")
        if not isinstance(self.swap, bool):
            raise ConfigError(f"--augment-swap must be true or false, got {self.swap!r}")

    @property
    def active(self) -> bool:
        return self.rotation > 0 or self.scale > 0 or self.crop > 0 or self.swap

    def __call__(self, batch: Batch, rng: np.random.Generator, n: int, mine: np.ndarray,
                 persons: int) -> Batch:
        """``batch`` (this rank's rows ``mine`` of a global batch of ``n``) augmented with draws
        from ``rng`` for all ``n`` sequences, in the order rotation and scale, crop, swap."""
        angles, factors = self.draw(rng, n)
        x, mask, lengths = batch.x, batch.mask, batch.lengths
        x = self.apply(x, angles[mine], factors[mine])
        if self.crop > 0:
            share = rng.uniform(1.0 - self.crop, 1.0, n)[mine]
            where = rng.uniform(0.0, 1.0, n)[mine]
            x, mask, lengths = self.crop_frames(x, lengths, share, where)
        if self.swap:
            if persons != 2:
                raise ConfigError(f"--augment-swap needs two-person data, this dataset has "
                                  f"{persons} person(s) per sequence")
            flip = (rng.uniform(0.0, 1.0, n) < 0.5)[mine]
            x = self.swap_persons(x, flip)
        return Batch(x, mask, lengths, batch.labels, batch.index)

    @staticmethod
    def crop_frames(x: torch.Tensor, lengths: torch.Tensor, share: np.ndarray,
                    where: np.ndarray) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Keep ``max(1, round(share[b] L_b))`` frames of row ``b`` from start
        ``floor(where[b] (L_b - kept + 1))``, moved to the front; returns ``x, mask, lengths``."""
        out = torch.zeros_like(x)
        old = lengths.cpu().numpy()
        kept = np.clip(np.rint(share * old), 1, old).astype(np.int64)
        start = np.minimum(np.floor(where * (old - kept + 1)), old - kept).astype(np.int64)
        for b, (s, k) in enumerate(zip(start, kept, strict=True)):
            out[b, :k] = x[b, s : s + k]
        new = torch.as_tensor(kept, dtype=lengths.dtype)
        mask = torch.arange(x.shape[1])[None, :] < new[:, None]
        return out, mask, new

    @staticmethod
    def swap_persons(x: torch.Tensor, flip: np.ndarray) -> torch.Tensor:
        """Rows ``b`` with ``flip[b]`` get person 2's joints first (joint axis halves swapped)."""
        half = x.shape[2] // 2
        swapped = torch.cat([x[:, :, half:], x[:, :, :half]], dim=2)
        return torch.where(torch.as_tensor(flip)[:, None, None, None], swapped, x)

    def draw(self, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Angles (radians) and scale factors for ``n`` sequences, from ``rng``."""
        angles = np.deg2rad(rng.uniform(-self.rotation, self.rotation, n))
        factors = rng.uniform(1.0 - self.scale, 1.0 + self.scale, n)
        return angles, factors

    @staticmethod
    def apply(x: torch.Tensor, angles: np.ndarray, factors: np.ndarray) -> torch.Tensor:
        """``x`` (B, T, K, 3) with sequence ``b`` turned by ``angles[b]`` about ``y`` and scaled
        by ``factors[b]``."""
        if x.shape[0] != len(angles) or x.shape[0] != len(factors) or x.shape[-1] != 3:
            raise ValueError(f"Augment.apply: x of shape (B, T, K, 3) and B angles and factors, "
                             f"got {tuple(x.shape)}, {len(angles)}, {len(factors)}")
        c, s = np.cos(angles), np.sin(angles)
        zero, one = np.zeros_like(c), np.ones_like(c)
        # row vectors: p' = p @ R^T with R = [[c, 0, s], [0, 1, 0], [-s, 0, c]]
        rot = np.stack([np.stack([c, zero, -s], -1), np.stack([zero, one, zero], -1),
                        np.stack([s, zero, c], -1)], -2) * factors[:, None, None]
        return torch.einsum("btkj,bjl->btkl", x, torch.as_tensor(rot, dtype=x.dtype))
