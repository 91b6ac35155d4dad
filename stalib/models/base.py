"""What every model returns, so that the loss, trainer, evaluation and plots treat them alike.

A model is an ``nn.Module`` called as ``model(x, mask)`` with ``x`` of shape ``(B, T, K, 3)``
(zero-padded) and ``mask`` ``(B, T)`` bool (True on real frames). It returns a
:class:`ModelOutput`. Padded frames never influence ``logits``; attention tensors are exactly
zero on padded frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class ModelOutput:
    logits: torch.Tensor  # (B, C) class scores o before the softmax, eq. (4)-(5)
    z: torch.Tensor | None = None  # (B, T, C) per-step scores of the main network
    alpha: torch.Tensor | None = None  # (B, T, K) spatial attention, eq. (3); None if absent
    beta: torch.Tensor | None = None  # (B, T) temporal attention, eq. (6); None if absent
