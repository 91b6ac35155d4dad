"""Datasets by name: :func:`load_dataset` and :func:`get_splits`.

Names: ``sbu``, ``utkinect``, ``nwucla``, ``utdmhad``, ``ntu60`` (folders ``SBU/``,
``UTKinect/``, ``NW-UCLA/``, ``UTD-MHAD/``, ``NTU/`` of the data root, see
:mod:`stalib.data.root`) and ``npz:PATH`` (a user file, :mod:`stalib.data.npz`).
Each is loaded with its default preprocessing, the paper's (Song et al., AAAI 2017, Sec. 5.1;
:mod:`stalib.data.transforms`): SBU un-normalised, smoothed and centred; NTU position and view
normalised; UTKinect, NW-UCLA and UTD-MHAD centred on the first frame's hip centre; ``npz``
untouched. ``preprocess=False`` gives the raw coordinates
and a ``*Preprocess`` instance any other setting.

Protocols (:mod:`stalib.data.splits`), the first of each is the default:

========== ==========================================================================
sbu        ``5fold`` (subject-independent, the five set lists of the data README)
utkinect   ``xsub`` (odd subjects train), ``loso`` (leave one sequence out, Xia et al.)
nwucla     ``xview`` (views 1 and 2 train, view 3 tests; Wang et al. 2014)
utdmhad    ``xsub`` (subjects 1, 3, 5, 7 train; Chen et al. 2015)
ntu60      ``xsub`` (cross-subject), ``xview`` (cross-view)
npz:PATH   ``provided`` (its ``split`` array), ``folds`` (its ``fold`` array), ``5fold``
           (group 5-fold), ``loso`` (leave one *sequence* out, as UTKinect's), ``logo`` (leave
           one group out: one subject a fold); default: the first the file supports
========== ==========================================================================
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from stalib import catalogue
from stalib.data import splits as sp
from stalib.data.core import SkeletonSet, apply_transform
from stalib.data.npz import array_names, load_npz
from stalib.data.ntu import load_ntu
from stalib.data.nwucla import read_nwucla
from stalib.data.root import dataset_dir, resolve_data_root
from stalib.data.sbu import read_sbu
from stalib.data.transforms import (
    NpzPreprocess,
    NTUPreprocess,
    NWUCLAPreprocess,
    PreprocessConfig,
    SBUPreprocess,
    UTDMHADPreprocess,
    UTKinectPreprocess,
)
from stalib.data.utdmhad import read_utdmhad
from stalib.data.utkinect import DEFAULT_LABEL_FILE, read_utkinect
from stalib.errors import ConfigError

FOLDERS = catalogue.folders()
DATASETS = (*FOLDERS, "npz:PATH")
PROTOCOLS: dict[str, dict[str, Callable[[SkeletonSet], list[sp.Split]]]] = {
    "sbu": {"5fold": sp.sbu_5fold},
    "utkinect": {"xsub": sp.odd_subjects_train, "loso": sp.leave_one_sequence_out},
    "nwucla": {"xview": sp.nwucla_cross_view},
    "utdmhad": {"xsub": sp.odd_subjects_train},
    "ntu60": {"xsub": sp.ntu_cross_subject, "xview": sp.ntu_cross_view},
    "npz": {"provided": sp.provided_split, "folds": sp.fold_splits, "5fold": sp.group_kfold,
            "loso": sp.leave_one_sequence_out, "logo": sp.leave_one_group_out},
}
#: The dataset names as the command line's help and errors say them.
DATASETS_SAID = ", ".join(DATASETS[:-1]) + " or " + DATASETS[-1]
#: The ``--data-root`` help of every command.
DATA_ROOT_HELP = ("the data root, holding " + ", ".join(f"{f}/" for f in FOLDERS.values())
                  + " (default: $STALIB_DATA)")
_PREPROCESS = {"sbu": SBUPreprocess, "utkinect": UTKinectPreprocess, "nwucla": NWUCLAPreprocess,
               "utdmhad": UTDMHADPreprocess, "ntu60": NTUPreprocess, "npz": NpzPreprocess}
#: The readers of the datasets whose files are one sequence each, ``reader(folder, strict=,
#: transform=)``.
_READERS = {"sbu": read_sbu, "nwucla": read_nwucla, "utdmhad": read_utdmhad}


class SkippedInputWarning(UserWarning):
    """``strict=False`` left bad input out; the messages are in ``SkeletonSet.skipped``."""


def dataset_kind(name: str) -> str:
    """``sbu``, ``utkinect``, ``nwucla``, ``utdmhad``, ``ntu60`` or ``npz`` for a dataset name;
    else ConfigError."""
    if isinstance(name, str):
        if name.startswith("npz:") and len(name) > 4:
            return "npz"
        if name.lower() in FOLDERS:
            return name.lower()
    if not isinstance(name, str):
        raise ConfigError(f"a dataset name must be a string ({', '.join(DATASETS)}), got a "
                          f"{type(name).__name__}")
    shown = name if len(name) <= 80 else name[:77] + "..."
    raise ConfigError(f"unknown dataset {shown!r}; valid names: {', '.join(DATASETS)}")


def default_preprocess(name: str) -> PreprocessConfig:
    """The paper's preprocessing settings of dataset ``name`` (see the module docstring)."""
    return _PREPROCESS[dataset_kind(name)]()


