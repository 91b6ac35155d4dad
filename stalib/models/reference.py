"""A per-step reference for :class:`stalib.models.sta_lstm.STALSTM`, written from the paper.

It takes the *same parameters* as the fast model (it reads them from a built ``STALSTM``) and
computes eq. (2)-(6) step by step with a Python loop over time and hand-written LSTM cells: no
``nn.LSTM``, no shifting, no fused calls. Masking is done the obvious way, by accumulating
``o`` only over real frames. It is differentiable, so ``stalib bench`` times its forward +
backward pass beside the fast model's, and the tests check that both agree.

    out = reference_forward(model, x, mask)   # -> ModelOutput, like model(x, mask)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from stalib.models.base import ModelOutput
from stalib.models.sta_lstm import STALSTM

__all__ = ["lstm_cell", "reference_forward"]


def lstm_cell(lstm: nn.LSTM, x_t: torch.Tensor, h: torch.Tensor, c: torch.Tensor):
    """One step of a single-layer ``nn.LSTM`` from its weights (gate order i, f, g, o)."""
    gates = (x_t @ lstm.weight_ih_l0.T + lstm.bias_ih_l0
             + h @ lstm.weight_hh_l0.T + lstm.bias_hh_l0)
    i, f, g, o = gates.chunk(4, dim=-1)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    h = torch.sigmoid(o) * torch.tanh(c)
    return h, c


def reference_forward(model: STALSTM, x: torch.Tensor, mask: torch.Tensor) -> ModelOutput:
    """Step-by-step forward pass of ``model`` on x (B, T, K, 3), mask (B, T) bool.

    Honours ``model.spatial_enabled``, ``model.temporal_enabled``, ``config.beta_mode``,
    ``config.alpha_gain`` and, in training mode, dropout (own random masks, so compare with the
    fast model in eval mode).
    """
    B, T, K, _ = x.shape
    H = model.config.hidden
    p = model.config.dropout if model.training else 0.0
    gain = K if model.config.alpha_gain == "joints" else 1
    zeros = x.new_zeros(B, H)
    lengths = mask.sum(dim=1).to(x.dtype)

    def state():
        return zeros, zeros

    hs, cs = state()  # spatial attention LSTM, h^s_{t-1}
    ht, ct = state()  # temporal attention LSTM, h~_{t-1}
    main_state = [state() for _ in model.main.layers]

    o = x.new_zeros(B, model.num_classes)
    alphas, betas, zs = [], [], []
    for t in range(T):
        real = mask[:, t]
        x_t = torch.where(real[:, None, None], x[:, t], 0.0)  # (B, K, 3)
        x_flat = x_t.reshape(B, 3 * K)

        if model.spatial_enabled:
            sp = model.spatial
            s_t = sp.U_s(torch.tanh(sp.W_xs(x_flat) + sp.W_hs(hs)))  # eq. (2)
            alpha_t = torch.softmax(s_t, dim=-1)  # eq. (3)
            hs, cs = lstm_cell(sp.lstm, x_flat, hs, cs)  # h^s_t, used at step t + 1
            alpha_t = torch.where(real[:, None], alpha_t, 0.0)
            alphas.append(alpha_t)
            inp = (gain * alpha_t[:, :, None] * x_t).reshape(B, 3 * K)
        else:
            inp = x_flat

        for i, lstm in enumerate(model.main.layers):
            h, c = lstm_cell(lstm, inp, *main_state[i])
            main_state[i] = (h, c)
            inp = F.dropout(h, p)
        z_t = torch.where(real[:, None], model.main.W_z(inp), 0.0)
        zs.append(z_t)

        if model.temporal_enabled:
            tp = model.temporal
            beta_t = torch.relu(tp.w_x(x_flat) + tp.w_h(ht)).squeeze(-1)  # eq. (6)
            ht, ct = lstm_cell(tp.lstm, x_flat, ht, ct)
            beta_t = torch.where(real, beta_t, 0.0)
            betas.append(beta_t)
            weight = beta_t
        elif model.config.beta_mode == "ones":
            weight = real.to(x.dtype)
        else:
            weight = real.to(x.dtype) / lengths

        o = o + weight[:, None] * z_t  # eq. (4), real frames only

    return ModelOutput(
        logits=o,
        z=torch.stack(zs, dim=1),
        alpha=torch.stack(alphas, dim=1) if alphas else None,
        beta=torch.stack(betas, dim=1) if betas else None,
    )
