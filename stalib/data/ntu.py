"""Reader of NTU RGB+D (Shahroudy et al., CVPR 2016) ``.skeleton`` files, and its disk cache.

**File format** (text, CRLF or LF): the frame count; then per frame a body count; per body one
info line of 10 values (body id, clipped edges, left hand confidence and state, right hand
confidence and state, restricted flag, lean x, lean y, tracking state), the joint count (25)
and 25 lines of 12 values (x y z, depthX depthY, colorX colorY, orientation w x y z, tracking
state). Only x, y, z (metres, camera coordinates) are kept. File names are
``SsssCcccPpppRrrrAaaa``: setup, camera, performer, replication, action (1..60 for NTU-60).

**Two bodies.** Sequences have ``K = 50``: 2 persons x 25 joints, person 1 first.

* Bodies are keyed by their body id; a body may appear and disappear across frames.
* When more than 2 bodies are tracked over a file, the 2 with the largest **motion** are kept:
  motion = the sum over joints and x, y, z of the variance over time of the position, taken over
  the frames where the body is tracked (0 for a body seen in one frame; the Kinect's spurious
  extra bodies are mostly still objects). Ties go to the body that appears first (earlier frame,
  then earlier in its frame).
* The kept bodies are ordered by first appearance: person 1 is the one seen first.
* A kept body not tracked in a frame has all its joints at ``(0, 0, 0)`` there. In particular
  the second person of a single-body file is all zeros: that is the convention for
  single-person actions (one layout for all 60 classes), not a repair of bad data.
* Frames in which neither kept body is tracked carry no skeleton; they are removed and counted
  in ``attrs["dropped_frames"]``. A file with no tracked body in any frame (NTU lists 302 such
  "missing skeleton" samples) is a :class:`FormatError`: with ``strict=False``
  (``--skip-bad``) it is skipped and reported.

**Parsers.** :func:`parse_skeleton` is vectorised: it reads the whole text, converts all tokens
to numbers with numpy at once and walks only the counts; when anything does not fit it hands
over to :func:`parse_skeleton_reference`, a plain line-by-line parser, which finds the exact
line and raises the :class:`FormatError`. Both return the same :class:`RawSkeleton`.

**Cache** (:func:`load_ntu`). The full set (56,880 files, 5.8 GB of text) is parsed once, by
worker processes, into ``<cache_dir>/<key>/``: a raw float32 file of all frames, read back as a
``numpy.memmap``, and ``index.npz`` (offsets, labels, performer, camera, ...). Each parsed file
is appended to the frames file as it arrives, so memory does not grow with the number of files.
Both files are written under temporary names and renamed into place (the index last), so a
killed build leaves no half cache. The cache is reused while the list of files, their sizes and
modification times, and the preprocessing settings are unchanged, and rebuilt otherwise.
Workers are forked where the platform allows (Linux), so a script needs no
``if __name__ == "__main__"`` guard there; elsewhere they are spawned.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import re
import uuid
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from stalib.data.core import SkeletonSet, apply_transform, first_non_float32, skip_or_raise
from stalib.data.transforms import NTUPreprocess
from stalib.errors import DataRootError, FormatError

NTU_CLASSES = (
    "drink water", "eat meal/snack", "brushing teeth", "brushing hair", "drop",
    "pickup", "throw", "sitting down", "standing up (from sitting position)", "clapping",
    "reading", "writing", "tear up paper", "wear jacket", "take off jacket",
    "wear a shoe", "take off a shoe", "wear on glasses", "take off glasses", "put on a hat/cap",
    "take off a hat/cap", "cheer up", "hand waving", "kicking something", "reach into pocket",
    "hopping (one foot jumping)", "jump up", "make a phone call/answer phone",
    "playing with phone/tablet", "typing on a keyboard",
    "pointing to something with finger", "taking a selfie", "check time (from watch)",
    "rub two hands together", "nod head/bow",
    "shake head", "wipe face", "salute", "put the palms together",
    "cross hands in front (say stop)",
    "sneeze/cough", "staggering", "falling", "touch head (headache)",
    "touch chest (stomachache/heart pain)",
    "touch back (backache)", "touch neck (neckache)", "nausea or vomiting condition",
    "use a fan (with hand or paper)/feeling warm", "punching/slapping other person",
    "kicking other person", "pushing other person", "pat on back of other person",
    "point finger at the other person", "hugging other person",
    "giving something to other person", "touch other person's pocket", "handshaking",
    "walking towards each other", "walking apart from each other",
)
NTU_JOINTS = 25
NTU_PERSONS = 2
NTU_INFO_FIELDS = 10
NTU_JOINT_FIELDS = 12
#: Cross-subject protocol (Shahroudy et al. 2016): the training performers; the rest test.
NTU_XSUB_TRAIN_PERFORMERS = (
    1, 2, 4, 5, 8, 9, 13, 14, 15, 16, 17, 18, 19, 25, 27, 28, 31, 34, 35, 38,
)
#: Cross-view protocol: cameras 2 and 3 train, camera 1 tests.
NTU_XVIEW_TRAIN_CAMERAS = (2, 3)
CACHE_ENV_VAR = "STALIB_CACHE"
_CACHE_VERSION = 1
_NAME_RE = re.compile(r"S(\d{3})C(\d{3})P(\d{3})R(\d{3})A(\d{3})")


# --------------------------------------------------------------------------- file names
def parse_ntu_name(path: str | Path, num_classes: int = len(NTU_CLASSES)) -> dict[str, int]:
    """``{"setup", "camera", "performer", "replication", "action"}`` from a file name.

    ``action`` is 1-based as in the name (A001 -> 1); the label is ``action - 1``. Raises
    :class:`FormatError` unless the name is ``SsssCcccPpppRrrrAaaa.skeleton`` with an action
    in ``1..num_classes`` and the other numbers >= 1.
    """
    path = Path(path)
    m = _NAME_RE.fullmatch(path.name.removesuffix(".skeleton"))
    if not path.name.endswith(".skeleton") or m is None:
        raise FormatError(
            path, "bad NTU file name: expected SsssCcccPpppRrrrAaaa.skeleton, e.g. "
                  "S001C002P003R001A017.skeleton"
        )
    setup, camera, performer, replication, action = (int(g) for g in m.groups())
    if not 1 <= action <= num_classes:
        raise FormatError(path, f"bad NTU file name: action A{action:03d} is not in "
                                f"A001..A{num_classes:03d}")
    if min(setup, camera, performer, replication) < 1:
        raise FormatError(path, "bad NTU file name: setup, camera, performer and replication "
                                "numbers start at 1")
    return {"setup": setup, "camera": camera, "performer": performer,
            "replication": replication, "action": action}


# --------------------------------------------------------------------------- parsing
@dataclass
class RawSkeleton:
    """The content of one ``.skeleton`` file, before body selection.

    Attributes:
        num_frames: the frame count of the file.
        frame: ``(B,)`` int64, the frame of each body occurrence (in file order).
        body_ids: the ``B`` body ids as written (strings: they exceed float precision).
        joints: ``(B, 25, 3)`` float32 positions of each occurrence.
    """

    num_frames: int
    frame: np.ndarray
    body_ids: list[str]
    joints: np.ndarray = field(repr=False)

    def same_as(self, other: RawSkeleton) -> bool:
        """True when both hold exactly the same content."""
        return (
            self.num_frames == other.num_frames
            and np.array_equal(self.frame, other.frame)
            and self.body_ids == other.body_ids
            and np.array_equal(self.joints, other.joints)
        )


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="ascii")
    except UnicodeDecodeError as err:
        raise FormatError(path, f"not a text file ({err.reason} at byte {err.start})") from None


def parse_skeleton_reference(path: str | Path) -> RawSkeleton:
    """Line-by-line parser of one ``.skeleton`` file (the reference; slow but exact).

    Raises :class:`FormatError` naming the file and line, and saying what was expected, for a
    truncated file, a non-numeric or non-finite value (or an x y z beyond the float32 range), a
    wrong number of values on a line, a joint count other than 25, zero frames or content after
    the last frame.
    """
    path = Path(path)
    lines = _read_text(path).splitlines()
    pos = 0

    def take(what: str) -> tuple[int, list[str]]:
        nonlocal pos
        if pos >= len(lines):
            raise FormatError(path, f"file ends early: expected {what}", len(lines) + 1)
        pos += 1
        tokens = lines[pos - 1].split()
        if not tokens:
            raise FormatError(path, f"empty line: expected {what}", pos)
        return pos, tokens

    def count(what: str, minimum: int) -> int:
        lineno, tokens = take(what)
        if len(tokens) != 1 or not tokens[0].isdigit():
            raise FormatError(path, f"expected {what} (one whole number), got {' '.join(tokens)!r}",
                              lineno)
        value = int(tokens[0])
        if value < minimum:
            raise FormatError(path, f"{what} is {value}, expected at least {minimum}", lineno)
        return value

    num_frames = count("the frame count", 0)
    if num_frames == 0:
        raise FormatError(path, "zero frames: the frame count is 0", 1)
    frames, ids, joints = [], [], []
    for f in range(num_frames):
        bodies = count(f"the body count of frame {f + 1} of {num_frames}", 0)
        for b in range(bodies):
            where = f"body {b + 1} of frame {f + 1}"
            lineno, info = take(f"the info line of {where}")
            if len(info) != NTU_INFO_FIELDS:
                raise FormatError(
                    path, f"info line of {where}: expected {NTU_INFO_FIELDS} values, got "
                          f"{len(info)}", lineno)
            if not info[0].isdigit():
                raise FormatError(path, f"info line of {where}: body id {info[0]!r} is not a "
                                        "whole number", lineno)
            _floats(path, lineno, info[1:], f"info line of {where}", offset=2)
            nj = count(f"the joint count of {where}", 0)
            if nj != NTU_JOINTS:
                raise FormatError(path, f"{where} has {nj} joints, expected {NTU_JOINTS}", pos)
            block = np.empty((NTU_JOINTS, NTU_JOINT_FIELDS), dtype=np.float64)
            for j in range(NTU_JOINTS):
                lineno, vals = take(f"joint {j + 1} of {where}")
                if len(vals) != NTU_JOINT_FIELDS:
                    raise FormatError(
                        path, f"joint {j + 1} of {where}: expected {NTU_JOINT_FIELDS} values, "
                              f"got {len(vals)}", lineno)
                block[j] = _floats(path, lineno, vals, f"joint {j + 1} of {where}")
                if first_non_float32(block[j, :3]) is not None:
                    raise FormatError(path, f"joint {j + 1} of {where}: x y z must be finite, "
                                            f"within the float32 range, got {' '.join(vals[:3])}",
                                      lineno)
            frames.append(f)
            ids.append(info[0])
            joints.append(block[:, :3])
    rest = [i for i in range(pos, len(lines)) if lines[i].strip()]
    if rest:
        raise FormatError(path, f"unexpected content after the last of {num_frames} frames",
                          rest[0] + 1)
    _check_unique_ids(path, np.asarray(frames, dtype=np.int64), ids)
    return RawSkeleton(
        num_frames=num_frames,
        frame=np.asarray(frames, dtype=np.int64),
        body_ids=ids,
        joints=(np.asarray(joints, dtype=np.float32).reshape(-1, NTU_JOINTS, 3)),
    )


def _floats(path: Path, lineno: int, tokens: list[str], where: str, offset: int = 1):
    out = np.empty(len(tokens), dtype=np.float64)
    for i, tok in enumerate(tokens):
        try:
            out[i] = float(tok)
        except ValueError:
            raise FormatError(path, f"{where}: value {i + offset} is not a number: {tok!r}",
                              lineno) from None
    return out


def _check_unique_ids(path: Path, frames: np.ndarray, ids: list[str]) -> None:
    seen: set[tuple[int, str]] = set()
    for f, body in zip(frames.tolist(), ids, strict=True):
        if (f, body) in seen:
            raise FormatError(path, f"body id {body} appears twice in frame {f + 1}")
        seen.add((f, body))


class _Mismatch(Exception):
    """The fast parser met something unexpected; the reference parser reports it."""


def parse_skeleton(path: str | Path) -> RawSkeleton:
    """Vectorised parser of one ``.skeleton`` file; same result and errors as the reference.

    The whole text is split into tokens and converted to float64 by numpy in one call; a Python
    loop walks only the frame / body / joint counts (a few hundred steps), and the joint blocks
    are gathered with one fancy-indexing operation. Any inconsistency (a token that is not a
    number, a wrong count, a wrong number of lines) hands over to
    :func:`parse_skeleton_reference`, which raises the precise :class:`FormatError`.
    """
    path = Path(path)
    text = _read_text(path)
    try:
        return _parse_fast(text)
    except _Mismatch:
        pass
    return parse_skeleton_reference(path)  # raises the FormatError (or parses an odd layout)


_BLOCK = NTU_JOINTS * NTU_JOINT_FIELDS


def _parse_fast(text: str) -> RawSkeleton:
    tokens = text.split()
    try:
        vals = np.array(tokens, dtype=np.float64)
    except ValueError:
        raise _Mismatch from None
    n = len(tokens)
    if n == 0 or not tokens[0].isdigit() or int(tokens[0]) == 0:
        raise _Mismatch
    num_frames = int(tokens[0])
    pos = 1
    frames, ids, starts = [], [], []
    for f in range(num_frames):
        if pos >= n or not tokens[pos].isdigit():
            raise _Mismatch
        bodies = int(tokens[pos])
        pos += 1
        for _ in range(bodies):
            jpos = pos + NTU_INFO_FIELDS
            if jpos >= n or not tokens[pos].isdigit() or tokens[jpos] != "25":
                raise _Mismatch
            frames.append(f)
            ids.append(tokens[pos])
            starts.append(jpos + 1)
            pos = jpos + 1 + _BLOCK
    if pos != n:
        raise _Mismatch  # truncated, or content after the last frame
    expected_lines = 1 + num_frames + len(ids) * (2 + NTU_JOINTS)
    if text.rstrip().count("\n") + 1 != expected_lines:
        raise _Mismatch  # right tokens, wrong line layout (or a blank line inside)
    starts_arr = np.asarray(starts, dtype=np.int64)
    blocks = vals[starts_arr[:, None] + np.arange(_BLOCK)].reshape(-1, NTU_JOINTS, NTU_JOINT_FIELDS)
    xyz = blocks[..., :3]
    if first_non_float32(xyz) is not None:
        raise _Mismatch
    frame = np.asarray(frames, dtype=np.int64)
    if len(set(zip(frames, ids, strict=True))) != len(ids):
        raise _Mismatch
    return RawSkeleton(num_frames=num_frames, frame=frame, body_ids=ids,
                       joints=xyz.astype(np.float32))


# --------------------------------------------------------------------------- bodies
def body_motion(joints: np.ndarray) -> float:
    """Motion of one body over its tracked frames: ``sum_{joint, axis} Var_t(position)``."""
    if len(joints) < 2:
        return 0.0
    return float(np.asarray(joints, dtype=np.float64).var(axis=0).sum())


def select_bodies(
    raw: RawSkeleton, path: str | Path = "<skeleton>", max_bodies: int = NTU_PERSONS
) -> tuple[np.ndarray, dict[str, int]]:
    """Turn a :class:`RawSkeleton` into a ``(T, max_bodies * 25, 3)`` sequence.

    Keeps the ``max_bodies`` bodies of largest :func:`body_motion` (ties: first appearance),
    orders them by first appearance, leaves a kept body's joints at zero in frames where it is
    not tracked and removes frames where no kept body is tracked (see the module docstring).
    Returns the sequence and ``{"bodies": distinct body ids in the file, "dropped_frames": n}``.
    Raises :class:`FormatError` when no body is tracked in any frame.
    """
    if not raw.body_ids:
        raise FormatError(
            path, f"no body tracked in any of the {raw.num_frames} frames (a sample with missing "
                  "skeletons; skip it with strict=False / `skip_bad`)"
        )
    first_seen: dict[str, int] = {}
    for occ, body in enumerate(raw.body_ids):
        first_seen.setdefault(body, occ)
    ids = np.asarray(raw.body_ids)
    motion = {b: body_motion(raw.joints[ids == b]) for b in first_seen}
    ranked = sorted(first_seen, key=lambda b: (-motion[b], first_seen[b]))
    kept = sorted(ranked[:max_bodies], key=first_seen.__getitem__)
    out = np.zeros((raw.num_frames, max_bodies * NTU_JOINTS, 3), dtype=np.float32)
    tracked = np.zeros(raw.num_frames, dtype=bool)
    for slot, body in enumerate(kept):
        occ = np.flatnonzero(ids == body)
        out[raw.frame[occ], slot * NTU_JOINTS : (slot + 1) * NTU_JOINTS] = raw.joints[occ]
        tracked[raw.frame[occ]] = True
    return out[tracked], {"bodies": len(first_seen),
                          "dropped_frames": int(raw.num_frames - tracked.sum())}


def load_skeleton(
    path: str | Path,
    transform: Callable[[np.ndarray], np.ndarray] | None = None,
    parser: Callable[[str | Path], RawSkeleton] = parse_skeleton,
) -> tuple[np.ndarray, dict[str, int]]:
    """One file -> ``((T, 50, 3) float32 sequence, meta)``: name check, parse, bodies, transform.

    ``meta`` holds the name fields of :func:`parse_ntu_name` plus ``bodies`` and
    ``dropped_frames``.
    """
    path = Path(path)
    meta = parse_ntu_name(path)
    seq, info = select_bodies(parser(path), path)
    if transform is not None:
        seq = apply_transform(transform, seq, path)
    return seq, {**meta, **info}


# --------------------------------------------------------------------------- writing
def format_skeleton(frames: Sequence[Sequence[tuple[str | int, np.ndarray]]],
                    newline: str = "\r\n") -> str:
    """Write ``.skeleton`` text: ``frames[f]`` lists ``(body_id, (25, 3) xyz)`` of frame ``f``.

    The inverse of the parsers, for tests and benchmarks: the other per-body and per-joint
    fields are filled with plausible constants (tracked, not restricted, identity orientation).
    """
    out = [str(len(frames))]
    for bodies in frames:
        out.append(str(len(bodies)))
        for body_id, xyz in bodies:
            xyz = np.asarray(xyz, dtype=np.float64)
            if xyz.shape != (NTU_JOINTS, 3):
                raise ValueError(f"body {body_id}: expected (25, 3) joints, got {xyz.shape}")
            out.append(f"{body_id} 0 1 1 1 1 0 0.01 -0.02 2")
            out.append(str(NTU_JOINTS))
            for x, y, z in xyz:
                out.append(f"{x:.7g} {y:.7g} {z:.7g} 250.5 200.25 960.5 540.25 1 0 0 0 2")
    return newline.join(out) + newline


# --------------------------------------------------------------------------- reading a folder
def list_skeleton_files(folder: str | Path) -> list[Path]:
    """All ``*.skeleton`` files under ``folder`` (any depth), sorted by file name.

    Raises :class:`DataRootError` when there are none, :class:`FormatError` when two files share
    a name (e.g. the same sample extracted twice).
    """
    folder = Path(folder)
    files = sorted(folder.rglob("*.skeleton"), key=lambda p: (p.name, str(p)))
    if not files:
        raise DataRootError(f"no .skeleton files under {folder} (see README, 'Data': NTU RGB+D)")
    for a, b in zip(files, files[1:], strict=False):
        if a.name == b.name:
            raise FormatError(b, f"same file name as {a}: each sample must appear once")
    return files


_ATTRS = ("setup", "camera", "replication", "bodies", "dropped_frames")


def read_ntu(
    folder: str | Path,
    *,
    strict: bool = True,
    transform: Callable[[np.ndarray], np.ndarray] | None = None,
) -> SkeletonSet:
    """Read every ``.skeleton`` file under ``folder`` in memory (small folders; no cache).

    For the full dataset use :func:`load_ntu`, which returns the same set backed by a memmap.
    """
    seqs, metas, names, skipped = [], [], [], []
    for path in list_skeleton_files(folder):
        try:
            seq, meta = load_skeleton(path, transform)
        except FormatError as err:
            skip_or_raise(err, strict, skipped)
            continue
        seqs.append(seq)
        metas.append(meta)
        names.append(path.stem)
    if not seqs:
        raise DataRootError(f"no usable NTU sample under {folder} ({len(skipped)} skipped)")
    return SkeletonSet.from_sequences(
        seqs,
        [m["action"] - 1 for m in metas],
        [f"P{m['performer']:03d}" for m in metas],
        names,
        NTU_CLASSES,
        NTU_PERSONS,
        NTU_JOINTS,
        attrs={k: np.asarray([m[k] for m in metas], dtype=np.int64) for k in _ATTRS},
        name="ntu60",
        skipped=skipped,
    )


# --------------------------------------------------------------------------- cache
def default_cache_dir() -> Path:
    """``$STALIB_CACHE/ntu60`` if the variable is set, else ``~/.cache/stalib/ntu60``."""
    base = os.environ.get(CACHE_ENV_VAR)
    root = Path(base).expanduser() if base else Path.home() / ".cache" / "stalib"
    return root / "ntu60"


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def listing_fingerprint(files: Sequence[Path], folder: Path) -> str:
    """Hash of the file list with each file's size and modification time."""
    h = hashlib.sha256(f"stalib-ntu-cache-v{_CACHE_VERSION}\n".encode())
    for path in files:
        st = path.stat()
        h.update(f"{path.relative_to(folder).as_posix()}\t{st.st_size}\t{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


_worker_transform: Callable[[np.ndarray], np.ndarray] | None = None


def _init_worker(settings: NTUPreprocess | None) -> None:
    global _worker_transform
    _worker_transform = None if settings is None else settings.build()


def _process(path_str: str):
    """Worker: one file -> ``("ok", seq, meta)`` or ``("bad", path, line, reason)``."""
    try:
        seq, meta = load_skeleton(path_str, _worker_transform)
    except FormatError as err:
        return ("bad", str(err.path), err.line, err.reason)
    return ("ok", seq, meta)


def _pool_context() -> multiprocessing.context.BaseContext:
    """``fork`` where available (Linux): workers need nothing from ``__main__``, so scripts
    without an ``if __name__ == "__main__"`` guard, notebooks and ``python -`` all work. Else
    ``spawn`` (macOS, Windows), which needs that guard in scripts."""
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


@contextmanager
def _results(files: list[Path], settings: NTUPreprocess | None, workers: int):
    """The per-file results, in file order, from ``workers`` processes (or this one)."""
    paths = [str(p) for p in files]
    if workers <= 1 or len(paths) < 2:
        _init_worker(settings)
        yield map(_process, paths)
        return
    # The pool is started before any other thread (e.g. tqdm's monitor) exists in this process.
    with _pool_context().Pool(min(workers, len(paths)), initializer=_init_worker,
                              initargs=(settings,)) as pool:
        yield pool.imap(_process, paths, chunksize=8)


def _cache_paths(cache_dir: Path, folder: Path, settings: NTUPreprocess | None) -> Path:
    fp = "raw" if settings is None else settings.fingerprint()
    return cache_dir / _sha(f"{folder.resolve()}\n{fp}")[:16]


_PAPER_PREPROCESS = NTUPreprocess()


def load_ntu(
    folder: str | Path,
    *,
    cache_dir: str | Path | None = None,
    preprocess: NTUPreprocess | None = _PAPER_PREPROCESS,
    strict: bool = True,
    workers: int | None = None,
    progress: bool | None = None,
    rebuild: bool = False,
) -> SkeletonSet:
    """All NTU samples under ``folder`` as a :class:`SkeletonSet` whose ``frames`` is a memmap.

    Builds the cache under ``cache_dir`` (default :func:`default_cache_dir`, never inside the
    data root, which may be read-only) on first use with ``workers`` processes (default: all
    CPUs) and a tqdm progress bar (``progress=None``: shown on a terminal only); reuses it while
    the files and ``preprocess`` settings are unchanged (``rebuild=True`` forces a rebuild).
    ``preprocess=None`` keeps the raw camera coordinates.
    Bad files are recorded in the cache: ``strict`` raises the first one's :class:`FormatError`
    after the build, ``strict=False`` lists them all in ``skipped``.
    """
    folder = Path(folder)
    files = list_skeleton_files(folder)
    listing = listing_fingerprint(files, folder)
    settings_fp = "raw" if preprocess is None else preprocess.fingerprint()
    key_dir = _cache_paths(Path(cache_dir) if cache_dir else default_cache_dir(), folder,
                           preprocess)
    data = None if rebuild else _open_cache(key_dir, listing, settings_fp)
    if data is None:
        _build_cache(key_dir, files, listing, preprocess, settings_fp, workers, progress)
        data = _open_cache(key_dir, listing, settings_fp)
        if data is None:  # pragma: no cover - the build just wrote it
            raise DataRootError(f"NTU cache {key_dir} could not be read back after building")
    bad, data = data
    skipped: list[str] = []
    for path, line, reason in bad:
        skip_or_raise(FormatError(path, reason, None if line < 0 else line), strict, skipped)
    if data is None:
        raise DataRootError(f"no usable NTU sample under {folder} ({len(bad)} bad files)")
    data.skipped = skipped
    return data


def _open_cache(key_dir: Path, listing: str, settings_fp: str):
    """``(bad files, SkeletonSet or None)`` from a matching cache, or None to (re)build."""
    index_path = key_dir / "index.npz"
    try:
        with np.load(index_path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            if (meta.get("version") != _CACHE_VERSION or meta.get("listing") != listing
                    or meta.get("settings") != settings_fp):
                return None
            arrays = {k: z[k] for k in z.files if k != "meta"}
    except (OSError, ValueError, KeyError):
        return None
    bad = list(zip(arrays["bad_paths"].tolist(), arrays["bad_lines"].tolist(),
                   arrays["bad_reasons"].tolist(), strict=True))
    total = int(meta["total_frames"])
    frames_path = key_dir / meta["frames_file"]
    shape = (total, NTU_PERSONS * NTU_JOINTS, 3)
    if not frames_path.is_file() or frames_path.stat().st_size != 4 * int(np.prod(shape)):
        return None
    if total == 0:
        return bad, None
    frames = np.memmap(frames_path, dtype=np.float32, mode="r", shape=shape)
    data = SkeletonSet(
        frames=frames,
        offsets=arrays["offsets"],
        labels=arrays["labels"],
        groups=arrays["groups"],
        names=arrays["names"],
        class_names=list(NTU_CLASSES),
        persons=NTU_PERSONS,
        joints_per_person=NTU_JOINTS,
        attrs={k: arrays[k] for k in _ATTRS},
        name="ntu60",
    )
    return bad, data


def _build_cache(
    key_dir: Path,
    files: list[Path],
    listing: str,
    preprocess: NTUPreprocess | None,
    settings_fp: str,
    workers: int | None,
    progress: bool | None,
) -> None:
    try:
        key_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise DataRootError(f"cannot create the NTU cache folder {key_dir}: {err} (choose "
                            f"another with `cache_dir` or ${CACHE_ENV_VAR})") from None
    if not os.access(key_dir, os.W_OK):
        raise DataRootError(f"the NTU cache folder {key_dir} is not writable (choose another "
                            f"with `cache_dir` or ${CACHE_ENV_VAR})")
    workers = (os.cpu_count() or 1) if workers is None else int(workers)
    tag = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
    frames_name = f"frames-{listing[:16]}.f32"
    tmp_frames = key_dir / f".{frames_name}.tmp-{tag}"
    tmp_index = key_dir / f".index.tmp-{tag}.npz"
    lengths: list[int] = []
    cols: dict[str, list] = {k: [] for k in ("labels", "groups", "names", *_ATTRS)}
    bad: list[tuple[str, int, str]] = []
    try:
        with _results(files, preprocess, workers) as results, open(tmp_frames, "wb") as out, \
                tqdm(total=len(files), desc="NTU cache", unit="file",
                     disable=None if progress is None else not progress) as bar:
            for path, result in zip(files, results, strict=True):
                bar.update(1)
                if result[0] == "bad":
                    _, where, line, reason = result
                    bad.append((where, -1 if line is None else line, reason))
                    continue
                _, seq, meta = result
                out.write(np.ascontiguousarray(seq, dtype=np.float32).tobytes())
                lengths.append(len(seq))
                cols["labels"].append(meta["action"] - 1)
                cols["groups"].append(f"P{meta['performer']:03d}")
                cols["names"].append(path.stem)
                for k in _ATTRS:
                    cols[k].append(meta[k])
        total = int(sum(lengths))
        meta = {"version": _CACHE_VERSION, "listing": listing, "settings": settings_fp,
                "frames_file": frames_name, "total_frames": total, "files": len(files),
                "preprocess": "none" if preprocess is None else preprocess.describe()}
        with open(tmp_index, "wb") as fh:
            np.savez(
                fh,
                meta=np.asarray(json.dumps(meta)),
                offsets=np.concatenate([[0], np.cumsum(lengths, dtype=np.int64)]),
                labels=np.asarray(cols["labels"], dtype=np.int64),
                groups=np.asarray(cols["groups"], dtype=str),
                names=np.asarray(cols["names"], dtype=str),
                bad_paths=np.asarray([b[0] for b in bad], dtype=str),
                bad_lines=np.asarray([b[1] for b in bad], dtype=np.int64),
                bad_reasons=np.asarray([b[2] for b in bad], dtype=str),
                **{k: np.asarray(cols[k], dtype=np.int64) for k in _ATTRS},
            )
        os.replace(tmp_frames, key_dir / frames_name)
        os.replace(tmp_index, key_dir / "index.npz")  # the commit point
    finally:
        for tmp in (tmp_frames, tmp_index):
            tmp.unlink(missing_ok=True)
    for stale in key_dir.glob("frames-*.f32"):
        if stale.name != frames_name:
            stale.unlink(missing_ok=True)
