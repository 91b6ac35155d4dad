"""HCN backbone: the hierarchical co-occurrence network (Li et al., IJCAI 2018), our reading.

Input ``x (B, T, K, 3)`` zero-padded with ``mask (B, T)``; ``K = P * J`` with joint ``p*J + j``
being joint ``j`` of person ``p``. The network, per person (shared weights across persons):

    optionally scale each sequence's coordinates into [0, 1] (``input_scaling="minmax"``)
    resample each sequence's real frames to ``frames`` (linear interpolation over time)
    two streams, same layout, separate weights: positions, and motion (frame differences)
        conv1  1x1      3 -> 64     per joint and frame (point level), ReLU
        conv2  (3,1)   64 -> 32     over time, per joint
        transpose (N, C, T, J) -> (N, J, T, C): joints become channels (co-occurrence)
        conv3  3x3      J -> 32     max-pool 2
        conv4  3x3     32 -> 64     max-pool 2, dropout
    concatenate the streams (128 channels)
        conv5  3x3    128 -> 128    ReLU, max-pool 2, dropout
        conv6  3x3    128 -> 256    ReLU, max-pool 2, dropout
    element-wise max over persons
        fc7  256*(frames/16)*(32/16) -> 256, ReLU, dropout;  fc8  256 -> classes

Dropout comes *after* each max-pool. Before a max-pool it would change what the pool sees between
training and evaluation (dropped units are 0 and kept ones are doubled, so the max of a window is
biased upwards, and on conv4, which has no ReLU, zeros beat negative values): an early version did
that and classified its own training set at 80 % in training mode but 35 % in evaluation mode.

Fixed-length input rule: the ``L`` real frames of a sequence are mapped onto ``frames`` points
``s_i = i (L-1) / (frames-1)`` and linearly interpolated between frames ``floor(s_i)`` and
``floor(s_i)+1``; a sequence with ``L == frames`` comes out unchanged, ``L == 1`` is repeated.
Padded frames are never read, so they cannot influence the logits. Motion on that grid is
``x[t+1] - x[t]``, zero at the last frame.

Input scaling (``input_scaling="minmax"``, the reading of HCN's one public SBU run, which scales
each sample's coordinates into [0, 1]): per sequence and per axis, over its real frames and its
present joints (those not exactly at the origin, as absent persons are stored) of every person
together, ``x' = (x - min) / (max - min)``; an axis that does not vary (``max - min`` under
1e-6) becomes 0. Absent joints and padded frames stay 0. It runs inside the model, so it sees
each sequence as augmented, at training and test alike; ``"none"`` (the default) leaves the
coordinates as the data pipeline gives them.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from stalib.errors import ConfigError
from stalib.models.base import ModelOutput


@dataclass
class HCNConfig:
    frames: int = 32  # fixed time grid every sequence is resampled to (HCN: 32)
    c1: int = 64  # conv1, 1x1 point-level
    c2: int = 32  # conv2, (3,1) temporal; also the width of the co-occurrence "image"
    c3: int = 32  # conv3, first co-occurrence conv (input channels = joints per person)
    c4: int = 64  # conv4, output of each stream
    c5: int = 128  # conv5, after the two streams are concatenated
    c6: int = 256  # conv6, before the max over persons
    fc: int = 256  # fc7 width
    dropout: float = 0.5  # after conv4, conv5, conv6, fc7
    input_scaling: str = "none"  # "none" or "minmax": each sequence's coordinates into [0, 1]


#: Values of :attr:`HCNConfig.input_scaling`.
INPUT_SCALINGS = ("none", "minmax")


def interp_time(y: torch.Tensor, src_len: torch.Tensor, dst_len: torch.Tensor | int,
                t_out: int) -> torch.Tensor:
    """Linearly resample the first ``src_len[b]`` frames of ``y[b]`` to ``dst_len[b]`` frames.

    ``y (B, T_in, ...)``; returns ``(B, t_out, ...)``, zero beyond ``dst_len``. Output frame
    ``i`` sits at input position ``i (src-1) / (dst-1)`` (0 when ``dst == 1``), so the ends map to
    the ends and ``src == dst`` is the identity. Only frames ``< src_len`` are read.
    """
    B, dev = y.shape[0], y.device
    src = src_len.to(dev).clamp(min=1).view(B, 1)
    dst = torch.as_tensor(dst_len, device=dev).expand(B).view(B, 1).clamp(min=1)
    i = torch.arange(t_out, device=dev).view(1, t_out)
    num, den = i * (src - 1), (dst - 1).clamp(min=1)  # position num / den, in integers
    lo = torch.div(num, den, rounding_mode="floor").clamp(max=src - 1)  # (B, t_out)
    hi = (lo + 1).clamp(max=src - 1)
    w = (num - lo * den).to(y.dtype) / den.to(y.dtype)  # in [0, 1), exactly 0 on a frame
    tail = (1,) * (y.dim() - 2)
    lo, hi, w = (v.view(B, t_out, *tail) for v in (lo, hi, w))
    a = y.gather(1, lo.expand(B, t_out, *y.shape[2:]))
    b = y.gather(1, hi.expand(B, t_out, *y.shape[2:]))
    out = a + w * (b - a)  # exactly a where w == 0
    keep = (i < dst).view(B, t_out, *tail)
    return torch.where(keep, out, torch.zeros((), dtype=out.dtype, device=dev))


def check_inputs(x: torch.Tensor, mask: torch.Tensor, num_joints: int) -> None:
    """``x (B, T, num_joints, 3)``; ``mask (B, T)`` bool, each row a non-empty prefix of True."""
    if x.dim() != 4 or x.shape[2:] != (num_joints, 3):
        raise ValueError(f"x must be (B, T, {num_joints}, 3), got {tuple(x.shape)}")
    if mask.dtype != torch.bool or mask.shape != x.shape[:2]:
        raise ValueError(f"mask must be bool {tuple(x.shape[:2])}, got {mask.dtype} "
                         f"{tuple(mask.shape)}")
    n = mask.sum(1, keepdim=True)
    if not bool(((n > 0) & (mask == (torch.arange(mask.shape[1], device=n.device) < n))).all()):
        raise ValueError("each mask row must be a non-empty run of True, then only False")


def minmax_scale(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``x (B, T, K, 3)`` with each sequence's coordinates scaled into [0, 1] per axis, over its
    real frames (``mask (B, T)``) and present joints (not all-zero); absent joints and padded
    frames stay 0, and an axis that does not vary (range under 1e-6) becomes 0. See the module."""
    real = mask[:, :, None] & (x != 0).any(-1)  # (B, T, K): real frame, present joint
    inf = torch.tensor(float("inf"), dtype=x.dtype, device=x.device)
    keep = real.unsqueeze(-1)
    lo = torch.where(keep, x, inf).amin(dim=(1, 2), keepdim=True)  # (B, 1, 1, 3)
    hi = torch.where(keep, x, -inf).amax(dim=(1, 2), keepdim=True)
    span = hi - lo
    flat = ~(span >= 1e-6)  # no variation, or no present joint at all (inf - inf is nan)
    scaled = (x - lo.masked_fill(flat, 0)) / span.masked_fill(flat, 1)
    return torch.where(keep & ~flat, scaled, torch.zeros((), dtype=x.dtype, device=x.device))


