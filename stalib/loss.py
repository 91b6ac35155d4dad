"""The regularized objective of STA-LSTM, eq. (7) of Song et al. (AAAI 2017).

For one sequence of true length T (padded frames never count):

    L = CE(y, softmax(o))                                   # 1st term, eq. (5)
        + lambda1 * sum_k (1 - sum_t alpha_{t,k} / T)^2     # spatial attention, 2nd term
        + lambda2 / T * sum_t ||beta_t||_2                  # temporal attention, 3rd term
        + lambda3 * ||W_uv||_1                              # 4th term

and the batch loss is the mean over sequences. ``beta_t`` is a scalar, so ``||beta_t||_2`` is
``|beta_t|`` (= ``beta_t``, a ReLU output). ``W_uv`` is every connection matrix of the network
"merged into one matrix": see :meth:`stalib.models.sta_lstm.STALSTM.weight_matrices` (LSTM
input-to-hidden and hidden-to-hidden weights and fully connected weights, no biases, of the main
network and of the *enabled* attention subnetworks). The L1 term is the same for every sequence.

Read as the paper writes it, a sum over the hundreds of thousands of weights of our networks,
the L1 term at the SBU lambda3 starts larger than the cross-entropy (the ``l1`` and ``ce`` entries
of a run's history show both) and pulls every weight towards 0. ``LossConfig.l1_reading =
"mean"`` takes the mean of ``|w|`` instead (the reading that public reimplementations use);
``"sum"``, the paper's formula, is the default.

A term is present only if its attention is present in the output (``alpha``/``beta`` not ``None``)
and the model uses that regularizer; the "w/o reg." models of Fig. 7 keep only the 1st and 4th
terms. Note that with the softmax of eq. (3) the spatial term cannot reach 0: its minimum, at equal
attention ``alpha_{t,k} = 1/K``, is ``(K - 1)^2 / K``; it still pulls towards equal attention over
the joints, which is what the paper wants of it.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from stalib.errors import ConfigError
from stalib.models.base import ModelOutput


@dataclass
class LossConfig:
    """The weights lambda1..3 of eq. (7). Defaults are the paper's SBU values (section 5.1)."""

    lambda1: float = 0.001  # spatial attention regularizer
    lambda2: float = 0.0001  # temporal attention regularizer
    lambda3: float = 0.0005  # L1 on the weight matrices
    l1_reading: str = "sum"  # "sum": lambda3 * ||W_uv||_1 (eq. 7); "mean": lambda3 * mean |w|

    def __post_init__(self) -> None:
        for name in ("lambda1", "lambda2", "lambda3"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise ConfigError(f"{name} must be a number >= 0, got {value!r}")
            if not (math.isfinite(value) and value >= 0):
                raise ConfigError(f"{name} must be a finite number >= 0, got {value!r}")
        if self.l1_reading not in ("sum", "mean"):
            raise ConfigError(f"l1_reading must be 'sum' or 'mean', got {self.l1_reading!r}")

    @classmethod
    def sbu(cls) -> LossConfig:
        """Section 5.1: 0.001, 0.0001, 0.0005 for SBU."""
        return cls(0.001, 0.0001, 0.0005)

    @classmethod
    def ntu(cls) -> LossConfig:
        """Section 5.1: 0.01, 0.001, 0.00005 for NTU."""
        return cls(0.01, 0.001, 0.00005)

    @classmethod
    def for_dataset(cls, name: str) -> LossConfig:
        presets = {"sbu": cls.sbu, "ntu": cls.ntu}
        if name.lower() not in presets:
            raise ConfigError(f"dataset must be one of {sorted(presets)}, got {name!r}")
        return presets[name.lower()]()


@dataclass
class LossTerms:
    """Each term of eq. (7), already multiplied by its lambda, and their sum ``total``.

    All are 0-dim tensors (an absent term is a zero tensor); call ``total.backward()``.
    """

    ce: torch.Tensor
    alpha_reg: torch.Tensor
    beta_reg: torch.Tensor
    l1: torch.Tensor
    total: torch.Tensor

    def as_dict(self) -> dict[str, float]:
        """Plain floats, for logging."""
        return {k: float(getattr(self, k).detach()) for k in
                ("ce", "alpha_reg", "beta_reg", "l1", "total")}


def sta_loss(
    out: ModelOutput,
    labels: torch.Tensor,
    mask: torch.Tensor,
    config: LossConfig,
    weights: Iterable[torch.Tensor] = (),
    use_alpha_reg: bool = True,
    use_beta_reg: bool = True,
) -> LossTerms:
    """Eq. (7), averaged over the batch.

    ``out`` from ``model(x, mask)``; ``labels`` (B,) class indices; ``mask`` (B, T) the same mask;
    ``weights`` the matrices of the L1 term, normally ``model.weight_matrices()``;
    ``use_alpha_reg`` / ``use_beta_reg`` from :data:`stalib.models.sta_lstm.PARTS`.
    """
    logits = out.logits
    zero = logits.new_zeros(())
    T = mask.sum(dim=1).to(logits.dtype)  # (B,) true lengths

    ce = F.cross_entropy(logits, labels)  # eq. (5) and the 1st term

    alpha_reg = zero
    if use_alpha_reg and out.alpha is not None:
        alpha = torch.where(mask[..., None], out.alpha, 0.0)  # (B, T, K)
        per_seq = ((1.0 - alpha.sum(dim=1) / T[:, None]) ** 2).sum(dim=1)  # sum over k
        alpha_reg = config.lambda1 * per_seq.mean()

    beta_reg = zero
    if use_beta_reg and out.beta is not None:
        beta = torch.where(mask, out.beta, 0.0)  # (B, T)
        per_seq = beta.abs().sum(dim=1) / T  # ||beta_t||_2 of a scalar is |beta_t|
        beta_reg = config.lambda2 * per_seq.mean()

    l1 = zero
    if config.lambda3 > 0:
        mats = list(weights)
        if mats:
            l1 = sum(w.abs().sum() for w in mats)
            if config.l1_reading == "mean":  # the reading of public reimplementations
                l1 = l1 / sum(w.numel() for w in mats)
            l1 = config.lambda3 * l1

    return LossTerms(ce=ce, alpha_reg=alpha_reg, beta_reg=beta_reg, l1=l1,
                     total=ce + alpha_reg + beta_reg + l1)
