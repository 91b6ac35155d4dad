"""UTKinect-Action3D reader: segments of the real recordings, label files, bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from stalib.data.registry import load_dataset
from stalib.data.utkinect import (
    UTK_CLASSES,
    parse_label_file,
    read_joints_file,
    read_utkinect,
)
from stalib.errors import DataRootError, FormatError


# --------------------------------------------------------------------------- real data
def test_real_counts(utkinect_data):
    data = utkinect_data
    assert len(data) == 199
    assert data.num_classes == 10 and data.class_names == list(UTK_CLASSES)
    assert sorted(set(data.groups.tolist())) == [f"s{i:02d}" for i in range(1, 11)]
    assert set(data.attrs["run"].tolist()) == {"e01", "e02"}
    assert (data.persons, data.joints_per_person, data.num_joints) == (1, 20, 20)
    assert np.bincount(data.labels).tolist() == [20, 20, 20, 20, 19, 20, 20, 20, 20, 20]
    assert data.lengths.sum() == 6222
    assert data.lengths.min() == 5 and data.lengths.max() == 174
    assert np.isfinite(data.frames).all()


def test_real_records_label_file_and_nan_gap(utkinect_data):
    data = utkinect_data
    assert data.name == "utkinect[actionLabel.txt]"
    assert set(data.attrs["label_file"].tolist()) == {"actionLabel.txt"}
    assert "s10_e02_carry" not in data.names.tolist()
    assert len(data.skipped) == 1
    assert "s10_e02 carry is NaN NaN" in data.skipped[0]
    assert data.skipped[0].startswith("skipped (documented gap of the dataset)")


def test_real_segments_follow_frame_number_column(utkinect_data, data_root):
    data = utkinect_data
    i = int(np.flatnonzero(data.names == "s01_e01_walk")[0])
    assert (data.attrs["start_frame"][i], data.attrs["end_frame"][i]) == (252, 390)
    numbers, joints = read_joints_file(data_root / "UTKinect" / "joints_s01_e01.txt")
    rows = (numbers >= 252) & (numbers <= 390)
    assert data.lengths[i] == rows.sum()
    raw = load_dataset("utkinect", data_root, preprocess=False)
    np.testing.assert_array_equal(raw[i], joints[rows])
    # repeated frame numbers are kept: 169 such rows fall inside segments
    assert data.attrs["repeated_frames"].sum() == 169
    # default preprocessing: hip centre of the first frame at the origin
    np.testing.assert_allclose(data[i][0, 0], 0.0, atol=1e-6)


def test_real_modified_label_file(data_root, utkinect_data):
    mod = load_dataset("utkinect", data_root, label_file="actionLabel_modified.txt")
    assert len(mod) == 199
    assert mod.name == "utkinect[actionLabel_modified.txt]"
    assert mod.names.tolist() == utkinect_data.names.tolist()
    changed = mod.attrs["start_frame"] != utkinect_data.attrs["start_frame"]
    changed |= mod.attrs["end_frame"] != utkinect_data.attrs["end_frame"]
    assert changed.sum() == 7  # the data README says 3; 7 entries differ
    i = int(np.flatnonzero(mod.names == "s03_e01_push")[0])
    assert utkinect_data.attrs["start_frame"][i] == 2556 and mod.attrs["start_frame"][i] == 3556
    short = load_dataset("utkinect", data_root, label_file="modified")
    assert short.name == mod.name


def test_real_label_file_structure(data_root):
    labels = parse_label_file(data_root / "UTKinect" / "actionLabel.txt")
    assert len(labels) == 20
    assert all(list(v) == list(UTK_CLASSES) for v in labels.values())
    assert labels["s10_e02"]["carry"] is None


# --------------------------------------------------------------------------- fake data
def test_fake_reads_all_segments(fake_utkinect):
    root = fake_utkinect()
    data = read_utkinect(root / "UTKinect")
    assert len(data) == 20
    assert data.groups.tolist() == ["s01"] * 10 + ["s02"] * 10
    # walk spans 10..18: frame numbers 10, 12, 14, 16, 18 plus the repeated 18
    assert data.lengths[0] == 6 and data.attrs["repeated_frames"][0] == 1
    assert data.skipped == []


def _label_lines(synth, recordings=("s01_e01", "s02_e01")):
    return [line for rec in recordings for line in synth.utk_label_block(rec)]


def test_missing_label_entry_for_existing_recording(fake_utkinect, synth):
    labels = _label_lines(synth, ["s01_e01"])
    root = fake_utkinect(labels=labels)
    with pytest.raises(FormatError, match=r"actionLabel.txt: no entry for recording s02_e01"):
        read_utkinect(root / "UTKinect")
    data = read_utkinect(root / "UTKinect", strict=False)
    assert len(data) == 10 and "no entry for recording s02_e01" in data.skipped[0]


def test_missing_action_line(fake_utkinect, synth):
    labels = _label_lines(synth)
    labels.remove("throw: 60 68")
    root = fake_utkinect(labels=labels)
    with pytest.raises(FormatError, match=r"actionLabel.txt:1: s01_e01 has no entry for throw"):
        read_utkinect(root / "UTKinect")
    data = read_utkinect(root / "UTKinect", strict=False)
    assert len(data) == 19


@pytest.mark.parametrize(
    ("old", "new", "pattern"),
    [
        ("carry: 50 58", "carry: NaN NaN", r":6: s01_e01 carry is NaN NaN: a missing segment"),
        ("carry: 50 58", "carry: 50 NaN", r":6: expected two whole frame numbers"),
        ("carry: 50 58", "carry: 50", r":6: expected two frame numbers"),
        ("carry: 50 58", "carry: 58 50", r":6: s01_e01 carry starts at 58 after its end 50"),
        ("carry: 50 58", "cary: 50 58", r":6: unknown action 'cary'"),
        ("carry: 50 58", "carry 50 58", r":6: expected 'action: start end'"),
        ("carry: 50 58", "carry: 500 580", r":6: .*outside joints_s01_e01.txt's frame numbers"),
        ("carry: 50 58", "carry: 51 51", r":6: .*no row with a frame number in that range"),
        ("carry: 50 58", "walk: 50 58", r":6: s01_e01 lists walk twice"),
    ],
)
def test_bad_label_entries(fake_utkinect, synth, old, new, pattern):
    labels = _label_lines(synth)
    labels[labels.index(old)] = new
    root = fake_utkinect(labels=labels)
    with pytest.raises(FormatError, match=pattern):
        read_utkinect(root / "UTKinect")


def test_documented_nan_is_skipped_and_said(fake_utkinect, synth):
    labels = _label_lines(synth, ["s10_e02"])
    labels[labels.index("carry: 50 58")] = "carry:  NaN NaN"
    root = fake_utkinect(recordings=["s10_e02"], labels=labels)
    data = read_utkinect(root / "UTKinect")
    assert len(data) == 9 and "s10_e02_carry" not in data.names
    assert "documented gap" in data.skipped[0]


def test_label_structure_errors(fake_utkinect, synth):
    labels = ["walk: 10 18"] + _label_lines(synth)
    root = fake_utkinect(labels=labels)
    with pytest.raises(FormatError, match=r":1: 'walk: 10 18' before any recording header"):
        read_utkinect(root / "UTKinect")
    labels = _label_lines(synth) + synth.utk_label_block("s01_e01")
    root = fake_utkinect(labels=labels)
    with pytest.raises(FormatError, match=r":23: recording s01_e01 listed twice"):
        read_utkinect(root / "UTKinect")


def _edit_joints(root: Path, rec: str, edit) -> Path:
    path = root / "UTKinect" / f"joints_{rec}.txt"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(edit(lines)) + "\n")
    return path


@pytest.mark.parametrize(
    ("edit", "pattern"),
    [
        (lambda ls: ls[:3] + [ls[3][:40]] + ls[4:], r":4: expected 61 numbers .* got \d+"),
        (lambda ls: ls[:3] + [ls[3] + " 0.5"] + ls[4:], r":4: expected 61 numbers .* got 62"),
        (lambda ls: ls[:2] + [ls[2].replace(ls[2].split()[3], "abc", 1)] + ls[3:],
         r":3: field 4 is not a number: 'abc'"),
        (lambda ls: ls[:2] + [ls[2].replace(ls[2].split()[3], "nan", 1)] + ls[3:],
         r":3: field 4 is nan, expected a finite number"),
        (lambda ls: ls[:2] + ["x" + ls[2]] + ls[3:], r":3: frame number 'x14' is not a whole"),
        (lambda ls: ls[:2] + [ls[4]] + ls[3:],
         r":4: frame number 16 after 18: .*must not decrease"),
        (lambda ls: [], r"no frames"),
    ],
)
def test_bad_joints_file(fake_utkinect, edit, pattern):
    root = fake_utkinect()
    path = _edit_joints(root, "s02_e01", edit)
    with pytest.raises(FormatError, match=pattern) as info:
        read_utkinect(root / "UTKinect")
    assert info.value.path == path
    data = read_utkinect(root / "UTKinect", strict=False)
    assert len(data) == 10 and data.groups.tolist() == ["s01"] * 10
    assert len(data.skipped) == 1 and "joints_s02_e01.txt" in data.skipped[0]


def test_missing_joints_file_and_bad_name(fake_utkinect, synth):
    root = fake_utkinect(labels=_label_lines(synth, ["s01_e01", "s02_e01", "s03_e01"]))
    with pytest.raises(FormatError, match=r"joints_s03_e01.txt: missing, but actionLabel.txt"):
        read_utkinect(root / "UTKinect")
    root = fake_utkinect()
    (root / "UTKinect" / "joints_s01_e01 (copy).txt").write_text("")
    with pytest.raises(FormatError, match=r"unexpected file name"):
        read_utkinect(root / "UTKinect")


def test_label_file_choice(fake_utkinect, synth, tmp_path):
    root = fake_utkinect()
    with pytest.raises(DataRootError, match="label file .* not found"):
        read_utkinect(root / "UTKinect", label_file="modified")
    other = tmp_path / "my_labels.txt"
    other.write_text("\n".join(_label_lines(synth)) + "\n")
    data = read_utkinect(root / "UTKinect", label_file=other)
    assert data.name == "utkinect[my_labels.txt]"
