"""SkeletonSet: building, validation, subsets, map_frames, and the bad-input helpers."""

from __future__ import annotations

import numpy as np
import pytest

from stalib.data.core import SkeletonSet, apply_transform, skip_or_raise
from stalib.errors import FormatError


def small_set(lengths=(3, 1, 4), persons=2, joints=2) -> SkeletonSet:
    rng = np.random.default_rng(0)
    seqs = [rng.normal(size=(t, persons * joints, 3)) for t in lengths]
    n = len(lengths)
    return SkeletonSet.from_sequences(
        seqs, labels=[i % 2 for i in range(n)], groups=[f"g{i % 2}" for i in range(n)],
        names=[f"s{i}" for i in range(n)], class_names=["a", "b"], persons=persons,
        joints_per_person=joints, attrs={"camera": np.arange(n)}, name="toy",
        skipped=["skipped: x"],
    )


def test_from_sequences_layout():
    data = small_set()
    assert len(data) == 3
    assert data.frames.dtype == np.float32
    assert data.frames.shape == (8, 4, 3)
    assert data.offsets.tolist() == [0, 3, 4, 8]
    assert data.lengths.tolist() == [3, 1, 4]
    assert data.num_joints == 4 and data.num_classes == 2
    assert data[2].shape == (4, 4, 3)
    assert np.shares_memory(data[0], data.frames)  # a view
    with pytest.raises(IndexError):
        data[3]


def test_subset_copies_in_order_and_keeps_metadata():
    data = small_set()
    sub = data.subset([2, 0])
    assert sub.names.tolist() == ["s2", "s0"]
    assert sub.lengths.tolist() == [4, 3]
    np.testing.assert_array_equal(sub[0], data[2])
    np.testing.assert_array_equal(sub[1], data[0])
    assert sub.attrs["camera"].tolist() == [2, 0]
    assert sub.skipped == data.skipped
    assert not np.shares_memory(sub.frames, data.frames)
    assert len(data.subset([])) == 0
    with pytest.raises(IndexError):
        data.subset([5])


def test_map_frames_applies_and_checks_shape():
    data = small_set()
    doubled = data.map_frames(lambda s: 2 * s)
    np.testing.assert_allclose(doubled.frames, 2 * data.frames)
    assert doubled.offsets.tolist() == data.offsets.tolist()
    assert doubled.skipped == data.skipped
    with pytest.raises(ValueError, match="changed the shape of s0"):
        data.map_frames(lambda s: s[:1])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (dict(offsets=[0, 3, 3, 8]), "at least one frame"),
        (dict(offsets=[0, 3, 4]), "end at len"),
        (dict(labels=[0, 1, 2]), "labels must lie"),
        (dict(groups=["a"]), "groups has 1"),
        (dict(persons=3), "expected persons"),
    ],
)
def test_validation(change, message):
    data = small_set()
    fields = dict(frames=data.frames, offsets=data.offsets, labels=data.labels,
                  groups=data.groups, names=data.names, class_names=data.class_names,
                  persons=data.persons, joints_per_person=data.joints_per_person)
    fields.update(change)
    with pytest.raises(ValueError, match=message):
        SkeletonSet(**fields)


def test_skip_or_raise():
    err = FormatError("f.txt", "bad", 3)
    with pytest.raises(FormatError, match=r"f.txt:3: bad"):
        skip_or_raise(err, True, [])
    log: list[str] = []
    skip_or_raise(err, False, log)
    assert log == ["skipped: f.txt:3: bad"]


def test_apply_transform_wraps_errors():
    seq = np.ones((2, 3, 3), dtype=np.float32)

    def broken(s):
        raise ValueError("degenerate")

    with pytest.raises(FormatError, match="f.txt: preprocessing failed: degenerate"):
        apply_transform(broken, seq, "f.txt")
    with pytest.raises(FormatError, match="changed the shape"):
        apply_transform(lambda s: s[:1], seq, "f.txt")
    with pytest.raises(FormatError, match="non-finite"):
        apply_transform(lambda s: s * np.nan, seq, "f.txt")
    assert apply_transform(lambda s: s + 1, seq, "f.txt").sum() == 2 * seq.size
