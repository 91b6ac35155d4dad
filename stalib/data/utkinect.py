"""Reader of UTKinect-Action3D (Xia, Chen and Aggarwal, CVPR Workshops 2012).

The dataset is 20 continuous recordings ``joints_sSS_eEE.txt`` (10 subjects ``sSS`` x 2 runs
``eEE``), one row per skeleton: a frame number, then 20 joints x (x, y, z) in metres, whitespace
separated. A label file gives, per recording, the first and last frame number of each of the 10
actions. This reader cuts the recordings into the labelled segments: **199** of them.

Rules, from looking at the real files (all documented in the README):

* **Label file.** ``actionLabel.txt`` (the original, the default) or
  ``actionLabel_modified.txt`` (a corrected variant seen in later work; 7 lines differ, e.g.
  s03_e01 push is ``2556 3622`` in the original, overlapping throw, and ``3556 3622`` in the
  modified one). Which one was used is recorded in the set's ``name``
  (``utkinect[actionLabel.txt]``) and in ``attrs["label_file"]``.
* **Frame numbers.** Label frame numbers refer to the frame-number column, which has gaps (up
  to 298 frames) because the skeleton stream was saved at a lower rate than the video. A
  segment is every row whose frame number ``f`` satisfies ``start <= f <= end``; an endpoint
  need not be present itself (4 original labels start or end in a gap).
* **Repeated frame numbers.** Every recording has rows that repeat the previous row's frame
  number (6 to 145 per recording, never more than 3 in a row). They are not copies: their
  joints differ from the previous row as much as consecutive rows do, i.e. they are separate
  skeleton samples stamped with the same video frame. They are all kept, in file order, and
  counted per segment in ``attrs["repeated_frames"]``. A frame number smaller than the previous
  row's is a :class:`FormatError`.
* **Overlaps.** Some labelled segments overlap or share an endpoint (e.g. s01_e01 pull
  ``1640 1686`` and push ``1686 1748``); each segment is cut independently.
* **The NaN entry.** s10_e02 ``carry: NaN NaN`` is a documented missing segment of the dataset
  (in both label files): exactly that entry is skipped, with a message in
  :attr:`SkeletonSet.skipped`. Any other ``NaN``, or any missing entry for an existing
  recording, is a :class:`FormatError`.

``groups`` are the subjects (``s01``), ``attrs["run"]`` the run (``e01``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from stalib.data.core import SkeletonSet, apply_transform, first_non_float32, skip_or_raise
from stalib.errors import DataRootError, FormatError

UTK_CLASSES = (
    "walk", "sitDown", "standUp", "pickUp", "carry",
    "throw", "push", "pull", "waveHands", "clapHands",
)
UTK_JOINTS = 20
UTK_COLUMNS = 1 + UTK_JOINTS * 3  # frame number + 60 coordinates = 61
#: Frame numbers are whole numbers that float64 holds exactly (and int64 too).
MAX_FRAME_NUMBER = 2**53
#: Short names for the two label files shipped with the dataset.
LABEL_FILES = {"original": "actionLabel.txt", "modified": "actionLabel_modified.txt"}
DEFAULT_LABEL_FILE = LABEL_FILES["original"]
#: The choices as the --label-file help and the not-found error both name them.
LABEL_FILE_CHOICES = ("actionLabel.txt (or 'original', the default), actionLabel_modified.txt "
                      "(or 'modified'), or a path")
#: (recording, action) entries that the label files mark ``NaN NaN``: known gaps of the dataset.
DOCUMENTED_MISSING = frozenset({("s10_e02", "carry")})
_REC_RE = re.compile(r"s(\d\d)_e(\d\d)")
_JOINTS_RE = re.compile(r"joints_(s\d\d_e\d\d)\.txt")


@dataclass(frozen=True)
class Segment:
    """One label entry: ``action`` of ``recording`` spans frame numbers ``start..end``."""

    recording: str
    action: str
    start: int
    end: int
    line: int  # 1-based line in the label file


def resolve_label_file(folder: Path, label_file: str | Path) -> Path:
    """The label file: ``original``/``modified``, a file name inside ``folder``, or a path."""
    name = LABEL_FILES.get(str(label_file), label_file)
    path = Path(name)
    if not path.is_absolute() and path.parent == Path("."):
        path = folder / path
    if not path.is_file():
        raise DataRootError(
            f"UTKinect label file {path} not found (choose {LABEL_FILE_CHOICES})"
        )
    return path


def parse_label_file(
    path: str | Path, *, strict: bool = True, skipped: list[str] | None = None
) -> dict[str, dict[str, Segment | None]]:
    """Parse a UTKinect label file into ``{recording: {action: Segment or None}}``.

    ``None`` marks the documented ``NaN NaN`` gap (see :data:`DOCUMENTED_MISSING`). Every
    recording must list each of the 10 actions exactly once. With ``strict=False`` a bad entry
    is left out and reported in ``skipped``.
    """
    path = Path(path)
    skipped = [] if skipped is None else skipped
    out: dict[str, dict[str, Segment | None]] = {}
    header_line: dict[str, int] = {}
    current: str | None = None
    for lineno, raw in enumerate(_read_text(path).splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if _REC_RE.fullmatch(line):
            if line in out:
                skip_or_raise(
                    FormatError(path, f"recording {line} listed twice (first on line "
                                      f"{header_line[line]})", lineno),
                    strict, skipped,
                )
                current = None
                continue
            current = line
            out[current] = {}
            header_line[current] = lineno
            continue
        try:
            action, segment = _parse_entry(path, lineno, line, current, out)
        except FormatError as err:
            skip_or_raise(err, strict, skipped)
            continue
        if current is not None:
            out[current][action] = segment
    for rec, entries in out.items():
        missing = [a for a in UTK_CLASSES if a not in entries]
        if missing:
            skip_or_raise(
                FormatError(
                    path,
                    f"{rec} has no entry for {', '.join(missing)}; expected one line per action "
                    f"({', '.join(UTK_CLASSES)})",
                    header_line[rec],
                ),
                strict, skipped,
            )
    return out


def _parse_entry(path: Path, lineno: int, line: str, current: str | None, out: dict):
    if current is None:
        raise FormatError(
            path, f"{line!r} before any recording header (expected a line like s01_e01)", lineno
        )
    action, sep, rest = line.partition(":")
    action = action.strip()
    if not sep:
        raise FormatError(path, f"expected 'action: start end', got {line!r}", lineno)
    if action not in UTK_CLASSES:
        raise FormatError(
            path, f"unknown action {action!r}; expected one of {', '.join(UTK_CLASSES)}", lineno
        )
    if action in out[current]:
        raise FormatError(path, f"{current} lists {action} twice", lineno)
    values = rest.split()
    if len(values) != 2:
        raise FormatError(
            path, f"expected two frame numbers after '{action}:', got {len(values)}", lineno
        )
    if all(v.lower() == "nan" for v in values):
        if (current, action) in DOCUMENTED_MISSING:
            return action, None
        raise FormatError(
            path,
            f"{current} {action} is NaN NaN: a missing segment (the only documented one is "
            "s10_e02 carry)",
            lineno,
        )
    try:
        start, end = (int(v) for v in values)
    except ValueError:
        raise FormatError(
            path, f"expected two whole frame numbers, got {' '.join(values)!r}", lineno
        ) from None
    if start > end:
        raise FormatError(path, f"{current} {action} starts at {start} after its end {end}", lineno)
    return action, Segment(current, action, start, end, lineno)


def read_joints_file(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Parse one ``joints_sSS_eEE.txt``: ``(frame_numbers (R,) int64, joints (R, 20, 3))``.

    Checks: UTF-8 text, 61 whitespace-separated numbers per row, a whole frame number
    (``|f| <= 2**53``) that never decreases (it may repeat, see the module docstring), finite
    coordinates within the float32 range, at least one row.
    """
    path = Path(path)
    lines = _read_text(path).splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise FormatError(path, f"no frames: expected rows of {UTK_COLUMNS} numbers")
    frames = np.empty(len(lines), dtype=np.int64)
    coords = np.empty((len(lines), UTK_COLUMNS - 1), dtype=np.float64)
    for i, line in enumerate(lines):
        lineno = i + 1
        fields = line.split()
        if len(fields) != UTK_COLUMNS:
            raise FormatError(
                path,
                f"expected {UTK_COLUMNS} numbers (frame number + 20 joints x 3), "
                f"got {len(fields)}",
                lineno,
            )
        try:
            number = int(fields[0])
        except ValueError:
            raise FormatError(
                path, f"frame number {fields[0]!r} is not a whole number", lineno
            ) from None
        if abs(number) > MAX_FRAME_NUMBER:
            raise FormatError(path, f"frame number {fields[0]} is beyond -2**53..2**53", lineno)
        frames[i] = number
        try:
            coords[i] = np.array(fields[1:], dtype=np.float64)
        except ValueError:
            bad = next(c for c, tok in enumerate(fields[1:], start=2) if not _is_number(tok))
            raise FormatError(
                path, f"field {bad} is not a number: {fields[bad - 1]!r}", lineno
            ) from None
    bad = first_non_float32(coords)
    if bad is not None:
        (r, c), what = bad
        raise FormatError(path, f"field {c + 2} is {what}", r + 1)
    back = np.flatnonzero(np.diff(frames) < 0)
    if len(back):
        r = back[0] + 1
        raise FormatError(
            path, f"frame number {frames[r]} after {frames[r - 1]}: frame numbers must not "
                  "decrease", r + 1,
        )
    return frames, coords.reshape(len(lines), UTK_JOINTS, 3).astype(np.float32)


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise FormatError(path, f"not a text file ({err.reason} at byte {err.start})") from None


