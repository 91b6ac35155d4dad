"""Reliability checks shared by the tests and the report: reader fuzzing and kill-and-resume.

**Reader fuzzing** (:func:`fuzz_target`, :func:`run_fuzz`). Each *target* takes real files of a
dataset (copied into a scratch folder, never into the repository), mutates them with
`hypothesis <https://hypothesis.readthedocs.io>`_ and loads the result through
:func:`stalib.data.registry.load_dataset`, with and without the default preprocessing. Mutations
of text files: truncation (bytes or lines), dropped / added / replaced fields, dropped columns (a
wrong joint count), inserted text and lines, NaN / inf / 1e308 / 1e39 and other odd tokens,
empty files, binary garbage, CRLF / CR / blank-line endings, UTF-16 / BOM encodings, duplicated,
swapped and deleted lines, unicode. Mutations of ``.npz`` files: values, dtypes, shapes, missing
and unknown arrays, bad offsets / lengths / labels / names / persons, object arrays, compressed
or truncated archives, headers that declare a huge shape.

The contract checked on every case: the input either loads to a valid set (float32 and finite,
the dataset's ``K`` joints, at least one frame per sequence) or raises
:class:`stalib.errors.FormatError` whose message starts with the file it names, a file of the
case; any other exception, or no answer within ``timeout_s``, is a failure that hypothesis shrinks
to a minimal mutation list.

**Kill and resume** (:func:`kill_and_resume`). ``stalib train`` runs in a subprocess; once a
mid-stage checkpoint of stage 2 or later exists it is killed with SIGKILL and rerun with
``--resume``; the final accuracy and every weight must equal those of an uninterrupted run.

Both write JSON for the report (``results/reliability/fuzz.json`` and ``resume.json``)::

    python -m stalib.tools.reliability fuzz --data-root DIR
    python -m stalib.tools.reliability resume --data-root DIR

hypothesis is a development dependency; only the fuzzing needs it.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import warnings
import zipfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import hypothesis
import numpy as np
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import seed as fixed_seed
from hypothesis import strategies as st
from numpy.lib import format as npy

from stalib.checkpoint import atomic_torch_save
from stalib.data.core import SkeletonSet
from stalib.data.npz import save_npz
from stalib.data.registry import load_dataset
from stalib.data.sbu import read_sbu_file
from stalib.data.utkinect import read_joints_file
from stalib.errors import FormatError, StalibError
from stalib.results import git_commit, package_versions, utc_now

#: Examples per target: the tests and ``python -m stalib.tools.reliability fuzz`` run these counts.
DEFAULT_EXAMPLES = {
    "sbu": 300,
    "utkinect-joints": 150,
    "utkinect-labels": 200,
    "ntu": 200,
    "npz": 300,
}
DEADLINE_S = 5.0  # hypothesis deadline per case (a slow parse fails)
TIMEOUT_S = 30.0  # hard limit per case (a hang fails)

# ---------------------------------------------------------------------------- text mutations
#: Tokens that replace or join fields: non-finite, beyond float64 / float32, not numbers.
SPECIAL_TOKENS = (
    "nan", "NaN", "-nan", "inf", "-inf", "Infinity", "1e308", "-1e308",
    "1.7976931348623157e308", "1e39", "-1e39", "3.4028235e38", "3.5e38", "1e-320", "0", "-0",
    "", " ", "1e", "--1", "0x1p3", "1_000", "\u0661\u0662", "\uff11\uff12", "\u00e9", "\x00",
    "\ufeff1", "9" * 25, "-" + "9" * 25, "25", "24", "26", "1", "2", "NaN NaN", "abc", "1,2",
    "\u2028", "\x85", "\x0c",
)
#: Whole lines to insert.
SPECIAL_LINES = (
    "", "   ", "# comment", "x,y,z", "frame x y z", "\t", "NaN", "s01_e01", "walk: 1 2",
    "carry: NaN NaN", "25", "0", "1", "\r", "1e308 1e308 1e308",
)
_SEP = re.compile(r"([,\s]+)")
_NEWLINE_STYLES = ("crlf", "cr", "lf", "blank", "mixed")
_ENCODINGS = ("utf-16", "utf-16-le", "utf-8-sig", "utf-32", "latin-1-accent")
_WHITESPACE = ("trailing", "leading", "tabs", "commas-to-spaces", "spaces-to-commas")


def _lines(data: bytes) -> list[str]:
    return data.decode("utf-8", "surrogateescape").split("\n")


def _join(lines: list[str]) -> bytes:
    return "\n".join(lines).encode("utf-8", "surrogateescape")


def _fields(line: str) -> tuple[list[str], list[str]]:
    parts = _SEP.split(line)
    return parts[0::2], parts[1::2]


def _unfields(fields: list[str], seps: list[str]) -> str:
    seps = list(seps) + [""] * (len(fields) - len(seps))
    return "".join(f + s for f, s in zip(fields, seps, strict=False))


def _sep_of(line: str) -> str:
    m = _SEP.search(line)
    return m.group(1) if m else " "


def _numbered(fields: list[str]) -> list[int]:
    """Indices of the non-empty fields of a line."""
    return [i for i, f in enumerate(fields) if f]


def _set_field(line: str, j: int, token: str) -> str:
    fields, seps = _fields(line)
    idx = _numbered(fields) or [0]
    fields[idx[j % len(idx)]] = token
    return _unfields(fields, seps)


def _drop_fields(line: str, j: int, width: int = 1) -> str:
    fields, seps = _fields(line)
    idx = _numbered(fields)
    if not idx:
        return line
    start = idx[j % len(idx)]
    for _ in range(width):
        if start >= len(fields):
            break
        del fields[start]
        if start < len(seps):
            del seps[start]
        elif seps:
            seps.pop()
    return _unfields(fields, seps)


def _add_field(line: str, j: int, token: str) -> str:
    fields, seps = _fields(line)
    sep = _sep_of(line).strip("\r\n") or " "
    pos = j % (len(fields) + 1)
    fields.insert(pos, token)
    seps.insert(min(pos, len(seps)), sep)
    return _unfields(fields, seps)


def _newlines(data: bytes, style: str) -> bytes:
    plain = data.replace(b"\r\n", b"\n")
    if style == "crlf":
        return plain.replace(b"\n", b"\r\n")
    if style == "cr":
        return plain.replace(b"\n", b"\r")
    if style == "blank":
        return plain.replace(b"\n", b"\n\n")
    if style == "mixed":
        parts = plain.split(b"\n")
        return b"".join(p + (b"\r\n" if i % 2 else b"\n") for i, p in enumerate(parts[:-1])) \
            + parts[-1]
    return plain


def _encoding(data: bytes, encoding: str) -> bytes:
    text = data.decode("utf-8", "surrogateescape")
    if encoding == "utf-8-sig":
        return b"\xef\xbb\xbf" + data
    if encoding == "latin-1-accent":
        return data.replace(b"0", b"\xe9", 1)
    return text.encode(encoding, "surrogatepass")


def _spliced(data: bytes, pos: int, blob: bytes, replace: bool) -> bytes:
    p = pos % (len(data) + 1)
    return data[:p] + blob + data[p + (len(blob) if replace else 0):]


#: Mutations of the bytes of a file, ``{name: f(data, *params) -> bytes}``.
_BYTE_MUTATIONS: dict[str, Callable[..., bytes]] = {
    "empty": lambda data: b"",
    "binary": lambda data, blob: blob,
    "truncate": lambda data, size: data[: size % (len(data) + 1)],
    "garbage": lambda data, pos, blob: _spliced(data, pos, blob, replace=True),
    "insert_text": lambda data, pos, text: _spliced(
        data, pos, text.encode("utf-8", "surrogateescape"), replace=False),
    "newlines": _newlines,
    "encoding": _encoding,
}


def _whitespace(line: str, kind: str) -> str:
    if kind == "trailing":
        return line + "  "
    if kind == "leading":
        return "  " + line
    if kind == "tabs":
        return line.replace(" ", "\t")
    if kind == "commas-to-spaces":
        return line.replace(",", " ")
    return re.sub(r"[ \t]+", ",", line)


def _mutate_lines(lines: list[str], op: str, a: list) -> None:
    """The line and field mutations of :func:`apply_text_mutation`, on ``lines`` in place."""
    n = len(lines)
    if op == "drop_line":
        del lines[a[0] % n]
    elif op == "duplicate_line":
        i = a[0] % n
        lines.insert(i, lines[i])
    elif op == "swap_lines":
        i, j = a[0] % n, a[1] % n
        lines[i], lines[j] = lines[j], lines[i]
    elif op == "insert_line":
        lines.insert(a[0] % (n + 1), a[1])
    elif op == "drop_field":
        i = a[0] % n
        lines[i] = _drop_fields(lines[i], a[1])
    elif op == "add_field":
        i = a[0] % n
        lines[i] = _add_field(lines[i], a[1], a[2])
    elif op == "set_field":
        i = a[0] % n
        lines[i] = _set_field(lines[i], a[1], a[2])
    elif op == "set_line":
        i = a[0] % n
        fields, seps = _fields(lines[i])
        lines[i] = _unfields([a[1] if f else f for f in fields], seps)
    elif op in ("set_column", "drop_columns"):
        for i, line in enumerate(lines):  # rows of numbers: lines with 3 fields or more
            if len(_numbered(_fields(line)[0])) >= 3:
                lines[i] = (_set_field(line, a[0], a[1]) if op == "set_column"
                            else _drop_fields(line, a[0], a[1]))
    elif op == "set_short_line":  # a count or header: a line with exactly one field
        short = [i for i, line in enumerate(lines) if len(_numbered(_fields(line)[0])) == 1]
        if short:
            i = short[a[0] % len(short)]
            lines[i] = _set_field(lines[i], 0, a[1])
    elif op == "whitespace":
        lines[:] = [_whitespace(line, a[0]) for line in lines]
    else:  # pragma: no cover - a typo in a strategy
        raise ValueError(f"unknown mutation {op!r}")


def apply_text_mutation(data: bytes, mutation: tuple) -> bytes:
    """Apply one mutation (a tuple ``(name, *params)``, see :func:`text_mutations`) to a file."""
    op, *a = mutation
    if op in _BYTE_MUTATIONS:
        return _BYTE_MUTATIONS[op](data, *a)
    lines = _lines(data)
    if op == "keep_lines":
        return _join(lines[: a[0]])
    _mutate_lines(lines, op, a)
    return _join(lines)


def apply_text_mutations(data: bytes, mutations: list[tuple]) -> bytes:
    for m in mutations:
        data = apply_text_mutation(data, m)
    return data


def _strategies():
    return st


def _index():
    st = _strategies()
    return st.integers(-3, 3) | st.integers(0, 1 << 20)


def text_mutations(max_size: int = 3):
    """A hypothesis strategy: a list of 1..``max_size`` text mutations."""
    st = _strategies()
    idx = _index()
    token = (st.sampled_from(SPECIAL_TOKENS)
             | st.floats().map(repr)
             | st.integers(-(10**30), 10**30).map(str)
             | st.text(max_size=6))
    line = st.sampled_from(SPECIAL_LINES) | st.text(max_size=30)

    def op(name, *params):
        return st.tuples(st.just(name), *params)

    one = st.one_of(
        op("truncate", idx),
        op("keep_lines", st.integers(0, 4) | st.integers(0, 5000)),
        op("drop_line", idx),
        op("duplicate_line", idx),
        op("swap_lines", idx, idx),
        op("insert_line", idx, line),
        op("drop_field", idx, idx),
        op("add_field", idx, idx, token),
        op("set_field", idx, idx, token),
        op("set_line", idx, token),
        op("set_column", idx, token),
        op("drop_columns", idx, st.integers(1, 3)),
        op("set_short_line", idx, token),
        op("insert_text", idx, st.text(min_size=1, max_size=20)),
        op("garbage", idx, st.binary(min_size=1, max_size=64)),
        op("binary", st.binary(max_size=300)),
        op("newlines", st.sampled_from(_NEWLINE_STYLES)),
        op("encoding", st.sampled_from(_ENCODINGS)),
        op("whitespace", st.sampled_from(_WHITESPACE)),
        st.just(("empty",)),
    )
    return st.lists(one, min_size=1, max_size=max_size)


# ---------------------------------------------------------------------------- npz mutations
NPZ_KEYS = ("frames", "offsets", "labels", "class_names", "groups", "names", "persons")
_NPZ_EXTRA_KEYS = ("lengths", "sequences", "split", "fold", "subjects", "label", "attr_x",
                   "attr_run")
_NPZ_FLOATS = (float("nan"), float("inf"), float("-inf"), 1e308, -1e308, 1e39, 3.5e38,
               3.4028234e38, 1e-45, -0.0, 1e30)
_NPZ_INTS = (-1, 0, 1, 2, 3, 7, 2**31, -(2**63), 2**63 - 1, 10**15)
_NPZ_DTYPES = ("float64", "float16", "int32", "int64", "uint8", "uint64", "bool", "complex64",
               "U5", "S5", "object")
_NPZ_SHAPES = ("flat", "add_axis", "swap_axes", "scalar", "empty")
_NPZ_STRINGS = ("duplicate", "empty_string", "bad_utf8", "unicode", "integers", "single")
_NPZ_ADD = ("zeros_n", "zeros_f", "train_test", "scalar", "empty", "strings_n")
_NPZ_HEADERS = ("huge", "bigger", "zero", "wrong_rank")


def npz_mutations(max_size: int = 3):
    """A hypothesis strategy: a list of array-level and file-level ``.npz`` mutations."""
    st = _strategies()
    idx = _index()
    key = st.sampled_from(NPZ_KEYS + _NPZ_EXTRA_KEYS)

    def op(name, *params):
        return st.tuples(st.just(name), *params)

    file_op = st.one_of(
        op("truncate", idx), op("garbage", idx, st.binary(min_size=1, max_size=64)),
        op("binary", st.binary(max_size=300)), op("insert_text", idx, st.text(min_size=1,
                                                                              max_size=10)),
        st.just(("empty",)),
    )
    one = st.one_of(
        op("set_value", st.just("frames"), idx, st.sampled_from(_NPZ_FLOATS)),
        op("set_row", idx, st.sampled_from(_NPZ_FLOATS)),
        op("set_int", st.sampled_from(("offsets", "labels", "persons", "lengths", "fold")), idx,
           st.sampled_from(_NPZ_INTS) | st.integers(-5, 400)),
        op("cast", key, st.sampled_from(_NPZ_DTYPES)),
        op("drop", key),
        op("add", key, st.sampled_from(_NPZ_ADD)),
        op("reshape", key, st.sampled_from(_NPZ_SHAPES)),
        op("slice", key, st.integers(-3, 3), st.integers(-3, 3) | st.none()),
        op("joints", st.integers(0, 4) | st.integers(0, 64)),
        op("strings", st.sampled_from(("names", "groups", "class_names", "split")),
           st.sampled_from(_NPZ_STRINGS)),
        op("swap", idx, idx),
        st.just(("to_lengths",)),
        st.just(("to_sequences",)),
        op("header", key, st.sampled_from(_NPZ_HEADERS)),
        op("compress", st.booleans()),
        op("file", file_op),
    )
    return st.lists(one, min_size=1, max_size=max_size)


@dataclass
class NpzCase:
    """The arrays of an ``.npz`` being mutated and how to write it."""

    arrays: dict[str, np.ndarray]
    compress: bool = False
    headers: dict[str, str] | None = None
    file_ops: list[tuple] | None = None


def _as_float(arr: np.ndarray, value: float) -> np.ndarray:
    if arr.dtype.kind != "f" or np.isfinite(value) and abs(value) > float(np.finfo(arr.dtype).max):
        arr = arr.astype(np.float64)
    return arr


def _set_number(arrs: dict[str, np.ndarray], op: str, a: list) -> None:
    """``set_value``/``set_row`` (a float into ``frames``) and ``set_int`` (into an int array)."""
    if op == "set_int":
        key, i, value = a
        if key not in arrs or arrs[key].size == 0:
            return
        arr = arrs[key].astype(np.int64 if -(2**63) <= value < 2**63 else object).copy()
        arr.reshape(-1)[i % arr.size] = value
        arrs[key] = arr
        return
    frames = arrs.get("frames")
    if frames is None or frames.size == 0 or frames.dtype.kind not in "fiu":
        return
    i, value = a[-2:]
    f = _as_float(arrs["frames"].copy(), value)
    if op == "set_value":
        f.reshape(-1)[i % f.size] = value
    else:
        f[i % len(f)] = value
    arrs["frames"] = f


def _added(arrs: dict[str, np.ndarray], kind: str, n: int) -> np.ndarray:
    """The array that ``add`` puts in (``n`` sequences)."""
    frames = arrs.get("frames", np.zeros((0, 1, 3)))
    return {
        "zeros_n": lambda: np.zeros(n, dtype=np.int64),
        "zeros_f": lambda: np.zeros(len(frames), dtype=np.int64),
        "train_test": lambda: np.asarray(["train", "test"] * (n // 2) + ["train"] * (n % 2)),
        "scalar": lambda: np.asarray(1),
        "empty": lambda: np.zeros(0),
        "strings_n": lambda: np.asarray([f"g{i % 3}" for i in range(n)]),
    }[kind]()


def _reshaped(arr: np.ndarray, kind: str) -> np.ndarray:
    """``arr`` reshaped as ``reshape`` asks (unchanged where that shape cannot be made)."""
    if kind == "flat":
        return arr.reshape(-1)
    if kind == "add_axis":
        return arr[..., None]
    if kind == "swap_axes" and arr.ndim >= 2:
        return np.swapaxes(arr, 0, -1)
    if kind == "scalar" and arr.size:
        return arr.reshape(-1)[:1].reshape(())
    if kind == "empty":
        return arr.reshape(-1)[:0]
    return arr


def _strings(size: int, kind: str) -> np.ndarray:
    """The string array that ``strings`` puts in (``size`` entries)."""
    return {
        "duplicate": lambda: np.asarray(["same"] * size),
        "empty_string": lambda: np.asarray([""] * size),
        "bad_utf8": lambda: np.asarray([b"\xff\xfe%d" % i for i in range(size)]),
        "unicode": lambda: np.asarray([f"\u00e9\u4e2d{i}\U0001f600" for i in range(size)]),
        "integers": lambda: np.arange(size),
        "single": lambda: np.asarray(["train"] * size),
    }[kind]()


def _to_sequences(arrs: dict[str, np.ndarray]) -> None:
    """``frames`` + ``offsets`` -> zero-padded ``sequences`` + ``lengths`` (when consistent)."""
    frames, off = arrs.get("frames"), arrs.get("offsets")
    if frames is None or off is None or frames.ndim != 3 or off.ndim != 1 or len(off) < 2:
        return
    lengths = np.diff(off)
    if lengths.min() < 1 or off[-1] != len(frames) or off[0] != 0:
        return
    seqs = np.zeros((len(lengths), int(lengths.max()), *frames.shape[1:]), frames.dtype)
    for i in range(len(lengths)):
        seqs[i, : lengths[i]] = frames[off[i] : off[i + 1]]
    del arrs["frames"], arrs["offsets"]
    arrs["sequences"], arrs["lengths"] = seqs, lengths


def _swap_offsets(arrs: dict[str, np.ndarray], i: int, j: int) -> None:
    if "offsets" in arrs and arrs["offsets"].ndim == 1 and len(arrs["offsets"]):
        off = arrs["offsets"].copy()
        i, j = i % len(off), j % len(off)
        off[i], off[j] = off[j], off[i]
        arrs["offsets"] = off


def apply_npz_mutation(case: NpzCase, mutation: tuple) -> None:
    """Apply one ``.npz`` mutation (see :func:`npz_mutations`) to ``case`` in place."""
    op, *a = mutation
    arrs = case.arrays
    n = len(arrs["labels"]) if "labels" in arrs and arrs["labels"].ndim else 1
    if op in ("set_value", "set_row", "set_int"):
        _set_number(arrs, op, a)
    elif op == "cast":
        key, dtype = a
        if key in arrs:
            with np.errstate(all="ignore"), contextlib.suppress(ValueError, TypeError,
                                                                OverflowError):
                arrs[key] = arrs[key].astype(dtype)
    elif op == "drop":
        arrs.pop(a[0], None)
    elif op == "add":
        arrs[a[0]] = _added(arrs, a[1], n)
    elif op == "reshape":
        if a[0] in arrs:
            arrs[a[0]] = _reshaped(arrs[a[0]], a[1])
    elif op == "slice":
        key, start, stop = a
        if key in arrs and arrs[key].ndim:
            arrs[key] = arrs[key][start:stop]
    elif op == "joints":
        if "frames" in arrs and arrs["frames"].ndim == 3:
            arrs["frames"] = arrs["frames"][:, : a[0]]
    elif op == "strings":
        key, kind = a
        size = len(arrs["class_names"]) if key == "class_names" and "class_names" in arrs else n
        arrs[key] = _strings(size, kind)
    elif op == "swap":
        _swap_offsets(arrs, a[0], a[1])
    elif op == "to_lengths":
        if "offsets" in arrs and arrs["offsets"].ndim == 1:
            arrs["lengths"] = np.diff(arrs.pop("offsets"))
    elif op == "to_sequences":
        _to_sequences(arrs)
    elif op == "header":
        case.headers = {**(case.headers or {}), a[0]: a[1]}
    elif op == "compress":
        case.compress = a[0]
    elif op == "file":
        case.file_ops = [*(case.file_ops or []), a[0]]
    else:  # pragma: no cover - a typo in a strategy
        raise ValueError(f"unknown mutation {op!r}")


def _fake_shape(arr: np.ndarray, kind: str) -> tuple:
    if kind == "huge":
        return (10**13, *arr.shape[1:])
    if kind == "bigger":
        return (arr.shape[0] + 5, *arr.shape[1:]) if arr.ndim else (5,)
    if kind == "zero":
        return (0, *arr.shape[1:])
    return (*arr.shape, 1)


def write_npz_case(case: NpzCase, path: Path) -> None:
    """Write ``case`` as an ``.npz`` archive (with fake headers and file mutations, if any)."""
    buf = io.BytesIO()
    mode = zipfile.ZIP_DEFLATED if case.compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(buf, "w", compression=mode) as zf:
        for key, arr in case.arrays.items():
            member = io.BytesIO()
            arr = np.asarray(arr)
            kind = (case.headers or {}).get(key)
            if kind is not None and arr.dtype != object:
                header = {"descr": npy.dtype_to_descr(arr.dtype), "fortran_order": False,
                          "shape": _fake_shape(arr, kind)}
                npy.write_array_header_2_0(member, header)
                member.write(np.ascontiguousarray(arr).tobytes())
            else:
                npy.write_array(member, arr, allow_pickle=True)
            zf.writestr(f"{key}.npy", member.getvalue())
    data = buf.getvalue()
    for m in case.file_ops or []:
        data = apply_text_mutation(data, m)
    path.write_bytes(data)


# ---------------------------------------------------------------------------- the contract
class _Hang(BaseException):
    """No answer within the time limit (a BaseException, so no reader can swallow it)."""


@contextlib.contextmanager
def time_limit(seconds: float):
    """Raise :class:`_Hang` in the main thread after ``seconds`` (no limit in other threads)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal,
                                                                                "setitimer"):
        yield
        return

    def on_alarm(signum, frame):
        raise _Hang(f"no answer within {seconds:g} s")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def check_set(data, joints: int | None) -> None:
    """Assert that ``data`` is a valid loaded set (see the module docstring)."""
    assert isinstance(data, SkeletonSet), f"loaded a {type(data).__name__}, not a SkeletonSet"
    frames = np.asarray(data.frames)
    assert len(data) >= 1, "loaded an empty set"
    assert frames.dtype == np.float32, f"frames are {frames.dtype}, not float32"
    assert frames.ndim == 3 and frames.shape[2] == 3, f"frames have shape {frames.shape}"
    assert frames.shape[1] >= 1, "frames have no joints"
    if joints is not None:
        assert frames.shape[1] == joints, f"K = {frames.shape[1]} joints, expected {joints}"
    assert np.all(data.lengths >= 1), "a sequence has no frame"
    bad = ~np.isfinite(frames)
    assert not bad.any(), f"{int(bad.sum())} non-finite value(s), e.g. {frames[bad][0]}"


