"""Reader of the skeleton part of UTD-MHAD (Chen, Jafari and Kehtarnavaz, ICIP 2015).

``UTD-MHAD/aA_sS_tT_skeleton.mat``, one MATLAB 5 file per sequence, for action ``A`` (1-27),
subject ``S`` (1-8) and trial ``T`` (1-4), read with :func:`scipy.io.loadmat`. Each holds one
variable ``d_skel``: 20 joints x 3 (x, y, z, metres) x frames, in the order of the dataset's
``Skeleton_joint_order.txt`` (head, shoulder centre, spine, hip centre, ...:
:data:`stalib.data.skeletons.UTDMHAD`, not NW-UCLA's or UTKinect's order). The dataset has
**861** sequences (3 of the 864 are missing in the original); its standard protocol is
cross-subject (subjects 1, 3, 5, 7 train; 2, 4, 6, 8 test).

Checks (each a :class:`stalib.errors.FormatError` naming the file): a readable ``.mat`` file;
a variable ``d_skel``; its shape 20 x 3 x T with T >= 1; every value a finite number within the
float32 range. ``.mat`` files of another name are an error; other files (the joint-order text,
a README, hidden files) are not data and are not read.

``groups`` are the subjects (``s1``), ``attrs["trial"]`` the trial (1-4).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import scipy.io

from stalib.data.core import (
    SkeletonSet,
    apply_transform,
    first_non_float32,
    none_usable,
    skip_or_raise,
)
from stalib.errors import FormatError

#: Class names, index = action number - 1 (the dataset's README).
UTDMHAD_CLASSES = (
    "swipe left", "swipe right", "wave", "clap", "throw", "arm cross", "basketball shoot",
    "draw x", "draw circle (clockwise)", "draw circle (counter clockwise)", "draw triangle",
    "bowling", "boxing", "baseball swing", "tennis swing", "arm curl", "tennis serve", "push",
    "knock", "catch", "pickup and throw", "jog", "walk", "sit to stand", "stand to sit",
    "lunge", "squat",
)
UTDMHAD_JOINTS = 20
VARIABLE = "d_skel"
_NAME_RE = re.compile(r"a(\d+)_s(\d+)_t(\d+)_skeleton")


def read_utdmhad_file(path: str | Path) -> np.ndarray:
    """The ``(T, 20, 3)`` coordinates of one ``.mat`` file; FormatError on any deviation."""
    path = Path(path)
    try:
        mat = scipy.io.loadmat(path, variable_names=[VARIABLE])
    except Exception as err:  # noqa: BLE001 - loadmat raises a dozen types on a damaged file
        # (MatReadError, ValueError, zlib.error, struct.error, EOFError, ...): each is this file
        # not being a readable .mat, said in one line
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise FormatError(path, f"not a readable MATLAB .mat file ({first})") from None
    if VARIABLE not in mat:
        raise FormatError(path, f"no variable {VARIABLE!r}: expected {VARIABLE}, "
                                f"{UTDMHAD_JOINTS} joints x 3 x frames")
    arr = np.asarray(mat[VARIABLE])
    if arr.dtype.kind not in "fiu" or arr.ndim not in (2, 3) or arr.shape[:2] != (
            UTDMHAD_JOINTS, 3):
        raise FormatError(path, f"{VARIABLE} has shape {arr.shape} ({arr.dtype}): expected "
                                f"{UTDMHAD_JOINTS} x 3 x frames of numbers")
    if arr.ndim == 2:  # MATLAB drops a trailing singleton dimension: one frame
        arr = arr[:, :, None]
    if arr.shape[2] < 1:
        raise FormatError(path, f"{VARIABLE} has no frames (shape {arr.shape})")
    seq = np.transpose(arr.astype(np.float64), (2, 0, 1))
    bad = first_non_float32(seq)
    if bad is not None:
        (t, j, a), what = bad
        raise FormatError(path, f"frame {t}, joint {j}, axis {a} is {what}")
    return seq.astype(np.float32)


def read_utdmhad(
    folder: str | Path,
    *,
    strict: bool = True,
    transform: Callable[[np.ndarray], np.ndarray] | None = None,
) -> SkeletonSet:
    """Read every ``*_skeleton.mat`` of the UTD-MHAD folder ``folder`` (sorted by action,
    subject, trial). ``transform`` (e.g. :meth:`stalib.data.transforms.UTDMHADPreprocess.build`)
    is applied to each ``(T, 20, 3)`` sequence. With ``strict=False`` bad files are skipped and
    listed in ``skipped`` instead of raising."""
    folder = Path(folder)
    skipped: list[str] = []
    entries = []
    for path in sorted(p for p in folder.iterdir()
                       if p.suffix == ".mat" and not p.name.startswith(".")):
        match = _NAME_RE.fullmatch(path.stem)
        action = int(match.group(1)) if match else 0
        if match is None or not 1 <= action <= len(UTDMHAD_CLASSES):
            skip_or_raise(FormatError(path, "unexpected file name: expected aA_sS_tT_skeleton.mat "
                                            f"with action A in 1..{len(UTDMHAD_CLASSES)}"),
                          strict, skipped)
            continue
        entries.append((action, int(match.group(2)), int(match.group(3)), path))
    seqs, labels, groups, names, trials = [], [], [], [], []
    for action, subject, trial, path in sorted(entries):
        try:
            raw = read_utdmhad_file(path)
            seq = raw if transform is None else apply_transform(transform, raw, path)
        except FormatError as err:
            skip_or_raise(err, strict, skipped)
            continue
        seqs.append(seq)
        labels.append(action - 1)
        groups.append(f"s{subject}")
        names.append(path.stem.removesuffix("_skeleton"))
        trials.append(trial)
    if not seqs:
        raise none_usable("UTD-MHAD", folder, skipped)
    return SkeletonSet.from_sequences(
        seqs, labels, groups, names, UTDMHAD_CLASSES, 1, UTDMHAD_JOINTS,
        attrs={"trial": np.asarray(trials, dtype=np.int64)}, name="utdmhad", skipped=skipped,
    )
