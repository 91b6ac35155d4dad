"""CSTA-CNN: coupled map, ablations, padding, gradients, regularizer, and a tiny overfit."""

from __future__ import annotations

import pytest
import torch

from stalib.errors import ConfigError
from stalib.models.csta import CSTA_PARTS, build_csta
from stalib.models.hcn import resample

pytestmark = pytest.mark.usefixtures("one_thread")


def padded(seqs: list[torch.Tensor], t_max: int, fill: float = 0.0):
    x = torch.full((len(seqs), t_max, *seqs[0].shape[1:]), fill)
    for b, s in enumerate(seqs):
        x[b, : len(s)] = s
    lengths = torch.tensor([len(s) for s in seqs])
    return x, torch.arange(t_max)[None] < lengths[:, None]


@pytest.mark.parametrize("name", list(CSTA_PARTS))
def test_shapes_and_zero_attention_on_padding(name):
    torch.manual_seed(0)
    model = build_csta(name, 30, 5, persons=2).eval()
    x, mask = padded([torch.randn(L, 30, 3) for L in (45, 32, 9, 1)], 45)
    out = model(x, mask)
    assert out.logits.shape == (4, 5)
    if name == "hcn":
        assert out.alpha is None and out.beta is None
        return
    assert out.alpha.shape == (4, 45, 30) and out.beta.shape == (4, 45)
    assert not out.alpha[~mask].any() and not out.beta[~mask].any()
    assert (out.beta[mask] > 0).all()
    assert torch.allclose(model.joint_weights.mean(1), torch.ones(4))
    assert torch.allclose(model.frame_weights.mean(1), torch.ones(4))


@pytest.mark.parametrize("name", list(CSTA_PARTS))
def test_padding_with_garbage_changes_nothing(name):
    torch.manual_seed(0)
    model = build_csta(name, 10, 3, persons=2).eval()
    seqs = [torch.randn(L, 10, 3) for L in (40, 17, 32)]
    x, mask = padded(seqs, 40)
    xg, _ = padded(seqs, 55, fill=float("nan"))
    xg[:, 45:] = -3e5
    mg = torch.cat([mask, torch.zeros(3, 15, dtype=torch.bool)], 1)
    ref, out = model(x, mask), model(xg, mg)
    assert torch.allclose(out.logits, ref.logits, atol=1e-5)
    if name != "hcn":
        assert torch.allclose(out.alpha[:, :40], ref.alpha, atol=1e-6)
        assert not out.alpha[:, 40:].any() and not out.beta[:, 40:].any()


def test_coupled_map_is_the_outer_product_and_multiplies_the_input():
    torch.manual_seed(0)
    model = build_csta("csta-cnn", 12, 4, persons=2).eval()
    x, mask = padded([torch.randn(L, 12, 3) for L in (32, 50, 20)], 50)
    seen = {}
    classify = model.backbone.classify
    model.backbone.classify = lambda pos, mot: seen.setdefault("pos", pos) is not None and \
        classify(pos, mot)
    out = model(x, mask)
    a, b = model.joint_weights, model.frame_weights  # (B, K), (B, F) on the grid
    A = b[:, :, None] * a[:, None, :]
    assert torch.allclose(seen["pos"], A[..., None] * resample(x, mask, 32))
    assert torch.allclose(out.alpha, out.beta[:, :, None] * a[:, None, :])
    assert torch.allclose(out.alpha[0, :32], A[0]) and torch.allclose(out.beta[0, :32], b[0])
    assert (a.std(1) > 0).all() and (b.std(1) > 0).all()  # both factors really vary


def test_each_ablation_uses_only_its_branch():
    torch.manual_seed(0)
    x, mask = padded([torch.randn(L, 10, 3) for L in (30, 12)], 30)
    joint = build_csta("hcn-joint", 10, 3, persons=2).eval()
    out = joint(x, mask)
    assert joint.frame_attn is None and torch.equal(joint.frame_weights, torch.ones(2, 32))
    assert torch.equal(out.beta, mask.float())
    assert torch.allclose(out.alpha, mask[..., None] * joint.joint_weights[:, None, :])
    frame = build_csta("hcn-frame", 10, 3, persons=2).eval()
    out = frame(x, mask)
    assert frame.joint_attn is None and torch.equal(frame.joint_weights, torch.ones(2, 10))
    assert torch.equal(out.alpha, out.beta[:, :, None].expand(2, 30, 10))
    hcn = build_csta("hcn", 10, 3, persons=2)
    assert hcn.joint_attn is None and hcn.frame_attn is None


