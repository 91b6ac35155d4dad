"""Eq. (7): each term by hand, masking, the models, lambda validation, gradient flow."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from stalib.errors import ConfigError
from stalib.loss import LossConfig, LossTerms, sta_loss
from stalib.models.base import ModelOutput
from stalib.models.sta_lstm import PARTS, build_sta_lstm

CFG = LossConfig(lambda1=0.1, lambda2=0.01, lambda3=0.001)


def tiny_example():
    """B=2, T=3 padded, K=2, C=2; the second sequence has 2 real frames and garbage after."""
    mask = torch.tensor([[True, True, True], [True, True, False]])
    out = ModelOutput(
        logits=torch.tensor([[1.0, 0.0], [0.0, 2.0]]),
        alpha=torch.tensor([[[0.5, 0.5], [0.2, 0.8], [0.8, 0.2]],
                            [[0.1, 0.9], [0.3, 0.7], [99.0, 99.0]]]),
        beta=torch.tensor([[1.0, 2.0, 3.0], [0.5, 1.5, 7.0]]),
    )
    labels = torch.tensor([0, 0])
    weights = [torch.tensor([[1.0, -2.0], [3.0, 0.0]]), torch.tensor([-0.5])]
    return out, labels, mask, weights


def test_terms_by_hand():
    out, labels, mask, weights = tiny_example()
    terms = sta_loss(out, labels, mask, CFG, weights)
    ce = (math.log(1 + math.exp(-1)) + math.log(1 + math.exp(2))) / 2
    # sequence 0 (T=3): sum_t alpha = (1.5, 1.5) -> (1 - 0.5)^2 * 2 = 0.5
    # sequence 1 (T=2): sum_t alpha = (0.4, 1.6) -> (1 - 0.2)^2 + (1 - 0.8)^2 = 0.68
    alpha_reg = 0.1 * (0.5 + 0.68) / 2
    beta_reg = 0.01 * (6.0 / 3 + 2.0 / 2) / 2  # mean over t of |beta_t| on real frames
    l1 = 0.001 * 6.5
    for got, want in [(terms.ce, ce), (terms.alpha_reg, alpha_reg), (terms.beta_reg, beta_reg),
                      (terms.l1, l1), (terms.total, ce + alpha_reg + beta_reg + l1)]:
        assert float(got) == pytest.approx(want, rel=1e-6)
    d = terms.as_dict()
    assert set(d) == {"ce", "alpha_reg", "beta_reg", "l1", "total"}
    assert all(isinstance(v, float) for v in d.values())
    assert d["alpha_reg"] == pytest.approx(alpha_reg, rel=1e-6)


def test_padding_and_batch_composition_do_not_matter():
    """The loss of a padded batch is the mean of the per-sequence losses computed unpadded."""
    out, labels, mask, weights = tiny_example()
    batch = sta_loss(out, labels, mask, CFG, weights)
    singles = []
    for i, n in enumerate([3, 2]):
        o = ModelOutput(logits=out.logits[i : i + 1], alpha=out.alpha[i : i + 1, :n],
                        beta=out.beta[i : i + 1, :n])
        singles.append(sta_loss(o, labels[i : i + 1], mask[i : i + 1, :n], CFG, weights))
    for name in ("ce", "alpha_reg", "beta_reg", "l1", "total"):
        want = (getattr(singles[0], name) + getattr(singles[1], name)) / 2
        assert float(getattr(batch, name)) == pytest.approx(float(want), rel=1e-6), name


def test_beta_term_uses_absolute_value():
    out, labels, mask, weights = tiny_example()
    out.beta = -out.beta
    assert float(sta_loss(out, labels, mask, CFG).beta_reg) == pytest.approx(0.01 * 1.5)


@pytest.mark.parametrize("name", sorted(PARTS))
def test_model_flags_select_terms(name):
    v = PARTS[name]
    out, labels, mask, weights = tiny_example()
    out.alpha = out.alpha if v.spatial else None
    out.beta = out.beta if v.temporal else None
    terms = sta_loss(out, labels, mask, CFG, weights,
                     use_alpha_reg=v.use_alpha_reg, use_beta_reg=v.use_beta_reg)
    assert (float(terms.alpha_reg) > 0) == (v.spatial and v.use_alpha_reg)
    assert (float(terms.beta_reg) > 0) == (v.temporal and v.use_beta_reg)
    if name.endswith("-noreg") or name == "lstm":
        assert float(terms.alpha_reg) == 0 and float(terms.beta_reg) == 0
        assert float(terms.total) == pytest.approx(float(terms.ce + terms.l1))
    assert float(terms.l1) == pytest.approx(0.001 * 6.5)  # the 4th term is always there


def test_absent_attention_gives_zero_terms_even_when_asked_for():
    out, labels, mask, _ = tiny_example()
    out.alpha = out.beta = None
    terms = sta_loss(out, labels, mask, CFG)
    assert float(terms.alpha_reg) == 0 and float(terms.beta_reg) == 0 and float(terms.l1) == 0
    assert float(terms.total) == pytest.approx(float(terms.ce))


def test_lambda_presets_and_validation():
    assert LossConfig.sbu() == LossConfig(0.001, 0.0001, 0.0005) == LossConfig()
    assert LossConfig.ntu() == LossConfig(0.01, 0.001, 0.00005)
    assert LossConfig.for_dataset("NTU") == LossConfig.ntu()
    assert LossConfig(np.float32(0.5), 0, 0).lambda1 == 0.5
    with pytest.raises(ConfigError, match="dataset"):
        LossConfig.for_dataset("kinetics")
    for bad in (-1e-9, float("nan"), float("inf"), "0.1", None, True):
        for name in ("lambda1", "lambda2", "lambda3"):
            with pytest.raises(ConfigError, match=name):
                LossConfig(**{name: bad})


def test_l1_covers_weight_matrices_not_biases():
    torch.manual_seed(0)
    model = build_sta_lstm("sta-lstm", 4, 3, hidden=6, spatial_hidden=5, main_layers=2)
    x = torch.randn(2, 5, 4, 3)
    mask = torch.ones(2, 5, dtype=torch.bool)
    labels = torch.tensor([0, 2])
    cfg = LossConfig(0.0, 0.0, 0.5)
    with torch.no_grad():
        want = 0.5 * sum(p.abs().sum() for n, p in model.named_parameters() if "weight" in n)
        l1 = sta_loss(model(x, mask), labels, mask, cfg, model.weight_matrices()).l1
        assert float(l1) == pytest.approx(float(want), rel=1e-6)
        for n, p in model.named_parameters():
            if "bias" in n:
                p.add_(10.0)
        assert float(sta_loss(model(x, mask), labels, mask, cfg,
                              model.weight_matrices()).l1) == pytest.approx(float(l1), rel=1e-6)
        model.temporal_enabled = False
        off = sta_loss(model(x, mask), labels, mask, cfg, model.weight_matrices()).l1
        temporal = 0.5 * sum(w.abs().sum() for w in model.temporal.weight_matrices())
        assert float(off) == pytest.approx(float(l1 - temporal), rel=1e-6)


@pytest.mark.parametrize("spatial,temporal",
                         [(True, True), (True, False), (False, True), (False, False)])
def test_gradient_reaches_enabled_subnetworks_only(spatial, temporal):
    torch.manual_seed(1)
    model = build_sta_lstm("sta-lstm", 4, 3, hidden=6, spatial_hidden=5, main_layers=2,
                           dropout=0.0)
    model.spatial_enabled, model.temporal_enabled = spatial, temporal
    g = torch.Generator().manual_seed(2)
    x = torch.randn(3, 6, 4, 3, generator=g)
    mask = torch.arange(6)[None, :] < torch.tensor([6, 4, 2])[:, None]
    terms = sta_loss(model(x, mask), torch.tensor([0, 1, 2]), mask, LossConfig.ntu(),
                     model.weight_matrices())
    assert isinstance(terms, LossTerms)
    terms.total.backward()
    for group, on in [("main", True), ("spatial", spatial), ("temporal", temporal)]:
        for name, p in getattr(model, group).named_parameters():
            if on:
                assert p.grad is not None and p.grad.abs().sum() > 0, f"{group}.{name}"
            else:
                assert p.grad is None, f"{group}.{name}"


def test_regularizer_gradients_push_the_right_way():
    """Alpha term pulls attention towards equal weights; beta term shrinks beta."""
    alpha_logits = torch.tensor([[[2.0, 0.0, 0.0]]] * 2).repeat(1, 4, 1).requires_grad_()
    beta = torch.full((2, 4), 2.0, requires_grad=True)
    mask = torch.ones(2, 4, dtype=torch.bool)
    out = ModelOutput(logits=torch.zeros(2, 2), alpha=torch.softmax(alpha_logits, -1), beta=beta)
    sta_loss(out, torch.tensor([0, 1]), mask, LossConfig(1.0, 1.0, 0.0)).total.backward()
    assert (alpha_logits.grad[..., 0] > 0).all()  # gradient descent lowers the dominant joint
    assert (beta.grad > 0).all()


def test_l1_mean_reading_is_the_sum_over_the_number_of_weights():
    out, labels, mask, weights = tiny_example()
    mean = sta_loss(out, labels, mask, LossConfig(0, 0, 0.5, "mean"), weights).l1
    assert float(mean) == pytest.approx(0.5 * (1 + 2 + 3 + 0 + 0.5) / 5)
    total = sta_loss(out, labels, mask, LossConfig(0, 0, 0.5), weights).l1
    assert float(total) == pytest.approx(0.5 * 6.5)
    with pytest.raises(ConfigError, match="l1_reading"):
        LossConfig(0, 0, 0.5, "max")
