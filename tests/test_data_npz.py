"""The user ``.npz`` format: round trip, the accepted layouts, strict validation."""

from __future__ import annotations

import numpy as np
import pytest

from stalib.data.core import SkeletonSet
from stalib.data.npz import load_npz, save_npz
from stalib.errors import DataRootError, FormatError


def arrays(**over) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    base = {
        "frames": rng.normal(size=(9, 4, 3)).astype(np.float32),
        "offsets": np.array([0, 2, 5, 9]),
        "labels": np.array([0, 1, 1]),
        "class_names": np.array(["wave", "kick"]),
        "groups": np.array(["s1", "s2", "s1"]),
        "persons": np.array(2),
    }
    base.update(over)
    return {k: v for k, v in base.items() if v is not None}


def write(tmp_path, **over):
    path = tmp_path / "mine.npz"
    np.savez(path, **arrays(**over))
    return path


def test_round_trip(tmp_path):
    rng = np.random.default_rng(1)
    data = SkeletonSet.from_sequences(
        [rng.normal(size=(t, 6, 3)) for t in (3, 1, 2)], [2, 0, 1], ["a", "b", "a"],
        ["x", "y", "z"], ["c0", "c1", "c2"], 2, 3,
        attrs={"camera": np.array([1, 2, 3]), "fold": np.array([1, 2, 1])}, name="mine",
    )
    path = save_npz(data, tmp_path / "set.npz")
    back = load_npz(path)
    np.testing.assert_array_equal(back.frames, data.frames)
    assert back.offsets.tolist() == data.offsets.tolist()
    assert back.labels.tolist() == [2, 0, 1]
    assert back.groups.tolist() == ["a", "b", "a"] and back.names.tolist() == ["x", "y", "z"]
    assert back.class_names == ["c0", "c1", "c2"]
    assert (back.persons, back.joints_per_person) == (2, 3)
    assert back.attrs["camera"].tolist() == [1, 2, 3] and back.attrs["fold"].tolist() == [1, 2, 1]
    assert back.name == f"npz:{path}"


def test_minimal_and_alternative_layouts(tmp_path):
    data = load_npz(write(tmp_path, class_names=None, groups=None, persons=None))
    assert data.class_names == ["0", "1"] and data.persons == 1
    assert data.names.tolist() == ["seq00000", "seq00001", "seq00002"]
    assert data.groups.tolist() == data.names.tolist()  # no groups: each sequence its own
    by_len = load_npz(write(tmp_path, offsets=None, lengths=np.array([2, 3, 4])))
    assert by_len.lengths.tolist() == [2, 3, 4]
    padded = np.zeros((3, 5, 4, 3), dtype=np.float32)
    padded[:, :2] = 1.0
    seqs = load_npz(write(tmp_path, frames=None, offsets=None, sequences=padded,
                          lengths=np.array([2, 1, 5])))
    assert seqs.lengths.tolist() == [2, 1, 5]
    np.testing.assert_array_equal(seqs[2], padded[2])
    subj = load_npz(write(tmp_path, groups=None, subjects=np.array([7, 8, 7])))
    assert subj.groups.tolist() == ["7", "8", "7"]


