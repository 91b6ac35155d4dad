"""Bring your own skeletons: a strictly validated ``.npz`` format (dataset name ``npz:PATH``).

A file written by :func:`save_npz` (or ``numpy.savez``) holds these arrays:

============== =================== ===============================================================
array          shape, dtype        meaning
============== =================== ===============================================================
``frames``     (F, K, 3) float     all frames of all sequences, back to back (x, y, z per joint)
``offsets``    (N+1,) int          sequence ``i`` is ``frames[offsets[i]:offsets[i+1]]``;
                                   ``offsets[0] == 0``, strictly increasing, last ``== F``
``lengths``    (N,) int            instead of ``offsets``: the frame count of each sequence
``sequences``  (N, T, K, 3) float  instead of ``frames``: zero-padded sequences; ``lengths``
                                   gives the real frames of each (without it every frame is
                                   real, and a sequence ending in all-zero frames is refused)
``labels``     (N,) int            class index, ``0 <= label < len(class_names)``
``class_names`` (C,) str           optional; default ``"0"`` .. ``str(max label)``
``groups``     (N,) str or int     optional (alias ``subjects``): the unit of a group-wise split
                                   (a subject); default: each sequence is its own group
``names``      (N,) str            optional unique ids; default ``seq00000``, ...
``persons``    () int              optional, default 1; ``K`` must be a multiple of it
``split``      (N,) str            optional, ``"train"``/``"test"``: protocol ``provided``
``fold``       (N,) int            optional fold number of each sequence: protocol ``folds``
``attr_<key>`` (N,) any            optional extra per-sequence columns, in ``attrs[key]``
============== =================== ===============================================================

Exactly one of ``frames`` / ``sequences``; with ``frames``, exactly one of ``offsets`` /
``lengths``. Object arrays (pickled Python objects, e.g. a list of arrays) are refused: loading
them would run arbitrary code. Coordinates must be finite and within the float32 range (they are
stored as float32; ``1e308`` would become ``inf``), with ``K >= 1`` joints. A damaged archive or
member (including a header whose declared shape does not match the bytes it holds) is refused
before numpy allocates anything. Every problem is a :class:`FormatError` naming the file and the
array; an unknown array name is one too (it is usually a typo such as ``label``).
"""

from __future__ import annotations

import functools
import hashlib
import struct
import tokenize
import warnings
import zipfile
import zlib
from pathlib import Path

import numpy as np
from numpy.lib import format as npy

from stalib.data.core import FLOAT32_MAX, SkeletonSet, first_non_float32
from stalib.errors import DataRootError, FormatError

KNOWN_ARRAYS = (
    "frames", "offsets", "lengths", "sequences", "labels", "class_names", "groups", "subjects",
    "names", "persons", "split", "fold",
)


def _err(path: Path, key: str, message: str) -> FormatError:
    return FormatError(path, f"array {key!r}: {message}")


def _int_array(path: Path, key: str, arr: np.ndarray, ndim: int = 1) -> np.ndarray:
    if arr.dtype.kind not in "iu":
        raise _err(path, key, f"expected integers, got dtype {arr.dtype}")
    if arr.ndim != ndim:
        raise _err(path, key, f"expected {ndim} dimension(s), got shape {arr.shape}")
    return arr.astype(np.int64)


def _per_sequence(path: Path, key: str, arr: np.ndarray, n: int) -> np.ndarray:
    if arr.ndim != 1 or len(arr) != n:
        raise _err(path, key, f"expected shape ({n},) (one entry per sequence), got {arr.shape}")
    return arr


def _strings(path: Path, key: str, arr: np.ndarray) -> np.ndarray:
    if arr.dtype.kind not in "USiu":
        raise _err(path, key, f"expected strings or integers, got dtype {arr.dtype}")
    if arr.dtype.kind == "S":
        try:
            return np.char.decode(arr, "utf-8").astype(str)
        except UnicodeDecodeError:
            raise _err(path, key, "bytes that are not UTF-8") from None
    return arr.astype(str)


#: What numpy and zipfile raise on a corrupt archive or ``.npy`` member (found by fuzzing: a
#: damaged header raises ``tokenize.TokenError`` or ``SyntaxError``, a damaged deflate stream
#: ``zlib.error``).
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # a zip's first member, an empty zip
_NPY_MAGIC = b"\x93NUMPY"
_READ_ERRORS = (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error, struct.error,
                tokenize.TokenError, SyntaxError, NotImplementedError)


