"""STA-LSTM: a deep LSTM with spatial and temporal attention (Song et al., AAAI 2017, section 4).

One file that *is* the model. Three subnetworks, all of which read the raw skeleton ``x``:

* ``spatial``  -- joint-selection gates, eq. (2)-(3): an LSTM layer, two fully connected layers
  (``W_xs``/``W_hs`` into a tanh layer, then ``U_s``) and a softmax over the K joints. The main
  network sees ``x'_{t,k} = alpha_{t,k} * x_{t,k}``.
* ``main``     -- a stack of LSTM layers and per-step class scores ``z_t = W_z h_t + b_z``.
* ``temporal`` -- the frame-selection gate, eq. (6): an LSTM layer, one fully connected layer and
  a ReLU. The sequence scores are ``o = sum_t beta_t z_t`` (eq. (4)); ``softmax(o)`` is eq. (5),
  so ``ModelOutput.logits`` is ``o``.

No Python loop over time. Both attention LSTMs read ``x`` (not the main network), so each runs as
one fused ``nn.LSTM`` call over the whole sequence; the ``h_{t-1}`` of eq. (2) and (6) is that
output shifted one step to the right, with ``h_0 = 0``. Padding is harmless because an LSTM is
causal and every padded frame comes after the real ones: outputs at real steps never see it. We
still zero ``x`` on padded frames first (so NaN or inf there cannot leak through ``0 * inf`` in the
backward pass), and zero ``alpha``, ``beta`` and ``z`` on padded frames, so padding enters neither
the attention sums, the regularizers of eq. (7) nor ``o``.

Design choices the paper leaves open (all in :class:`STALSTMConfig`):

* **Sizes.** Every LSTM has ``hidden=100`` units ("each LSTM layer composes of 100 LSTM
  neurons"); the tanh layer of eq. (2) has ``spatial_hidden=100`` units (not given in the paper).
* **Dropout** (the paper cites Zaremba et al. 2014 and gives no rate): ``dropout=0.5`` on the
  non-recurrent connections of the main network only -- on the output of every main LSTM layer,
  i.e. between stacked layers and before ``W_z``. Not on ``x'`` (it would fight the spatial
  attention), not on recurrent connections, not in the attention subnetworks.
* **Initialisation** (Algorithm 1, step 1, "Gaussian"): every weight matrix ~ N(0, init_std^2)
  with ``init_std=0.05`` (about the spread of PyTorch's default U(-1/sqrt(100), 1/sqrt(100))),
  every bias 0 -- except the bias ``b~`` of eq. (6), which starts at ``beta_bias_init=1``. With
  ``b~ = 0`` the ReLU starts at ``beta_t ~ 0``; on a toy set two Adam steps (lr 0.02) pushed
  every ``beta_t`` of every sequence to exactly 0, after which ``o = 0`` and no gradient reaches
  any parameter again (a dead network). Starting at ``beta_t ~ 1`` is also the "fixed as ones" state
  that Algorithm 1 uses while the temporal attention is off.
* **Readout** (``readout``): eq. (4) sums ``beta_t z_t`` over the frames, so ``o`` grows with the
  sequence length; ``readout="mean"`` divides it by ``T`` (a reading of eq. (4) as an average,
  chosen on validation folds like every reading that is not the paper's).
* **Attention switched off** (Algorithm 1, "fixed as ones"): ``alpha = 1`` for every joint
  (``x' = x``) and, with the default ``beta_mode="ones"``, ``beta_t = 1`` on real frames, so
  ``o = sum_t z_t`` over the true frames. This is the paper's reading; note that ``o`` then grows
  with the sequence length. ``beta_mode="mean"`` uses ``beta_t = 1/T`` (the mean of ``z_t``)
  instead. A switched-off attention is reported as ``None`` in :class:`ModelOutput`.

Algorithm 1 support: ``spatial_enabled`` / ``temporal_enabled`` switch a built subnetwork on and
off (its parameters persist); :meth:`STALSTM.set_main_layers` grows the main stack by appending
freshly initialised layers on top of the trained ones, keeping ``W_z`` (step 3 and 6, "after
increasing its number of LSTM layers to three"); :meth:`STALSTM.reset_main` re-initialises the
main network from scratch with a given depth (step 5, "train the main LSTM network with only one
LSTM layer" again); ``main_parameters`` / ``spatial_parameters`` / ``temporal_parameters`` split
``model.parameters()`` into three disjoint groups for freezing.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, fields, replace

import torch
import torch.nn.functional as F
from torch import nn

from stalib.errors import ConfigError
from stalib.models.base import ModelOutput

BETA_MODES = ("ones", "mean")
ALPHA_GAINS = ("one", "joints")
READOUTS = ("sum", "mean")


@dataclass
class STALSTMConfig:
    hidden: int = 100  # units of every LSTM layer (main and attention), section 5.1
    main_layers: int = 3  # LSTM layers of the main network, section 5.1
    spatial: bool = True  # build the spatial attention subnetwork, section 4.1
    temporal: bool = True  # build the temporal attention subnetwork, section 4.2
    spatial_hidden: int = 100  # units of the tanh layer of eq. (2) (our choice)
    dropout: float = 0.5  # on main LSTM layer outputs (our choice of rate and placement)
    beta_mode: str = "ones"  # beta when temporal attention is off: "ones" (paper) or "mean" (1/T)
    init_std: float = 0.05  # Gaussian init of weight matrices, Algorithm 1 step 1 (our choice)
    beta_bias_init: float = 1.0  # initial b~ of eq. (6), so that beta_t starts near 1 (our choice)
    alpha_gain: str = "one"  # x' = alpha x (paper, "one") or x' = K alpha x ("joints")
    readout: str = "sum"  # o = sum_t beta_t z_t (eq. 4, "sum") or that sum / T ("mean")

    def __post_init__(self) -> None:
        for name in ("hidden", "main_layers", "spatial_hidden"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"{name} must be an integer >= 1, got {value!r}")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"dropout must be in [0, 1), got {self.dropout!r}")
        if self.alpha_gain not in ALPHA_GAINS:
            raise ConfigError(f"alpha_gain must be one of {ALPHA_GAINS}, got {self.alpha_gain!r}")
        if self.readout not in READOUTS:
            raise ConfigError(f"readout must be one of {READOUTS}, got {self.readout!r}")
        if self.beta_mode not in BETA_MODES:
            raise ConfigError(f"beta_mode must be one of {BETA_MODES}, got {self.beta_mode!r}")
        if not self.init_std > 0.0:
            raise ConfigError(f"init_std must be > 0, got {self.init_std!r}")
        if not math.isfinite(self.beta_bias_init):
            raise ConfigError(f"beta_bias_init must be finite, got {self.beta_bias_init!r}")


@dataclass(frozen=True)
class Parts:
    """The parts of one model of Fig. 7: which attentions exist and which regularizers of eq. (7)
    apply. The "w/o reg." models keep only the 1st (cross-entropy) and 4th (L1) terms of eq. (7).
    """

    spatial: bool
    temporal: bool
    use_alpha_reg: bool
    use_beta_reg: bool
    label: str = ""  # as printed in Fig. 7


PARTS: dict[str, Parts] = {
    "lstm": Parts(False, False, False, False, "LSTM"),
    "sa-lstm-noreg": Parts(True, False, False, False, "SA-LSTM (w/o reg.)"),
    "sa-lstm": Parts(True, False, True, False, "SA-LSTM"),
    "ta-lstm-noreg": Parts(False, True, False, False, "TA-LSTM (w/o reg.)"),
    "ta-lstm": Parts(False, True, False, True, "TA-LSTM"),
    "sta-lstm": Parts(True, True, True, True, "STA-LSTM"),
}


def _init_gaussian(module: nn.Module, std: float) -> None:
    """Algorithm 1 step 1: weight matrices ~ N(0, std^2), biases 0."""
    for name, p in module.named_parameters():
        if "weight" in name:
            nn.init.normal_(p, mean=0.0, std=std)
        else:
            nn.init.zeros_(p)


def _lstm_weights(lstm: nn.LSTM) -> list[torch.Tensor]:
    """Input-to-hidden and hidden-to-hidden matrices of a single-layer ``nn.LSTM``."""
    return [lstm.weight_ih_l0, lstm.weight_hh_l0]


def _shift_right(h: torch.Tensor) -> torch.Tensor:
    """(B, T, H) outputs h_1..h_T -> h_0..h_{T-1}, with h_0 = 0."""
    return F.pad(h, (0, 0, 1, 0))[:, :-1]


class SpatialAttention(nn.Module):
    """Joint-selection gates, eq. (2)-(3): an LSTM layer, two fully connected layers, softmax."""

    def __init__(self, num_joints: int, hidden: int, spatial_hidden: int):
        super().__init__()
        d = 3 * num_joints
        self.lstm = nn.LSTM(d, hidden, batch_first=True)  # gives h^s_t
        self.W_xs = nn.Linear(d, spatial_hidden)  # its bias is b_s
        self.W_hs = nn.Linear(hidden, spatial_hidden, bias=False)
        self.U_s = nn.Linear(spatial_hidden, num_joints)  # its bias is b_us

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """x (B, T, 3K) flat joints, mask (B, T) -> alpha (B, T, K), exactly 0 on padded frames."""
        h_prev = _shift_right(self.lstm(x)[0])  # h^s_{t-1}
        s = self.U_s(torch.tanh(self.W_xs(x) + self.W_hs(h_prev)))  # eq. (2)
        alpha = torch.softmax(s, dim=-1)  # eq. (3)
        return torch.where(mask[..., None], alpha, 0.0)

    def weight_matrices(self) -> list[torch.Tensor]:
        return [*_lstm_weights(self.lstm), self.W_xs.weight, self.W_hs.weight, self.U_s.weight]


class TemporalAttention(nn.Module):
    """Frame-selection gate, eq. (6): an LSTM layer, one fully connected layer, ReLU."""

    def __init__(self, num_joints: int, hidden: int):
        super().__init__()
        d = 3 * num_joints
        self.lstm = nn.LSTM(d, hidden, batch_first=True)  # gives h~_t
        self.w_x = nn.Linear(d, 1)  # w_x~; its bias is b~
        self.w_h = nn.Linear(hidden, 1, bias=False)  # w_h~

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """x (B, T, 3K) flat joints, mask (B, T) -> beta (B, T) >= 0, exactly 0 on padded frames."""
        h_prev = _shift_right(self.lstm(x)[0])  # h~_{t-1}
        beta = torch.relu(self.w_x(x) + self.w_h(h_prev)).squeeze(-1)  # eq. (6)
        return torch.where(mask, beta, 0.0)

    def weight_matrices(self) -> list[torch.Tensor]:
        return [*_lstm_weights(self.lstm), self.w_x.weight, self.w_h.weight]


class MainLSTM(nn.Module):
    """The main network: stacked LSTM layers (one fused call each) and z_t = W_z h_t + b_z."""

    def __init__(self, num_joints: int, num_classes: int, hidden: int, num_layers: int,
                 dropout: float):
        super().__init__()
        self.hidden = hidden
        self.input_size = 3 * num_joints
        self.layers = nn.ModuleList(
            nn.LSTM(self.input_size if i == 0 else hidden, hidden, batch_first=True)
            for i in range(num_layers)
        )
        self.drop = nn.Dropout(dropout)
        self.W_z = nn.Linear(hidden, num_classes)  # its bias is b_z

    def forward(self, x_prime: torch.Tensor) -> torch.Tensor:
        """x' (B, T, 3K) -> z (B, T, C), the per-step class scores."""
        h = x_prime
        for lstm in self.layers:
            h = self.drop(lstm(h)[0])
        return self.W_z(h)

    def weight_matrices(self) -> list[torch.Tensor]:
        return [w for lstm in self.layers for w in _lstm_weights(lstm)] + [self.W_z.weight]


