"""Preprocessing transforms, each alone, and the settings dataclasses."""

from __future__ import annotations

import numpy as np
import pytest

from stalib.data.transforms import (
    SBU_TO_METRES,
    Centre,
    Compose,
    NpzPreprocess,
    NTUPreprocess,
    SBUPreprocess,
    SBUUnnormalize,
    TemporalSmooth,
    UTKinectPreprocess,
    ViewNormalize,
    absent_mask,
    view_rotation,
)
from stalib.errors import ConfigError

NTU_BONES = [(0, 1), (1, 20), (20, 2), (2, 3), (20, 4), (4, 5), (5, 6), (20, 8), (8, 9),
             (9, 10), (0, 12), (12, 13), (0, 16), (16, 17)]


def random_body(rng, t=6, k=25) -> np.ndarray:
    """A ``(t, k, 3)`` sequence with a randomly oriented body (NTU joint order)."""
    seq = rng.normal(0.0, 0.3, size=(t, k, 3))
    seq[:, 4] += [0.3, 0.4, 0.0]  # left shoulder
    seq[:, 8] += [-0.3, 0.4, 0.0]  # right shoulder
    seq[:, 20] += [0.0, 0.6, 0.0]  # spine shoulder above the spine base
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    return (seq @ q.T + rng.normal(size=3) * 2).astype(np.float32)


# --------------------------------------------------------------------------- smoothing
def test_savgol_weights_are_du_et_al():
    np.testing.assert_allclose(TemporalSmooth().weights() * 35, [-3, 12, 17, 12, -3], atol=1e-9)
    for method in TemporalSmooth.METHODS:
        assert TemporalSmooth(method, 7).weights().sum() == pytest.approx(1.0)


@pytest.mark.parametrize("method", TemporalSmooth.METHODS)
@pytest.mark.parametrize("t", [1, 2, 3, 4, 5, 9, 30])
def test_smoothing_constant_is_identity_and_keeps_length(method, t):
    seq = np.tile(np.array([[0.5, -1.0, 2.0]], dtype=np.float32), (t, 4, 1)).reshape(t, 4, 3)
    out = TemporalSmooth(method, 5)(seq)
    assert out.shape == seq.shape and out.dtype == np.float32
    np.testing.assert_allclose(out, seq, atol=1e-6)


def test_savgol_keeps_quadratics_everywhere_and_reduces_noise():
    t = np.arange(20, dtype=np.float64)
    quad = (0.01 * t**2 - 0.2 * t + 1)[:, None, None] * np.ones((1, 3, 3))
    np.testing.assert_allclose(TemporalSmooth()(quad), quad, atol=1e-5)
    rng = np.random.default_rng(0)
    noisy = quad + rng.normal(0, 0.05, quad.shape)
    assert np.abs(TemporalSmooth()(noisy) - quad).mean() < np.abs(noisy - quad).mean()


def test_moving_average_values_and_edges():
    seq = np.arange(1, 6, dtype=np.float32)[:, None, None] * np.ones((1, 1, 3))
    out = TemporalSmooth("mean", 3)(seq)[:, 0, 0]
    np.testing.assert_allclose(out, [1.5, 2, 3, 4, 4.5])  # edges: the part inside, renormalised


def test_smoothing_keeps_absent_joints_at_zero():
    seq = np.ones((6, 2, 3), dtype=np.float32)
    seq[:, 1] = 0.0
    out = TemporalSmooth()(seq)
    assert np.all(out[:, 1] == 0) and np.allclose(out[:, 0], 1)


@pytest.mark.parametrize("kwargs", [dict(method="median"), dict(window=4), dict(window=0),
                                    dict(window=5, polyorder=5)])
def test_smoothing_rejects_bad_settings(kwargs):
    with pytest.raises(ValueError):
        TemporalSmooth(**kwargs)


# --------------------------------------------------------------------------- SBU, centring
def test_sbu_unnormalize_formula():
    seq = np.array([[[0.25, 0.5, 2.0], [0.0, 0.0, 0.0]]], dtype=np.float32)
    raw = SBUUnnormalize(scale=1.0)(seq)
    np.testing.assert_allclose(raw[0, 0], [1280 - 2560 * 0.25, 960 - 1920 * 0.5, 2.0 * 1280])
    assert np.all(raw[0, 1] == 0)  # absent stays absent
    metres = SBUUnnormalize()(seq)
    np.testing.assert_allclose(metres[0, 0], raw[0, 0] * SBU_TO_METRES, rtol=1e-6)
    np.testing.assert_allclose(metres[0, 0], [0.5, 0.0, 2.0], atol=1e-6)
    with pytest.raises(ValueError):
        SBUUnnormalize(scale=0)


