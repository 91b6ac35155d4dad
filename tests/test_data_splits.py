"""Evaluation protocols: sizes, coverage and subject disjointness on the real data."""

from __future__ import annotations

import numpy as np
import pytest

from stalib.data.core import SkeletonSet
from stalib.data.ntu import read_ntu
from stalib.data.splits import (
    SBU_FOLDS,
    Split,
    fold_splits,
    group_kfold,
    leave_one_sequence_out,
    ntu_cross_subject,
    ntu_cross_view,
    odd_subjects_train,
    provided_split,
    sbu_5fold,
    validate_split,
)
from stalib.errors import ConfigError


def assert_partition(splits: list[Split], n: int) -> None:
    """Every sequence is in exactly one test set, and train = the complement."""
    tests = np.concatenate([s.test for s in splits])
    assert sorted(tests.tolist()) == list(range(n))
    for s in splits:
        assert sorted(np.concatenate([s.train, s.test]).tolist()) == list(range(n))


def assert_group_disjoint(splits: list[Split], groups: np.ndarray) -> None:
    for s in splits:
        assert not set(groups[s.train].tolist()) & set(groups[s.test].tolist()), s.name


def test_sbu_5fold_real(sbu_data):
    splits = sbu_5fold(sbu_data)
    assert [s.name for s in splits] == [f"fold{k}" for k in range(1, 6)]
    assert_partition(splits, 282)
    assert_group_disjoint(splits, sbu_data.groups)
    assert [len(s.test) for s in splits] == [55, 52, 56, 54, 65]
    for s, sets in zip(splits, SBU_FOLDS, strict=True):
        assert set(sbu_data.groups[s.test].tolist()) == set(sets)
    assert sum(len(f) for f in SBU_FOLDS) == 21


def test_sbu_5fold_unknown_set():
    data = SkeletonSet.from_sequences([np.ones((2, 30, 3))], [0], ["s09s09"], ["x"], ["a"], 2, 15)
    with pytest.raises(ConfigError, match="s09s09 are in none of the SBU folds"):
        sbu_5fold(data)


def test_odd_subjects_train_real(utkinect_data):
    (split,) = odd_subjects_train(utkinect_data)
    assert (len(split.train), len(split.test)) == (100, 99)  # s10 (even) lacks one segment
    assert set(utkinect_data.groups[split.train].tolist()) == {"s01", "s03", "s05", "s07", "s09"}
    assert set(utkinect_data.groups[split.test].tolist()) == {"s02", "s04", "s06", "s08", "s10"}


def test_utkinect_loso_real(utkinect_data):
    splits = leave_one_sequence_out(utkinect_data)
    assert len(splits) == 199
    assert_partition(splits, 199)
    assert all(len(s.train) == 198 and len(s.test) == 1 for s in splits)
    assert splits[0].name == "loso:s01_e01_walk"


def test_ntu_protocols_on_samples(ntu_samples_root):
    data = read_ntu(ntu_samples_root / "NTU")
    (xsub,) = ntu_cross_subject(data)
    # performers 1, 8 and 15 are training performers; 3 tests
    assert data.groups[xsub.train].tolist() == ["P001", "P008", "P015"]
    assert data.groups[xsub.test].tolist() == ["P003", "P003"]
    assert_group_disjoint([xsub], data.groups)
    (xview,) = ntu_cross_view(data)
    assert data.attrs["camera"][xview.train].tolist() == [3, 2]
    assert data.attrs["camera"][xview.test].tolist() == [1, 1, 1]


def toy(groups, **attrs) -> SkeletonSet:
    n = len(groups)
    return SkeletonSet.from_sequences(
        [np.ones((2, 3, 3))] * n, [i % 2 for i in range(n)], groups,
        [f"s{i}" for i in range(n)], ["a", "b"], 1, 3, attrs=attrs,
    )


def test_ntu_cross_view_rejects_other_cameras():
    with pytest.raises(ConfigError, match=r"camera\(s\) \[4\]"):
        ntu_cross_view(toy(["P001", "P002"], camera=np.array([1, 4])))


def test_group_kfold_balanced_and_disjoint():
    groups = [f"g{i % 7}" for i in range(40)]
    data = toy(groups)
    splits = group_kfold(data, 5)
    assert_partition(splits, 40)
    assert_group_disjoint(splits, data.groups)
    sizes = [len(s.test) for s in splits]
    assert max(sizes) - min(sizes) <= 6
    assert [s.test.tolist() for s in group_kfold(data, 5)] == [s.test.tolist() for s in splits]
    with pytest.raises(ConfigError, match="needs at least 5 groups"):
        group_kfold(toy(["a", "b", "a"]), 5)


def test_provided_and_fold_columns():
    data = toy(["a", "b", "c", "d"], split=np.array(["train", "test", "train", "test"]),
               fold=np.array([1, 2, 1, 3]))
    (split,) = provided_split(data)
    assert split.train.tolist() == [0, 2] and split.test.tolist() == [1, 3]
    folds = fold_splits(data)
    assert [s.name for s in folds] == ["fold1", "fold2", "fold3"]
    assert_partition(folds, 4)
    with pytest.raises(ConfigError, match="no 'split' array"):
        provided_split(toy(["a", "b"]))


def test_validate_split():
    groups = np.array(["a", "a", "b", "c"])
    validate_split(Split("ok", [0, 1], [2, 3]), 4, groups)
    for bad, msg in [(Split("x", [0], []), "no test"), (Split("x", [0, 5], [1]), "out of range"),
                     (Split("x", [0, 1], [1]), "both train and test"),
                     (Split("x", [0, 0], [1]), "appears twice")]:
        with pytest.raises(ConfigError, match=msg):
            validate_split(bad, 4)
    with pytest.raises(ConfigError, match="group a is in both"):
        validate_split(Split("x", [0], [1]), 4, groups)