def preprocess_settings(name: str, changes: Mapping[str, Any] | None = None) -> PreprocessConfig:
    """The preprocessing of dataset ``name``: its defaults with the fields ``changes`` replaced
    (``{"smooth": None}``: SBU without smoothing). Unknown fields or bad values: ConfigError."""
    default = default_preprocess(name)
    changes = dict(changes or {})
    valid = [f.name for f in dataclasses.fields(default)]
    unknown = sorted(set(changes) - set(valid))
    if unknown:
        raise ConfigError(f"`preprocess` {', '.join(unknown)}: not a preprocessing setting of "
                          f"{name} (valid: {', '.join(valid)})")
    try:
        return dataclasses.replace(default, **changes)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"`preprocess` {changes}: {err}") from None


def preprocess_changes(name: str, changes: Mapping[str, Any] | None) -> dict[str, Any]:
    """``changes`` without the fields that equal the default: one spelling per setting."""
    settings = dataclasses.asdict(preprocess_settings(name, changes))
    default = dataclasses.asdict(default_preprocess(name))
    return {k: settings[k] for k in sorted(settings) if settings[k] != default[k]}


def protocols(name: str) -> list[str]:
    """The protocol names of dataset ``name``, the default first (for ``npz``: see above)."""
    return list(PROTOCOLS[dataset_kind(name)])


def default_protocol(name: str, data: SkeletonSet | None = None) -> str:
    """The standard protocol of ``name``: the first of :data:`PROTOCOLS`; for ``npz`` the first
    that its arrays support (``provided`` with a ``split`` array, ``folds`` with a ``fold``
    array, else ``5fold``), read from ``data`` or, without it, from the file's array names.
    Every command takes a run's protocol from here (``TrainConfig.protocol`` None)."""
    kind = dataset_kind(name)
    if kind != "npz":
        return next(iter(PROTOCOLS[kind]))
    if data is not None:
        arrays = set(data.attrs)
    else:
        arrays = array_names(name[4:])
    if "split" in arrays:
        return "provided"
    if "fold" in arrays:
        return "folds"
    return "5fold"


def standard_protocol(name: str) -> str | None:
    """:func:`default_protocol` of ``name``, or None for a name the registry does not know (a
    ``SkeletonSet`` handed to ``train_run`` under a name of its own)."""
    try:
        return default_protocol(name)
    except ConfigError:
        return None


def _check_protocol(kind: str, name: str, protocol: str) -> None:
    if protocol not in PROTOCOLS[kind]:
        raise ConfigError(f"unknown protocol {protocol!r} for {name}; valid: "
                          f"{', '.join(PROTOCOLS[kind])}")


def _settings(kind: str, preprocess) -> PreprocessConfig | None:
    if preprocess is True:
        return _PREPROCESS[kind]()
    if preprocess is False or preprocess is None:
        return None
    if not isinstance(preprocess, _PREPROCESS[kind]):
        raise ConfigError(f"preprocess for {kind} must be a {_PREPROCESS[kind].__name__}, "
                          f"True or False; got {type(preprocess).__name__}")
    return preprocess