def test_centre_puts_joint_of_first_frame_at_origin_and_keeps_motion():
    rng = np.random.default_rng(1)
    seq = rng.normal(size=(5, 30, 3)).astype(np.float32)
    out = Centre(2)(seq)
    np.testing.assert_allclose(out[0, 2], 0, atol=1e-6)
    np.testing.assert_allclose(out - out[:, :1], seq - seq[:, :1], atol=1e-5)  # a translation
    seq[0, 2] = 0  # joint absent in frame 0: the first frame where it is tracked is used
    np.testing.assert_allclose(Centre(2)(seq)[1, 2], 0, atol=1e-6)
    with pytest.raises(ValueError, match="not tracked in any frame"):
        Centre(2)(np.zeros((3, 30, 3)))


# --------------------------------------------------------------------------- view normalisation
def test_view_rotation_is_orthonormal():
    rng = np.random.default_rng(2)
    for _ in range(20):
        r = view_rotation(random_body(rng)[0])
        np.testing.assert_allclose(r @ r.T, np.eye(3), atol=1e-9)
        assert np.linalg.det(r) == pytest.approx(1.0)


def test_view_normalize_origin_axes_and_bone_lengths():
    rng = np.random.default_rng(3)
    body = random_body(rng, t=8, k=50)
    body[:3, 25:] = 0.0  # person 2 absent in the first frames
    out = ViewNormalize()(body)
    assert out.shape == body.shape
    np.testing.assert_allclose(out[0, 1], 0, atol=1e-5)  # spine mid of frame 0 at the origin
    shoulders = out[0, 4] - out[0, 8]  # right -> left shoulder along +x
    np.testing.assert_allclose(shoulders[1:], 0, atol=1e-5)
    assert shoulders[0] > 0
    spine = out[0, 20] - out[0, 0]
    assert abs(spine[2]) < 1e-5 and spine[1] > 0  # spine in the x-y plane, pointing up
    for a, b in NTU_BONES:  # a rigid motion: bone lengths kept in every frame
        np.testing.assert_allclose(np.linalg.norm(out[:, a] - out[:, b], axis=-1),
                                   np.linalg.norm(body[:, a] - body[:, b], axis=-1), rtol=1e-4)
    assert np.all(out[:3, 25:] == 0)  # absent person stays zero
    scaled = ViewNormalize(scale=True)(body)
    assert np.linalg.norm(scaled[0, 20] - scaled[0, 0]) == pytest.approx(1.0, rel=1e-5)


def test_view_normalize_degenerate():
    seq = np.ones((2, 25, 3), dtype=np.float32)
    with pytest.raises(ValueError, match="shoulders coincide"):
        ViewNormalize()(seq)


def test_absent_mask():
    seq = np.zeros((2, 3, 3))
    seq[0, 1] = [0, 0, 1e-9]
    assert absent_mask(seq).tolist() == [[True, False, True], [True, True, True]]


def test_absent_mask_is_the_all_zero_test_of_each_joint():
    """Where exactly one or two coordinates are 0 the joint is tracked; any shape (T, K, 3) or
    a lone frame; other last axes fall back to the plain reduction."""
    rng = np.random.default_rng(0)
    seq = rng.normal(size=(40, 7, 3))
    seq[rng.random((40, 7, 3)) < 0.4] = 0.0  # single zero coordinates
    seq[rng.random((40, 7)) < 0.3] = 0.0  # whole joints
    want = np.all(seq == 0, axis=-1)
    assert 0 < want.sum() < want.size and np.array_equal(absent_mask(seq), want)
    assert np.array_equal(absent_mask(seq[0]), want[0])
    assert absent_mask(np.zeros((2, 3, 2))).tolist() == [[True] * 3] * 2


# --------------------------------------------------------------------------- compose, settings
def test_compose_order():
    add = lambda s: s + 1  # noqa: E731
    dbl = lambda s: s * 2  # noqa: E731
    seq = np.ones((1, 1, 3), dtype=np.float32)
    assert Compose([add, dbl])(seq)[0, 0, 0] == 4
    assert Compose([dbl, add])(seq)[0, 0, 0] == 3
    assert len(Compose([])) == 0 and np.array_equal(Compose([])(seq), seq)