def resample(x: torch.Tensor, mask: torch.Tensor, frames: int) -> torch.Tensor:
    """``x (B, T, K, 3)``, ``mask (B, T)`` (real frames first) -> ``(B, frames, K, 3)``."""
    return interp_time(x, mask.sum(1), frames, frames)


def motion(x: torch.Tensor) -> torch.Tensor:
    """Frame differences on the fixed grid: ``x[:, t+1] - x[:, t]``, zero at the last frame."""
    return torch.cat([x[:, 1:] - x[:, :-1], torch.zeros_like(x[:, :1])], dim=1)


class _JointsToChannels(nn.Module):
    """``(N, C, T, J) -> (N, J, T, C)``: the co-occurrence convs then mix all joints at once."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.transpose(1, 3)


def _stream(J: int, c: HCNConfig) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(3, c.c1, 1), nn.ReLU(),  # conv1: point level
        nn.Conv2d(c.c1, c.c2, (3, 1), padding=(1, 0)),  # conv2: over time, per joint
        _JointsToChannels(),
        nn.Conv2d(J, c.c3, 3, padding=1), nn.MaxPool2d(2),  # conv3: co-occurrence
        nn.Conv2d(c.c3, c.c4, 3, padding=1), nn.MaxPool2d(2), nn.Dropout(c.dropout),  # conv4
    )


class HCN(nn.Module):
    """HCN backbone; ``forward(x, mask) -> ModelOutput(logits)``. See the module docstring."""

    def __init__(self, num_joints_per_person: int, persons: int, num_classes: int,
                 config: HCNConfig | None = None):
        super().__init__()
        c = self.config = config or HCNConfig()
        if c.input_scaling not in INPUT_SCALINGS:
            raise ConfigError(f"input_scaling must be one of {', '.join(INPUT_SCALINGS)}, got "
                              f"{c.input_scaling!r}")
        if c.frames < 16 or c.c2 < 16:
            raise ConfigError(f"frames and c2 must be >= 16 (four 2x poolings), got "
                              f"frames={c.frames}, c2={c.c2}")
        if min(num_joints_per_person, persons, num_classes) < 1:
            raise ConfigError("num_joints_per_person, persons and num_classes must be >= 1")
        self.J, self.P = num_joints_per_person, persons
        self.pos_stream, self.mot_stream = _stream(self.J, c), _stream(self.J, c)
        self.fuse = nn.Sequential(
            nn.Conv2d(2 * c.c4, c.c5, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Dropout(c.dropout),  # conv5
            nn.Conv2d(c.c5, c.c6, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Dropout(c.dropout),  # conv6
        )
        flat = c.c6 * (c.frames // 16) * (c.c2 // 16)
        self.head = nn.Sequential(
            nn.Flatten(), nn.Linear(flat, c.fc), nn.ReLU(), nn.Dropout(c.dropout),  # fc7
            nn.Linear(c.fc, num_classes),  # fc8
        )

    def classify(self, pos: torch.Tensor, mot: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, C)`` from positions and motion on the fixed grid, both ``(B, F, K, 3)``."""
        B, F, P, J = *pos.shape[:2], self.P, self.J
        pos, mot = (v.reshape(B, F, P, J, 3).permute(0, 2, 4, 1, 3).reshape(B * P, 3, F, J)
                    for v in (pos, mot))  # one sample per person, (N, 3, F, J)
        h = self.fuse(torch.cat([self.pos_stream(pos), self.mot_stream(mot)], dim=1))
        h = h.view(B, self.P, *h.shape[1:]).amax(dim=1)  # max over persons
        return self.head(h)

    def grid(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Checked input ``x (B, T, K, 3)`` scaled (``input_scaling``) and resampled to the fixed
        grid ``(B, frames, K, 3)``: what both streams (and CSTA's attention) read."""
        check_inputs(x, mask, self.P * self.J)
        if self.config.input_scaling == "minmax":
            x = minmax_scale(x, mask)
        return resample(x, mask, self.config.frames)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> ModelOutput:
        grid = self.grid(x, mask)
        return ModelOutput(logits=self.classify(grid, motion(grid)))

    def weight_matrices(self, enabled_only: bool = True) -> list[torch.Tensor]:
        """Conv kernels and linear weights (no biases), for an optional L1 penalty.

        ``enabled_only`` is there for the STA-LSTM convention; every layer here is always used.
        """
        return [m.weight for m in self.modules() if isinstance(m, (nn.Conv2d, nn.Conv1d,
                                                                   nn.Linear))]