def load_dataset(
    name: str,
    data_root: str | os.PathLike | None = None,
    *,
    protocol: str | None = None,
    strict: bool = True,
    cache_dir: str | os.PathLike | None = None,
    label_file: str | os.PathLike | None = None,
    preprocess: bool | PreprocessConfig | None = True,
    workers: int | None = None,
    progress: bool | None = None,
) -> SkeletonSet:
    """Load dataset ``name`` (``sbu``, ``utkinect``, ``nwucla``, ``utdmhad``, ``ntu60``,
    ``npz:PATH``).

    Args:
        data_root: folder holding ``SBU/``, ``UTKinect/``, ``NW-UCLA/``, ``UTD-MHAD/``, ``NTU/``;
            default ``$STALIB_DATA``
            (not used by ``npz:PATH``, whose path is relative to the working directory).
        protocol: checked against the dataset's protocols (an early :class:`ConfigError`);
            the splits themselves come from :func:`get_splits`.
        strict: raise :class:`~stalib.errors.FormatError` on the first bad file (default);
            ``False`` skips bad files, lists them in ``SkeletonSet.skipped`` and warns.
        cache_dir: the NTU cache folder (default ``$STALIB_CACHE/ntu60`` or
            ``~/.cache/stalib/ntu60``).
        label_file: UTKinect only: ``actionLabel.txt`` (default), ``actionLabel_modified.txt``
            (or ``original``/``modified``, or a path).
        preprocess: ``True`` (default) for the dataset's paper settings, ``False`` or ``None``
            for raw coordinates, or a ``*Preprocess`` instance of the dataset.
        workers, progress: NTU cache build: worker processes (default all CPUs) and progress
            bar (default: on a terminal).
    """
    kind = dataset_kind(name)
    if protocol is not None:
        _check_protocol(kind, name, protocol)
    if label_file is not None and kind != "utkinect":
        raise ConfigError(f"label_file is a UTKinect option, not one of {name}")
    settings = _settings(kind, preprocess)
    transform = None if settings is None else settings.build()
    if kind == "npz":
        path = Path(name[4:]).expanduser()
        data = load_npz(path)
        if transform is not None and len(transform):
            data = data.map_frames(lambda seq: apply_transform(transform, seq, path))
    else:
        folder = dataset_dir(resolve_data_root(data_root), FOLDERS[kind])
        if kind in _READERS:
            data = _READERS[kind](folder, strict=strict, transform=transform)
        elif kind == "utkinect":
            data = read_utkinect(folder, strict=strict, transform=transform,
                                 label_file=DEFAULT_LABEL_FILE if label_file is None
                                 else label_file)
        else:
            data = load_ntu(folder, cache_dir=cache_dir, preprocess=settings, strict=strict,
                            workers=workers, progress=progress)
    if settings is not None and settings.resampler() is not None:
        data = data.resampled(settings.resampler())
    bad = [s for s in data.skipped if s.startswith("skipped:")]
    if bad:
        warnings.warn(f"{data.name}: {len(bad)} bad input(s) skipped (strict=False); see "
                      f".skipped, e.g. {bad[0]}", SkippedInputWarning, stacklevel=2)
    return data


def get_splits(name: str, data: SkeletonSet, protocol: str | None = None) -> list[sp.Split]:
    """The splits of ``protocol`` (default: the dataset's standard one) for ``data``.

    Unknown protocol: :class:`ConfigError` listing the valid ones.
    """
    kind = dataset_kind(name)
    protocol = default_protocol(name, data) if protocol is None else protocol
    _check_protocol(kind, name, protocol)
    out = PROTOCOLS[kind][protocol](data)
    for split in out:
        sp.validate_split(split, len(data))
    return out


def split_sizes(splits: list[sp.Split]) -> np.ndarray:
    """``(len(splits), 2)`` train / test sizes, e.g. for a summary table."""
    return np.asarray([[len(s.train), len(s.test)] for s in splits], dtype=np.int64)
