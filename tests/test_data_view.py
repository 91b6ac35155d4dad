"""View normalisation of every dataset (stalib.data.transforms: YawAlign, the view settings of
the *Preprocess dataclasses), on real sequences and on made-up ones."""

from __future__ import annotations

import numpy as np
import pytest

from stalib.config import TrainConfig
from stalib.data.registry import load_dataset
from stalib.data.transforms import (
    NpzPreprocess,
    SBUPreprocess,
    UTKinectPreprocess,
    YawAlign,
)
from stalib.errors import ConfigError


def test_yaw_align_turns_the_axis_onto_plus_x_and_keeps_height_and_distances():
    rng = np.random.default_rng(0)
    seq = rng.normal(0, 1, (7, 4, 3)).astype(np.float32)
    out = YawAlign(0, 3)(seq)
    v = out[0, 3] - out[0, 0]
    assert v[0] > 0 and abs(v[2]) < 1e-5
    np.testing.assert_allclose(out[..., 1], seq[..., 1], atol=1e-6)  # y (up) unchanged
    d_in = np.linalg.norm(seq[:, :, None] - seq[:, None], axis=-1)
    d_out = np.linalg.norm(out[:, :, None] - out[:, None], axis=-1)
    np.testing.assert_allclose(d_out, d_in, atol=1e-5)  # a rotation: every distance kept


def test_yaw_align_is_the_same_for_a_turned_copy_and_refuses_a_vertical_axis():
    rng = np.random.default_rng(1)
    seq = rng.normal(0, 1, (5, 4, 3))
    a = np.deg2rad(140)
    turn = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
    np.testing.assert_allclose(YawAlign(1, 2)(seq @ turn.T), YawAlign(1, 2)(seq), atol=1e-5)
    seq[0, 2] = seq[0, 1] + np.array([0, 1.0, 0])
    with pytest.raises(ValueError, match="vertically aligned"):
        YawAlign(1, 2)(seq)


def test_sbu_view_normalised_puts_person_2_at_plus_x_in_every_real_sequence(data_root):
    raw = load_dataset("sbu", data_root)
    before = raw.frames[raw.offsets[:-1], 15 + 2, 0] - raw.frames[raw.offsets[:-1], 2, 0]
    assert (before > 0).any() and (before < 0).any()  # filmed from both sides
    data = load_dataset("sbu", data_root, preprocess=SBUPreprocess(view_normalize=True))
    first = data.frames[data.offsets[:-1]]
    axis = first[:, 15 + 2] - first[:, 2]  # person 1's torso -> person 2's torso, frame 0
    assert (axis[:, 0] > 0.1).all()
    np.testing.assert_allclose(axis[:, 2], 0, atol=1e-5)
    np.testing.assert_allclose(first[:, 2], 0, atol=1e-6)  # still centred on person 1's torso


def test_utkinect_view_normalised_on_the_shoulder_axis(data_root):
    data = load_dataset("utkinect", data_root, preprocess=UTKinectPreprocess(view_normalize=True))
    first = data.frames[data.offsets[:-1]]
    shoulders = first[:, 4] - first[:, 8]  # right (8) -> left (4) shoulder along +x
    assert (shoulders[:, 0] > 0).all()
    np.testing.assert_allclose(shoulders[:, 1:], 0, atol=1e-5)
    np.testing.assert_allclose(first[:, 0], 0, atol=1e-6)  # origin at the hip centre


def test_view_settings_are_named_recorded_and_checked():
    cfg = TrainConfig(dataset="sbu", preprocess={"view_normalize": True})
    assert cfg.deviations() == {"preprocess": {"view_normalize": True}}
    assert "YawAlign" in SBUPreprocess(view_normalize=True).describe()
    assert "ViewNormalize" in NpzPreprocess(view_axes=[8, 4, 0, 20]).describe()
    assert NpzPreprocess(view_axes=[8, 4, 0, 20]).view_axes == (8, 4, 0, 20)
    with pytest.raises(ConfigError, match="view_axes must be 4 joint indices"):
        NpzPreprocess(view_axes=[8, 4])


def test_predict_reads_a_file_view_normalised_as_the_training_data(data_root):
    from stalib.predict import read_for_model

    data = load_dataset("sbu", data_root, preprocess=SBUPreprocess(view_normalize=True))
    i = 7
    path = data_root / "SBU" / data.names[i] / "skeleton_pos.txt"
    ((_, seq),) = read_for_model(path, "sbu", {"view_normalize": True})
    np.testing.assert_allclose(seq, data[i], atol=1e-6)
