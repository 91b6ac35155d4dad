"""Train/test splits of the evaluation protocols, as index arrays into a :class:`SkeletonSet`.

* SBU (Yun et al. 2012; the paper, Sec. 5.1): subject-independent 5-fold cross-validation over
  the 21 sets, with the five set lists of the data README (:data:`SBU_FOLDS`); fold ``k`` tests
  on the sets of list ``k`` and trains on the other four.
* NTU RGB+D (Shahroudy et al. 2016): cross-subject (training performers
  :data:`~stalib.data.ntu.NTU_XSUB_TRAIN_PERFORMERS`, the rest test) and cross-view (cameras 2
  and 3 train, camera 1 tests).
* UTKinect-Action3D: cross-subject (odd subjects train, even subjects test) and Xia et al.'s
  leave-one-sequence-out (each of the 199 segments is the test set once, the other 198 train).
* Northwestern-UCLA (Wang et al. 2014): cross-view (views 1 and 2 train, view 3 tests).
* UTD-MHAD (Chen et al. 2015): cross-subject (subjects 1, 3, 5, 7 train, the others test).
* Any set with groups: group k-fold (:func:`group_kfold`), a provided train/test column
  (:func:`provided_split`) or a fold column (:func:`fold_splits`).

Every split is checked on creation (:func:`validate_split`): indices in range, train and test
non-empty and disjoint, and, for subject-independent protocols, no group on both sides.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from stalib.data.core import SkeletonSet
from stalib.data.ntu import NTU_XSUB_TRAIN_PERFORMERS, NTU_XVIEW_TRAIN_CAMERAS
from stalib.errors import ConfigError

#: The standard subject-independent 5-fold split of SBU, by set (data README).
SBU_FOLDS: tuple[tuple[str, ...], ...] = (
    ("s01s02", "s03s04", "s05s02", "s06s04"),
    ("s02s03", "s02s07", "s03s05", "s05s03"),
    ("s01s03", "s01s07", "s07s01", "s07s03"),
    ("s02s01", "s02s06", "s03s02", "s03s06"),
    ("s04s02", "s04s03", "s04s06", "s06s02", "s06s03"),
)


@dataclass(frozen=True)
class Split:
    """One train/test split: ``train`` and ``test`` are int64 index arrays into the set."""

    name: str
    train: np.ndarray
    test: np.ndarray

    def __post_init__(self) -> None:
        object.__setattr__(self, "train", np.asarray(self.train, dtype=np.int64))
        object.__setattr__(self, "test", np.asarray(self.test, dtype=np.int64))

    def __repr__(self) -> str:
        return f"Split({self.name!r}, train={len(self.train)}, test={len(self.test)})"


def validate_split(split: Split, n: int, groups: np.ndarray | None = None) -> Split:
    """Check ``split`` against a set of ``n`` sequences; with ``groups``, that no group is on
    both sides. Raises :class:`ConfigError`; returns the split."""
    for side in ("train", "test"):
        idx = getattr(split, side)
        if len(idx) == 0:
            raise ConfigError(f"split {split.name}: no {side} sequence")
        if idx.min() < 0 or idx.max() >= n:
            raise ConfigError(f"split {split.name}: {side} index out of range [0, {n})")
        if len(np.unique(idx)) != len(idx):
            raise ConfigError(f"split {split.name}: a {side} index appears twice")
    if np.intersect1d(split.train, split.test).size:
        raise ConfigError(f"split {split.name}: a sequence is in both train and test")
    if groups is not None:
        both = np.intersect1d(groups[split.train], groups[split.test])
        if both.size:
            raise ConfigError(f"split {split.name}: group {both[0]} is in both train and test")
    return split


def split_by_test_mask(name: str, test: np.ndarray, groups: np.ndarray | None = None) -> Split:
    """The split whose test set is where ``test`` (a bool mask) is True, train elsewhere."""
    test = np.asarray(test, dtype=bool)
    split = Split(name, np.flatnonzero(~test), np.flatnonzero(test))
    return validate_split(split, len(test), groups)


def sbu_5fold(data: SkeletonSet) -> list[Split]:
    """SBU subject-independent 5-fold cross-validation (folds ``fold1`` .. ``fold5``)."""
    known = {s for fold in SBU_FOLDS for s in fold}
    unknown = sorted(set(data.groups.tolist()) - known)
    if unknown:
        raise ConfigError(f"{data.name}: set(s) {', '.join(unknown)} are in none of the SBU folds")
    return [
        split_by_test_mask(f"fold{k + 1}", np.isin(data.groups, fold), data.groups)
        for k, fold in enumerate(SBU_FOLDS)
    ]


def _performer_numbers(data: SkeletonSet) -> np.ndarray:
    try:
        return np.asarray([int(g.removeprefix("P")) for g in data.groups.tolist()])
    except ValueError:
        raise ConfigError(f"{data.name}: groups must be NTU performers like P001") from None


def ntu_cross_subject(data: SkeletonSet) -> list[Split]:
    """NTU cross-subject: performers :data:`NTU_XSUB_TRAIN_PERFORMERS` train, the rest test."""
    train = np.isin(_performer_numbers(data), NTU_XSUB_TRAIN_PERFORMERS)
    return [split_by_test_mask("xsub", ~train, data.groups)]


def _cross_view(data: SkeletonSet, attr: str, train: tuple[int, ...], test: int) -> list[Split]:
    """The split whose training part is the sequences of ``attrs[attr]`` (a camera, a view) in
    ``train`` and whose test part is those of ``test``; any other value is an error."""
    if attr not in data.attrs:
        raise ConfigError(f"{data.name}: cross-view needs attrs['{attr}']")
    values = np.asarray(data.attrs[attr], dtype=np.int64)
    odd = sorted(set(values.tolist()) - {test, *train})
    if odd:
        raise ConfigError(f"{data.name}: {attr}(s) {odd} are in neither side of cross-view")
    return [split_by_test_mask("xview", ~np.isin(values, train))]


def ntu_cross_view(data: SkeletonSet) -> list[Split]:
    """NTU cross-view: cameras 2 and 3 train, camera 1 tests (other cameras: an error)."""
    return _cross_view(data, "camera", NTU_XVIEW_TRAIN_CAMERAS, 1)


def odd_subjects_train(data: SkeletonSet) -> list[Split]:
    """Cross-subject of UTKinect and UTD-MHAD (Chen et al. 2015): odd subjects (s01, s03, ...;
    UTD-MHAD s1, s3, s5, s7) train, even subjects test."""
    try:
        subject = np.asarray([int(g.removeprefix("s")) for g in data.groups.tolist()])
    except ValueError:
        raise ConfigError(f"{data.name}: groups must be subjects like s01") from None
    return [split_by_test_mask("xsub", subject % 2 == 0, data.groups)]


#: Northwestern-UCLA cross-view (Wang et al. 2014): the views that train; view 3 tests.
NWUCLA_XVIEW_TRAIN_VIEWS = (1, 2)


def nwucla_cross_view(data: SkeletonSet) -> list[Split]:
    """NW-UCLA cross-view: views 1 and 2 train, view 3 tests (other views: an error)."""
    return _cross_view(data, "view", NWUCLA_XVIEW_TRAIN_VIEWS, 3)


def leave_one_sequence_out(data: SkeletonSet) -> list[Split]:
    """Xia et al. 2012: one split per sequence, which is its test set; all others train."""
    n = len(data)
    everything = np.arange(n)
    return [
        validate_split(Split(f"loso:{data.names[i]}", np.delete(everything, i), [i]), n)
        for i in range(n)
    ]


def leave_one_group_out(data: SkeletonSet) -> list[Split]:
    """One split per group (subject), in sorted order: that group tests, all others train
    (leave-one-subject-out as most of the field means it; ``loso`` here is Xia et al.'s
    leave-one-*sequence*-out)."""
    names = sorted(set(data.groups.tolist()))
    if len(names) < 2:
        raise ConfigError(f"{data.name}: leave-one-group-out needs at least 2 groups, found "
                          f"{len(names)}")
    return [split_by_test_mask(f"group:{g}", data.groups == g, data.groups) for g in names]


def group_kfold(data: SkeletonSet, k: int = 5) -> list[Split]:
    """Group-wise ``k``-fold: no group in two folds, folds balanced by sequence count.

    Groups are taken from the largest to the smallest (ties: by name) and each goes to the fold
    with the fewest sequences so far (ties: the lower fold), which is deterministic.
    """
    names, counts = np.unique(data.groups, return_counts=True)
    if k < 2:
        raise ConfigError(f"group k-fold needs k >= 2, got {k}")
    if len(names) < k:
        raise ConfigError(f"{data.name}: {k}-fold by group needs at least {k} groups, "
                          f"found {len(names)}")
    fold_of: dict[str, int] = {}
    sizes = [0] * k
    for g in sorted(range(len(names)), key=lambda i: (-counts[i], names[i])):
        f = min(range(k), key=lambda j: (sizes[j], j))
        fold_of[str(names[g])] = f
        sizes[f] += int(counts[g])
    fold = np.asarray([fold_of[g] for g in data.groups.tolist()])
    return [split_by_test_mask(f"fold{f + 1}", fold == f, data.groups) for f in range(k)]


def provided_split(data: SkeletonSet) -> list[Split]:
    """The split stored in ``attrs["split"]`` (``"train"`` / ``"test"`` per sequence)."""
    if "split" not in data.attrs:
        raise ConfigError(f"{data.name}: no 'split' array, so no provided split")
    return [split_by_test_mask("provided", np.asarray(data.attrs["split"]) == "test")]


def fold_splits(data: SkeletonSet) -> list[Split]:
    """One split per value of ``attrs["fold"]`` (sorted): that fold tests, the others train.
    Splits are numbered from 1 in that order, as ``--fold`` numbers them, whatever the values
    (a 0-based array's value 0 is ``fold1``, named ``fold1 (value 0)``)."""
    if "fold" not in data.attrs:
        raise ConfigError(f"{data.name}: no 'fold' array, so no fold protocol")
    fold = np.asarray(data.attrs["fold"])
    return [split_by_test_mask(f"fold{k}" if str(v) == str(k) else f"fold{k} (value {v})",
                               fold == v)
            for k, v in enumerate(np.unique(fold).tolist(), 1)]
