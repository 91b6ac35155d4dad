"""Reader of the SBU Kinect Interaction dataset (Yun et al., CVPR Workshops 2012).

Layout under the data root: ``SBU/<set>/<class>/<seq>/skeleton_pos.txt``, where ``<set>`` is
``sAAsBB`` (subject A acts with subject B), ``<class>`` is ``01``..``08`` and ``<seq>`` a
sequence folder (``001``, ...). Each row of ``skeleton_pos.txt`` is one frame: 91
comma-separated numbers, the frame index then 2 persons x 15 joints x (x, y, z), with x, y
normalised image coordinates and z the depth (see
:class:`stalib.data.transforms.SBUUnnormalize`). The full dataset has 282 sequences in 21 sets.

Checks (each failure is a :class:`stalib.errors.FormatError` naming the file and line): every
row has exactly 91 numbers, all finite and within the float32 range (``1e308`` would become
``inf``); the frame index is a whole number (``|i| <= 2**53``) that grows by exactly 1 from row to
row (the real files all do; a gap means lost rows); at least one frame; set
folders are named ``sAAsBB``; class folders are ``01``..``08``; every sequence folder holds a
``skeleton_pos.txt``. Plain files and hidden entries beside the set and class folders (a zip, a
README) are not data and are not read; the other files of a sequence folder (the original
download also has images) are ignored too.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import numpy as np

from stalib.data.core import (
    SkeletonSet,
    apply_transform,
    first_non_float32,
    none_usable,
    skip_or_raise,
)
from stalib.errors import FormatError

SBU_CLASSES = (
    "approaching", "departing", "kicking", "punching",
    "pushing", "hugging", "shaking hands", "exchanging",
)
SBU_PERSONS = 2
SBU_JOINTS = 15
SBU_COLUMNS = 1 + SBU_PERSONS * SBU_JOINTS * 3  # frame index + 90 coordinates = 91
SKELETON_FILE = "skeleton_pos.txt"
#: Frame indices are whole numbers that float64 holds exactly (and int64 too).
MAX_FRAME_INDEX = 2**53
_SET_RE = re.compile(r"s\d\ds\d\d")
_CLASS_RE = re.compile(r"0[1-8]")


def _numbers(path: Path, lineno: int, fields: list[str]) -> np.ndarray:
    try:
        return np.array(fields, dtype=np.float64)
    except ValueError:
        for col, tok in enumerate(fields, start=1):
            try:
                float(tok)
            except ValueError:
                raise FormatError(
                    path, f"field {col} is not a number: {tok.strip()!r}", lineno
                ) from None
        raise  # pragma: no cover - numpy refused what float() accepts


def read_sbu_file(path: str | Path) -> np.ndarray:
    """Parse one ``skeleton_pos.txt`` into a ``(T, 30, 3)`` float32 array (raw coordinates).

    Raises :class:`FormatError` (file, line, what was expected) on any deviation.
    """
    return _parse(Path(path))[1]


def read_sbu_first_frame(path: str | Path) -> tuple[int, np.ndarray]:
    """``(the file's first frame index, (T, 30, 3) raw coordinates)`` of one
    ``skeleton_pos.txt`` (frame indices grow by 1 a row)."""
    return _parse(Path(path))


def _parse(path: Path) -> tuple[int, np.ndarray]:
    """``(first frame index, (T, 30, 3) coordinates)`` of one file."""
    try:
        text = path.read_bytes().decode("utf-8")  # no newline translation: see below
    except UnicodeDecodeError as err:
        raise FormatError(path, f"not a text file ({err.reason} at byte {err.start})") from None
    # Lines end at "\n" (a "\r" before it is part of the ending), as editors count them:
    # str.splitlines() would also break at a bare "\r" and shift every line number after it.
    lines = [line.removesuffix("\r") for line in text.split("\n")]
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise FormatError(
            path, f"no frames: expected rows of {SBU_COLUMNS} comma-separated numbers"
        )
    rows = np.empty((len(lines), SBU_COLUMNS), dtype=np.float64)
    for i, line in enumerate(lines):
        lineno = i + 1
        if not line.strip():
            raise FormatError(path, "empty line inside the file", lineno)
        if "\r" in line:
            raise FormatError(path, "a carriage return (\\r) inside the line; lines must end "
                                    "with \\n or \\r\\n", lineno)
        fields = line.split(",")
        if len(fields) != SBU_COLUMNS:
            raise FormatError(
                path,
                f"expected {SBU_COLUMNS} comma-separated numbers (frame index + 2 persons x "
                f"15 joints x 3), got {len(fields)}",
                lineno,
            )
        rows[i] = _numbers(path, lineno, fields)
    bad = first_non_float32(rows)
    if bad is not None:
        (r, c), what = bad
        raise FormatError(path, f"field {c + 1} is {what}", r + 1)
    index = rows[:, 0]
    frac = np.flatnonzero((index != np.round(index)) | (np.abs(index) > MAX_FRAME_INDEX))
    if len(frac):
        r = frac[0]
        raise FormatError(path, f"frame index {index[r]:g} is not a whole number in "
                                f"-2**53..2**53", r + 1)
    steps = np.flatnonzero(np.diff(index) != 1)
    if len(steps):
        r = steps[0] + 1
        raise FormatError(
            path,
            f"frame index {index[r]:.0f} follows {index[r - 1]:.0f}; expected "
            f"{index[r - 1] + 1:.0f} (rows must be consecutive frames)",
            r + 1,
        )
    coords = rows[:, 1:].reshape(len(rows), SBU_PERSONS * SBU_JOINTS, 3).astype(np.float32)
    return int(index[0]), coords


def _entries(folder: Path) -> list[Path]:
    """Sub-folders of ``folder``, sorted; hidden entries and plain files are not data."""
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def read_sbu(
    folder: str | Path,
    *,
    strict: bool = True,
    transform: Callable[[np.ndarray], np.ndarray] | None = None,
) -> SkeletonSet:
    """Read every sequence under the SBU folder ``folder`` into one :class:`SkeletonSet`.

    ``groups`` are the set names (``s01s02``), the unit of the subject-independent 5-fold
    split; ``names`` are ``set/class/seq``; ``attrs["first_frame"]`` is each file's first frame
    index. ``transform`` (e.g. :meth:`stalib.data.transforms.SBUPreprocess.build`) is applied
    to each ``(T, 30, 3)`` sequence. With ``strict=False`` bad files and folders are skipped
    and listed in ``skipped`` instead of raising.
    """
    folder = Path(folder)
    skipped: list[str] = []
    seqs, labels, groups, names, first = [], [], [], [], []
    for set_dir in _entries(folder):
        if not _SET_RE.fullmatch(set_dir.name):
            skip_or_raise(
                FormatError(set_dir, "unexpected folder: expected a set folder named sAAsBB"),
                strict, skipped,
            )
            continue
        for class_dir in _entries(set_dir):
            if not _CLASS_RE.fullmatch(class_dir.name):
                skip_or_raise(
                    FormatError(
                        class_dir,
                        f"unknown class folder {class_dir.name!r}: expected 01..08 "
                        f"({', '.join(SBU_CLASSES)})",
                    ),
                    strict, skipped,
                )
                continue
            label = int(class_dir.name) - 1
            for seq_dir in _entries(class_dir):
                path = seq_dir / SKELETON_FILE
                try:
                    if not path.is_file():
                        raise FormatError(path, "missing: every sequence folder needs one")
                    first_index, raw = _parse(path)
                    seq = raw if transform is None else apply_transform(transform, raw, path)
                except FormatError as err:
                    skip_or_raise(err, strict, skipped)
                    continue
                seqs.append(seq)
                labels.append(label)
                groups.append(set_dir.name)
                names.append(f"{set_dir.name}/{class_dir.name}/{seq_dir.name}")
                first.append(first_index)
    if not seqs:
        raise none_usable("SBU", folder, skipped)
    return SkeletonSet.from_sequences(
        seqs, labels, groups, names, SBU_CLASSES, SBU_PERSONS, SBU_JOINTS,
        attrs={"first_frame": np.asarray(first, dtype=np.int64)}, name="sbu", skipped=skipped,
    )
