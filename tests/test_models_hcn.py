"""HCN backbone: shapes, the fixed-length input rule, padding invariance, person symmetry."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from stalib.errors import ConfigError
from stalib.models.hcn import HCN, HCNConfig, interp_time, minmax_scale, motion, resample

pytestmark = pytest.mark.usefixtures("one_thread")


def padded(seqs: list[torch.Tensor], t_max: int, fill: float = float("nan")):
    """Pad ``(L, K, 3)`` sequences to ``(B, t_max, K, 3)`` with ``fill`` (garbage) beyond ends."""
    x = torch.full((len(seqs), t_max, *seqs[0].shape[1:]), fill)
    for b, s in enumerate(seqs):
        x[b, : len(s)] = s
    lengths = torch.tensor([len(s) for s in seqs])
    return x, torch.arange(t_max)[None] < lengths[:, None]


def test_shapes_and_parameter_count():
    torch.manual_seed(0)
    for P, J in [(2, 15), (1, 20)]:
        model = HCN(J, P, 7).eval()
        x, mask = padded([torch.randn(L, P * J, 3) for L in (40, 12, 1)], 40, fill=0.0)
        assert model(x, mask).logits.shape == (3, 7)
    n = sum(p.numel() for p in HCN(15, 2, 8).parameters())
    assert n == 765_768  # HCN channels 64, 32, 32, 64, 128, 256, fc 256 at 32 frames


def test_padding_never_changes_logits():
    torch.manual_seed(0)
    model = HCN(5, 2, 4).eval()
    seqs = [torch.randn(L, 10, 3) for L in (50, 23, 7, 32, 1)]
    x, mask = padded(seqs, 50, fill=0.0)
    x_garbage, _ = padded(seqs, 71, fill=float("nan"))
    x_garbage[:, 60:] = 1e6
    mask_garbage = torch.cat([mask, torch.zeros(5, 21, dtype=torch.bool)], 1)
    ref = model(x, mask).logits
    assert torch.allclose(model(x_garbage, mask_garbage).logits, ref, atol=1e-5)
    for b, s in enumerate(seqs):  # alone in its batch, unpadded
        alone = model(s[None], torch.ones(1, len(s), dtype=torch.bool)).logits
        assert torch.allclose(alone[0], ref[b], atol=1e-5)


def test_resample_keeps_a_sequence_of_exactly_frames():
    x = torch.randn(2, 40, 6, 3)
    mask = torch.arange(40)[None] < torch.tensor([32, 32])[:, None]
    assert torch.equal(resample(x, mask, 32), x[:, :32])


@pytest.mark.parametrize("L", [2, 10, 31, 33, 47, 300])
def test_resample_of_a_linear_ramp_is_a_linear_ramp(L):
    t = torch.arange(L, dtype=torch.float32)
    x = torch.zeros(1, L + 5, 4, 3)
    x[0, :L] = (2.0 + 0.5 * t)[:, None, None]
    mask = torch.arange(L + 5)[None] < L
    y = resample(x, mask, 32)[0, :, 0, 0]
    expected = 2.0 + 0.5 * torch.arange(32) * (L - 1) / 31  # ends on the first and last frame
    assert torch.allclose(y, expected, atol=1e-4)


def test_resample_repeats_a_single_frame_and_interp_time_zeroes_beyond_its_length():
    x = torch.zeros(1, 3, 2, 3)
    x[0, 0] = 1.5
    mask = torch.tensor([[True, False, False]])
    assert torch.equal(resample(x, mask, 16), torch.full((1, 16, 2, 3), 1.5))
    y = torch.arange(8.0)[None].repeat(2, 1)  # (B, 8): back from a grid of 8 onto 5 and 3 frames
    out = interp_time(y, torch.tensor([8, 8]), torch.tensor([5, 3]), 6)
    assert torch.allclose(out[0], torch.tensor([0.0, 1.75, 3.5, 5.25, 7.0, 0.0]))
    assert torch.allclose(out[1], torch.tensor([0.0, 3.5, 7.0, 0.0, 0.0, 0.0]))


def test_motion_is_frame_difference_with_zero_last_frame():
    x = torch.randn(2, 5, 3, 3)
    m = motion(x)
    assert torch.equal(m[:, :4], x[:, 1:] - x[:, :-1]) and not m[:, 4].any()


def test_swapping_persons_gives_the_same_logits():
    torch.manual_seed(0)
    model = HCN(15, 2, 6).eval()
    x, mask = padded([torch.randn(L, 30, 3) for L in (40, 25)], 40, fill=0.0)
    swapped = torch.cat([x[:, :, 15:], x[:, :, :15]], dim=2)
    assert torch.allclose(model(x, mask).logits, model(swapped, mask).logits, atol=1e-6)


def test_weight_matrices_are_the_kernels_without_biases():
    model = HCN(15, 2, 6)
    mats = model.weight_matrices()
    layers = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert len(mats) == len(layers) == 2 * 4 + 2 + 2
    assert all(w.dim() >= 2 for w in mats)


def test_bad_config_and_inputs_are_refused():
    with pytest.raises(ConfigError):
        HCN(15, 2, 6, HCNConfig(frames=8))
    model = HCN(3, 1, 2)
    with pytest.raises(ValueError):
        model(torch.zeros(1, 4, 5, 3), torch.ones(1, 4, dtype=torch.bool))  # wrong K
    with pytest.raises(ValueError):
        model(torch.zeros(1, 4, 3, 3), torch.tensor([[True, False, True, False]]))  # not a prefix


def test_no_dropout_feeds_a_max_pool():
    """Dropout in front of a max-pool makes the pool see a different distribution in training and
    evaluation (an early version lost 45 points of accuracy in eval mode to this)."""
    model = HCN(15, 2, 8)
    for seq in (m for m in model.modules() if isinstance(m, nn.Sequential)):
        layers = list(seq)
        for a, b in zip(layers, layers[1:], strict=False):
            assert not (isinstance(a, nn.Dropout) and isinstance(b, nn.MaxPool2d)), seq


def test_minmax_scale_spans_0_to_1_per_axis_over_real_frames_and_present_joints():
    torch.manual_seed(0)
    a, b = torch.randn(9, 4, 3) * 5 + 2, torch.randn(4, 4, 3)
    a[:, 3] = 0.0  # an absent joint (as an absent person is stored)
    b[:, 1, 2] = 0.7  # constant z on one joint does not make the axis flat
    x, mask = padded([a, b], 9, fill=float("nan"))
    y = minmax_scale(x, mask)
    for i, n in enumerate((9, 4)):
        real = y[i, :n, :3 if i == 0 else 4].reshape(-1, 3)
        assert torch.allclose(real.amin(0), torch.zeros(3)) and torch.allclose(real.amax(0),
                                                                               torch.ones(3))
    assert (y[0, :, 3] == 0).all() and (y[1, 4:] == 0).all()  # absent joint, padded frames


def test_minmax_scale_forgets_position_and_per_axis_scale_and_zeroes_a_flat_axis():
    torch.manual_seed(0)
    x, mask = padded([torch.rand(6, 5, 3) + 0.5, torch.rand(3, 5, 3) + 0.5], 6, fill=0.0)
    moved = x * torch.tensor([3.0, 0.5, 2.0]) + torch.tensor([1.0, -4.0, 9.0])
    assert torch.allclose(minmax_scale(moved, mask)[mask], minmax_scale(x, mask)[mask],
                          atol=1e-6)
    x[:, :, :, 1] = 2.5  # every y the same: nothing to scale
    assert (minmax_scale(x, mask)[..., 1] == 0).all()


@pytest.mark.parametrize("scaling", ["none", "minmax"])
def test_input_scaling_is_applied_inside_the_model(scaling):
    torch.manual_seed(0)
    model = HCN(5, 1, 4, HCNConfig(input_scaling=scaling)).eval()
    x, mask = padded([torch.rand(L, 5, 3) + 0.5 for L in (20, 9)], 20, fill=0.0)
    moved = torch.where(mask[:, :, None, None], 4 * x - 2, x)
    same = torch.allclose(model(moved, mask).logits, model(x, mask).logits, atol=1e-5)
    assert same == (scaling == "minmax")  # only min-max scaling forgets where and how large
    with pytest.raises(ConfigError, match="input_scaling"):
        HCN(5, 1, 4, HCNConfig(input_scaling="zscore"))
