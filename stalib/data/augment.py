"""Training-time augmentation of a padded batch: random rotation about the vertical axis,
random scaling, a random temporal crop and, for two-person data, a random swap of the persons;
one draw per sequence.

Rotation, scale and the crop run on the whole batch at once on its device (the trainer moves an
augmented batch to the training device first, :class:`stalib.data.stream.BatchStream`): one batched
matrix product, and gathers of frames with the interpolation of the crop's resampling. On the
CPU they give, bit for bit, what the per-sequence code before them gave (tested). The person
swap applies the preprocessing's frame steps again to each swapped sequence: on the CPU in
numpy, one sequence at a time, as every committed run did; on a GPU for all swapped rows at once
(:meth:`PersonSwap.swap_batch`), which agrees with it to float32 precision but not bit for bit
(its 3 x 3 products may round otherwise).

Not in the paper (section 5.1 trains on the preprocessed skeletons as they are), so it is off by
default (:class:`stalib.config.TrainConfig` ``augment_rotation = augment_scale = 0``) and a run that
uses it is filed under a configuration of its own.

Each training sequence of a batch gets an angle ``a`` drawn uniformly from ``[-rotation,
rotation]`` degrees and a factor ``s`` from ``[1 - scale, 1 + scale]``; every joint position
``(x, y, z)`` becomes ``s * (x cos a + z sin a, y, -x sin a + z cos a)``: a turn about the
vertical ``y`` axis of the camera (Kinect: ``y`` up) through the origin, which the
preprocessing puts at a body joint of the first frame, then a change of size. Both are linear,
so padded frames and absent persons (all zeros) stay zero, and ``y`` keeps its sign. The draws
come from the batch stream's own generator, so a resumed run sees the same augmented batches,
and under data-parallel training every rank draws for the whole global batch and keeps its
slice, as one process would.

The temporal crop (``crop = c``) keeps a random contiguous window of ``round(u L)`` of a
sequence's ``L`` frames, ``u`` uniform in ``[1 - c, 1]`` (at least one frame), moved to the start
of the padded row; the person swap (``swap``) exchanges person 1 and person 2 of a sequence with
probability 1/2 and puts the result in the frame of the new person 1, as preprocessing would
have (:class:`PersonSwap`). Their draws follow the rotation and scale draws, and are made only
when they are on, so the batches of runs without them are unchanged.

Up to commit 0827020 the swap only exchanged the two halves of the joint axis, after the rotation
and the crop, leaving the new person 1 off the origin and, with SBU's view normalisation, person 2
at ``-x`` of person 1: a view the test folds never show. The configurations ``r1-view-aug`` (HCN,
where the exchange alone changes nothing: HCN takes the maximum over persons) and
``r1-view-gain-aug`` (STA-LSTM) in ``results/sbu/validation.csv`` ran with that swap; their rows
keep the commit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from stalib.data.batching import Batch
from stalib.data.transforms import (
    Centre,
    Compose,
    ViewNormalize,
    YawAlign,
    absent_mask,
)
from stalib.errors import ConfigError

#: The preprocessing steps that fix a sequence's frame from its own joints (a reference frame's
#: position, or its orientation): what a person swap must apply again, to the new person 1.
FRAME_STEPS = (Centre, YawAlign, ViewNormalize)
#: Any tracked joint moves by this much before the frame steps are applied again (they do not
#: depend on a translation of the whole scene when they translate it themselves), so that none
#: of them sits at the origin and reads as absent (see :class:`PersonSwap`).
_LIFT = np.array([0.5, 0.25, 0.125])


class PersonSwap:
    """Exchange person 1 and person 2 of a preprocessed two-person sequence, in the frame of the
    new person 1: the sequence the same preprocessing makes of the raw one read with its persons
    the other way round.

    Preprocessing puts a sequence in a frame fixed by person 1 (:data:`FRAME_STEPS`: SBU centres
    on person 1's torso and, with the view normalisation, turns person 1 -> person 2 onto ``+x``;
    NTU puts person 1's spine at the origin and shoulders on ``x``). Exchanging the two halves of
    the joint axis alone leaves the new person 1 away from the origin and, for SBU, facing the
    other way: a sequence the test folds never show. So after the exchange the frame steps of
    ``pipeline`` run again; the steps before them (un-normalising, smoothing) act on each joint
    alone and need no repeat. A joint the first pass put exactly at the origin (the centring
    joint of the reference frame) is tracked, not absent: every tracked joint is first lifted by
    :data:`_LIFT` (a translation, which the frame steps remove) so that it does not read as
    absent, and absent joints stay at the origin. ``pipeline`` without frame steps gives the
    plain exchange.
    """

    def __init__(self, pipeline: Compose | None, joints_per_person: int):
        steps = [] if pipeline is None else pipeline.transforms
        self.steps = [t for t in steps if isinstance(t, FRAME_STEPS)]
        self.J = int(joints_per_person)
        # joints a frame step may have put at exactly (0, 0, 0): the origins it translated to
        self.origins = sorted({t.joint for t in self.steps if isinstance(t, Centre)}
                              | {t.origin for t in self.steps if isinstance(t, ViewNormalize)})
        self.translates = bool(self.origins)

    def tracked(self, seq: np.ndarray) -> np.ndarray:
        """``(T, K)`` bool: tracked joints of a preprocessed ``seq``; a frame-step origin at the
        origin counts as tracked in every frame where its person has another tracked joint."""
        out = ~absent_mask(seq)
        for o in self.origins:
            person = slice((o // self.J) * self.J, (o // self.J + 1) * self.J)
            out[:, o] |= out[:, person].any(axis=1)
        return out

    def has_two_persons(self, seq: np.ndarray) -> bool:
        """Whether person 2 is tracked in some frame (else there is nobody to put first)."""
        return bool(self.tracked(seq)[:, self.J : 2 * self.J].any())

    def reframe(self, seq: np.ndarray) -> np.ndarray:
        """The frame steps applied again to ``seq`` ``(T, 2J, 3)``: the identity (up to
        rounding) on a sequence already in the frame of its person 1."""
        x = self._check(seq)
        return self._frame(x, self.tracked(x))

    def __call__(self, seq: np.ndarray) -> np.ndarray:
        x = self._check(seq)
        keep = self.tracked(x)
        return self._frame(self._exchange(x), self._exchange(keep))

    def _exchange(self, a: np.ndarray) -> np.ndarray:
        return np.concatenate([a[:, self.J :], a[:, : self.J]], axis=1)

    def _frame(self, x: np.ndarray, keep: np.ndarray) -> np.ndarray:
        if not self.steps:
            return x.astype(np.float32)
        x = x.astype(np.float64)
        if self.translates:
            x = np.where(keep[..., None], x + _LIFT, 0.0)
        out = Compose(self.steps)(x)
        return np.where(keep[..., None], out, 0.0).astype(np.float32)

    def swap_batch(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """:meth:`__call__` of every row of a padded batch ``x`` ``(B, T, 2J, 3)`` at once, on
        its device (rows whose person 2 is never tracked are returned as they are): the
        training device's path (:meth:`Augment.swap_persons` on a GPU). The same operations
        as the per-sequence numpy code, in float64, each frame step's result rounded to
        float32 as the steps round theirs; the 3 x 3 products may round otherwise in the
        last bit of float64, so it agrees with the numpy path to float32 precision, not bit
        for bit (tested)."""
        if x.ndim != 4 or x.shape[2:] != (2 * self.J, 3):
            raise ValueError(f"PersonSwap: expected a (B, T, {2 * self.J}, 3) batch, got "
                             f"{tuple(x.shape)}")
        valid = torch.arange(x.shape[1], device=x.device)[None, :] < lengths.to(x.device)[:, None]
        tracked = ~_absent(x) & valid[..., None]
        for o in self.origins:
            person = slice((o // self.J) * self.J, (o // self.J + 1) * self.J)
            tracked[..., o] |= tracked[..., person].any(-1)
        two = tracked[..., self.J :].flatten(1).any(1).nonzero().flatten()
        tracked, valid = tracked[two], valid[two]
        keep = torch.cat([tracked[..., self.J :], tracked[..., : self.J]], dim=2)
        y = torch.cat([x[two, :, self.J :], x[two, :, : self.J]], dim=2)
        if self.steps:
            y = y.double()
            if self.translates:
                lift = torch.as_tensor(_LIFT, dtype=y.dtype, device=y.device)
                y = torch.where(keep[..., None], y + lift, 0.0)
            for step in self.steps:
                y = _frame_step(step, y.double(), valid).float()
            y = torch.where(keep[..., None], y, 0.0)
        out = x.clone()
        out[two] = y.to(x.dtype)
        return out

    def _check(self, seq: np.ndarray) -> np.ndarray:
        x = np.asarray(seq)
        if x.ndim != 3 or x.shape[1:] != (2 * self.J, 3):
            raise ValueError(f"PersonSwap: expected a (T, {2 * self.J}, 3) sequence, got "
                             f"{x.shape}")
        return x


def _absent(x: torch.Tensor) -> torch.Tensor:
    """``(..., K)`` bool: joints exactly at (0, 0, 0): :func:`absent_mask` of a tensor
    (coordinates compared one by one, as it does: a reduction over 3 is slower)."""
    return (x[..., 0] == 0) & (x[..., 1] == 0) & (x[..., 2] == 0)


def _reference_frames(x: torch.Tensor, valid: torch.Tensor, joints: list[int], who: str
                      ) -> torch.Tensor:
    """Per row, the first frame in which all ``joints`` are tracked (``_reference_frame`` of
    :mod:`stalib.data.transforms`, for a batch); ValueError when a row has none."""
    ok = valid & ~_absent(x[:, :, joints]).any(-1)
    if not bool(ok.any(1).all()):
        raise ValueError(f"{who}: joints {joints} are not tracked in any frame")
    return ok.int().argmax(1)


def _frame_step(step, x: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """One frame step of preprocessing (:data:`FRAME_STEPS`) on a float64 batch
    ``(B, T, K, 3)``, as its numpy ``__call__`` does on one sequence: a translation and a
    rotation fixed by each row's reference frame, absent joints left at the origin."""
    rows = torch.arange(len(x), device=x.device)
    absent = _absent(x)[..., None]
    if isinstance(step, Centre):
        ref = _reference_frames(x, valid, [step.joint], "Centre")
        out = x - x[rows, ref, step.joint][:, None, None, :]
    elif isinstance(step, YawAlign):
        ref = _reference_frames(x, valid, [step.joint_from, step.joint_to], "YawAlign")
        d = x[rows, ref, step.joint_to] - x[rows, ref, step.joint_from]
        r = torch.hypot(d[:, 0], d[:, 2])
        if bool((r < 1e-6).any()):
            raise ValueError(f"YawAlign: joints {step.joint_from} and {step.joint_to} are "
                             "vertically aligned in the reference frame; no horizontal axis")
        c, s = d[:, 0] / r, d[:, 2] / r
        zero, one = torch.zeros_like(c), torch.ones_like(c)
        rot = torch.stack([torch.stack([c, zero, s], -1), torch.stack([zero, one, zero], -1),
                           torch.stack([-s, zero, c], -1)], -2)
        out = torch.einsum("btkj,bij->btki", x, rot)
    elif isinstance(step, ViewNormalize):
        right, left, spine_from, spine_to = step.axes
        ref = _reference_frames(x, valid, [step.origin, *step.axes], "ViewNormalize")
        f = x[rows, ref]
        ax = f[:, left] - f[:, right]
        nx = torch.linalg.vector_norm(ax, dim=-1)
        if bool((nx < 1e-6).any()):
            raise ValueError("view_rotation: the two shoulders coincide; no x axis")
        ax = ax / nx[:, None]
        ay = f[:, spine_to] - f[:, spine_from]
        ay = ay - (ay * ax).sum(-1, keepdim=True) * ax
        ny = torch.linalg.vector_norm(ay, dim=-1)
        if bool((ny < 1e-6).any()):
            raise ValueError("view_rotation: the spine is parallel to the shoulders; no y axis")
        ay = ay / ny[:, None]
        rot = torch.stack([ax, ay, torch.linalg.cross(ax, ay)], 1)
        out = torch.einsum("btkj,bij->btki", x - f[:, step.origin][:, None, None, :], rot)
        if step.scale:
            spine = torch.linalg.vector_norm(f[:, spine_to] - f[:, spine_from], dim=-1)
            if bool((spine < 1e-6).any()):
                raise ValueError("ViewNormalize: zero spine length, cannot scale")
            out = out / spine[:, None, None, None]
    else:  # pragma: no cover - FRAME_STEPS lists the three above
        raise TypeError(f"not a frame step: {step!r}")
    return torch.where(absent, 0.0, out)


@dataclass(frozen=True)
class Augment:
    """Random rotation (up to ``rotation`` degrees about ``y``) and scaling (by up to
    ``scale``) of each training sequence; both 0 (the default) leave batches untouched."""

    rotation: float = 0.0
    scale: float = 0.0
    crop: float = 0.0  # temporal crop: keep a fraction in [1 - crop, 1] of the frames
    swap: bool = False  # swap the two persons with probability 1/2
    crop_resize: bool = False  # the crop's window resampled to the sequence's length

    def __post_init__(self) -> None:
        if not (math.isfinite(self.rotation) and 0.0 <= self.rotation <= 180.0):
            raise ConfigError(f"`augment_rotation` must be in [0, 180] degrees, got "
                              f"{self.rotation}")
        if not (math.isfinite(self.scale) and 0.0 <= self.scale < 1.0):
            raise ConfigError(f"`augment_scale` must be in [0, 1) (a factor in [1 - s, 1 + s]), "
                              f"got {self.scale}")
        if not (math.isfinite(self.crop) and 0.0 <= self.crop < 1.0):
            raise ConfigError(f"`augment_crop` must be in [0, 1) (the largest share of frames a "
                              f"crop removes), got {self.crop}")
        if not isinstance(self.swap, bool):
            raise ConfigError(f"`augment_swap` must be true or false, got {self.swap!r}")
        if not isinstance(self.crop_resize, bool):
            raise ConfigError(f"`augment_crop_resize` must be true or false, got "
                              f"{self.crop_resize!r}")
        if self.crop_resize and self.crop == 0:
            raise ConfigError("`augment_crop_resize` stretches the window of `augment_crop` "
                              "back to the sequence's length: give `augment_crop` C > 0 too")

    @property
    def active(self) -> bool:  # crop_resize only changes what the crop does
        return self.rotation > 0 or self.scale > 0 or self.crop > 0 or self.swap

    def __call__(self, batch: Batch, rng: np.random.Generator, n: int, mine: np.ndarray,
                 persons: int, reframe: PersonSwap | None = None) -> Batch:
        """``batch`` (this rank's rows ``mine`` of a global batch of ``n``) augmented with draws
        from ``rng`` for all ``n`` sequences, drawn in the order rotation and scale, crop, swap.

        The swap (``reframe``: the :class:`PersonSwap` of the data's preprocessing, needed when
        ``swap`` is on) is applied first, on the whole sequence, so that its frame is fixed by
        the first frame as in preprocessing; then rotation and scale, then the crop. A sequence
        whose person 2 is never tracked is left as it is."""
        angles, factors = self.draw(rng, n)
        if self.crop > 0:
            share = rng.uniform(1.0 - self.crop, 1.0, n)[mine]
            where = rng.uniform(0.0, 1.0, n)[mine]
        x, mask, lengths = batch.x, batch.mask, batch.lengths
        if self.swap:
            if persons != 2:
                raise ConfigError(f"`augment_swap` needs two-person data, this dataset has "
                                  f"{persons} person(s) per sequence")
            if reframe is None:
                raise ValueError("Augment: swap needs the PersonSwap of the data's "
                                 "preprocessing (reframe=...)")
            flip = (rng.uniform(0.0, 1.0, n) < 0.5)[mine]
            x = self.swap_persons(x, lengths, flip, reframe)
        x = self.apply(x, angles[mine], factors[mine])
        if self.crop > 0 and self.crop_resize:
            x = self.crop_resize_frames(x, lengths, share, where)
        elif self.crop > 0:
            x, mask, lengths = self.crop_frames(x, lengths, share, where)
        return Batch(x, mask, lengths, batch.labels, batch.index)

    @staticmethod
    def _window(lengths: torch.Tensor, share: np.ndarray, where: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per row: its length ``L_b``, the frames the crop keeps ``max(1, round(share[b] L_b))``
        and the window's first frame ``floor(where[b] (L_b - kept + 1))``."""
        old = lengths.cpu().numpy().astype(np.int64)
        kept = np.clip(np.rint(share * old), 1, old).astype(np.int64)
        start = np.minimum(np.floor(where * (old - kept + 1)), old - kept).astype(np.int64)
        return old, kept, start

    @staticmethod
    def _gather_frames(x: torch.Tensor, frames: np.ndarray) -> torch.Tensor:
        """``out[b, t] = x[b, frames[b, t]]`` for ``frames`` ``(B, T)``, on ``x``'s device."""
        b, t = x.shape[:2]
        rows = torch.as_tensor(frames + np.arange(b)[:, None] * t, device=x.device).reshape(-1)
        return x.reshape(b * t, -1).index_select(0, rows).reshape(x.shape)

    @staticmethod
    def crop_resize_frames(x: torch.Tensor, lengths: torch.Tensor, share: np.ndarray,
                           where: np.ndarray) -> torch.Tensor:
        """The window of :meth:`crop_frames` (same draws) resampled back to the row's ``L_b``
        frames: the sequence is seen faster or slower, and no shorter. All rows at once on
        ``x``'s device, bit for bit :class:`stalib.data.transforms.Resample` of each window (the
        sample positions are numpy's ``linspace``, the interpolation the same float32
        operations in the same order; an absent joint read with a non-zero weight stays
        absent)."""
        old, kept, start = Augment._window(lengths, share, where)
        t = np.arange(x.shape[1])[None, :]
        n, k = old[:, None], kept[:, None]
        # np.linspace(0, k - 1, n): i * step, its last sample exactly k - 1
        pos = np.where(t == n - 1, k - 1.0, t * ((k - 1) / np.maximum(n - 1, 1)))
        lo = np.minimum(np.floor(pos).astype(np.int64), k - 1)
        hi = np.minimum(lo + 1, k - 1)
        change = (t < n) & (n >= 2) & (k != n)
        last = x.shape[1] - 1
        a = Augment._gather_frames(x, np.minimum(start[:, None] + lo, last))
        b = Augment._gather_frames(x, np.minimum(start[:, None] + hi, last))
        w = torch.as_tensor((pos - lo).astype(np.float32), device=x.device)[..., None, None]
        out = (1.0 - w) * a + w * b
        gone = (_absent(a)[..., None] & (w < 1.0)) | (_absent(b)[..., None] & (w > 0.0))
        out = out.masked_fill(gone, 0.0)
        keep = torch.as_tensor(change, device=x.device)[..., None, None]
        return torch.where(keep, out.to(x.dtype), x)

    @staticmethod
    def crop_frames(x: torch.Tensor, lengths: torch.Tensor, share: np.ndarray,
                    where: np.ndarray) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Keep ``max(1, round(share[b] L_b))`` frames of row ``b`` from start
        ``floor(where[b] (L_b - kept + 1))``, moved to the front; returns ``x, mask, lengths``.
        All rows at once on ``x``'s device (a gather: the kept frames are copied exactly)."""
        _, kept, start = Augment._window(lengths, share, where)
        t = np.arange(x.shape[1])[None, :]
        moved = Augment._gather_frames(x, np.minimum(start[:, None] + t, x.shape[1] - 1))
        new = torch.as_tensor(kept, dtype=lengths.dtype)
        mask = torch.arange(x.shape[1])[None, :] < new[:, None]
        out = moved.masked_fill(~mask.to(x.device)[..., None, None], 0.0)
        return out, mask.to(lengths.device), new.to(lengths.device)

    @staticmethod
    def swap_persons(x: torch.Tensor, lengths: torch.Tensor, flip: np.ndarray,
                     reframe: PersonSwap) -> torch.Tensor:
        """Rows ``b`` with ``flip[b]`` (and a tracked person 2) replaced by ``reframe`` of their
        first ``lengths[b]`` frames: persons exchanged, in the frame of the new person 1. On the
        CPU one sequence at a time in numpy (the rows of every committed run); on a GPU all at
        once there (:meth:`PersonSwap.swap_batch`, equal to float32 precision)."""
        out = x.clone()
        if x.device.type != "cpu":  # on the training device, all flipped rows at once
            rows = torch.as_tensor(np.flatnonzero(flip), device=x.device)
            if len(rows):
                out[rows] = reframe.swap_batch(x[rows], lengths.to(x.device)[rows])
            return out
        for b in np.flatnonzero(flip):
            n = int(lengths[b])
            seq = x[b, :n].cpu().numpy()
            if reframe.has_two_persons(seq):
                out[b, :n] = torch.as_tensor(reframe(seq), dtype=x.dtype, device=x.device)
        return out

    def draw(self, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Angles (radians) and scale factors for ``n`` sequences, from ``rng``."""
        angles = np.deg2rad(rng.uniform(-self.rotation, self.rotation, n))
        factors = rng.uniform(1.0 - self.scale, 1.0 + self.scale, n)
        return angles, factors

    @staticmethod
    def apply(x: torch.Tensor, angles: np.ndarray, factors: np.ndarray) -> torch.Tensor:
        """``x`` (B, T, K, 3) with sequence ``b`` turned by ``angles[b]`` about ``y`` and scaled
        by ``factors[b]``."""
        if (x.ndim != 4 or x.shape[-1] != 3 or x.shape[0] != len(angles)
                or x.shape[0] != len(factors)):
            raise ValueError(f"Augment.apply: x of shape (B, T, K, 3) and B angles and factors, "
                             f"got {tuple(x.shape)}, {len(angles)}, {len(factors)}")
        c, s = np.cos(angles), np.sin(angles)
        zero, one = np.zeros_like(c), np.ones_like(c)
        # row vectors: p' = p @ R^T with R = [[c, 0, s], [0, 1, 0], [-s, 0, c]]
        rot = np.stack([np.stack([c, zero, -s], -1), np.stack([zero, one, zero], -1),
                        np.stack([s, zero, c], -1)], -2) * factors[:, None, None]
        b, t, k, _ = x.shape  # one (T K, 3) @ (3, 3) product per sequence
        return torch.bmm(x.reshape(b, t * k, 3),
                         torch.as_tensor(rot, dtype=x.dtype, device=x.device)
                         ).reshape(b, t, k, 3)
