"""The one in-memory representation shared by every dataset: :class:`SkeletonSet`.

Sequences have variable length. All frames of all sequences are stored back to back in one
array ``frames`` of shape ``(total_frames, K, 3)`` (float32), and sequence ``i`` is
``frames[offsets[i]:offsets[i + 1]]``. Persons are flattened into joints: with ``P`` persons of
``J`` joints each, ``K = P * J`` and joint ``p * J + j`` is joint ``j`` of person ``p``. Because
everything lives in a few flat arrays, ``frames`` can be a ``numpy.memmap`` (the NTU cache) and
subsets are index arrays, never copies of Python lists.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from stalib.errors import DataRootError, FormatError


@dataclass
class SkeletonSet:
    """A labelled set of variable-length skeleton sequences.

    Attributes:
        frames: ``(total_frames, K, 3)`` float32 joint positions (may be a memmap).
        offsets: ``(N + 1,)`` int64; sequence ``i`` spans ``frames[offsets[i]:offsets[i+1]]``.
        labels: ``(N,)`` int64 class index in ``[0, len(class_names))``.
        groups: ``(N,)`` str, the unit of a subject-independent split (SBU set ``s01s02``,
            UTKinect subject ``s01``, NTU performer ``P001``).
        names: ``(N,)`` str, a unique id per sequence (e.g. the file it came from).
        class_names: the class names, index = label.
        persons: number of persons ``P`` flattened into the joint axis.
        joints_per_person: ``J``; ``K = persons * joints_per_person``.
        attrs: further per-sequence ``(N,)`` arrays (NTU ``camera``, ``setup``; UTKinect ``run``).
        name: the dataset's name, for messages and records.
        skipped: one message per input that loading skipped (a bad file under ``strict=False``,
            or a documented gap of the dataset such as UTKinect's unlabelled s10_e02 carry).
            Never silent: the CLI prints them, and subsets keep them.
    """

    frames: np.ndarray
    offsets: np.ndarray
    labels: np.ndarray
    groups: np.ndarray
    names: np.ndarray
    class_names: list[str]
    persons: int
    joints_per_person: int
    attrs: dict[str, np.ndarray] = field(default_factory=dict)
    name: str = "dataset"
    skipped: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.offsets = np.asarray(self.offsets, dtype=np.int64)
        self.labels = np.asarray(self.labels, dtype=np.int64)
        self.groups = np.asarray(self.groups, dtype=str)
        self.names = np.asarray(self.names, dtype=str)
        n = len(self.offsets) - 1
        if self.frames.ndim != 3 or self.frames.shape[2] != 3:
            raise ValueError(
                f"{self.name}: frames must be (total_frames, K, 3), got {self.frames.shape}"
            )
        if self.frames.shape[1] != self.persons * self.joints_per_person:
            raise ValueError(
                f"{self.name}: frames have {self.frames.shape[1]} joints, expected "
                f"persons*joints_per_person = {self.persons}*{self.joints_per_person}"
            )
        if n < 0 or self.offsets[0] != 0 or self.offsets[-1] != len(self.frames):
            raise ValueError(f"{self.name}: offsets must start at 0 and end at len(frames)")
        if np.any(np.diff(self.offsets) <= 0):
            raise ValueError(f"{self.name}: every sequence must have at least one frame")
        for what, arr in [("labels", self.labels), ("groups", self.groups), ("names", self.names)]:
            if len(arr) != n:
                raise ValueError(f"{self.name}: {what} has {len(arr)} entries, expected {n}")
        for key, arr in self.attrs.items():
            if len(arr) != n:
                raise ValueError(
                    f"{self.name}: attrs[{key!r}] has {len(arr)} entries, expected {n}"
                )
        if n and (self.labels.min() < 0 or self.labels.max() >= len(self.class_names)):
            raise ValueError(f"{self.name}: labels must lie in [0, {len(self.class_names)})")

    # ------------------------------------------------------------------ access
    def __repr__(self) -> str:
        """One line (the dataclass default prints every array: thousands of lines in an error
        message)."""
        return (f"SkeletonSet({self.name!r}: {len(self)} sequences, {self.num_classes} classes, "
                f"{len(self.frames)} frames, {self.persons} x {self.joints_per_person} joints)")

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, i: int) -> np.ndarray:
        """Sequence ``i`` as a ``(T_i, K, 3)`` array (a view, not a copy)."""
        if not -len(self) <= i < len(self):
            raise IndexError(f"{self.name}: sequence index {i} out of range [0, {len(self)})")
        i = i % len(self)
        return self.frames[self.offsets[i] : self.offsets[i + 1]]

    @property
    def lengths(self) -> np.ndarray:
        """``(N,)`` int64 number of frames of each sequence."""
        return np.diff(self.offsets)

    @property
    def num_joints(self) -> int:
        """``K``: joints per frame, all persons together."""
        return self.frames.shape[1]

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    # ------------------------------------------------------------------ building
    @classmethod
    def from_sequences(
        cls,
        sequences: Sequence[np.ndarray],
        labels: Sequence[int],
        groups: Sequence[str],
        names: Sequence[str],
        class_names: Sequence[str],
        persons: int,
        joints_per_person: int,
        attrs: dict[str, Sequence] | None = None,
        name: str = "dataset",
        skipped: Sequence[str] = (),
    ) -> SkeletonSet:
        """Build a set from a list of ``(T_i, K, 3)`` arrays (concatenated once)."""
        k = persons * joints_per_person
        lengths = [len(s) for s in sequences]
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        if sequences:
            frames = np.concatenate([np.asarray(s, dtype=np.float32) for s in sequences], axis=0)
        else:
            frames = np.zeros((0, k, 3), dtype=np.float32)
        return cls(
            frames=frames,
            offsets=offsets,
            labels=np.asarray(labels, dtype=np.int64),
            groups=np.asarray(groups, dtype=str),
            names=np.asarray(names, dtype=str),
            class_names=list(class_names),
            persons=persons,
            joints_per_person=joints_per_person,
            attrs={key: np.asarray(v) for key, v in (attrs or {}).items()},
            name=name,
            skipped=list(skipped),
        )

    def subset(self, indices: Sequence[int] | np.ndarray) -> SkeletonSet:
        """The sequences at ``indices``, in that order (frames copied into a new array)."""
        idx = np.asarray(indices, dtype=np.int64)
        if len(idx) and (idx.min() < -len(self) or idx.max() >= len(self)):
            raise IndexError(f"{self.name}: subset index out of range [0, {len(self)})")
        idx = idx % max(len(self), 1)
        lengths = self.lengths[idx]
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        frames = np.empty((int(offsets[-1]), *self.frames.shape[1:]), dtype=np.float32)
        for row, i in enumerate(idx):
            frames[offsets[row] : offsets[row + 1]] = self.frames[
                self.offsets[i] : self.offsets[i + 1]
            ]
        return SkeletonSet(
            frames=frames,
            offsets=offsets,
            labels=self.labels[idx],
            groups=self.groups[idx],
            names=self.names[idx],
            class_names=list(self.class_names),
            persons=self.persons,
            joints_per_person=self.joints_per_person,
            attrs={key: v[idx] for key, v in self.attrs.items()},
            name=self.name,
            skipped=list(self.skipped),
        )

    def resampled(self, resample) -> SkeletonSet:
        """A new set with every sequence passed through ``resample`` (a
        :class:`stalib.data.transforms.Resample`), which gives each the same number of frames;
        the offsets follow."""
        seqs = [resample(np.array(self.frames[self.offsets[i]:self.offsets[i + 1]],
                                  dtype=np.float32)) for i in range(len(self))]
        lengths = np.array([len(q) for q in seqs], dtype=np.int64)
        return SkeletonSet(
            frames=np.concatenate(seqs).astype(np.float32) if seqs else self.frames[:0],
            offsets=np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
            labels=self.labels, groups=self.groups, names=self.names,
            class_names=list(self.class_names), persons=self.persons,
            joints_per_person=self.joints_per_person, attrs=dict(self.attrs), name=self.name,
            skipped=list(self.skipped))

    def map_frames(self, fn) -> SkeletonSet:
        """A new set with ``fn(seq) -> seq'`` applied to every sequence.

        ``fn`` gets a float32 copy of one ``(T, K, 3)`` sequence and must return an array of the
        same shape (a transform of :mod:`stalib.data.transforms`, for instance). The result is
        written into one preallocated in-memory array, so no list of sequences is built.
        """
        out = np.empty(self.frames.shape, dtype=np.float32)
        for i in range(len(self)):
            a, b = self.offsets[i], self.offsets[i + 1]
            seq = np.asarray(fn(np.array(self.frames[a:b], dtype=np.float32)), dtype=np.float32)
            if seq.shape != (b - a, *self.frames.shape[1:]):
                raise ValueError(
                    f"{self.name}: transform changed the shape of {self.names[i]} from "
                    f"{(b - a, *self.frames.shape[1:])} to {seq.shape}"
                )
            out[a:b] = seq
        return SkeletonSet(
            frames=out, offsets=self.offsets.copy(), labels=self.labels, groups=self.groups,
            names=self.names, class_names=list(self.class_names), persons=self.persons,
            joints_per_person=self.joints_per_person, attrs=dict(self.attrs), name=self.name,
            skipped=list(self.skipped),
        )


#: The largest float32. A finite float64 beyond it would become inf in the float32 frames, so the
#: readers refuse it like a NaN (e.g. ``1e308`` in a text file).
FLOAT32_MAX = float(np.finfo(np.float32).max)


def first_non_float32(values: np.ndarray) -> tuple[tuple[int, ...], str] | None:
    """The index of the first value that is not a finite float32, and what is wrong with it.

    ``None`` when every value is a finite number within the float32 range. The text reads
    ``"nan, expected a finite number"`` or ``"1e+308, beyond the float32 range (|x| <=
    3.4028235e+38)"``, to follow ``"field 3 is "`` or similar.
    """
    values = np.asarray(values)
    with np.errstate(invalid="ignore", over="ignore"):
        bad = ~np.isfinite(values)
        if values.dtype.itemsize > 4 or values.dtype.kind != "f":
            bad |= np.abs(values) > FLOAT32_MAX
    if not bad.any():
        return None
    idx = tuple(int(i) for i in np.argwhere(bad)[0])
    v = values[idx]
    if not np.isfinite(v):
        return idx, f"{v}, expected a finite number"
    return idx, f"{float(v):g}, beyond the float32 range (|x| <= {FLOAT32_MAX:g})"


def none_usable(dataset: str, folder, skipped: list[str]):
    """The error of a reader that found no usable sequence under ``folder``: a
    :class:`stalib.errors.DataRootError` naming it and the first skipped input, if any."""
    return DataRootError(f"no usable {dataset} sequence under {folder}"
                         + (f" ({len(skipped)} skipped: {skipped[0]})" if skipped else ""))


def skip_or_raise(err: Exception, strict: bool, skipped: list[str]) -> None:
    """The readers' one policy for bad input: raise ``err`` when ``strict``, else record it.

    With ``strict=False`` the message (which names the file and line) goes to ``skipped``; the
    reader leaves the bad input out and the list ends up in :attr:`SkeletonSet.skipped`, which
    the CLI prints. Bad input is never dropped without a message.
    """
    if strict:
        raise err
    skipped.append(f"skipped: {err}")


def apply_transform(
    transform: Callable[[np.ndarray], np.ndarray], seq: np.ndarray, path: str | Path
) -> np.ndarray:
    """Run a preprocessing ``transform`` on one sequence read from ``path``.

    A ``ValueError`` of the transform (e.g. a degenerate skeleton that cannot be rotated), a
    changed shape or a non-finite result becomes a :class:`stalib.errors.FormatError` naming
    ``path``, so it is handled like any other bad file.
    """
    try:
        out = np.asarray(transform(seq), dtype=np.float32)
    except ValueError as err:
        raise FormatError(path, f"preprocessing failed: {err}") from None
    if out.shape != seq.shape:
        raise FormatError(path, f"preprocessing changed the shape {seq.shape} to {out.shape}")
    if not np.isfinite(out).all():
        raise FormatError(path, "preprocessing produced non-finite values")
    return out