def test_paper_defaults():
    sbu = SBUPreprocess().build()
    assert [type(t) for t in sbu.transforms] == [SBUUnnormalize, TemporalSmooth, Centre]
    smooth = sbu.transforms[1]
    assert (smooth.method, smooth.window, smooth.polyorder) == ("savgol", 5, 2)
    assert sbu.transforms[2].joint == 2  # torso
    assert [type(t) for t in NTUPreprocess().build().transforms] == [ViewNormalize]
    assert [type(t) for t in UTKinectPreprocess().build().transforms] == [Centre]
    assert len(NpzPreprocess().build()) == 0
    assert SBUPreprocess().fingerprint() == SBUPreprocess().fingerprint()
    assert SBUPreprocess().fingerprint() != SBUPreprocess(smooth=None).fingerprint()
    assert "TemporalSmooth" in SBUPreprocess().describe()
    assert NpzPreprocess().describe() == "none"


def test_settings_validated():
    with pytest.raises(ConfigError, match="SBUPreprocess: TemporalSmooth: window"):
        SBUPreprocess(smooth_window=4)
    with pytest.raises(ConfigError):
        NTUPreprocess(smooth="spline")


def test_sbu_pipeline_on_sequence():
    rng = np.random.default_rng(4)
    seq = rng.uniform(0.2, 0.8, size=(12, 30, 3)).astype(np.float32)
    seq[..., 2] += 1.5
    out = SBUPreprocess().build()(seq)
    assert out.shape == seq.shape
    np.testing.assert_allclose(out[0, 2], 0, atol=1e-6)


def test_resample_gives_every_real_sequence_the_same_length_and_keeps_its_ends(sbu_data):
    from stalib.data.transforms import Resample

    step = Resample(32)
    for i in range(0, len(sbu_data), 20):
        seq = sbu_data[i]
        out = step(seq)
        assert out.shape == (32, *seq.shape[1:]) and out.dtype == np.float32
        np.testing.assert_allclose(out[0], seq[0], atol=1e-6)
        np.testing.assert_allclose(out[-1], seq[-1], atol=1e-6)
        # a frame between two frames lies on the segment between them
        lo, hi = seq.min(axis=0), seq.max(axis=0)
        assert (out >= lo - 1e-5).all() and (out <= hi + 1e-5).all()


def test_resample_is_exact_on_linear_motion_and_invents_no_joint():
    from stalib.data.transforms import Resample

    t = np.arange(5, dtype=np.float32)
    seq = np.stack([np.stack([t, 2 * t + 1, -t], -1)] * 2, 1)  # (5, 2, 3), moving linearly
    out = Resample(9)(seq)
    np.testing.assert_allclose(out[:, 0, 0], np.linspace(0, 4, 9), atol=1e-6)
    seq[2, 1] = 0.0  # joint 1 absent in frame 2
    out = Resample(9)(seq)
    assert (out[3:6, 1] == 0).all()  # every frame that reads frame 2 keeps it absent
    assert (out[:3, 1] != 0).any() and (out[6:, 1] != 0).all()
    assert (Resample(4)(seq[:1]) == seq[:1]).all()  # one frame, repeated
    with pytest.raises(ValueError, match="resample must be a number of frames >= 2"):
        Resample(1)


def test_the_resample_setting_runs_after_the_steps_and_keeps_the_cache_key(data_root):
    from stalib.data.registry import load_dataset, preprocess_settings
    from stalib.data.transforms import Resample

    plain = preprocess_settings("sbu", {"view_normalize": True})
    fixed = preprocess_settings("sbu", {"view_normalize": True, "resample": 16})
    assert fixed.describe() == plain.describe() + " -> Resample(16)"
    assert fixed.fingerprint() == plain.fingerprint()  # NTU caches are built before it
    a = load_dataset("sbu", data_root, preprocess=plain)
    b = load_dataset("sbu", data_root, preprocess=fixed)
    assert (np.diff(b.offsets) == 16).all() and len(b) == len(a)
    np.testing.assert_array_equal(b[7], Resample(16)(a[7]))
    with pytest.raises(ConfigError, match="resample must be a number of frames >= 2"):
        preprocess_settings("sbu", {"resample": 0})