def check_contract(load: Callable[[], object], files: list[Path], joints: int | None,
                   timeout_s: float = TIMEOUT_S) -> tuple[str, str]:
    """Run ``load()`` and check the contract; ``("parsed", "")`` or ``("rejected", reason)``.

    Raises ``AssertionError`` (naming the exception) on any other outcome.
    """
    try:
        with time_limit(timeout_s), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # numpy overflow on extreme inputs
            data = load()
    except FormatError as err:
        named = Path(err.path)
        assert str(err).startswith(str(err.path)), f"FormatError not starting with its file: {err}"
        assert any(named == f or named.resolve() == f.resolve() for f in files), (
            f"FormatError names {named}, not one of the case's files {[str(f) for f in files]}")
        return "rejected", err.reason
    except _Hang as err:
        raise AssertionError(f"hang: {err}") from None
    except Exception as err:
        raise AssertionError(f"{type(err).__name__} instead of FormatError: {err}") from err
    check_set(data, joints)
    return "parsed", ""


# ---------------------------------------------------------------------------- targets
@dataclass
class Fixture:
    """A prepared target: base files and a function that writes and loads one case."""

    sources: list[str]  # names of the real files used as bases
    run: Callable[[object, bool], tuple[str, str]]  # (case, preprocess) -> outcome
    strategy: object  # hypothesis strategy of a case
    ops_of: Callable[[object], list[str]]  # mutation names of a case, for the counts