def test_gradients_reach_both_attention_branches():
    torch.manual_seed(0)
    model = build_csta("csta-cnn", 30, 4, persons=2)
    x, mask = padded([torch.randn(L, 30, 3) for L in (40, 21)], 40)
    out = model(x, mask)
    (torch.nn.functional.cross_entropy(out.logits, torch.tensor([0, 3]))
     + model.attention_regularizer()).backward()
    for branch in (model.joint_attn, model.frame_attn):
        for name, p in branch.named_parameters():
            assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_swapping_persons_swaps_joint_weights_and_keeps_logits():
    torch.manual_seed(0)
    model = build_csta("csta-cnn", 30, 4, persons=2).eval()
    x, mask = padded([torch.randn(L, 30, 3) for L in (40, 21)], 40)
    ref = model(x, mask)
    a = model.joint_weights
    out = model(torch.cat([x[:, :, 15:], x[:, :, :15]], 2), mask)
    assert torch.allclose(out.logits, ref.logits, atol=1e-5)
    assert torch.allclose(model.joint_weights, torch.cat([a[:, 15:], a[:, :15]], 1), atol=1e-6)
    assert torch.allclose(out.beta, ref.beta, atol=1e-6)


def test_attention_regularizer():
    x, mask = padded([torch.randn(L, 10, 3) for L in (30, 12)], 30)
    model = build_csta("csta-cnn", 10, 3, persons=2, joint_reg=0.5)
    with pytest.raises(RuntimeError):
        model.attention_regularizer()
    model(x, mask)
    a = model.joint_weights
    assert torch.allclose(model.attention_regularizer(), 0.5 * ((1 - a) ** 2).sum(1).mean())
    torch.nn.init.zeros_(model.joint_attn.score.weight)
    torch.nn.init.zeros_(model.joint_attn.score.bias)
    model(x, mask)  # uniform joint weights: nothing to penalize
    assert model.attention_regularizer().item() == pytest.approx(0.0, abs=1e-10)
    for name in ("hcn", "hcn-frame"):
        m = build_csta(name, 10, 3, persons=2)
        m(x, mask)
        assert m.attention_regularizer().item() == 0.0


def test_factory_checks_its_arguments():
    with pytest.raises(ConfigError):
        build_csta("sta-cnn", 10, 3)
    with pytest.raises(ConfigError):
        build_csta("csta-cnn", 10, 3, persons=3)
    with pytest.raises(ConfigError):
        build_csta("hcn", 10, 3, joint_attention=True)  # fixed by the model
    with pytest.raises(ConfigError):
        build_csta("hcn", 10, 3, chanels=3)
    model = build_csta("csta-cnn", 10, 3, persons=2, frames=48, dropout=0.0)
    assert model.config.frames == 48 and model.J == 5 and model.P == 2
    n_lin = sum(isinstance(m, (torch.nn.Linear, torch.nn.Conv1d, torch.nn.Conv2d))
                for m in model.modules())
    assert len(model.weight_matrices()) == n_lin == 12 + 4


def test_overfits_a_tiny_two_class_set():
    """Class 0 waves joint 2 of person 0 along x, class 1 along y; lengths vary from 12 to 60."""
    torch.manual_seed(0)
    seqs, labels = [], []
    for i in range(16):
        L = 12 + 3 * i
        s = 0.05 * torch.randn(L, 10, 3)
        s[:, 2, i % 2] += torch.sin(torch.linspace(0, 6.28, L))
        seqs.append(s)
        labels.append(i % 2)
    x, mask = padded(seqs, 60)
    y = torch.tensor(labels)
    model = build_csta("csta-cnn", 10, 2, persons=2, dropout=0.0)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(30):
        out = model(x, mask)
        loss = torch.nn.functional.cross_entropy(out.logits, y) + model.attention_regularizer()
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    assert (model(x, mask).logits.argmax(1) == y).all()
    assert loss.item() < 0.05


@pytest.mark.parametrize("name", list(CSTA_PARTS))
def test_input_scaling_reaches_attention_and_backbone(name):
    torch.manual_seed(0)
    model = build_csta(name, 10, 3, persons=2, input_scaling="minmax", frames=16).eval()
    x, mask = padded([torch.rand(L, 10, 3) + 0.5 for L in (30, 11)], 30)
    moved = torch.where(mask[:, :, None, None], 3 * x + 1, x)
    ref, out = model(x, mask), model(moved, mask)
    assert torch.allclose(out.logits, ref.logits, atol=1e-5)
    if name != "hcn":
        assert torch.allclose(out.alpha, ref.alpha, atol=1e-5)