def _check_member_size(path: Path, archive, key: str) -> None:
    """Refuse a member whose header declares more (or fewer) bytes than it holds.

    numpy allocates the declared shape before reading the data, so a damaged header such as
    ``'shape': (10**13, 30, 3)`` would end in a ``MemoryError`` instead of a FormatError.
    """
    name = f"{key}.npy"
    try:
        info = archive.zip.getinfo(name)
    except (AttributeError, KeyError):
        return  # not an ordinary member; reading it reports the problem
    try:
        with archive.zip.open(name) as fh:
            version = npy.read_magic(fh)
            if version == (1, 0):
                shape, _, dtype = npy.read_array_header_1_0(fh)
            elif version == (2, 0):
                shape, _, dtype = npy.read_array_header_2_0(fh)
            else:
                return  # a newer header version: numpy checks it while reading
            start = fh.tell()
    except _READ_ERRORS as err:
        raise _err(path, key, f"unreadable ({err.__class__.__name__}: {err})") from None
    if dtype.hasobject:
        return  # refused when read (pickled objects)
    declared = int(np.prod(shape, dtype=object)) * dtype.itemsize
    held = info.file_size - start
    if declared != held:
        raise _err(path, key, f"its header declares shape {shape} of {dtype} ({declared} bytes) "
                              f"but the member holds {held} bytes: a damaged file")


def _trailing_zero_frames(seqs: np.ndarray) -> np.ndarray:
    """Per sequence of ``(N, T, K, 3)``: how many of its last frames are all zeros."""
    nonzero = np.any(seqs.reshape(seqs.shape[0], seqs.shape[1], -1) != 0, axis=2)  # (N, T)
    last = np.where(nonzero.any(axis=1), seqs.shape[1] - 1 - np.argmax(nonzero[:, ::-1], axis=1),
                    -1)
    return (seqs.shape[1] - 1 - last).astype(np.int64)


def _load_arrays(path: Path) -> dict[str, np.ndarray]:
    if not path.is_file():
        raise DataRootError(f"npz file {path} not found (dataset name npz:PATH)")
    with open(path, "rb") as f:
        head = f.read(len(_NPY_MAGIC))
    if not head.startswith(_ZIP_MAGIC) and head != _NPY_MAGIC:
        # numpy would take any other bytes for a pickle and say "use allow_pickle": misleading
        raise FormatError(path, "not a readable .npz archive (it does not start as a zip "
                                "archive does; expected a file written by numpy.savez or "
                                "stalib.data.npz.save_npz)")
    try:
        archive = np.load(path, allow_pickle=False)
    except _READ_ERRORS as err:
        raise FormatError(path, f"not a readable .npz archive ({err})") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise FormatError(path, "a single .npy array, expected an .npz archive of named arrays")
    out = {}
    with archive:
        for key in archive.files:
            _check_member_size(path, archive, key)
            try:
                out[key] = archive[key]
            except ValueError as err:
                if "pickle" in str(err):
                    raise _err(path, key, "object arrays (pickled Python objects) are not "
                                          "accepted; store frames + offsets, see stalib.data.npz"
                               ) from None
                raise _err(path, key, f"unreadable ({err})") from None
            except (*_READ_ERRORS, MemoryError) as err:
                raise _err(path, key, f"unreadable ({err.__class__.__name__}: {err})") from None
    return out


