"""UTD-MHAD reader: the real skeleton part, generated .mat files, and every kind of bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.io

from stalib.data.registry import get_splits, load_dataset
from stalib.data.utdmhad import UTDMHAD_CLASSES, read_utdmhad, read_utdmhad_file
from stalib.errors import DataRootError, FormatError


def _write(root: Path, action: int, subject: int, trial: int, frames: int = 6, seed: int = 0,
           **variables) -> Path:
    """A valid ``aA_sS_tT_skeleton.mat`` holding ``d_skel`` (20 x 3 x frames), or
    ``variables`` instead."""
    rng = np.random.default_rng(seed)
    path = root / "UTD-MHAD" / f"a{action}_s{subject}_t{trial}_skeleton.mat"
    path.parent.mkdir(parents=True, exist_ok=True)
    scipy.io.savemat(path, variables or {"d_skel": rng.normal(0, 0.3, (20, 3, frames))})
    return path


# --------------------------------------------------------------------------- real data
def test_real_counts_and_cross_subject(data_root):
    data = load_dataset("utdmhad", data_root)
    assert len(data) == 861 and data.num_classes == 27
    assert data.class_names == list(UTDMHAD_CLASSES)
    assert sorted(set(data.groups.tolist())) == [f"s{i}" for i in range(1, 9)]
    (split,) = get_splits("utdmhad", data)
    assert set(data.groups[split.train].tolist()) == {"s1", "s3", "s5", "s7"}
    assert (len(split.train), len(split.test)) == (431, 430)
    # the hip centre (joint 3 in this dataset's order) of frame 0 at the origin
    for i in range(0, len(data), 97):
        np.testing.assert_allclose(data[i][0, 3], 0.0, atol=1e-6)


# --------------------------------------------------------------------------- generated files
def test_generated_files_sorted_by_action_subject_trial(tmp_path):
    a = _write(tmp_path, 10, 2, 1, frames=4)
    _write(tmp_path, 2, 1, 3, frames=7, seed=1)
    (tmp_path / "UTD-MHAD" / "Skeleton_joint_order.txt").write_text("1. head;")
    data = read_utdmhad(tmp_path / "UTD-MHAD")
    assert data.names.tolist() == ["a2_s1_t3", "a10_s2_t1"]  # 2 before 10: numbers, not text
    assert data.labels.tolist() == [1, 9] and data.groups.tolist() == ["s1", "s2"]
    assert data.attrs["trial"].tolist() == [3, 1] and data.lengths.tolist() == [7, 4]
    raw = scipy.io.loadmat(a)["d_skel"]  # joints x axes x frames -> frames x joints x axes
    np.testing.assert_allclose(data[1][2, 5], raw[5, :, 2], rtol=1e-6)


def test_view_normalisation_uses_this_datasets_joint_order(tmp_path):
    d = np.random.default_rng(0).normal(0, 0.3, (20, 3, 3))
    d[8] = d[3] + np.array([-0.2, 0.5, 0.0])[:, None]  # right shoulder
    d[4] = d[3] + np.array([0.2, 0.5, 0.0])[:, None]  # left shoulder
    d[1] = d[3] + np.array([0.0, 0.5, 0.0])[:, None]  # shoulder centre
    _write(tmp_path, 1, 1, 1, d_skel=d)
    from stalib.data.transforms import UTDMHADPreprocess

    data = load_dataset("utdmhad", tmp_path, preprocess=UTDMHADPreprocess(view_normalize=True))
    first = data[0][0]
    np.testing.assert_allclose(first[3], 0.0, atol=1e-6)
    np.testing.assert_allclose(first[4] - first[8], [0.4, 0.0, 0.0], atol=1e-5)
    np.testing.assert_allclose(first[1], [0.0, 0.5, 0.0], atol=1e-5)


# --------------------------------------------------------------------------- bad input
def test_mat_without_d_skel(tmp_path):
    path = _write(tmp_path, 1, 1, 1, skeleton=np.zeros((20, 3, 4)))
    with pytest.raises(FormatError, match=r"no variable 'd_skel'") as err:
        read_utdmhad_file(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("array, expected", [
    (np.zeros((25, 3, 4)), r"d_skel has shape \(25, 3, 4\) .*expected 20 x 3 x frames"),
    (np.zeros((20, 2, 4)), r"d_skel has shape \(20, 2, 4\)"),
    (np.array(["text"]), r"d_skel has shape"),
])
def test_wrong_shape(tmp_path, array, expected):
    path = _write(tmp_path, 1, 1, 1, d_skel=array)
    with pytest.raises(FormatError, match=expected):
        read_utdmhad_file(path)


def test_one_frame_is_kept_and_nan_is_refused(tmp_path):
    path = _write(tmp_path, 1, 1, 1, d_skel=np.ones((20, 3, 1)))  # MATLAB drops the last 1
    assert read_utdmhad_file(path).shape == (1, 20, 3)
    d = np.ones((20, 3, 5))
    d[4, 2, 3] = np.inf
    path = _write(tmp_path, 1, 1, 2, d_skel=d)
    with pytest.raises(FormatError, match=r"frame 3, joint 4, axis 2 is inf"):
        read_utdmhad_file(path)


def test_not_a_mat_file_and_bad_name(tmp_path):
    path = _write(tmp_path, 1, 1, 1)
    path.write_bytes(b"this is not MATLAB")
    with pytest.raises(FormatError, match=r"not a readable MATLAB \.mat file"):
        read_utdmhad_file(path)
    with pytest.raises(DataRootError, match=r"no usable UTD-MHAD sequence .*1 skipped"):
        load_dataset("utdmhad", tmp_path, strict=False)
    _write(tmp_path, 1, 1, 2)
    with pytest.warns(UserWarning, match="1 bad input"):
        data = load_dataset("utdmhad", tmp_path, strict=False)
    assert len(data) == 1 and "not a readable MATLAB" in data.skipped[0]
    _write(tmp_path, 28, 1, 1)
    with pytest.raises(FormatError, match=r"a28_s1_t1_skeleton\.mat: unexpected file name"):
        read_utdmhad(tmp_path / "UTD-MHAD")
