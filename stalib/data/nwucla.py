"""Reader of Northwestern-UCLA Multiview Action 3D (Wang, Nie, Xia, Wu and Zhu, CVPR 2014).

The skeleton release most later work uses (distributed with CTR-GCN, Chen et al. ICCV 2021):
``all_sqe/aAA_sSS_eEE_vVV.json``, one file per sequence, for action ``AA``, subject ``SS``
(1-10), environment ``EE`` and view ``VV`` (1-3). Each file is one JSON object with
``file_name`` (the stem), ``label`` (1-10) and ``skeletons``: a list over frames of 20 joints x
(x, y, z) in metres, in the Kinect v1 order (:data:`stalib.data.skeletons.NWUCLA`). The release
has **1484** sequences; its standard protocol is cross-view (views 1 and 2 train, view 3 tests).

Checks (each a :class:`stalib.errors.FormatError` naming the file, and the line where JSON says
one): valid UTF-8 JSON; an object with the three keys; ``file_name`` equal to the file's stem;
``label`` a whole number 1-10 that agrees with the action code of the name (the ten codes
a01-a06, a08, a09, a11, a12 are labels 1-10); at least one frame; every frame 20 joints of 3
finite numbers within the float32 range. ``.json`` files of another name are an error; files
of other kinds (a README, hidden files) are not data and are not read.

**One-frame sequences.** Two files of the release hold a single frame. They are kept: they belong to
the standard split's counts (1020 / 464), and every model here reads a one-frame sequence as a still
pose (a configuration's resampling repeats the frame; a model's motion stream is then zero).
``stalib data summary nwucla`` shows the shortest length (1) and names them.

``groups`` are the subjects (``s01``), ``attrs["view"]`` the view (1-3), ``attrs["environment"]``
the environment code.
"""

from __future__ import annotations

import json
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
from stalib.errors import DataRootError, FormatError

#: Class names, index = label - 1, and the action code of each in the file names.
NWUCLA_CLASSES = (
    "pick up with one hand", "pick up with two hands", "drop trash", "walk around",
    "sit down", "stand up", "donning", "doffing", "throw", "carry",
)
NWUCLA_ACTION_CODES = (1, 2, 3, 4, 5, 6, 8, 9, 11, 12)
NWUCLA_JOINTS = 20
#: The sub-folder of ``NW-UCLA/`` that holds the files.
NWUCLA_SUBFOLDER = "all_sqe"
_NAME_RE = re.compile(r"a(\d\d)_s(\d\d)_e(\d\d)_v(\d\d)")
_KEYS = ("file_name", "label", "skeletons")


def _frames(path: Path, skeletons) -> np.ndarray:
    if not isinstance(skeletons, list) or not skeletons:
        raise FormatError(path, "'skeletons' must be a non-empty list of frames (no frames)")
    try:
        arr = np.asarray(skeletons, dtype=np.float64)
    except (ValueError, TypeError):
        arr = None
    if arr is None or arr.ndim != 3 or arr.shape[1:] != (NWUCLA_JOINTS, 3):
        for t, frame in enumerate(skeletons):
            shape = np.shape(frame) if isinstance(frame, list) else type(frame).__name__
            ok = (isinstance(frame, list) and len(frame) == NWUCLA_JOINTS
                  and all(isinstance(j, list) and len(j) == 3 for j in frame))
            if not ok:
                raise FormatError(path, f"frame {t}: expected {NWUCLA_JOINTS} joints x 3 "
                                        f"numbers, got {shape}")
        raise FormatError(path, "'skeletons' holds a value that is not a number")
    bad = first_non_float32(arr)
    if bad is not None:
        (t, j, a), what = bad
        raise FormatError(path, f"frame {t}, joint {j}, axis {a} is {what}")
    return arr.astype(np.float32)


def read_nwucla_file(path: str | Path) -> tuple[int, np.ndarray]:
    """``(label index 0-9, (T, 20, 3) coordinates)`` of one ``.json`` file; FormatError on any
    deviation (see the module)."""
    path = Path(path)
    match = _NAME_RE.fullmatch(path.stem)
    if match is None:
        raise FormatError(path, "unexpected file name: expected aAA_sSS_eEE_vVV.json")
    code = int(match.group(1))
    if code not in NWUCLA_ACTION_CODES:
        raise FormatError(path, f"unknown action code a{code:02d}: expected one of "
                                + ", ".join(f"a{c:02d}" for c in NWUCLA_ACTION_CODES))
    try:
        obj = json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as err:
        raise FormatError(path, f"not a text file ({err.reason} at byte {err.start})") from None
    except json.JSONDecodeError as err:
        raise FormatError(path, f"not valid JSON: {err.msg} (column {err.colno})",
                          err.lineno) from None
    if not isinstance(obj, dict) or any(k not in obj for k in _KEYS):
        have = sorted(obj) if isinstance(obj, dict) else type(obj).__name__
        raise FormatError(path, f"expected a JSON object with keys {', '.join(_KEYS)}; "
                                f"got {have}")
    if obj["file_name"] != path.stem:
        raise FormatError(path, f"file_name {obj['file_name']!r} is not the file's own name "
                                f"{path.stem!r}")
    label = obj["label"]
    expected = NWUCLA_ACTION_CODES.index(code) + 1
    if isinstance(label, bool) or not isinstance(label, int) or label != expected:
        raise FormatError(path, f"label {label!r} does not match the action code a{code:02d} "
                                f"of the name (label {expected})")
    return expected - 1, _frames(path, obj["skeletons"])


def read_nwucla(
    folder: str | Path,
    *,
    strict: bool = True,
    transform: Callable[[np.ndarray], np.ndarray] | None = None,
) -> SkeletonSet:
    """Read every ``all_sqe/*.json`` under the NW-UCLA folder ``folder`` (sorted by name).

    ``transform`` (e.g. :meth:`stalib.data.transforms.NWUCLAPreprocess.build`) is applied to
    each ``(T, 20, 3)`` sequence. With ``strict=False`` bad files are skipped and listed in
    ``skipped`` instead of raising.
    """
    folder = Path(folder)
    files_dir = folder / NWUCLA_SUBFOLDER
    if not files_dir.is_dir():
        raise DataRootError(f"{files_dir} not found: the NW-UCLA skeleton release keeps its "
                            f"files in {NWUCLA_SUBFOLDER}/ (README, 'Data')")
    skipped: list[str] = []
    seqs, labels, groups, names, views, envs = [], [], [], [], [], []
    paths = sorted(p for p in files_dir.iterdir()
                   if p.suffix == ".json" and not p.name.startswith("."))
    for path in paths:
        try:
            label, raw = read_nwucla_file(path)
            seq = raw if transform is None else apply_transform(transform, raw, path)
        except FormatError as err:
            skip_or_raise(err, strict, skipped)
            continue
        _, subject, env, view = (int(g) for g in _NAME_RE.fullmatch(path.stem).groups())
        seqs.append(seq)
        labels.append(label)
        groups.append(f"s{subject:02d}")
        names.append(path.stem)
        views.append(view)
        envs.append(env)
    if not seqs:
        raise none_usable("NW-UCLA", files_dir, skipped)
    return SkeletonSet.from_sequences(
        seqs, labels, groups, names, NWUCLA_CLASSES, 1, NWUCLA_JOINTS,
        attrs={"view": np.asarray(views, dtype=np.int64),
               "environment": np.asarray(envs, dtype=np.int64)},
        name="nwucla", skipped=skipped,
    )
