"""Training-time augmentation of a padded batch: random rotation about the vertical axis and
random scaling, one draw per sequence.

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
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from stalib.errors import ConfigError


@dataclass(frozen=True)
class Augment:
    """Random rotation (up to ``rotation`` degrees about ``y``) and scaling (by up to
    ``scale``) of each training sequence; both 0 (the default) leave batches untouched."""

    rotation: float = 0.0
    scale: float = 0.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.rotation) and 0.0 <= self.rotation <= 180.0):
            raise ConfigError(f"--augment-rotation must be in [0, 180] degrees, got "
                              f"{self.rotation}")
        if not (math.isfinite(self.scale) and 0.0 <= self.scale < 1.0):
            raise ConfigError(f"--augment-scale must be in [0, 1) (a factor in [1 - s, 1 + s]), "
                              f"got {self.scale}")

    @property
    def active(self) -> bool:
        return self.rotation > 0 or self.scale > 0

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