def _frames_and_offsets(path: Path, a: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    if ("frames" in a) == ("sequences" in a):
        raise FormatError(path, "expected exactly one of the arrays 'frames' and 'sequences'")
    if "sequences" in a:
        if "offsets" in a:
            raise FormatError(path, "'offsets' goes with 'frames'; with 'sequences' give 'lengths'")
        seqs = a["sequences"]
        if seqs.dtype.kind not in "fiu" or seqs.ndim != 4 or seqs.shape[3] != 3:
            raise _err(path, "sequences", f"expected a (N, T, K, 3) float array, got shape "
                                          f"{seqs.shape} dtype {seqs.dtype}")
        n, t = seqs.shape[:2]
        if "lengths" in a:
            lengths = _per_sequence(path, "lengths", _int_array(path, "lengths", a["lengths"]), n)
        else:
            lengths = np.full(n, t, dtype=np.int64)
            # without lengths every frame is real: trailing all-zero frames would be read as
            # frames of a skeleton at the origin, the padding taken for motion
            pad = _trailing_zero_frames(seqs)
            if pad.max(initial=0) > 0:
                i = int(np.argmax(pad))
                raise _err(path, "sequences", f"sequence {i} ends in {pad[i]} all-zero frames "
                           f"(of {t}), padding that would be read as frames: give 'lengths' (the "
                           "real frame count of each sequence)")
        if len(lengths) and (lengths.min() < 1 or lengths.max() > t):
            raise _err(path, "lengths", f"every length must lie in [1, {t}] (the padded length)")
        frames = (np.concatenate([seqs[i, :m] for i, m in enumerate(lengths)])
                  if n else np.zeros((0, seqs.shape[2], 3)))
        return frames, np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    frames = a["frames"]
    if frames.dtype.kind not in "fiu" or frames.ndim != 3 or frames.shape[2] != 3:
        raise _err(path, "frames", f"expected a (total_frames, K, 3) float array, got shape "
                                   f"{frames.shape} dtype {frames.dtype}")
    if ("offsets" in a) == ("lengths" in a):
        raise FormatError(path, "with 'frames', expected exactly one of 'offsets' and 'lengths'")
    if "offsets" in a:
        offsets = _int_array(path, "offsets", a["offsets"])
        if len(offsets) < 1 or offsets[0] != 0:
            raise _err(path, "offsets", "must start at 0")
        steps = np.diff(offsets)
        if np.any(steps <= 0):
            i = int(np.flatnonzero(steps <= 0)[0])
            raise _err(path, "offsets", f"must increase strictly: sequence {i} has "
                                        f"{steps[i]} frames (offsets {offsets[i]}, "
                                        f"{offsets[i + 1]})")
        if offsets[-1] != len(frames):
            raise _err(path, "offsets", f"ends at {offsets[-1]}, but 'frames' has "
                                        f"{len(frames)} frames")
    else:
        lengths = _int_array(path, "lengths", a["lengths"])
        if np.any(lengths < 1):
            i = int(np.flatnonzero(lengths < 1)[0])
            raise _err(path, "lengths", f"sequence {i} has {lengths[i]} frames, expected >= 1")
        if lengths.sum() != len(frames):
            raise _err(path, "lengths", f"sum to {lengths.sum()}, but 'frames' has "
                                        f"{len(frames)} frames")
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    return frames, offsets


def _labels_and_classes(path: Path, a: dict, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``labels`` (checked: one per sequence, >= 0, below the number of class names) and
    the class names (``class_names``, or ``"0"``, ``"1"``, ...)."""
    labels = _per_sequence(path, "labels", _int_array(path, "labels", a["labels"]), n)
    if labels.min() < 0:
        raise _err(path, "labels", f"negative label {labels.min()}")
    if "class_names" in a:
        class_names = _strings(path, "class_names", a["class_names"])
        if class_names.ndim != 1 or len(class_names) == 0:
            raise _err(path, "class_names", f"expected a non-empty 1-D array, got shape "
                                            f"{class_names.shape}")
        if len(set(class_names.tolist())) != len(class_names):
            raise _err(path, "class_names", "names must be unique")
        if labels.max() >= len(class_names):
            raise _err(path, "labels", f"label {labels.max()} but only {len(class_names)} "
                                       "class names")
    else:
        class_names = np.asarray([str(c) for c in range(int(labels.max()) + 1)])
        gaps = sorted(set(range(len(class_names))) - set(labels.tolist()))
        if gaps:  # 0, 2, 4, 6 would silently make a 7-class model
            shown = ", ".join(map(str, gaps[:8])) + (", ..." if len(gaps) > 8 else "")
            warnings.warn(f"{path}: labels {shown} have no sequence, yet the model gets "
                          f"{len(class_names)} classes (0..{len(class_names) - 1}); number the "
                          "classes 0..C-1 without gaps, or name them with 'class_names'",
                          LabelGapWarning, stacklevel=2)
    return labels, class_names


class LabelGapWarning(UserWarning):
    """Labels of an npz file without class names leave classes without a sequence."""


def _persons(path: Path, a: dict, num_joints: int) -> int:
    """``persons`` (default 1), which must divide the ``num_joints`` joints per frame."""
    persons = 1
    if "persons" in a:
        p = a["persons"]
        if p.dtype.kind not in "iu" or p.size != 1:
            raise _err(path, "persons", f"expected one integer, got shape {p.shape} dtype "
                                        f"{p.dtype}")
        persons = int(p.reshape(()))
        if persons < 1 or num_joints % persons:
            raise _err(path, "persons", f"{persons} does not divide K = {num_joints} joints")
    return persons


def _attrs(path: Path, a: dict, n: int) -> dict[str, np.ndarray]:
    """The per-sequence attributes: ``split`` and ``fold`` (checked) and ``attr_<name>``."""
    attrs: dict[str, np.ndarray] = {}
    if "split" in a:
        split = _per_sequence(path, "split", _strings(path, "split", a["split"]), n)
        values = set(split.tolist())
        if not values <= {"train", "test"} or len(values) != 2:
            raise _err(path, "split", f"expected 'train' and 'test' entries, got "
                                      f"{sorted(values)}")
        attrs["split"] = split
    if "fold" in a:
        fold = _per_sequence(path, "fold", _int_array(path, "fold", a["fold"]), n)
        if len(np.unique(fold)) < 2:
            raise _err(path, "fold", "needs at least 2 different fold numbers")
        attrs["fold"] = fold
    for key in sorted(k for k in a if k.startswith("attr_")):
        arr = a[key]
        if arr.ndim < 1 or len(arr) != n:
            raise _err(path, key, f"expected {n} entries (one per sequence), got shape {arr.shape}")
        attrs[key.removeprefix("attr_")] = arr
    return attrs


def array_names(path: str | Path) -> set[str]:
    """The array names an ``.npz`` holds, read from its zip directory without loading an array
    (an empty set when it is no readable zip: loading it will say why)."""
    try:
        with zipfile.ZipFile(Path(path).expanduser()) as archive:
            return {n.removesuffix(".npy") for n in archive.namelist()}
    except (OSError, zipfile.BadZipFile):
        return set()


def content_sha256(path: str | Path) -> str:
    """The sha256 of an ``.npz``'s content as stored: every array's name, dtype, shape and bytes,
    in name order, before any validation, preprocessing or selection. It identifies the file's
    data: a file saved again with the same arrays keeps it (the archive's own bytes, with their
    timestamps, would not), and a change of any value changes it. Computed once per file and
    modification (cached on path, size and mtime)."""
    path = Path(path).expanduser().resolve()
    st = path.stat()
    return _content_sha256(str(path), st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=32)
def _content_sha256(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    for key, arr in sorted(_load_arrays(Path(path)).items()):
        digest.update(f"{key}\x00{arr.dtype.str}\x00{arr.shape}\x00".encode())
        digest.update(np.ascontiguousarray(arr).tobytes())
    return digest.hexdigest()


def load_npz(path: str | Path) -> SkeletonSet:
    """Read and validate a skeleton ``.npz`` (format in the module docstring)."""
    path = Path(path)
    a = _load_arrays(path)
    unknown = sorted(k for k in a if k not in KNOWN_ARRAYS and not k.startswith("attr_"))
    if unknown:
        raise FormatError(path, f"unknown array(s) {', '.join(map(repr, unknown))}; expected "
                                f"{', '.join(KNOWN_ARRAYS)} or attr_<name>")
    frames, offsets = _frames_and_offsets(path, a)
    if frames.shape[1] < 1:
        raise FormatError(path, f"array 'frames' (or 'sequences'): no joints (shape "
                                f"{frames.shape}); expected K >= 1 joints per frame")
    n = len(offsets) - 1
    if n == 0:
        raise FormatError(path, "no sequences (zero frames)")
    bad = first_non_float32(frames)
    if bad is not None:
        (f, k, c), _ = bad
        seq = int(np.searchsorted(offsets, f, side="right") - 1)
        raise FormatError(path, f"array 'frames' (or 'sequences'): {frames[f, k, c]} at frame "
                                f"{f} (sequence {seq}), joint {k}, axis {c}; expected finite "
                                f"numbers within the float32 range (|x| <= {FLOAT32_MAX:g})")
    if "labels" not in a:
        raise FormatError(path, "array 'labels' is missing: one class index per sequence")
    labels, class_names = _labels_and_classes(path, a, n)
    if "groups" in a and "subjects" in a:
        raise FormatError(path, "give 'groups' or its alias 'subjects', not both")
    gkey = "groups" if "groups" in a else "subjects"
    names = (_per_sequence(path, "names", _strings(path, "names", a["names"]), n)
             if "names" in a else np.asarray([f"seq{i:05d}" for i in range(n)]))
    if len(set(names.tolist())) != n:
        raise _err(path, "names", "names must be unique")
    groups = (_per_sequence(path, gkey, _strings(path, gkey, a[gkey]), n)
              if gkey in a else names.copy())
    persons = _persons(path, a, frames.shape[1])
    attrs = _attrs(path, a, n)
    return SkeletonSet(
        frames=np.ascontiguousarray(frames, dtype=np.float32),
        offsets=offsets,
        labels=labels,
        groups=groups,
        names=names,
        class_names=[str(c) for c in class_names],
        persons=persons,
        joints_per_person=frames.shape[1] // persons,
        attrs=attrs,
        name=f"npz:{path}",
    )


def save_npz(data: SkeletonSet, path: str | Path, compress: bool = False) -> Path:
    """Write ``data`` in the format :func:`load_npz` reads (``frames`` + ``offsets``)."""
    path = Path(path)
    extra = {}
    for key, arr in data.attrs.items():
        extra[key if key in ("split", "fold") else f"attr_{key}"] = np.asarray(arr)
    save = np.savez_compressed if compress else np.savez
    with open(path, "wb") as fh:
        save(
            fh,
            frames=np.asarray(data.frames, dtype=np.float32),
            offsets=data.offsets,
            labels=data.labels,
            class_names=np.asarray(data.class_names, dtype=str),
            groups=data.groups,
            names=data.names,
            persons=np.asarray(data.persons, dtype=np.int64),
            **extra,
        )
    return path