def _is_number(tok: str) -> bool:
    try:
        float(tok)
    except ValueError:
        return False
    return True


def _recordings(folder: Path, labels_by_rec: dict, label_path: Path, strict: bool,
                skipped: list[str]) -> dict[str, Path]:
    """The ``joints_sSS_eEE.txt`` files under ``folder`` by recording (``sSS_eEE``); a badly
    named file and a recording the label file lists without a file are reported."""
    recordings: dict[str, Path] = {}
    for path in sorted(folder.glob("joints_*")):
        m = _JOINTS_RE.fullmatch(path.name)
        if m is None:
            skip_or_raise(
                FormatError(path, "unexpected file name: expected joints_sSS_eEE.txt"),
                strict, skipped,
            )
            continue
        recordings[m.group(1)] = path
    for rec in sorted(set(labels_by_rec) - set(recordings)):
        skip_or_raise(
            FormatError(
                folder / f"joints_{rec}.txt", f"missing, but {label_path.name} lists {rec}"
            ),
            strict, skipped,
        )
    return recordings


def _segments(rec: str, path: Path, actions: dict, label_path: Path,
              transform: Callable[[np.ndarray], np.ndarray] | None, strict: bool,
              skipped: list[str]) -> list[dict]:
    """The labelled segments of one recording, in class order, each a dict of its sequence and
    attributes; bad ones are skipped (``strict=False``) or raised, the NaN gap reported."""
    try:
        frame_numbers, joints = read_joints_file(path)
    except FormatError as err:
        skip_or_raise(err, strict, skipped)
        return []
    out = []
    for label, action in enumerate(UTK_CLASSES):
        if action not in actions:
            continue  # a bad or missing entry, already reported by parse_label_file
        seg = actions[action]
        if seg is None:
            skipped.append(
                f"skipped (documented gap of the dataset): {label_path}: {rec} {action} is "
                "NaN NaN, the one unlabelled segment of UTKinect-Action3D"
            )
            continue
        try:
            rows = _segment_rows(seg, frame_numbers, path, label_path)
            seq = joints[rows]
            if transform is not None:
                seq = apply_transform(transform, seq, path)
        except FormatError as err:
            skip_or_raise(err, strict, skipped)
            continue
        subject, run_id = rec.split("_")
        out.append({"seq": seq, "label": label, "group": subject, "run": run_id,
                    "name": f"{rec}_{action}", "start": seg.start, "end": seg.end,
                    "repeated": int(np.sum(np.diff(frame_numbers[rows]) == 0))})
    return out