BAD = {
    "no labels": (dict(labels=None), r"array 'labels' is missing"),
    "float labels": (dict(labels=np.array([0.0, 1.0, 1.0])), r"'labels': expected integers"),
    "label out of range": (dict(labels=np.array([0, 2, 1])), r"'labels': label 2 but only 2"),
    "negative label": (dict(labels=np.array([0, -1, 1])), r"'labels': negative label -1"),
    "labels wrong length": (dict(labels=np.array([0, 1])), r"'labels': expected shape \(3,\)"),
    "frames not 3-D": (dict(frames=np.zeros((9, 12))), r"'frames': expected a \(total_frames"),
    "frames xyz": (dict(frames=np.zeros((9, 4, 2))), r"'frames': expected a \(total_frames"),
    "NaN": (dict(frames=np.full((9, 4, 3), np.nan)), r"nan at frame 0 \(sequence 0\)"),
    "inf": (dict(frames=np.where(np.arange(108).reshape(9, 4, 3) == 100, np.inf, 0.5)),
            r"inf at frame 8 \(sequence 2\), joint 1, axis 1"),
    "offsets start": (dict(offsets=np.array([1, 2, 5, 9])), r"'offsets': must start at 0"),
    "empty sequence": (dict(offsets=np.array([0, 2, 2, 9])), r"sequence 1 has 0 frames"),
    "offsets end": (dict(offsets=np.array([0, 2, 5, 8])), r"ends at 8, but 'frames' has 9"),
    "both offsets and lengths": (dict(lengths=np.array([2, 3, 4])), r"exactly one of 'offsets'"),
    "lengths sum": (dict(offsets=None, lengths=np.array([2, 3, 3])), r"sum to 8"),
    "zero length": (dict(offsets=None, lengths=np.array([0, 5, 4])), r"sequence 0 has 0 frames"),
    "neither frames nor sequences": (dict(frames=None), r"exactly one of the arrays 'frames'"),
    "unknown array": (dict(label=np.array([1])), r"unknown array\(s\) 'label'"),
    "persons": (dict(persons=np.array(3)), r"'persons': 3 does not divide K = 4"),
    "duplicate class": (dict(class_names=np.array(["a", "a"])), r"names must be unique"),
    "groups length": (dict(groups=np.array(["a"])), r"'groups': expected shape \(3,\)"),
    "groups and subjects": (dict(subjects=np.array(["a", "b", "c"])), r"not both"),
    "split values": (dict(split=np.array(["train", "val", "test"])), r"'split': expected"),
    "attr length": (dict(attr_camera=np.array([1, 2])), r"'attr_camera': expected 3 entries"),
    "no sequences": (dict(frames=np.zeros((0, 4, 3)), offsets=np.array([0]),
                          labels=np.array([], dtype=int)), r"no sequences"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_arrays(tmp_path, case):
    over, pattern = BAD[case]
    path = write(tmp_path, **over)
    with pytest.raises(FormatError, match=pattern) as info:
        load_npz(path)
    assert info.value.path == path


def test_object_arrays_refused(tmp_path):
    path = tmp_path / "objects.npz"
    seqs = np.empty(2, dtype=object)
    seqs[0], seqs[1] = np.zeros((2, 4, 3)), np.zeros((3, 4, 3))
    np.savez(path, sequences=seqs, labels=np.array([0, 1]))
    with pytest.raises(FormatError, match=r"array 'sequences': object arrays .* not accepted"):
        load_npz(path)


def test_not_an_npz(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_text("hello")
    with pytest.raises(FormatError, match="not a readable .npz archive"):
        load_npz(bad)
    npy = tmp_path / "one.npy"
    np.save(npy, np.zeros(3))
    with pytest.raises(FormatError, match="single .npy array"):
        load_npz(npy)
    with pytest.raises(DataRootError, match="not found"):
        load_npz(tmp_path / "missing.npz")


def test_labels_with_gaps_are_said_not_silently_made_classes(tmp_path):
    """Labels 0, 2, 4, 6 without class names once loaded as 7 classes without a word."""
    import warnings

    from stalib.data.npz import LabelGapWarning, load_npz

    rng = np.random.default_rng(0)
    frames = rng.normal(size=(8 * 5, 4, 3)).astype(np.float32)
    path = tmp_path / "gaps.npz"
    np.savez(path, frames=frames, lengths=np.full(8, 5), labels=np.array([0, 2, 4, 6] * 2))
    with pytest.warns(LabelGapWarning, match=r"labels 1, 3, 5 have no sequence, yet the model "
                                             r"gets 7 classes"):
        data = load_npz(path)
    assert data.num_classes == 7
    np.savez(path, frames=frames, lengths=np.full(8, 5), labels=np.array([0, 1, 2, 3] * 2))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no gap: no warning
        load_npz(path)