class STALSTM(nn.Module):
    """STA-LSTM (Fig. 3). Call as ``model(x, mask)`` with x (B, T, K, 3), mask (B, T) bool.

    ``config.spatial`` / ``config.temporal`` decide which attention subnetworks are *built*
    (``model.spatial`` / ``model.temporal`` is ``None`` otherwise); ``spatial_enabled`` /
    ``temporal_enabled`` switch a built one on or off for Algorithm 1 ("fixed as ones").
    """

    def __init__(self, num_joints: int, num_classes: int, config: STALSTMConfig | None = None):
        super().__init__()
        if num_joints < 1:
            raise ConfigError(f"num_joints must be >= 1, got {num_joints}")
        if num_classes < 1:
            raise ConfigError(f"num_classes must be >= 1, got {num_classes}")
        self.config = config = config if config is not None else STALSTMConfig()
        self.num_joints = num_joints
        self.num_classes = num_classes
        self.main = MainLSTM(num_joints, num_classes, config.hidden, config.main_layers,
                             config.dropout)
        self.spatial = (SpatialAttention(num_joints, config.hidden, config.spatial_hidden)
                        if config.spatial else None)
        self.temporal = TemporalAttention(num_joints, config.hidden) if config.temporal else None
        self._spatial_enabled = config.spatial
        self._temporal_enabled = config.temporal
        _init_gaussian(self, config.init_std)
        if self.temporal is not None:
            nn.init.constant_(self.temporal.w_x.bias, config.beta_bias_init)

    # --- Algorithm 1: switching attention on and off -------------------------------------------

    @property
    def spatial_enabled(self) -> bool:
        return self._spatial_enabled

    @spatial_enabled.setter
    def spatial_enabled(self, on: bool) -> None:
        if on and self.spatial is None:
            raise ConfigError("spatial_enabled: this model was built without spatial attention")
        self._spatial_enabled = bool(on)

    @property
    def temporal_enabled(self) -> bool:
        return self._temporal_enabled

    @temporal_enabled.setter
    def temporal_enabled(self, on: bool) -> None:
        if on and self.temporal is None:
            raise ConfigError("temporal_enabled: this model was built without temporal attention")
        self._temporal_enabled = bool(on)

    # --- Algorithm 1: growing and resetting the main network -----------------------------------

    @property
    def main_layers(self) -> int:
        return len(self.main.layers)

    def set_main_layers(self, n: int) -> None:
        """Grow the main stack to ``n`` layers (Algorithm 1, steps 3 and 6).

        Layers already there keep their trained weights; the new ones are appended on top,
        freshly initialised (Gaussian); the output layer ``W_z`` is kept. Shrinking is refused:
        use :meth:`reset_main`. Rebuild the optimizer afterwards: there are new parameters.
        """
        if not isinstance(n, int) or n < self.main_layers:
            raise ConfigError(f"set_main_layers: n must be an integer >= the current "
                              f"{self.main_layers} layers, got {n!r} (use reset_main to shrink)")
        ref = self.main.W_z.weight
        while self.main_layers < n:
            lstm = nn.LSTM(self.config.hidden, self.config.hidden, batch_first=True)
            _init_gaussian(lstm, self.config.init_std)
            self.main.layers.append(lstm.to(device=ref.device, dtype=ref.dtype))
        self.config = replace(self.config, main_layers=n)

    def reset_main(self, num_layers: int = 1) -> None:
        """Re-initialise the whole main network (LSTM layers and W_z) with ``num_layers`` layers.

        Algorithm 1 step 5 trains "the main LSTM network with only one LSTM layer" again after
        the temporal stage; we read that as a fresh main network. The attention subnetworks are
        untouched. Rebuild the optimizer afterwards.
        """
        if not isinstance(num_layers, int) or num_layers < 1:
            raise ConfigError(f"reset_main: num_layers must be an integer >= 1, got {num_layers!r}")
        ref = self.main.W_z.weight
        c = self.config
        main = MainLSTM(self.num_joints, self.num_classes, c.hidden, num_layers, c.dropout)
        _init_gaussian(main, c.init_std)
        self.main = main.to(device=ref.device, dtype=ref.dtype)
        self.config = replace(c, main_layers=num_layers)

    # --- parameter groups -----------------------------------------------------------------------

    def main_parameters(self) -> Iterator[nn.Parameter]:
        return self.main.parameters()

    def spatial_parameters(self) -> Iterator[nn.Parameter]:
        return self.spatial.parameters() if self.spatial is not None else iter(())

    def temporal_parameters(self) -> Iterator[nn.Parameter]:
        return self.temporal.parameters() if self.temporal is not None else iter(())

    def weight_matrices(self, enabled_only: bool = True) -> list[torch.Tensor]:
        """The matrices W_uv of the L1 term of eq. (7), "merged into one matrix".

        All connection matrices -- LSTM input-to-hidden and hidden-to-hidden weights and the
        fully connected weights (W_z; W_xs, W_hs, U_s; w_x~, w_h~) -- but no biases, of the main
        network and of every *enabled* attention subnetwork (all built ones if not
        ``enabled_only``).
        """
        mats = self.main.weight_matrices()
        if self.spatial is not None and (self.spatial_enabled or not enabled_only):
            mats += self.spatial.weight_matrices()
        if self.temporal is not None and (self.temporal_enabled or not enabled_only):
            mats += self.temporal.weight_matrices()
        return mats

    # --- forward ---------------------------------------------------------------------------------

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> ModelOutput:
        B, T, K, _ = _check_inputs(x, mask, self.num_joints)
        real = mask[..., None]  # (B, T, 1)
        x = torch.where(mask[..., None, None], x, 0.0)  # padded values cannot leak, not even NaN
        x_flat = x.reshape(B, T, 3 * K)

        alpha = None
        x_prime = x_flat  # alpha fixed as ones
        if self.spatial_enabled:
            alpha = self.spatial(x_flat, mask)  # eq. (2)-(3)
            gain = K if self.config.alpha_gain == "joints" else 1
            x_prime = (gain * alpha[..., None] * x).reshape(B, T, 3 * K)  # x' = alpha x

        z = torch.where(real, self.main(x_prime), 0.0)  # z_t = W_z h_t + b_z, 0 on padding

        beta = None
        if self.temporal_enabled:
            beta = self.temporal(x_flat, mask)  # eq. (6)
            weights = beta
        elif self.config.beta_mode == "ones":
            weights = mask.to(z.dtype)  # beta fixed as ones on real frames
        else:  # "mean"
            weights = mask.to(z.dtype) / mask.sum(dim=1, keepdim=True).to(z.dtype)

        o = (weights[..., None] * z).sum(dim=1)  # eq. (4); the softmax of eq. (5) is in the loss
        if self.config.readout == "mean":  # o / T: a score that does not grow with the length
            o = o / mask.sum(dim=1, keepdim=True).to(o.dtype)
        return ModelOutput(logits=o, z=z, alpha=alpha, beta=beta)


