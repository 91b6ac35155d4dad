"""SBU Kinect Interaction reader: the real dataset, and every kind of bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from stalib.data.registry import load_dataset
from stalib.data.sbu import SBU_CLASSES, read_sbu, read_sbu_file
from stalib.errors import DataRootError, FormatError


# --------------------------------------------------------------------------- real data
def test_real_counts(sbu_data):
    data = sbu_data
    assert len(data) == 282
    assert data.num_classes == 8
    assert len(np.unique(data.groups)) == 21
    assert data.class_names == list(SBU_CLASSES)
    assert data.class_names[6] == "shaking hands"
    assert data.lengths.sum() == 6822
    assert data.lengths.min() == 10 and data.lengths.max() == 46
    assert data.frames.shape == (6822, 30, 3)
    assert (data.persons, data.joints_per_person) == (2, 15)
    assert set(data.labels.tolist()) == set(range(8))
    assert len(set(data.names.tolist())) == 282
    assert np.isfinite(data.frames).all()


def test_real_names_and_groups(sbu_data):
    i = int(np.flatnonzero(sbu_data.names == "s01s02/01/001")[0])
    assert sbu_data.groups[i] == "s01s02"
    assert sbu_data.labels[i] == 0
    assert sbu_data.attrs["first_frame"][i] == 55  # the file's first row is frame 55


def test_real_raw_coordinates(data_root):
    raw = load_dataset("sbu", data_root, preprocess=False)
    xy = raw.frames[..., :2]
    assert -0.2 < xy.min() and xy.max() < 1.4  # normalised image coordinates
    z = raw.frames[..., 2]
    assert 0.5 < z.min() and z.max() < 3.0  # depth in metres
    first = read_sbu_file(data_root / "SBU/s01s02/01/001/skeleton_pos.txt")
    np.testing.assert_allclose(first[0, 0], [0.21496, 0.32665, 1.7849], rtol=1e-6)


def test_real_default_preprocessing_centres_torso(sbu_data):
    # un-normalised to about metres, smoothed, then person 1's torso of frame 0 at the origin
    for i in range(0, len(sbu_data), 47):
        np.testing.assert_allclose(sbu_data[i][0, 2], 0.0, atol=1e-6)
    assert np.abs(sbu_data.frames).max() < 4.0


# --------------------------------------------------------------------------- bad input
def _seq_file(root: Path, set_name="s01s02", cls="01", seq="001") -> Path:
    return root / "SBU" / set_name / cls / seq / "skeleton_pos.txt"


def test_fake_tree_reads(fake_sbu):
    root = fake_sbu()
    data = read_sbu(root / "SBU")
    assert len(data) == 5
    assert data.names.tolist() == ["s01s02/01/001", "s01s02/01/002", "s01s02/03/001",
                                   "s03s04/02/001", "s03s04/08/001"]
    assert data.labels.tolist() == [0, 0, 2, 1, 7]
    assert data.attrs["first_frame"].tolist() == [1, 11, 1, 1, 1]
    assert data.skipped == []


def _rewrite(path: Path, edit) -> None:
    lines = path.read_text().splitlines()
    path.write_text("\n".join(edit(lines)) + "\n")


CORRUPTIONS = {
    "truncated row": (lambda ls: ls[:3] + [ls[3][: len(ls[3]) // 2]] + ls[4:],
                      r":4: expected 91 comma-separated numbers .* got \d+"),
    "malformed number": (lambda ls: ls[:2] + [",".join(ls[2].split(",")[:9] + ["0.5e"] +
                                                      ls[2].split(",")[10:])] + ls[3:],
                         r":3: field 10 is not a number: '0.5e'"),
    "word instead of number": (lambda ls: ls[:2] + [",".join(ls[2].split(",")[:5] + ["x1"] +
                                                            ls[2].split(",")[6:])] + ls[3:],
                               r":3: field 6 is not a number: 'x1'"),
    "extra column": (lambda ls: [ls[0] + ",0.5"] + ls[1:], r":1: expected 91 .* got 92"),
    "missing joint": (lambda ls: [",".join(ls[0].split(",")[:-3])] + ls[1:],
                      r":1: expected 91 .* got 88"),
    "NaN": (lambda ls: ls[:1] + [ls[1].replace(ls[1].split(",")[7], "nan", 1)] + ls[2:],
            r":2: field \d+ is nan, expected a finite number"),
    "inf": (lambda ls: ls[:5] + [ls[5].rsplit(",", 1)[0] + ",inf"] + ls[6:],
            r":6: field 91 is inf, expected a finite number"),
    "empty line inside": (lambda ls: ls[:2] + [""] + ls[2:], r":3: empty line"),
    "frame gap": (lambda ls: ls[:4] + ls[5:], r":5: frame index 6 follows 4; expected 5"),
    "fractional frame index": (lambda ls: ["1.5" + ls[0][1:]] + ls[1:],
                               r":1: frame index 1.5 is not a whole number"),
    "zero frames": (lambda ls: [], r"no frames"),
}


@pytest.mark.parametrize("case", list(CORRUPTIONS))
def test_corrupt_file_raises_with_file_and_line(fake_sbu, case):
    root = fake_sbu()
    path = _seq_file(root)
    edit, pattern = CORRUPTIONS[case]
    _rewrite(path, edit)
    with pytest.raises(FormatError, match=pattern) as info:
        read_sbu(root / "SBU")
    assert info.value.path == path
    assert str(path) in str(info.value)


def test_binary_file(fake_sbu):
    root = fake_sbu()
    _seq_file(root).write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(FormatError, match="not a text file"):
        read_sbu(root / "SBU")


def test_unknown_class_folder(fake_sbu):
    root = fake_sbu()
    (root / "SBU" / "s01s02" / "09" / "001").mkdir(parents=True)
    with pytest.raises(FormatError, match=r"unknown class folder '09': expected 01..08"):
        read_sbu(root / "SBU")


def test_bad_set_folder(fake_sbu):
    root = fake_sbu()
    (root / "SBU" / "subject1").mkdir()
    with pytest.raises(FormatError, match=r"subject1: unexpected folder: expected a set folder"):
        read_sbu(root / "SBU")


def test_missing_skeleton_file(fake_sbu):
    root = fake_sbu()
    _seq_file(root).unlink()
    with pytest.raises(FormatError, match=r"skeleton_pos.txt: missing"):
        read_sbu(root / "SBU")


def test_plain_and_hidden_files_are_not_data(fake_sbu):
    root = fake_sbu()
    (root / "SBU" / "README.txt").write_text("not data")
    (root / "SBU" / ".DS_Store").write_text("x")
    (root / "SBU" / "s01s02" / "01" / "001" / "rgb_0001.png").write_bytes(b"\x89PNG")
    assert len(read_sbu(root / "SBU")) == 5


def test_skip_bad_reports_each_file(fake_sbu):
    root = fake_sbu()
    _rewrite(_seq_file(root), lambda ls: ls[:2])
    _rewrite(_seq_file(root), lambda ls: [ls[0] + ",1"] + ls[1:])
    _seq_file(root, "s03s04", "02").write_text("")
    (root / "SBU" / "s01s02" / "11").mkdir()
    with pytest.raises(FormatError):
        read_sbu(root / "SBU")
    data = read_sbu(root / "SBU", strict=False)
    assert len(data) == 3
    assert len(data.skipped) == 3
    assert all(s.startswith("skipped: ") for s in data.skipped)
    joined = "\n".join(data.skipped)
    assert "s01s02/01/001/skeleton_pos.txt:1: expected 91" in joined
    assert "s03s04/02/001/skeleton_pos.txt: no frames" in joined
    assert "unknown class folder '11'" in joined


def test_registry_skip_bad_warns(fake_sbu):
    from stalib.data.registry import SkippedInputWarning

    root = fake_sbu()
    _seq_file(root).write_text("1,2,3\n")
    with pytest.warns(SkippedInputWarning, match="1 bad input"):
        data = load_dataset("sbu", root, strict=False)
    assert len(data) == 4 and len(data.skipped) == 1


def test_nothing_usable(tmp_path):
    (tmp_path / "SBU").mkdir()
    with pytest.raises(DataRootError, match="no usable SBU sequence"):
        read_sbu(tmp_path / "SBU")
