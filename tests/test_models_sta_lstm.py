"""STA-LSTM model: agreement with the per-step reference, padding, Algorithm 1 hooks, learning."""

from __future__ import annotations

import pytest
import torch

from stalib.errors import ConfigError
from stalib.loss import LossConfig, sta_loss
from stalib.models.base import ModelOutput
from stalib.models.reference import reference_forward
from stalib.models.sta_lstm import (
    PARTS,
    STALSTM,
    Parts,
    STALSTMConfig,
    build_sta_lstm,
)

K, C = 5, 4


def make_batch(lengths, t_max=None, k=K, seed=0, pad_value=0.0):
    """Random x (B, T, k, 3) with ``pad_value`` beyond each length, and its prefix mask."""
    g = torch.Generator().manual_seed(seed)
    t_max = t_max or max(lengths)
    x = torch.randn(len(lengths), t_max, k, 3, generator=g)
    mask = torch.arange(t_max)[None, :] < torch.tensor(lengths)[:, None]
    x[~mask] = pad_value
    return x, mask


def make_model(spatial=True, temporal=True, layers=3, seed=0, **kw):
    torch.manual_seed(seed)
    # a large init_std makes the attentions far from uniform, so the comparisons have teeth
    cfg = STALSTMConfig(hidden=12, spatial_hidden=9, main_layers=layers, spatial=spatial,
                        temporal=temporal, **{"init_std": 0.4, "dropout": 0.0, **kw})
    return STALSTM(K, C, cfg).eval()


def assert_same(a: ModelOutput, b: ModelOutput, atol=1e-5):
    torch.testing.assert_close(a.logits, b.logits, atol=atol, rtol=1e-5)
    torch.testing.assert_close(a.z, b.z, atol=atol, rtol=1e-5)
    for name in ("alpha", "beta"):
        u, v = getattr(a, name), getattr(b, name)
        assert (u is None) == (v is None), name
        if u is not None:
            torch.testing.assert_close(u, v, atol=atol, rtol=1e-5)


# --- the fast model against the per-step reference ----------------------------------------------

ON_OFF = [(True, True), (True, False), (False, True), (False, False)]


@pytest.mark.parametrize("layers", [1, 3])
@pytest.mark.parametrize("spatial,temporal", ON_OFF)
def test_matches_reference_built_models(spatial, temporal, layers):
    model = make_model(spatial, temporal, layers)
    x, mask = make_batch([7, 3, 6, 1, 7], seed=1)
    with torch.no_grad():
        fast, ref = model(x, mask), reference_forward(model, x, mask)
    assert_same(fast, ref)
    assert fast.logits.abs().max() > 1e-2  # not trivially zero


@pytest.mark.parametrize("layers", [1, 3])
@pytest.mark.parametrize("spatial,temporal", ON_OFF)
def test_matches_reference_switched_flags(spatial, temporal, layers):
    """Algorithm 1: both subnetworks built, switched on/off by the flags."""
    model = make_model(True, True, layers, seed=3)
    model.spatial_enabled, model.temporal_enabled = spatial, temporal
    x, mask = make_batch([4, 8, 2], seed=2)
    with torch.no_grad():
        fast, ref = model(x, mask), reference_forward(model, x, mask)
    assert_same(fast, ref)
    assert (fast.alpha is None) == (not spatial) and (fast.beta is None) == (not temporal)


def test_matches_reference_beta_mean_and_gradients():
    model = make_model(True, False, 2, beta_mode="mean")
    x, mask = make_batch([5, 2, 4], seed=4)
    fast, ref = model(x, mask), reference_forward(model, x, mask)
    assert_same(fast, ref)
    g_fast = torch.autograd.grad(fast.logits.square().sum(), list(model.parameters()))
    g_ref = torch.autograd.grad(ref.logits.square().sum(), list(model.parameters()))
    for a, b in zip(g_fast, g_ref, strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)


def test_matches_reference_alpha_gain_joints():
    model = make_model(True, True, 2, seed=8, alpha_gain="joints")
    x, mask = make_batch([6, 4, 1], seed=9)
    with torch.no_grad():
        assert_same(model(x, mask), reference_forward(model, x, mask))


def test_reference_is_not_trivially_equal():
    """Sanity check of the check: a different model gives different outputs."""
    x, mask = make_batch([6, 3], seed=5)
    with torch.no_grad():
        a = make_model(seed=0)(x, mask)
        b = reference_forward(make_model(seed=1), x, mask)
    assert not torch.allclose(a.logits, b.logits, atol=1e-3)