def _check_inputs(x: torch.Tensor, mask: torch.Tensor, num_joints: int) -> tuple[int, ...]:
    """Shapes, dtype, and that each mask row is a non-empty prefix (real frames come first)."""
    if x.dim() != 4 or x.shape[2] != num_joints or x.shape[3] != 3:
        raise ValueError(f"x must have shape (B, T, {num_joints}, 3), got {tuple(x.shape)}")
    if mask.dtype != torch.bool or tuple(mask.shape) != tuple(x.shape[:2]):
        raise ValueError(f"mask must be bool of shape {tuple(x.shape[:2])}, "
                         f"got {mask.dtype} {tuple(mask.shape)}")
    lengths = mask.sum(dim=1)
    prefix = torch.arange(mask.shape[1], device=mask.device) < lengths[:, None]
    if not bool(((lengths > 0) & (prefix == mask).all(dim=1)).all()):
        raise ValueError("every mask row must be a non-empty run of True followed only by False")
    return tuple(x.shape)


def build_sta_lstm(model: str, num_joints: int, num_classes: int, **overrides) -> STALSTM:
    """One model of Fig. 7 (its parts: :data:`PARTS`); ``overrides`` go to the config.

    The model's parts fix ``spatial`` and ``temporal``; the "-noreg" models build the same network
    as their regularized twins (they differ in the loss: read ``PARTS[model]``).
    """
    if model not in PARTS:
        raise ConfigError(f"model must be one of {sorted(PARTS)}, got {model!r}")
    known = {f.name for f in fields(STALSTMConfig)} - {"spatial", "temporal"}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ConfigError(f"build_sta_lstm: unknown or fixed-by-model option(s) {unknown}; "
                          f"allowed: {sorted(known)}")
    v = PARTS[model]
    return STALSTM(num_joints, num_classes,
                   STALSTMConfig(spatial=v.spatial, temporal=v.temporal, **overrides))
