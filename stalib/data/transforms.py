"""Preprocessing: small composable transforms of ONE ``(T, K, 3)`` sequence, and their settings.

Every transform is a callable taking a ``(T, K, 3)`` array (persons flattened into the joint
axis, person 1 first, see :class:`stalib.data.core.SkeletonSet`) and returning a new float32
array of the same shape; none of them changes ``T`` or ``K``. :class:`Compose` chains them.

**Absent joints.** A joint at exactly ``(0, 0, 0)`` means "not tracked in this frame": the NTU
reader stores the second person of a single-person action, and a body missing in some frames,
that way. Every transform here leaves such joints at ``(0, 0, 0)``, so "absent" stays
recognisable (and padding-like) after preprocessing.

The paper's preprocessing (Song et al., AAAI 2017, Sec. 5.1):

* SBU: "we smooth each joint's position of the skeleton in the temporal domain to reduce the
  influence of noise (Du, Wang, and Wang 2015; Zhu et al. 2016)". Du et al. (HBRNN, CVPR 2015)
  use a Savitzky-Golay filter, a 5-frame window fitting a quadratic, i.e. the weights
  ``(-3, 12, 17, 12, -3) / 35``: that is :class:`TemporalSmooth`'s default. Before smoothing,
  :class:`SBUUnnormalize` undoes the dataset's coordinate normalisation, and :class:`Centre`
  puts the torso of person 1 in the first frame at the origin.
* NTU: "similar normalization preprocessing step to have position and view invariance
  (Shahroudy et al. 2016)": :class:`ViewNormalize`.
* UTKinect, Northwestern-UCLA and UTD-MHAD are not used by the paper; their default is
  :class:`Centre` on the hip centre of the first frame only.

The ``*Preprocess`` dataclasses at the end hold these settings (defaults = the paper's) and build
the matching :class:`Compose`; :func:`stalib.data.registry.load_dataset` applies them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import ClassVar

import numpy as np

from stalib.data.core import apply_transform
from stalib.errors import ConfigError

Transform = Callable[[np.ndarray], np.ndarray]

#: SBU un-normalisation (data README, as in HCN): x = 1280 - 2560 x, y = 960 - 1920 y,
#: z = z * 10000 / 7.8125. Multiplying the result by 7.8125 / 10000 = 1 / 1280 brings z back to
#: metres and x, y to about metres at the actors' distance (about 2 m, where the Kinect's
#: horizontal field of view of 57 degrees spans about +-1.1 m).
SBU_TO_METRES = 7.8125 / 10000

# Joint indices (0-based, within a person; person 1 comes first in the flattened axis).
SBU_TORSO = 2  # SBU: head, neck, torso, ...
UTKINECT_HIP_CENTER = 0  # UTKinect (Kinect v1 SDK order): hip center, spine, ...
NTU_SPINE_BASE, NTU_SPINE_MID, NTU_SPINE_SHOULDER = 0, 1, 20  # NTU joints 1, 2 and 21
NTU_LEFT_SHOULDER, NTU_RIGHT_SHOULDER = 4, 8  # NTU joints 5 and 9
SBU_JOINTS = 15  # joints per person in SBU (person 2's torso is SBU_JOINTS + SBU_TORSO)
# UTKinect (Kinect v1 SDK order): hip center 0, spine 1, shoulder center 2, head 3, shoulder left
# 4, ..., shoulder right 8: the view axes, as ViewNormalize's (right, left, spine from, spine to)
UTKINECT_VIEW_AXES = (8, 4, 0, 2)
# NW-UCLA stores the same 20 Kinect v1 joints in the same order as UTKinect.
NWUCLA_HIP_CENTER, NWUCLA_VIEW_AXES = UTKINECT_HIP_CENTER, UTKINECT_VIEW_AXES
# UTD-MHAD (its Skeleton_joint_order.txt): head 0, shoulder center 1, spine 2, hip center 3,
# left shoulder 4, ..., right shoulder 8: another order of the same Kinect v1 joints.
UTDMHAD_HIP_CENTER = 3
UTDMHAD_VIEW_AXES = (8, 4, 3, 1)


def _as_sequence(seq: np.ndarray, who: str) -> np.ndarray:
    arr = np.asarray(seq)
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise ValueError(f"{who}: expected a (T, K, 3) sequence, got shape {arr.shape}")
    return arr


def absent_mask(seq: np.ndarray) -> np.ndarray:
    """``(T, K)`` bool: True where a joint is exactly ``(0, 0, 0)``, i.e. not tracked.

    The three coordinates are compared one by one: ``np.all(seq == 0, axis=-1)`` gives the same
    mask, but a reduction over an axis of 3 costs about ten times more, and the person swap of
    the training batches (:class:`stalib.data.augment.PersonSwap`) calls this several times per
    sequence."""
    a = np.asarray(seq)
    if a.shape[-1] != 3:
        return np.all(a == 0, axis=-1)
    return (a[..., 0] == 0) & (a[..., 1] == 0) & (a[..., 2] == 0)


def _reference_frame(seq: np.ndarray, joints: Sequence[int], who: str) -> int:
    """The first frame in which all ``joints`` are tracked (not at the origin)."""
    if max(joints) >= seq.shape[1]:
        raise ValueError(f"{who}: joint {max(joints)} out of range for K={seq.shape[1]}")
    present = ~absent_mask(seq[:, list(joints)]).any(axis=1)
    hits = np.flatnonzero(present)
    if len(hits) == 0:
        raise ValueError(f"{who}: joints {list(joints)} are not tracked in any frame")
    return int(hits[0])


class Compose:
    """Apply ``transforms`` in order: ``Compose([a, b])(x) == b(a(x))``."""

    def __init__(self, transforms: Sequence[Transform]):
        self.transforms = list(transforms)

    def __call__(self, seq: np.ndarray) -> np.ndarray:
        out = np.asarray(seq, dtype=np.float32)
        for t in self.transforms:
            out = t(out)
        return out

    def __len__(self) -> int:
        return len(self.transforms)

    def __repr__(self) -> str:
        return f"Compose({self.transforms!r})"


class Resample:
    """Linear interpolation of a ``(T, K, 3)`` sequence to ``frames`` frames: frame ``i`` of the
    result is the sequence at time ``s_i = i (T - 1) / (frames - 1)`` (the first and the last
    frame are kept), interpolated between frames ``floor(s_i)`` and ``floor(s_i) + 1``; a
    one-frame sequence is repeated. A joint absent (``(0, 0, 0)``) in a frame the interpolation
    reads with a non-zero weight is absent in the result: no position is invented from a
    missing one.

    The one step that changes ``T``: every sequence gets the same length, as the linear model
    and HCN see theirs (inside the model there). It runs after the other steps, at load time
    (the ``resample`` setting of each ``*Preprocess``), so that a training crop or person swap
    works on the resampled sequence."""

    def __init__(self, frames: int):
        if isinstance(frames, bool) or not isinstance(frames, int) or frames < 2:
            raise ValueError(f"resample must be a number of frames >= 2, got {frames!r}")
        self.frames = frames

    def __call__(self, seq: np.ndarray) -> np.ndarray:
        x = _as_sequence(seq, "Resample").astype(np.float32)
        t = x.shape[0]
        if t == 0:
            raise ValueError("Resample: a sequence without frames")
        pos = np.linspace(0.0, t - 1, self.frames)
        lo = np.minimum(np.floor(pos).astype(np.int64), t - 1)
        hi = np.minimum(lo + 1, t - 1)
        w = (pos - lo).astype(np.float32)[:, None, None]
        out = (1.0 - w) * x[lo] + w * x[hi]
        absent = absent_mask(x)
        gone = (absent[lo] & (w[..., 0] < 1.0)) | (absent[hi] & (w[..., 0] > 0.0))
        out[gone] = 0.0
        return out.astype(np.float32)

    def __repr__(self) -> str:
        return f"Resample({self.frames})"


class SBUUnnormalize:
    """Undo SBU's coordinate normalisation, then scale to about metres.

    SBU stores x, y as image coordinates in [0, 1] and z as depth (data README; Yun et al. 2012).
    The usual inverse (as in HCN) is x = 1280 - 2560 x, y = 960 - 1920 y,
    z = z * 10000 / 7.8125; the result is multiplied by ``scale`` (default
    :data:`SBU_TO_METRES` = 1 / 1280). With the default: x' = 1 - 2x, y' = 0.75 - 1.5y, z' = z,
    so x grows to the actors' left as seen by the camera, y points up and z away from it.
    """

    def __init__(self, scale: float = SBU_TO_METRES):
        if not np.isfinite(scale) or scale <= 0:
            raise ValueError(f"SBUUnnormalize: scale must be a positive number, got {scale}")
        self.scale = float(scale)

    def __call__(self, seq: np.ndarray) -> np.ndarray:
        x = _as_sequence(seq, "SBUUnnormalize").astype(np.float64)
        out = np.empty_like(x)
        out[..., 0] = 1280.0 - 2560.0 * x[..., 0]
        out[..., 1] = 960.0 - 1920.0 * x[..., 1]
        out[..., 2] = x[..., 2] * 10000.0 / 7.8125
        out *= self.scale
        out[absent_mask(x)] = 0.0
        return out.astype(np.float32)

    def __repr__(self) -> str:
        return f"SBUUnnormalize(scale={self.scale})"


class Centre:
    """Translate the whole sequence so that ``joint`` of the reference frame is at the origin.

    The reference frame is the first frame in which ``joint`` is tracked (frame 0 unless the
    joint is absent there). One translation is applied to every frame and every person, so the
    motion of the body through space is kept. ``joint`` indexes the flattened joint axis, so
    ``joint < J`` is a joint of person 1. Absent joints stay at the origin.
    """

    def __init__(self, joint: int):
        if joint < 0:
            raise ValueError(f"Centre: joint must be >= 0, got {joint}")
        self.joint = int(joint)

    def __call__(self, seq: np.ndarray) -> np.ndarray:
        x = _as_sequence(seq, "Centre").astype(np.float64)
        ref = _reference_frame(x, [self.joint], "Centre")
        out = x - x[ref, self.joint]
        out[absent_mask(x)] = 0.0
        return out.astype(np.float32)

    def __repr__(self) -> str:
        return f"Centre(joint={self.joint})"


def _savgol_projection(window: int, polyorder: int) -> np.ndarray:
    """``(window, window)`` matrix H: ``H @ y`` is the least-squares polynomial fit of ``y``.

    Row ``window // 2`` holds the Savitzky-Golay smoothing weights (for 5 frames and a
    quadratic: ``(-3, 12, 17, 12, -3) / 35``); the other rows evaluate the same fit at the other
    positions of the window, which is how the first and last frames are smoothed.
    """
    half = window // 2
    a = np.vander(np.arange(-half, half + 1, dtype=np.float64), polyorder + 1, increasing=True)
    return a @ np.linalg.pinv(a)


class TemporalSmooth:
    """Smooth every joint coordinate over time, keeping ``T``.

    Methods (``window`` frames, odd):

    * ``"savgol"`` (default, as in Du et al. 2015 whom the paper follows): Savitzky-Golay, a
      least-squares polynomial of degree ``polyorder`` fitted to each centred window. The first
      and last ``window // 2`` frames take their value from the fit to the first / last full
      window (no padding, nothing invented). A sequence shorter than ``window`` uses the largest
      odd window that fits (and a degree below it).
    * ``"mean"``: centred moving average. ``"gaussian"``: centred Gaussian weights with
      ``sigma = window / 4``. At the ends both use the part of the window inside the sequence,
      with the weights renormalised to sum to 1.

    All weights sum to 1, so a constant sequence is returned unchanged. Joints absent (at the
    origin) in a frame stay at the origin; the filter is meant for fully tracked sequences
    (SBU), where no joint is absent.
    """

    METHODS = ("savgol", "mean", "gaussian")

    def __init__(self, method: str = "savgol", window: int = 5, polyorder: int = 2):
        if method not in self.METHODS:
            raise ValueError(
                f"TemporalSmooth: method must be one of {self.METHODS}, got {method!r}"
            )
        if window < 1 or window % 2 == 0:
            raise ValueError(f"TemporalSmooth: window must be an odd number >= 1, got {window}")
        if method == "savgol" and not 0 <= polyorder < window:
            raise ValueError(
                f"TemporalSmooth: polyorder must be in [0, window), got {polyorder} for window "
                f"{window}"
            )
        self.method, self.window, self.polyorder = method, int(window), int(polyorder)

    def weights(self) -> np.ndarray:
        """The ``(window,)`` weights applied to a centred window (they sum to 1)."""
        half = self.window // 2
        if self.method == "savgol":
            return _savgol_projection(self.window, self.polyorder)[half]
        if self.method == "mean":
            return np.full(self.window, 1.0 / self.window)
        sigma = self.window / 4.0
        w = np.exp(-0.5 * (np.arange(-half, half + 1) / sigma) ** 2)
        return w / w.sum()

    def __call__(self, seq: np.ndarray) -> np.ndarray:
        x = _as_sequence(seq, "TemporalSmooth").astype(np.float64)
        t = len(x)
        flat = x.reshape(t, -1)
        if self.method == "savgol":
            out = self._savgol(flat)
        else:
            out = self._weighted(flat)
        out = out.reshape(x.shape)
        out[absent_mask(x)] = 0.0
        return out.astype(np.float32)

    def _savgol(self, flat: np.ndarray) -> np.ndarray:
        t = len(flat)
        window = min(self.window, t if t % 2 else t - 1)
        if window <= 1:
            return flat.copy()
        order = min(self.polyorder, window - 1)
        h = _savgol_projection(window, order)
        half = window // 2
        out = np.empty_like(flat)
        windows = np.lib.stride_tricks.sliding_window_view(flat, window, axis=0)  # (t-w+1, D, w)
        out[half : t - half] = windows @ h[half]
        out[:half] = h[:half] @ flat[:window]
        out[t - half :] = h[half + 1 :] @ flat[t - window :]
        return out

    def _weighted(self, flat: np.ndarray) -> np.ndarray:
        t = len(flat)
        w = self.weights()
        half = self.window // 2
        padded = np.zeros((t + 2 * half, flat.shape[1]))
        padded[half : half + t] = flat
        inside = np.zeros(t + 2 * half)
        inside[half : half + t] = 1.0
        total = np.zeros_like(flat)
        norm = np.zeros(t)
        for k in range(self.window):
            total += w[k] * padded[k : k + t]
            norm += w[k] * inside[k : k + t]
        return total / norm[:, None]

    def __repr__(self) -> str:
        return (
            f"TemporalSmooth(method={self.method!r}, window={self.window}, "
            f"polyorder={self.polyorder})"
        )


def view_rotation(
    frame: np.ndarray,
    right_shoulder: int = NTU_RIGHT_SHOULDER,
    left_shoulder: int = NTU_LEFT_SHOULDER,
    spine_from: int = NTU_SPINE_BASE,
    spine_to: int = NTU_SPINE_SHOULDER,
) -> np.ndarray:
    """The ``(3, 3)`` rotation of Shahroudy et al. (2016) for one ``(K, 3)`` frame.

    Its rows are the new axes: x along ``right_shoulder -> left_shoulder``, y along
    ``spine_from -> spine_to`` made orthogonal to x (Gram-Schmidt), z = x cross y. ``R @ p``
    expresses a point in the body frame. ``R`` is orthonormal with determinant +1. Raises
    ``ValueError`` when the shoulders coincide or the spine is parallel to them.
    """
    f = np.asarray(frame, dtype=np.float64)
    x = f[left_shoulder] - f[right_shoulder]
    nx = np.linalg.norm(x)
    if nx < 1e-6:
        raise ValueError("view_rotation: the two shoulders coincide; no x axis")
    x = x / nx
    y = f[spine_to] - f[spine_from]
    y = y - (y @ x) * x
    ny = np.linalg.norm(y)
    if ny < 1e-6:
        raise ValueError("view_rotation: the spine is parallel to the shoulders; no y axis")
    y = y / ny
    return np.stack([x, y, np.cross(x, y)])


class ViewNormalize:
    """Position and view normalisation of NTU RGB+D (Shahroudy et al. 2016, Sec. 4).

    With the reference frame = the first frame in which person 1's origin, shoulder and spine
    joints are all tracked (frame 0 for the NTU reader's output):

    1. translate so that ``origin`` of person 1 (default: NTU joint 2, "middle of the spine",
       Shahroudy et al.'s origin) is at the origin;
    2. rotate with :func:`view_rotation` of person 1, so that x runs from the right to the left
       shoulder and y from the spine base (joint 1) up to the spine (joint 21);
    3. optionally (``scale=True``, Shahroudy et al.'s last step) divide by the spine length
       (joint 1 to joint 21) of that frame.

    One transform (from the reference frame) is applied to all frames and both persons, so the
    motion is kept (the paper does no per-frame re-alignment). Absent joints stay at the origin.
    """

    def __init__(
        self,
        origin: int = NTU_SPINE_MID,
        right_shoulder: int = NTU_RIGHT_SHOULDER,
        left_shoulder: int = NTU_LEFT_SHOULDER,
        spine_from: int = NTU_SPINE_BASE,
        spine_to: int = NTU_SPINE_SHOULDER,
        scale: bool = False,
    ):
        self.origin = int(origin)
        self.axes = (int(right_shoulder), int(left_shoulder), int(spine_from), int(spine_to))
        self.scale = bool(scale)

    def __call__(self, seq: np.ndarray) -> np.ndarray:
        x = _as_sequence(seq, "ViewNormalize").astype(np.float64)
        ref = _reference_frame(x, [self.origin, *self.axes], "ViewNormalize")
        rot = view_rotation(x[ref], *self.axes)
        out = (x - x[ref, self.origin]) @ rot.T
        if self.scale:
            spine = np.linalg.norm(x[ref, self.axes[3]] - x[ref, self.axes[2]])
            if spine < 1e-6:
                raise ValueError("ViewNormalize: zero spine length, cannot scale")
            out /= spine
        out[absent_mask(x)] = 0.0
        return out.astype(np.float32)

    def __repr__(self) -> str:
        return f"ViewNormalize(origin={self.origin}, axes={self.axes}, scale={self.scale})"


class YawAlign:
    """Turn the sequence about the vertical ``y`` axis so that a body axis points along ``+x``.

    The view normalisation of two-person data (issue: SBU is filmed from both sides, so every
    action also appears mirrored): in the reference frame (the first in which both joints are
    tracked) the horizontal part ``(dx, dz)`` of ``x[joint_to] - x[joint_from]`` is turned onto
    ``+x``; for SBU the joints are the torsos of person 1 and person 2, so after it person 2
    always stands at ``+x`` of person 1. One rotation about the vertical through the origin is
    applied to every frame and person (centre afterwards: a joint that :class:`Centre` put at
    ``(0, 0, 0)`` would read as absent here); ``y`` is unchanged, so gravity stays where it was.
    Absent joints stay at the origin.
    """

    def __init__(self, joint_from: int, joint_to: int):
        if min(joint_from, joint_to) < 0 or joint_from == joint_to:
            raise ValueError(f"YawAlign: two different joints >= 0 expected, got {joint_from} "
                             f"and {joint_to}")
        self.joint_from, self.joint_to = int(joint_from), int(joint_to)

    def rotation(self, seq: np.ndarray) -> np.ndarray:
        """The ``(3, 3)`` rotation ``R`` (rows: new axes) of ``seq``: ``p' = R @ p``."""
        x = _as_sequence(seq, "YawAlign").astype(np.float64)
        ref = _reference_frame(x, [self.joint_from, self.joint_to], "YawAlign")
        dx, _, dz = x[ref, self.joint_to] - x[ref, self.joint_from]
        r = float(np.hypot(dx, dz))
        if r < 1e-6:
            raise ValueError(f"YawAlign: joints {self.joint_from} and {self.joint_to} are "
                             "vertically aligned in the reference frame; no horizontal axis")
        c, s = dx / r, dz / r
        return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])

    def __call__(self, seq: np.ndarray) -> np.ndarray:
        x = _as_sequence(seq, "YawAlign").astype(np.float64)
        out = x @ self.rotation(x).T
        out[absent_mask(x)] = 0.0
        return out.astype(np.float32)

    def __repr__(self) -> str:
        return f"YawAlign(joint_from={self.joint_from}, joint_to={self.joint_to})"


# --------------------------------------------------------------------------- settings
class _Settings:
    """Shared behaviour of the ``*Preprocess`` dataclasses."""

    def __post_init__(self) -> None:
        try:
            self.build()
            self.resampler()
        except ValueError as err:
            raise ConfigError(f"{type(self).__name__}: {err}") from None

    def build(self) -> Compose:  # pragma: no cover - overridden
        raise NotImplementedError

    def fingerprint(self) -> str:
        """A short hash of the settings (the NTU cache is keyed by it). ``resample`` is left
        out: it runs after the cache (:meth:`resampler`)."""
        settings = {k: v for k, v in asdict(self).items() if k != "resample"}
        blob = json.dumps({"type": type(self).__name__, **settings}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def resampler(self) -> Resample | None:
        """The :class:`Resample` step of the ``resample`` setting (None: sequences keep their
        length, the paper's)."""
        frames = getattr(self, "resample", None)
        return None if frames is None else Resample(frames)

    def prepare(self, seq: np.ndarray, path) -> np.ndarray:
        """One raw ``(T, K, 3)`` sequence read from ``path`` as a run of these settings sees it:
        the transforms of :meth:`build` (a failure is a FormatError naming ``path``), then the
        resampling of :meth:`resampler`. :func:`stalib.data.registry.load_dataset` does the same
        two steps to every sequence (the readers apply :meth:`build`, then the set is resampled),
        and ``stalib predict`` does this to a file and to each window of a recording, so a
        window is prepared as a training sequence is."""
        out = apply_transform(self.build(), seq, path)
        resample = self.resampler()
        return out if resample is None else resample(out)

    def describe(self) -> str:
        """The transforms as text, e.g. for a results record."""
        steps = list(self.build().transforms)
        if self.resampler() is not None:
            steps.append(self.resampler())
        return " -> ".join(repr(t) for t in steps) if steps else "none"


def _smoother(method: str | None, window: int, polyorder: int) -> list[Transform]:
    return [] if method is None else [TemporalSmooth(method, window, polyorder)]


@dataclass(frozen=True)
class SBUPreprocess(_Settings):
    """SBU preprocessing; defaults = the paper's: un-normalise, smooth (Savitzky-Golay, 5 frames,
    quadratic, as Du et al. 2015), then centre on person 1's torso in the first frame.

    ``view_normalize=True`` (not in the paper, which normalises the view of NTU only) then turns
    the sequence about the vertical so that the frame-0 axis from person 1's torso to person 2's
    torso points along ``+x`` (:class:`YawAlign`): the two-person analogue of NTU's view
    normalisation."""

    unnormalize: bool = True
    scale: float = SBU_TO_METRES
    smooth: str | None = "savgol"
    smooth_window: int = 5
    smooth_polyorder: int = 2
    centre_joint: int | None = SBU_TORSO
    view_normalize: bool = False
    resample: int | None = None  # frames of every sequence after the steps (Resample)

    def build(self) -> Compose:
        steps: list[Transform] = [SBUUnnormalize(self.scale)] if self.unnormalize else []
        steps += _smoother(self.smooth, self.smooth_window, self.smooth_polyorder)
        if self.view_normalize:  # before centring: Centre puts a joint at (0, 0, 0), "absent"
            steps.append(YawAlign(SBU_TORSO, SBU_JOINTS + SBU_TORSO))
        if self.centre_joint is not None:
            steps.append(Centre(self.centre_joint))
        return Compose(steps)


def _smooth_then_centre(settings, view_axes: Sequence[int] | None = None) -> Compose:
    """Optional smoothing, then optional centring (``smooth*`` and ``centre_joint`` fields).

    With ``view_axes`` (right shoulder, left shoulder, spine from, spine to of person 1) the
    centring is NTU's view normalisation (:class:`ViewNormalize`): translated to
    ``centre_joint`` (or, when that is None, the spine-from joint), then rotated onto the axes."""
    steps = _smoother(settings.smooth, settings.smooth_window, settings.smooth_polyorder)
    if view_axes is not None:
        right, left, spine_from, spine_to = view_axes
        origin = spine_from if settings.centre_joint is None else settings.centre_joint
        steps.append(ViewNormalize(origin, right, left, spine_from, spine_to))
    elif settings.centre_joint is not None:
        steps.append(Centre(settings.centre_joint))
    return Compose(steps)


@dataclass(frozen=True)
class _OnePersonKinect(_Settings):
    """Preprocessing of the one-person Kinect v1 datasets (not in the paper): centre on the hip
    centre of the first frame; no smoothing unless asked for. ``view_normalize=True`` adds NTU's
    view normalisation on the dataset's shoulder axis (``VIEW_AXES``: right shoulder, left
    shoulder, hip centre, shoulder centre; origin at the hip centre)."""

    VIEW_AXES: ClassVar[tuple[int, int, int, int]] = UTKINECT_VIEW_AXES

    centre_joint: int | None = UTKINECT_HIP_CENTER
    smooth: str | None = None
    smooth_window: int = 5
    smooth_polyorder: int = 2
    view_normalize: bool = False
    resample: int | None = None

    def build(self) -> Compose:
        return _smooth_then_centre(self, self.VIEW_AXES if self.view_normalize else None)


@dataclass(frozen=True)
class UTKinectPreprocess(_OnePersonKinect):
    """UTKinect preprocessing: hip centre :data:`UTKINECT_HIP_CENTER`, view axes
    :data:`UTKINECT_VIEW_AXES` (see :class:`_OnePersonKinect`)."""


@dataclass(frozen=True)
class NWUCLAPreprocess(_OnePersonKinect):
    """Northwestern-UCLA preprocessing: UTKinect's joint order, so UTKinect's joints (hip centre
    :data:`NWUCLA_HIP_CENTER`, view axes :data:`NWUCLA_VIEW_AXES`)."""

    VIEW_AXES: ClassVar[tuple[int, int, int, int]] = NWUCLA_VIEW_AXES

    centre_joint: int | None = NWUCLA_HIP_CENTER


@dataclass(frozen=True)
class UTDMHADPreprocess(_OnePersonKinect):
    """UTD-MHAD preprocessing: its own joint order (hip centre :data:`UTDMHAD_HIP_CENTER`, view
    axes :data:`UTDMHAD_VIEW_AXES`)."""

    VIEW_AXES: ClassVar[tuple[int, int, int, int]] = UTDMHAD_VIEW_AXES

    centre_joint: int | None = UTDMHAD_HIP_CENTER


@dataclass(frozen=True)
class NTUPreprocess(_Settings):
    """NTU preprocessing; defaults = the paper's "position and view invariance" normalisation of
    Shahroudy et al. 2016 (:class:`ViewNormalize`), no smoothing, no temporal down-sampling."""

    view_normalize: bool = True
    origin_joint: int = NTU_SPINE_MID
    scale_by_spine: bool = False
    smooth: str | None = None
    smooth_window: int = 5
    smooth_polyorder: int = 2
    resample: int | None = None

    def build(self) -> Compose:
        steps = _smoother(self.smooth, self.smooth_window, self.smooth_polyorder)
        if self.view_normalize:
            steps.append(ViewNormalize(origin=self.origin_joint, scale=self.scale_by_spine))
        return Compose(steps)


@dataclass(frozen=True)
class NpzPreprocess(_Settings):
    """Preprocessing of user ``.npz`` data: none by default (the data is the user's own).

    ``view_axes`` = (right shoulder, left shoulder, spine from, spine to), joint indices of person
    1, turns on NTU's view normalisation on that shoulder axis (:class:`ViewNormalize`, origin at
    the spine-from joint); e.g. ``(8, 4, 0, 20)`` for NTU's joint order."""

    centre_joint: int | None = None
    smooth: str | None = None
    smooth_window: int = 5
    smooth_polyorder: int = 2
    view_axes: tuple[int, int, int, int] | None = None
    resample: int | None = None

    def __post_init__(self) -> None:
        if self.view_axes is not None:
            axes = self.view_axes
            if (isinstance(axes, (str, bytes)) or not hasattr(axes, "__len__") or len(axes) != 4
                    or not all(isinstance(j, int) and not isinstance(j, bool) and j >= 0
                               for j in axes)):
                raise ConfigError(f"NpzPreprocess: view_axes must be 4 joint indices >= 0 "
                                  f"(right shoulder, left shoulder, spine from, spine to), "
                                  f"got {axes!r}")
            object.__setattr__(self, "view_axes", tuple(axes))  # JSON gives a list
        super().__post_init__()

    def build(self) -> Compose:
        return _smooth_then_centre(self, self.view_axes)


PreprocessConfig = (SBUPreprocess | UTKinectPreprocess | NWUCLAPreprocess | UTDMHADPreprocess
                    | NTUPreprocess | NpzPreprocess)