def _text_case(sources: list[str]):
    st = _strategies()
    return st.tuples(st.integers(0, len(sources) - 1), text_mutations())


def _ops(case) -> list[str]:
    return [m[0] if m[0] != "file" else f"file:{m[1][0]}" for m in case[1]]


def _sbu(data_root: Path, work: Path) -> Fixture:
    files = sorted((data_root / "SBU").glob("*/*/*/skeleton_pos.txt"))
    if not files:
        raise StalibError(f"no SBU files under {data_root / 'SBU'}")
    chosen = files[:: max(1, len(files) // 8)][:8]
    bases = [p.read_bytes() for p in chosen]
    root = work / "root"
    target = root / "SBU" / "s01s02" / "01" / "001" / "skeleton_pos.txt"
    target.parent.mkdir(parents=True, exist_ok=True)

    def run(case, preprocess: bool):
        i, mutations = case
        target.write_bytes(apply_text_mutations(bases[i], mutations))
        return check_contract(lambda: load_dataset("sbu", root, preprocess=preprocess),
                              [target], 30)

    return Fixture([str(p.relative_to(data_root)) for p in chosen], run,
                   _text_case(chosen), _ops)


#: UTKinect recordings used as bases: the smallest file, and the one with the NaN label entry.
UTK_RECORDINGS = ("s05_e02", "s10_e02")


def _label_blocks(text: str, recordings) -> str:
    blocks, current = [], None
    for line in text.splitlines():
        if re.fullmatch(r"s\d\d_e\d\d", line.strip()):
            current = line.strip()
        if current in recordings:
            blocks.append(line)
    return "\n".join(blocks) + "\n"


def _utkinect(data_root: Path, work: Path, mutate: str) -> Fixture:
    src = data_root / "UTKinect"
    label_files = ("actionLabel.txt", "actionLabel_modified.txt")
    root = work / "root"
    folder = root / "UTKinect"
    folder.mkdir(parents=True, exist_ok=True)
    label_path = folder / "actionLabel.txt"
    if mutate == "joints":
        sources = [f"UTKinect/joints_{r}.txt" for r in UTK_RECORDINGS]
        bases = [(src / f"joints_{r}.txt").read_bytes() for r in UTK_RECORDINGS]
        labels = [_label_blocks((src / label_files[0]).read_text(), [r]).encode()
                  for r in UTK_RECORDINGS]
    else:
        sources = [f"UTKinect/{name}" for name in label_files]
        bases = [_label_blocks((src / name).read_text(), UTK_RECORDINGS).encode()
                 for name in label_files]
        for r in UTK_RECORDINGS:
            shutil.copy(src / f"joints_{r}.txt", folder / f"joints_{r}.txt")

    def run(case, preprocess: bool):
        i, mutations = case
        if mutate == "joints":
            for old in folder.glob("joints_*"):
                old.unlink()
            joints = folder / f"joints_{UTK_RECORDINGS[i]}.txt"
            joints.write_bytes(apply_text_mutations(bases[i], mutations))
            label_path.write_bytes(labels[i])
            files = [joints, label_path]
        else:
            label_path.write_bytes(apply_text_mutations(bases[i], mutations))
            files = [label_path, *sorted(folder.glob("joints_*"))]
            # a mutated recording header names a joints file that is not there
            files += [folder / f"joints_{m}.txt" for m in
                      re.findall(r"s\d\d_e\d\d", label_path.read_bytes().decode("latin-1"))]
        return check_contract(lambda: load_dataset("utkinect", root, preprocess=preprocess),
                              files, 20)

    return Fixture(sources, run, _text_case(sources), _ops)


def _ntu(data_root: Path, work: Path) -> Fixture:
    files = sorted((data_root / "NTU-samples").glob("*.skeleton"))
    if not files:
        raise StalibError(f"no NTU sample under {data_root / 'NTU-samples'}")
    bases = [p.read_bytes() for p in files]
    root = work / "root"
    folder = root / "NTU"
    folder.mkdir(parents=True, exist_ok=True)
    counter = iter(range(10**9))

    def run(case, preprocess: bool):
        i, mutations = case
        for old in folder.glob("*.skeleton"):
            old.unlink()
        target = folder / files[i].name
        target.write_bytes(apply_text_mutations(bases[i], mutations))
        cache = work / "cache" / str(next(counter))  # a fresh cache: no stale reuse
        try:
            return check_contract(
                lambda: load_dataset("ntu60", root, preprocess=preprocess, cache_dir=cache,
                                     workers=1, progress=False), [target], 50)
        finally:
            shutil.rmtree(cache, ignore_errors=True)

    return Fixture([f"NTU-samples/{p.name}" for p in files], run, _text_case(files), _ops)


def _npz(data_root: Path, work: Path) -> Fixture:
    """Bases: real SBU and UTKinect sequences written by :func:`stalib.data.npz.save_npz`."""
    sbu_files = sorted((data_root / "SBU").glob("*/*/*/skeleton_pos.txt"))[::40][:6]
    sbu = SkeletonSet.from_sequences(
        [read_sbu_file(p) for p in sbu_files], [int(p.parts[-3]) - 1 for p in sbu_files],
        [p.parts[-4] for p in sbu_files], [f"{p.parts[-4]}/{p.parts[-3]}" for p in sbu_files],
        [f"c{c}" for c in range(8)], 2, 15, name="sbu-subset")
    utk = [read_joints_file(data_root / "UTKinect" / f"joints_{r}.txt")[1][:40]
           for r in UTK_RECORDINGS]
    utk_set = SkeletonSet.from_sequences(utk, [0, 1], ["s05", "s10"], list(UTK_RECORDINGS),
                                         ["a", "b"], 1, 20, name="utk-subset")
    bases = []
    for k, data in enumerate((sbu, utk_set)):
        path = work / f"base{k}.npz"
        save_npz(data, path)
        with np.load(path, allow_pickle=False) as z:
            bases.append({key: z[key] for key in z.files})
    target = work / "user.npz"
    st = _strategies()

    def run(case, preprocess: bool):
        i, mutations = case
        c = NpzCase({k: v.copy() for k, v in bases[i].items()})
        for m in mutations:
            try:
                apply_npz_mutation(c, m)
            except (TypeError, ValueError, IndexError, OverflowError):
                pass  # a mutation that does not apply to these arrays (e.g. diff of strings)
        write_npz_case(c, target)
        return check_contract(lambda: load_dataset(f"npz:{target}", preprocess=preprocess),
                              [target], None)

    sources = [f"{len(sbu_files)} SBU sequences (save_npz)",
               f"{len(utk)} UTKinect segments (save_npz)"]
    return Fixture(sources, run, st.tuples(st.integers(0, 1), npz_mutations()), _ops)


TARGETS: dict[str, tuple[str, Callable[[Path, Path], Fixture]]] = {
    "sbu": ("SBU skeleton_pos.txt", _sbu),
    "utkinect-joints": ("UTKinect joints_sSS_eEE.txt",
                        lambda root, work: _utkinect(root, work, "joints")),
    "utkinect-labels": ("UTKinect actionLabel.txt", lambda root, work: _utkinect(root, work,
                                                                                 "labels")),
    "ntu": ("NTU RGB+D .skeleton", _ntu),
    "npz": ("stalib .npz (npz:PATH)", _npz),
}


def make_fixture(name: str, data_root: str | Path, workdir: str | Path) -> Fixture:
    """Prepare target ``name`` (a key of :data:`TARGETS`) in the scratch folder ``workdir``."""
    if name not in TARGETS:
        raise StalibError(f"unknown fuzz target {name!r}; choose from {', '.join(TARGETS)}")
    work = Path(workdir)
    work.mkdir(parents=True, exist_ok=True)
    return TARGETS[name][1](Path(data_root), work)


def _reason_kind(reason: str) -> str:
    """A FormatError reason with numbers and quoted values blanked, for counting kinds."""
    text = re.sub(r"'[^']*'|\"[^\"]*\"", "'…'", reason)
    text = re.sub(r"[-+]?\d[\w.+-]*", "N", text)
    return text[:90]


def fuzz_target(name: str, data_root: str | Path, workdir: str | Path,
                max_examples: int | None = None, seed: int = 0,
                deadline_s: float = DEADLINE_S, timeout_s: float = TIMEOUT_S) -> dict:
    """Fuzz one target (a key of :data:`TARGETS`); returns its counts.

    Raises ``AssertionError`` (via hypothesis, with the shrunk falsifying case) when the
    contract breaks. ``workdir`` is a scratch folder; the real files are only read.
    """
    fx = make_fixture(name, data_root, Path(workdir) / name)
    n = DEFAULT_EXAMPLES[name] if max_examples is None else int(max_examples)
    what = TARGETS[name][0]
    for i in range(len(fx.sources)):  # every base must load unmutated
        outcome, reason = fx.run((i, []), True)
        if outcome != "parsed":
            raise StalibError(f"fuzz {name}: base {fx.sources[i]} does not load: {reason}")
    counts = {"cases": 0, "parsed": 0, "rejected": 0}
    ops: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    preprocessed = Counter()
    t0 = time.perf_counter()

    @settings(max_examples=n, deadline=timedelta(seconds=deadline_s), database=None,
              suppress_health_check=list(HealthCheck), print_blob=False)
    @fixed_seed(seed)
    @given(case=fx.strategy, preprocess=st.booleans())
    def one(case, preprocess):
        counts["cases"] += 1
        outcome, reason = fx.run(case, preprocess)
        counts[outcome] += 1
        preprocessed[str(preprocess)] += 1
        ops.update(set(fx.ops_of(case)))
        if reason:
            reasons[_reason_kind(reason)] += 1

    one()
    return {
        "target": name, "reader": what, "sources": fx.sources, "max_examples": n,
        "seed": seed, **counts, "with_preprocessing": preprocessed["True"],
        "mutations": dict(sorted(ops.items())),
        "top_reasons": [{"reason": r, "count": c} for r, c in reasons.most_common(8)],
        "elapsed_s": round(time.perf_counter() - t0, 2),
    }


def run_fuzz(data_root: str | Path, out: str | Path | None = None, *,
             targets: list[str] | None = None, scale: float = 1.0, seed: int = 0) -> dict:
    """Fuzz every target (or ``targets``) and write the report JSON to ``out`` (if given)."""
    report = {"created": utc_now(), "git_commit": git_commit(),
              "versions": {**package_versions(), "hypothesis": hypothesis.__version__},
              "contract": "each case loads to a valid set (float32, finite, the dataset's K "
                          "joints, >= 1 frame per sequence) or raises a FormatError naming "
                          "its file; no other exception, no hang",
              "deadline_s": DEADLINE_S, "timeout_s": TIMEOUT_S, "targets": {}}
    with tempfile.TemporaryDirectory(prefix="stalib-fuzz-") as tmp:
        for name in targets or list(TARGETS):
            n = max(1, round(DEFAULT_EXAMPLES[name] * scale))
            report["targets"][name] = fuzz_target(name, data_root, tmp, n, seed=seed)
    report["total_cases"] = sum(t["cases"] for t in report["targets"].values())
    if out is not None:
        out = Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    return report


# ---------------------------------------------------------------------------- kill and resume
#: The run of the kill-and-resume check (small enough for CI on CPU).
RESUME_ARGS = ("--dataset", "sbu", "--model", "sta-lstm", "--fold", "1", "--seed", "0",
               "--n1", "40", "--n2", "20", "--set", "hidden=16", "--set", "spatial_hidden=16",
               "--checkpoint-every", "7", "--quiet", "--device", "cpu", "--threads", "1")


def _stalib(*args: str) -> list[str]:
    return [sys.executable, "-m", "stalib", *args]


def _env() -> dict:
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONHASHSEED="0")
    env.pop("CUDA_VISIBLE_DEVICES", None)
    return env


def read_checkpoint_position(path: Path) -> tuple[int, int] | None:
    """``(stage index, iteration)`` of a checkpoint, or None while there is none."""
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=False)
    except (FileNotFoundError, EOFError, RuntimeError):
        return None
    return int(ckpt["stage"]), int(ckpt["iteration"])


