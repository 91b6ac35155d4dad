"""Northwestern-UCLA reader: the real release, generated files, and every kind of bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from stalib.data.nwucla import NWUCLA_CLASSES, read_nwucla, read_nwucla_file
from stalib.data.registry import get_splits, load_dataset
from stalib.errors import DataRootError, FormatError


def _write(root: Path, stem: str, frames: int = 5, label: int | None = None, seed: int = 0,
           **override) -> Path:
    """A valid ``all_sqe/<stem>.json`` (the label follows the action code unless given)."""
    rng = np.random.default_rng(seed)
    codes = (1, 2, 3, 4, 5, 6, 8, 9, 11, 12)
    if label is None:
        label = codes.index(int(stem[1:3])) + 1
    obj = {"file_name": stem, "label": label,
           "skeletons": rng.normal(0, 0.3, (frames, 20, 3)).round(5).tolist(), **override}
    path = root / "NW-UCLA" / "all_sqe" / f"{stem}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj))
    return path


# --------------------------------------------------------------------------- real data
def test_real_counts_and_cross_view(data_root):
    data = load_dataset("nwucla", data_root)
    assert len(data) == 1484 and data.num_classes == 10
    assert (data.persons, data.joints_per_person) == (1, 20)
    assert np.bincount(data.attrs["view"])[1:].tolist() == [516, 504, 464]
    assert data.lengths.min() == 1 and data.lengths.max() == 201
    assert (data.lengths == 1).sum() == 2  # the release's two one-frame files are kept
    (split,) = get_splits("nwucla", data)
    assert (len(split.train), len(split.test)) == (1020, 464)
    assert set(data.attrs["view"][split.test].tolist()) == {3}
    # default preprocessing: the hip centre of frame 0 at the origin
    for i in range(0, len(data), 97):
        np.testing.assert_allclose(data[i][0, 0], 0.0, atol=1e-6)


# --------------------------------------------------------------------------- generated files
def test_generated_files_read_in_name_order(tmp_path):
    _write(tmp_path, "a12_s02_e01_v03", frames=4)
    _write(tmp_path, "a01_s01_e00_v01", frames=6, seed=1)
    (tmp_path / "NW-UCLA" / "all_sqe" / "README.txt").write_text("not data")
    data = read_nwucla(tmp_path / "NW-UCLA")
    assert data.names.tolist() == ["a01_s01_e00_v01", "a12_s02_e01_v03"]
    assert data.labels.tolist() == [0, 9] and data.class_names == list(NWUCLA_CLASSES)
    assert data.groups.tolist() == ["s01", "s02"]
    assert data.attrs["view"].tolist() == [1, 3] and data.lengths.tolist() == [6, 4]
    raw = json.loads((tmp_path / "NW-UCLA/all_sqe/a01_s01_e00_v01.json").read_text())
    np.testing.assert_allclose(data[0], np.asarray(raw["skeletons"], dtype=np.float32))


def test_view_normalisation_uses_the_kinect_v1_axes(tmp_path):
    path = _write(tmp_path, "a01_s01_e00_v01", frames=3)
    obj = json.loads(path.read_text())
    sk = np.asarray(obj["skeletons"])
    sk[:, 8] = sk[:, 0] + [-0.2, 0.5, 0.0]  # right shoulder
    sk[:, 4] = sk[:, 0] + [0.2, 0.5, 0.0]  # left shoulder
    sk[:, 2] = sk[:, 0] + [0.0, 0.5, 0.0]  # shoulder centre
    obj["skeletons"] = sk.tolist()
    path.write_text(json.dumps(obj))
    from stalib.data.transforms import NWUCLAPreprocess

    data = load_dataset("nwucla", tmp_path, preprocess=NWUCLAPreprocess(view_normalize=True))
    first = data[0][0]
    np.testing.assert_allclose(first[0], 0.0, atol=1e-6)
    np.testing.assert_allclose(first[4] - first[8], [0.4, 0.0, 0.0], atol=1e-5)


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("content, expected", [
    ("{not json", r"a01_s01_e00_v01\.json:1: not valid JSON"),
    ("[1, 2]", r"expected a JSON object with keys file_name, label, skeletons"),
    ('{"file_name": "a01_s01_e00_v01", "label": 1, "skeletons": []}', r"no frames"),
    ('{"file_name": "a01_s01_e00_v01", "label": 1, "skeletons": [[[0, 0, 0]]]}',
     r"frame 0: expected 20 joints x 3 numbers, got \(1, 3\)"),
    ('{"file_name": "a01_s01_e00_v01", "label": 2, "skeletons": [[[0, 0, 0]]]}',
     r"label 2 does not match the action code a01 of the name \(label 1\)"),
    ('{"file_name": "other", "label": 1, "skeletons": [[[0, 0, 0]]]}',
     r"file_name 'other' is not the file's own name"),
])
def test_malformed_file_is_one_line_error(tmp_path, content, expected):
    path = tmp_path / "NW-UCLA" / "all_sqe" / "a01_s01_e00_v01.json"
    path.parent.mkdir(parents=True)
    path.write_text(content)
    with pytest.raises(FormatError, match=expected) as err:
        read_nwucla_file(path)
    assert "\n" not in str(err.value) and str(path) in str(err.value)


def test_nan_names_frame_joint_and_axis(tmp_path):
    path = _write(tmp_path, "a01_s01_e00_v01", frames=3)
    obj = json.loads(path.read_text())
    obj["skeletons"][2][7][1] = float("nan")
    path.write_text(json.dumps(obj))
    with pytest.raises(FormatError, match=r"frame 2, joint 7, axis 1 is nan"):
        read_nwucla_file(path)


def test_bad_names_and_skip_bad(tmp_path):
    _write(tmp_path, "a01_s01_e00_v01")
    bad = _write(tmp_path, "a07_s01_e00_v01", label=1)
    with pytest.raises(FormatError, match="unknown action code a07"):
        read_nwucla(tmp_path / "NW-UCLA")
    with pytest.warns(UserWarning, match="1 bad input"):
        data = load_dataset("nwucla", tmp_path, strict=False)
    assert len(data) == 1 and str(bad) in data.skipped[0]
    bad.rename(bad.with_name("x.json"))
    with pytest.raises(FormatError, match="unexpected file name"):
        read_nwucla(tmp_path / "NW-UCLA")


def test_missing_subfolder_names_it(tmp_path):
    (tmp_path / "NW-UCLA").mkdir()
    with pytest.raises(DataRootError, match=r"all_sqe not found"):
        read_nwucla(tmp_path / "NW-UCLA")


def test_one_frame_sequence_trains_and_predicts(tmp_path):
    """A one-frame sequence is kept (the release has two) and the models read it: the Fig. 7
    configuration's resampling repeats the frame, HCN's motion stream is zero."""
    import torch

    from stalib.data.transforms import Resample
    from stalib.models import build_model

    seq = np.random.default_rng(0).normal(size=(1, 20, 3)).astype(np.float32)
    out = Resample(32)(seq)
    assert out.shape == (32, 20, 3) and np.allclose(out, seq[0])
    for name in ("sta-lstm", "hcn", "csta-cnn", "linear"):
        model = build_model(name, num_joints=20, num_classes=10)
        model.eval()
        with torch.no_grad():
            out = model(torch.from_numpy(seq)[None], torch.ones(1, 1, dtype=torch.bool))
        assert out.logits.shape == (1, 10) and torch.isfinite(out.logits).all(), name


def test_summary_names_the_one_frame_sequences(tmp_path):
    from stalib.data.summary import format_summary

    _write(tmp_path, "a01_s01_e00_v01", frames=1)
    _write(tmp_path, "a02_s01_e00_v01", frames=3)
    text = format_summary(read_nwucla(tmp_path / "NW-UCLA"))
    assert "1 sequence(s) of one frame, kept (a still pose to every model): a01_s01_e00_v01" in text
