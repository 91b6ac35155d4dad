"""The linear baseline: logistic regression on a sequence resampled to a few frames.

The floor any deep model must clear. A sequence's real frames are resampled to ``frames``
points in time (linear interpolation, :func:`stalib.models.hcn.resample`: the ends map to the
ends), the ``frames x K x 3`` coordinates are flattened, and one linear layer gives the class
scores; trained with cross-entropy (plus ``--weight-decay``, its L2 penalty), it is a multinomial
logistic regression. Padded frames are never read.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from stalib.errors import ConfigError
from stalib.models.base import ModelOutput
from stalib.models.hcn import check_inputs, resample


@dataclass
class LinearConfig:
    frames: int = 8  # time points every sequence is resampled to

    def __post_init__(self) -> None:
        if isinstance(self.frames, bool) or not isinstance(self.frames, int) or self.frames < 1:
            raise ConfigError(f"frames must be an integer >= 1, got {self.frames!r}")


class LinearBaseline(nn.Module):
    """``forward(x, mask) -> ModelOutput(logits)``: ``W vec(resample(x)) + b``."""

    def __init__(self, num_joints: int, num_classes: int, config: LinearConfig | None = None):
        super().__init__()
        if min(num_joints, num_classes) < 1:
            raise ConfigError("num_joints and num_classes must be >= 1")
        self.config = config or LinearConfig()
        self.num_joints = num_joints
        self.fc = nn.Linear(self.config.frames * num_joints * 3, num_classes)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> ModelOutput:
        check_inputs(x, mask, self.num_joints)
        grid = resample(x, mask, self.config.frames)  # (B, frames, K, 3)
        return ModelOutput(logits=self.fc(grid.flatten(1)))

    def weight_matrices(self, enabled_only: bool = True) -> list[torch.Tensor]:
        """The weight matrix (no bias), as the other models give theirs."""
        return [self.fc.weight]


def build_linear(num_joints: int, num_classes: int, **overrides) -> LinearBaseline:
    """The baseline for ``num_joints`` joints (all persons) with :class:`LinearConfig` overrides."""
    allowed = {"frames"}
    if bad := sorted(set(overrides) - allowed):
        raise ConfigError(f"unknown linear-model option(s) {', '.join(bad)}; expected frames")
    return LinearBaseline(num_joints, num_classes, LinearConfig(**overrides))