def read_utkinect(
    folder: str | Path,
    *,
    label_file: str | Path = DEFAULT_LABEL_FILE,
    strict: bool = True,
    transform: Callable[[np.ndarray], np.ndarray] | None = None,
) -> SkeletonSet:
    """Cut the UTKinect recordings under ``folder`` into labelled segments (199 with the real data).

    ``label_file``: ``"actionLabel.txt"`` (default), ``"actionLabel_modified.txt"``, the short
    names ``original``/``modified``, or a path. ``transform`` is applied to each ``(T, 20, 3)``
    segment. With ``strict=False`` bad files and label entries are skipped and reported in
    ``skipped``; the documented NaN segment is always skipped and reported.
    """
    folder = Path(folder)
    label_path = resolve_label_file(folder, label_file)
    skipped: list[str] = []
    labels_by_rec = parse_label_file(label_path, strict=strict, skipped=skipped)
    recordings = _recordings(folder, labels_by_rec, label_path, strict, skipped)
    segments: list[dict] = []
    for rec, path in sorted(recordings.items()):
        if rec not in labels_by_rec:
            skip_or_raise(
                FormatError(
                    label_path, f"no entry for recording {rec} ({path.name} exists); expected a "
                                f"'{rec}' line followed by the 10 actions",
                ),
                strict, skipped,
            )
            continue
        segments += _segments(rec, path, labels_by_rec[rec], label_path, transform, strict,
                              skipped)
    if not segments:
        raise DataRootError(
            f"no usable UTKinect segment under {folder}"
            + (f" ({len(skipped)} skipped: {skipped[0]})" if skipped else "")
        )
    seqs, labels, groups, names, run, start, end, repeated = (
        [g[k] for g in segments] for k in ("seq", "label", "group", "name", "run", "start",
                                           "end", "repeated"))
    return SkeletonSet.from_sequences(
        seqs, labels, groups, names, UTK_CLASSES, 1, UTK_JOINTS,
        attrs={
            "run": np.asarray(run),
            "start_frame": np.asarray(start, dtype=np.int64),
            "end_frame": np.asarray(end, dtype=np.int64),
            "repeated_frames": np.asarray(repeated, dtype=np.int64),
            "label_file": np.full(len(seqs), label_path.name),
        },
        name=f"utkinect[{label_path.name}]",
        skipped=skipped,
    )


def _segment_rows(seg: Segment, frame_numbers: np.ndarray, path: Path, label_path: Path):
    """Row indices of ``path`` whose frame number lies in ``[seg.start, seg.end]``."""
    first, last = int(frame_numbers[0]), int(frame_numbers[-1])
    if seg.start < first or seg.end > last:
        raise FormatError(
            label_path,
            f"{seg.recording} {seg.action} spans frames {seg.start}..{seg.end}, outside "
            f"{path.name}'s frame numbers {first}..{last}",
            seg.line,
        )
    rows = np.flatnonzero((frame_numbers >= seg.start) & (frame_numbers <= seg.end))
    if len(rows) == 0:
        raise FormatError(
            label_path,
            f"{seg.recording} {seg.action} spans frames {seg.start}..{seg.end}, but "
            f"{path.name} has no row with a frame number in that range",
            seg.line,
        )
    return rows