# --- padding and attention invariants ---------------------------------------------------------


@pytest.mark.parametrize("spatial,temporal", ON_OFF)
def test_padding_invariance(spatial, temporal):
    model = make_model(spatial, temporal, 3, seed=6)
    lengths = [6, 2, 5]
    x, mask = make_batch(lengths, seed=7)
    # the same batch with 9 more padded frames holding garbage, NaN and inf
    x_long, mask_long = make_batch(lengths, t_max=15, seed=7, pad_value=float("nan"))
    x_long[:, :6] = x
    x_long[1, 2:6] = 1e6
    x_long[0, 10:] = float("inf")
    with torch.no_grad():
        short, long = model(x, mask), model(x_long, mask_long)
    torch.testing.assert_close(short.logits, long.logits, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(short.z, long.z[:, :6], atol=1e-6, rtol=1e-5)
    assert (long.z[:, 6:] == 0).all()
    for name in ("alpha", "beta"):
        s, lg = getattr(short, name), getattr(long, name)
        if s is not None:
            torch.testing.assert_close(s, lg[:, :6], atol=1e-6, rtol=1e-5)
            assert (lg[~mask_long] == 0).all()  # exactly zero on padding
    # each sequence alone, with no padding at all, gives its row of the batch
    for i, n in enumerate(lengths):
        with torch.no_grad():
            alone = model(x[i : i + 1, :n], mask[i : i + 1, :n])
        torch.testing.assert_close(alone.logits[0], short.logits[i], atol=1e-6, rtol=1e-5)


def test_attention_properties_and_finite_gradients_with_nan_padding():
    model = make_model(seed=8)
    x, mask = make_batch([9, 4, 1, 7], seed=9, pad_value=float("nan"))
    out = model(x, mask)
    assert torch.isfinite(out.logits).all()
    sums = out.alpha.sum(dim=-1)
    torch.testing.assert_close(sums[mask], torch.ones(int(mask.sum())))
    assert (sums[~mask] == 0).all() and (out.alpha >= 0).all()
    assert (out.beta >= 0).all() and (out.beta[~mask] == 0).all()
    assert (out.beta[mask] > 0).any()
    assert out.alpha[mask].std() > 0.01  # genuinely non-uniform at this init
    out.logits.sum().backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name


def test_beta_fixed_as_ones_sums_z_over_real_frames():
    model = make_model(True, False, 1, seed=10)
    x, mask = make_batch([5, 3], seed=11)
    with torch.no_grad():
        out = model(x, mask)
    torch.testing.assert_close(out.logits, out.z.sum(dim=1))
    torch.testing.assert_close(out.logits[1], out.z[1, :3].sum(dim=0))
    model.config.beta_mode = "mean"
    with torch.no_grad():
        out = model(x, mask)
    torch.testing.assert_close(out.logits[1], out.z[1, :3].mean(dim=0))


def test_spatial_off_means_x_prime_is_x():
    """With alpha fixed as ones, the main network sees the raw input: same as the plain LSTM."""
    sta = make_model(True, False, 2, seed=12)
    sta.spatial_enabled = False
    plain = make_model(False, False, 2, seed=99)
    plain.main.load_state_dict(sta.main.state_dict())
    x, mask = make_batch([4, 2], seed=13)
    with torch.no_grad():
        assert_same(sta(x, mask), plain(x, mask), atol=0)


def test_bad_inputs_rejected():
    model = make_model()
    x, mask = make_batch([3, 2])
    with pytest.raises(ValueError, match="shape"):
        model(x[:, :, :4], mask)
    with pytest.raises(ValueError, match="bool"):
        model(x, mask.float())
    holey = mask.clone()
    holey[0, 1] = False
    with pytest.raises(ValueError, match="prefix|run of True"):
        model(x, holey)
    empty = mask.clone()
    empty[1] = False
    with pytest.raises(ValueError, match="non-empty"):
        model(x, empty)


def test_dropout_only_in_training():
    torch.manual_seed(0)
    model = STALSTM(K, C, STALSTMConfig(hidden=8, spatial_hidden=8, dropout=0.5))
    x, mask = make_batch([4, 4])
    model.train()
    assert not torch.equal(model(x, mask).logits, model(x, mask).logits)
    model.eval()
    assert torch.equal(model(x, mask).logits, model(x, mask).logits)


# --- Algorithm 1 hooks ---------------------------------------------------------------------------


def group_ids(model):
    return [{id(p) for p in g()} for g in
            (model.main_parameters, model.spatial_parameters, model.temporal_parameters)]


def assert_partition(model):
    groups = group_ids(model)
    assert sum(len(g) for g in groups) == len(set().union(*groups))  # disjoint
    assert set().union(*groups) == {id(p) for p in model.parameters()}  # complete


@pytest.mark.parametrize("name", sorted(PARTS))
def test_parameter_groups_partition(name):
    model = build_sta_lstm(name, K, C, hidden=6, spatial_hidden=5, main_layers=1)
    assert_partition(model)
    main, spatial, temporal = group_ids(model)
    assert main and bool(spatial) == PARTS[name].spatial
    assert bool(temporal) == PARTS[name].temporal
    model.set_main_layers(3)
    assert_partition(model)


def test_set_main_layers_keeps_trained_layers_and_w_z():
    model = make_model(layers=1, seed=14)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model.set_main_layers(3)
    assert model.main_layers == 3 and model.config.main_layers == 3
    after = model.state_dict()
    for k, v in before.items():  # layer 1, W_z and the attention subnetworks are kept
        assert torch.equal(after[k], v), k
    new = model.main.layers[2].weight_hh_l0
    assert new.shape == (4 * 12, 12) and 0.2 < new.std() < 0.6  # Gaussian, init_std 0.4
    assert not torch.equal(model.main.layers[1].weight_ih_l0, model.main.layers[2].weight_ih_l0)
    x, mask = make_batch([3, 5])
    with torch.no_grad():
        assert_same(model(x, mask), reference_forward(model, x, mask))
    model.set_main_layers(3)  # no-op
    assert model.main_layers == 3
    with pytest.raises(ConfigError, match="reset_main"):
        model.set_main_layers(2)


def test_reset_main_reinitialises_main_only():
    model = make_model(layers=3, seed=15)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model.reset_main(num_layers=1)
    assert model.main_layers == 1 and model.config.main_layers == 1
    after = model.state_dict()
    for k, v in before.items():
        if k.startswith("main.") and "weight" in k:  # biases are 0 before and after
            assert k not in after or not torch.equal(after[k], v), k
        elif k.startswith("main."):
            assert k not in after or (after[k] == 0).all(), k
        else:
            assert torch.equal(after[k], v), k
    assert not torch.equal(after["main.W_z.weight"], before["main.W_z.weight"])
    assert (after["main.W_z.bias"] == 0).all()
    assert_partition(model)
    with pytest.raises(ConfigError, match="num_layers"):
        model.reset_main(0)


def test_enable_flags():
    model = build_sta_lstm("sa-lstm", K, C, hidden=6, spatial_hidden=5)
    assert model.spatial_enabled and not model.temporal_enabled and model.temporal is None
    with pytest.raises(ConfigError, match="temporal"):
        model.temporal_enabled = True
    model.spatial_enabled = False
    x, mask = make_batch([3])
    assert model(x, mask).alpha is None


def test_weight_matrices_cover_enabled_subnetworks_without_biases():
    model = make_model(layers=2)
    mats = model.weight_matrices()
    assert len(mats) == 2 * 2 + 1 + (2 + 3) + (2 + 2)
    params = {id(p): n for n, p in model.named_parameters()}
    names = {params[id(m)] for m in mats}
    assert all("bias" not in n for n in names)
    expected = {n for n in params.values() if "weight" in n}  # every weight matrix
    assert names == expected
    model.spatial_enabled = False
    names_off = {params[id(m)] for m in model.weight_matrices()}
    assert not any(n.startswith("spatial.") for n in names_off)
    assert len(model.weight_matrices(enabled_only=False)) == len(mats)


# --- the models and their settings -----------------------------------------------------------


def test_models_table():
    assert set(PARTS) == {"lstm", "sa-lstm-noreg", "sa-lstm", "ta-lstm-noreg", "ta-lstm",
                             "sta-lstm"}
    assert all(isinstance(v, Parts) for v in PARTS.values())
    assert PARTS["lstm"] == Parts(False, False, False, False, "LSTM")
    assert PARTS["sta-lstm"] == Parts(True, True, True, True, "STA-LSTM")
    for name in ("sa-lstm", "ta-lstm"):
        reg, noreg = PARTS[name], PARTS[name + "-noreg"]
        assert (reg.spatial, reg.temporal) == (noreg.spatial, noreg.temporal)
        assert not (noreg.use_alpha_reg or noreg.use_beta_reg)
        assert reg.use_alpha_reg == reg.spatial and reg.use_beta_reg == reg.temporal


def test_build_sta_lstm_and_config_validation():
    model = build_sta_lstm("ta-lstm", 30, 8)
    assert model.spatial is None and model.temporal is not None
    assert model.main_layers == 3 and model.config.hidden == 100
    assert model.main.layers[0].input_size == 90 and model.main.W_z.out_features == 8
    assert build_sta_lstm("sta-lstm", 30, 8, main_layers=1).main_layers == 1
    with pytest.raises(ConfigError, match="model must be one of"):
        build_sta_lstm("sta_lstm", 30, 8)
    with pytest.raises(ConfigError, match="spatial"):
        build_sta_lstm("lstm", 30, 8, spatial=True)
    with pytest.raises(ConfigError, match="hiden"):
        build_sta_lstm("lstm", 30, 8, hiden=5)
    for kw, name in [({"hidden": 0}, "hidden"), ({"main_layers": 1.5}, "main_layers"),
                     ({"dropout": 1.0}, "dropout"), ({"beta_mode": "one"}, "beta_mode"),
                     ({"init_std": 0.0}, "init_std"), ({"spatial_hidden": -1}, "spatial_hidden")]:
        with pytest.raises(ConfigError, match=name):
            STALSTMConfig(**kw)
    with pytest.raises(ConfigError, match="num_joints"):
        STALSTM(0, 3)


def test_default_init_is_gaussian_with_zero_biases_and_beta_near_one():
    torch.manual_seed(0)
    model = build_sta_lstm("sta-lstm", 30, 8).eval()
    with torch.no_grad():
        w = torch.cat([m.flatten() for m in model.weight_matrices()])
    assert abs(float(w.std()) - 0.05) < 0.002 and abs(float(w.mean())) < 0.002
    biases = {n: p for n, p in model.named_parameters() if "bias" in n}
    assert len(biases) == 2 * 3 + 1 + 2 * 1 + 2 + 2 + 1
    assert (biases.pop("temporal.w_x.bias") == 1).all()  # b~ of eq. (6)
    assert all((b == 0).all() for b in biases.values())
    # beta starts near 1 on every real frame: no dead ReLU at the start
    x, mask = make_batch([46, 20], k=30, seed=3)
    with torch.no_grad():
        beta = model(x, mask).beta[mask]
    assert (beta > 0).all() and abs(float(beta.mean()) - 1) < 0.2


# --- learning ---------------------------------------------------------------------------------


def test_overfits_tiny_two_class_set():
    """Class 0: joint 0 rises over time; class 1: it falls. Variable lengths, padded.

    40 Adam steps on 8 sequences: about 0.2 s of compute on one core.
    """
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    lengths = [8, 5, 7, 6, 8, 4, 6, 7]
    labels = torch.tensor([0, 1] * 4)
    x, mask = make_batch(lengths, k=4, seed=1)
    x = 0.1 * x
    for i, n in enumerate(lengths):
        slope = 1.0 if labels[i] == 0 else -1.0
        x[i, :n, 0, 1] += slope * torch.linspace(-1, 1, n) + 0.05 * torch.randn(n, generator=g)
    model = build_sta_lstm("sta-lstm", 4, 2, hidden=16, spatial_hidden=8, main_layers=1,
                           dropout=0.0)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    cfg = LossConfig.sbu()
    first = None
    for _ in range(40):
        out = model(x, mask)
        terms = sta_loss(out, labels, mask, cfg, model.weight_matrices())
        first = first if first is not None else float(terms.ce.detach())
        opt.zero_grad()
        terms.total.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        out = model(x, mask)
    ce = float(torch.nn.functional.cross_entropy(out.logits, labels))
    assert (out.logits.argmax(1) == labels).all()
    assert ce < 0.1 < first


def test_mean_readout_divides_o_by_the_true_length():
    torch.manual_seed(0)
    a = build_sta_lstm("sta-lstm", 4, 3, hidden=6, spatial_hidden=5)
    b = build_sta_lstm("sta-lstm", 4, 3, hidden=6, spatial_hidden=5, readout="mean")
    b.load_state_dict(a.state_dict())
    x = torch.randn(2, 7, 4, 3)
    mask = torch.arange(7)[None] < torch.tensor([[7], [3]])
    a.eval(), b.eval()
    torch.testing.assert_close(b(x, mask).logits, a(x, mask).logits / torch.tensor([[7.0], [3.0]]))
    with pytest.raises(ConfigError, match="readout"):
        build_sta_lstm("sta-lstm", 4, 3, readout="max")