#: A history entry put into a checkpoint to prove that a later run continued from it.
MARKER = "written into the checkpoint before resuming"


def mark_checkpoint(path: Path) -> None:
    """Append a :data:`MARKER` entry to the loss history of the checkpoint at ``path``.

    The history travels with the checkpoint into ``metrics.json``, so a resumed run that shows
    the marker continued from this very file (a run started afresh would not).
    """
    ckpt = torch.load(path, map_location="cpu", weights_only=False)
    ckpt["history"] = [*ckpt["history"], {"marker": MARKER}]
    atomic_torch_save(ckpt, path)


def kill_and_resume(data_root: str | Path, workdir: str | Path, *, kill_stage: int = 1,
                    args: tuple[str, ...] = RESUME_ARGS, timeout_s: float = 600) -> dict:
    """Kill ``stalib train`` mid-stage with SIGKILL, resume it, compare with a clean run.

    The run is killed once its checkpoint is mid-stage (iteration > 0) in stage index
    ``kill_stage`` or later (index 1 = the second stage, step 3 of Algorithm 1); the checkpoint
    is then marked (:func:`mark_checkpoint`) and the run resumed. Returns a dict with the
    positions, the accuracies, whether the resumed run continued from the checkpoint and whether
    every weight is equal (``torch.equal``).
    """
    work = Path(workdir)
    common = [*args, "--data-root", str(data_root)]
    ref, killed = work / "uninterrupted", work / "killed"
    t0 = time.perf_counter()
    proc = subprocess.run(_stalib("train", *common, "--out", str(ref)), env=_env(),
                          capture_output=True, text=True, timeout=timeout_s)
    if proc.returncode != 0:
        raise StalibError(f"the uninterrupted run failed: {proc.stderr.strip()[-500:]}")
    ref_s = time.perf_counter() - t0

    ckpt = killed / "checkpoint.pt"
    child = subprocess.Popen(_stalib("train", *common, "--out", str(killed)), env=_env(),
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    seen, deadline = None, time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline and child.poll() is None:
            pos = read_checkpoint_position(ckpt)
            if pos is not None and pos[0] >= kill_stage and pos[1] > 0:
                seen = pos
                child.send_signal(signal.SIGKILL)
                break
            time.sleep(0.01)
    finally:
        if child.poll() is None and seen is None:
            child.kill()
        child.wait()
        stderr = child.stderr.read().decode(errors="replace") if child.stderr else ""
        if child.stderr:
            child.stderr.close()
    if seen is None:
        raise StalibError(f"the run ended (status {child.returncode}) before a checkpoint of "
                          f"stage index {kill_stage} existed: {stderr.strip()[-300:]}")
    on_disk = read_checkpoint_position(ckpt)
    left = sorted(p.name for p in killed.iterdir())
    mark_checkpoint(ckpt)
    proc = subprocess.run(_stalib("train", *common, "--out", str(killed), "--resume"),
                          env=_env(), capture_output=True, text=True, timeout=timeout_s)
    if proc.returncode != 0:
        raise StalibError(f"the resumed run failed: {proc.stderr.strip()[-500:]}")
    a = json.loads((ref / "metrics.json").read_text())
    b = json.loads((killed / "metrics.json").read_text())
    sa = torch.load(ref / "model.pt", map_location="cpu", weights_only=False)["state_dict"]
    sb = torch.load(killed / "model.pt", map_location="cpu", weights_only=False)["state_dict"]
    marked = any(h.get("marker") == MARKER for h in b.get("history", []))
    differing = sorted(k for k in sa if k not in sb or not torch.equal(sa[k], sb[k]))
    differing += sorted(k for k in sb if k not in sa)
    return {
        "command": "stalib train " + " ".join(args),
        "killed_with": "SIGKILL", "killed_at_returncode": child.returncode,
        "checkpoint_seen": {"stage": seen[0] + 1, "iteration": seen[1]},
        "checkpoint_after_kill": (None if on_disk is None
                                  else {"stage": on_disk[0] + 1, "iteration": on_disk[1]}),
        "files_after_kill": left,
        "resumed_from_checkpoint": marked,
        "uninterrupted": {"accuracy": a["accuracy"], "train_accuracy": a["train_accuracy"],
                          "iterations": a["iterations"]},
        "resumed": {"accuracy": b["accuracy"], "train_accuracy": b["train_accuracy"],
                    "iterations": b["iterations"]},
        "tensors": len(sa), "differing_tensors": differing,
        "weights_equal": not differing and len(sa) == len(sb),
        "accuracy_equal": a["accuracy"] == b["accuracy"],
        "uninterrupted_wall_s": round(ref_s, 1),
    }


# ---------------------------------------------------------------------------- command line
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stalib.tools.reliability",
                                     description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    p = sub.add_parser("fuzz", help="fuzz the readers with mutated real files")
    p.add_argument("--data-root", default=os.environ.get("STALIB_DATA"), required=False)
    p.add_argument("--out", default="results/reliability/fuzz.json")
    p.add_argument("--target", action="append", choices=list(TARGETS))
    p.add_argument("--scale", type=float, default=1.0, help="multiply the example counts")
    p.add_argument("--seed", type=int, default=0)
    p = sub.add_parser("resume", help="kill stalib train mid-stage and resume it")
    p.add_argument("--data-root", default=os.environ.get("STALIB_DATA"), required=False)
    p.add_argument("--out", default="results/reliability/resume.json")
    args = parser.parse_args(argv)
    if not args.data_root:
        parser.error("pass --data-root DIR or set STALIB_DATA")
    if args.what == "fuzz":
        report = run_fuzz(args.data_root, args.out, targets=args.target, scale=args.scale,
                          seed=args.seed)
        for name, t in report["targets"].items():
            print(f"{name:16s} {t['cases']:5d} cases: {t['parsed']:4d} loaded, "
                  f"{t['rejected']:4d} FormatError, {t['elapsed_s']:.1f}s")
        print(f"wrote {args.out}")
        return 0
    with tempfile.TemporaryDirectory(prefix="stalib-resume-") as tmp:
        res = kill_and_resume(args.data_root, tmp)
    res = {"created": utc_now(), "git_commit": git_commit(), "versions": package_versions(),
           **res}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=2) + "\n")
    print(json.dumps(res, indent=2))
    return 0 if res["weights_equal"] and res["accuracy_equal"] else 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
