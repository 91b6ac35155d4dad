"""CSTA-CNN: coupled spatial-temporal attention on the HCN backbone (Wang 2019), our reading.

The paper (only its summary is known) learns one weight per joint and one per frame with two
subnetworks and multiplies the data by their outer product, a frames x joints map. Ours:

    grid   pos = resample(x, mask) to F frames (after the backbone's input scaling, if any),
           mot = frame differences                                          (B, F, K, 3) each
    joint  per joint: time-mean of pos and of |mot| (where it is, how much it moves) -> (B, K, 6);
           per person: flatten J*6 -> Linear H, ReLU; concat with the max over persons ->
           Linear 2H -> J scores; softmax over all K = P*J joints, times K          a (B, K)
    frame  per frame and person: all J joints' pos and mot (6J channels) -> Conv1d k3 H, ReLU;
           max over persons -> Conv1d k3 -> 1 score; softmax over the F frames, times F
                                                                                 b (B, F)
    couple A[t, k] = b_t a_k  (B, F, K);  pos' = A * pos, mot' = A * mot  -> HCN backbone

- Normalization: softmax times the count, so each weight vector has mean exactly 1 and the
  map A has mean 1: weights compete for a fixed budget (that is what makes it attention), and
  near-uniform scores at initialization leave the backbone's input almost unchanged.
- Where it multiplies: the input of both HCN streams, after resampling (multiplying before the
  frame differences would mix the weights of two frames into one motion vector). The product is
  plain ``A * x``, not the residual ``(1 + A) * x``: with the mean-1 budget the plain form already
  starts near the identity, and the residual form would double the input's scale and halve the
  relative effect of the attention.
- Persons: both branches share weights across persons and combine them by a max, so, like the
  backbone, the model is invariant to the order of the persons.
- Outputs (``ModelOutput``): ``beta (B, T)`` is the frame weights interpolated back from the grid
  onto each sequence's own ``L`` frames (frame ``t`` reads the grid at ``t (F-1)/(L-1)``, the
  inverse of the resampling), ``alpha (B, T, K) = beta (x) a`` the coupled map on
  that time axis; both exactly zero on padded frames, and equal to the grid values when
  ``L == F``. Ablations set the missing factor to ones; ``hcn`` returns neither.
  ``model.joint_weights (B, K)`` and ``model.frame_weights (B, F)`` keep the grid values.
- Regularizer (optional, ``attention_regularizer()``): STA-LSTM's first term,
  ``joint_reg * sum_k (1 - mean_t A[t, k])^2 = joint_reg * sum_k (1 - a_k)^2`` averaged over
  the batch; zero for uniform joint weights, it keeps them from collapsing onto a few joints.
  Default ``joint_reg = 0.01`` (STA-LSTM's lambda1 on NTU); the returned value is already weighted.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch
from torch import nn

from stalib.errors import ConfigError
from stalib.models.base import ModelOutput
from stalib.models.hcn import HCN, HCNConfig, interp_time, motion


@dataclass
class CSTAConfig(HCNConfig):
    joint_attention: bool = True  # learn per-joint weights
    frame_attention: bool = True  # learn per-frame weights
    attn_hidden: int = 64  # width H of both attention subnetworks
    joint_reg: float = 0.01  # weight of the joint-collapse term in attention_regularizer()


class JointAttention(nn.Module):
    """Per-sequence joint weights ``(B, K)``, mean 1."""

    def __init__(self, J: int, hidden: int):
        super().__init__()
        self.embed, self.score = nn.Linear(6 * J, hidden), nn.Linear(2 * hidden, J)

    def forward(self, pos: torch.Tensor, mot: torch.Tensor, P: int) -> torch.Tensor:
        B, _, K, _ = pos.shape
        d = torch.cat([pos.mean(1), mot.abs().mean(1)], dim=-1)  # (B, K, 6)
        h = torch.relu(self.embed(d.reshape(B, P, -1)))  # (B, P, H), one row per person
        h = torch.cat([h, h.amax(1, keepdim=True).expand_as(h)], dim=-1)  # + the other persons
        return K * torch.softmax(self.score(h).reshape(B, K), dim=1)


class FrameAttention(nn.Module):
    """Per-sequence frame weights ``(B, F)`` on the fixed grid, mean 1."""

    def __init__(self, J: int, hidden: int):
        super().__init__()
        self.embed = nn.Conv1d(6 * J, hidden, 3, padding=1)
        self.score = nn.Conv1d(hidden, 1, 3, padding=1)

    def forward(self, pos: torch.Tensor, mot: torch.Tensor, P: int) -> torch.Tensor:
        B, F, _, _ = pos.shape
        d = torch.cat([pos, mot], -1).reshape(B, F, P, -1).permute(0, 2, 3, 1)  # (B, P, 6J, F)
        h = torch.relu(self.embed(d.reshape(B * P, -1, F))).reshape(B, P, -1, F).amax(1)
        return F * torch.softmax(self.score(h).reshape(B, F), dim=1)


class CSTA(nn.Module):
    """HCN with optional joint and frame attention; ``forward(x, mask) -> ModelOutput``."""

    def __init__(self, num_joints_per_person: int, persons: int, num_classes: int,
                 config: CSTAConfig | None = None):
        super().__init__()
        c = self.config = config or CSTAConfig()
        self.J, self.P = num_joints_per_person, persons
        self.backbone = HCN(num_joints_per_person, persons, num_classes, c)
        self.joint_attn = JointAttention(self.J, c.attn_hidden) if c.joint_attention else None
        self.frame_attn = FrameAttention(self.J, c.attn_hidden) if c.frame_attention else None
        self.joint_weights: torch.Tensor | None = None  # (B, K) from the last forward
        self.frame_weights: torch.Tensor | None = None  # (B, F) from the last forward

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> ModelOutput:
        B, T, K, _ = x.shape
        F = self.config.frames
        pos = self.backbone.grid(x, mask)  # checked, scaled if asked, resampled
        mot = motion(pos)
        if self.joint_attn is None and self.frame_attn is None:
            return ModelOutput(logits=self.backbone.classify(pos, mot))
        a, b = pos.new_ones(B, K), pos.new_ones(B, F)  # a missing branch weighs all ones
        if self.joint_attn is not None:
            a = self.joint_attn(pos, mot, self.P)
        if self.frame_attn is not None:
            b = self.frame_attn(pos, mot, self.P)
        A = (b[:, :, None] * a[:, None, :]).unsqueeze(-1)  # coupled map (B, F, K, 1)
        logits = self.backbone.classify(A * pos, A * mot)
        self.joint_weights, self.frame_weights = a, b
        beta = interp_time(b, torch.full((B,), F, device=x.device), mask.sum(1), T)  # (B, T)
        return ModelOutput(logits=logits, alpha=beta[:, :, None] * a[:, None, :], beta=beta)

    def attention_regularizer(self) -> torch.Tensor:
        """``joint_reg * mean_b sum_k (1 - a_bk)^2`` from the last forward (weighted)."""
        if self.joint_attn is None:
            return torch.zeros((), device=self.backbone.head[-1].weight.device)
        if self.joint_weights is None:
            raise RuntimeError("attention_regularizer() needs a forward pass first")
        return self.config.joint_reg * (1 - self.joint_weights).square().sum(1).mean()

    def weight_matrices(self, enabled_only: bool = True) -> list[torch.Tensor]:
        """Conv kernels and linear weights (no biases) of backbone and attention, for L1.

        ``enabled_only`` is there for the STA-LSTM convention; every built branch is always used.
        """
        return [m.weight for m in self.modules() if isinstance(m, (nn.Conv1d, nn.Conv2d,
                                                                   nn.Linear))]


CSTA_PARTS: dict[str, dict[str, bool]] = {
    "hcn": dict(joint_attention=False, frame_attention=False),  # backbone alone
    "hcn-joint": dict(joint_attention=True, frame_attention=False),  # joint weights only
    "hcn-frame": dict(joint_attention=False, frame_attention=True),  # frame weights only
    "csta-cnn": dict(joint_attention=True, frame_attention=True),  # coupled
}


def build_csta(model: str, num_joints: int, num_classes: int, persons: int = 1,
               **overrides) -> CSTA:
    """Build a model of :data:`CSTA_PARTS`; ``num_joints`` is ``K`` (all persons together)
    and ``overrides`` are :class:`CSTAConfig` fields other than the attention switches."""
    if model not in CSTA_PARTS:
        raise ConfigError(f"unknown CSTA model {model!r}; expected one of "
                          f"{', '.join(CSTA_PARTS)}")
    if persons < 1 or num_joints % persons:
        raise ConfigError(f"num_joints={num_joints} is not a multiple of persons={persons}")
    allowed = {f.name for f in fields(CSTAConfig)} - set(CSTA_PARTS[model])
    if bad := sorted(set(overrides) - allowed):
        raise ConfigError(f"unknown CSTA config field(s) {', '.join(bad)}; expected some of "
                          f"{', '.join(sorted(allowed))}")
    config = CSTAConfig(**overrides, **CSTA_PARTS[model])
    return CSTA(num_joints // persons, persons, num_classes, config)
