"""Checks of output locations, made by the commands BEFORE any work (loading, training).

A location that cannot be written is a one-line :class:`~stalib.errors.StalibError` (the CLI
prints it and exits with status 2) instead of a traceback after a stage of training is lost.
Writability is probed by creating (and removing) a temporary file, so it holds for root, for
read-only file systems and for permission bits alike. Nothing else is left behind: a folder
that does not exist yet is not created here.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from stalib.errors import StalibError

#: what a finished run leaves in its folder besides ``checkpoint.pt``
FINISHED_RUN_FILES = ("model.pt", "metrics.json")


def _nearest_existing(path: Path) -> Path:
    p = path
    while not p.exists() and not p.is_symlink() and p != p.parent:
        p = p.parent
    return p


def _probe(folder: Path) -> str | None:
    """None when a file can be created in the existing ``folder``, else the reason."""
    try:
        fd, name = tempfile.mkstemp(prefix=".stalib-probe-", dir=folder)
    except OSError as err:
        return f"not writable ({err.strerror or type(err).__name__})"
    os.close(fd)
    os.unlink(name)
    return None


def check_dir(path: str | Path, what: str) -> Path:
    """``path`` is a folder that exists or can be made, and files can be written in it.

    ``what`` names the option in the message (``--out``, ``--results``).
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise StalibError(f"{what} {path}: is a file, not a folder; choose a folder")
    base = _nearest_existing(path.absolute())
    if not base.is_dir():
        raise StalibError(f"{what} {path}: {base} is a file, so no folder can be made under it; "
                          "choose another folder")
    reason = _probe(base)
    if reason is not None:
        where = "" if base == path.absolute() else f" ({base} is the nearest existing folder)"
        raise StalibError(f"{what} {path}: cannot write there{where}: {reason}")
    return path


def check_file(path: str | Path, what: str, suffixes: tuple[str, ...] | None = None) -> Path:
    """``path`` is a file that can be written: its folder exists and is writable, it is not a
    folder, and (when ``suffixes`` is given) its extension is one of them."""
    path = Path(path)
    if path.is_dir():
        raise StalibError(f"{what} {path}: is a folder; give a file name")
    if suffixes is not None and path.suffix.lower().lstrip(".") not in suffixes:
        raise StalibError(f"{what} {path}: unknown file type {path.suffix or '(none)'!r}; "
                          f"expected one of {', '.join('.' + s for s in suffixes)}")
    parent = path.absolute().parent
    if not parent.is_dir():
        what_is = "is a file" if parent.exists() else "does not exist"
        raise StalibError(f"{what} {path}: the folder {parent} {what_is}; create it first")
    reason = _probe(parent)
    if reason is not None:
        raise StalibError(f"{what} {path}: cannot write in {parent}: {reason}")
    return path


def check_run_folder(out: str | Path, resume: bool, force: bool) -> str | None:
    """Refuse to replace a finished run; returns a note to print, or None.

    A folder holding ``model.pt`` or ``metrics.json`` but no ``checkpoint.pt`` is a finished run
    (its checkpoint deleted): a new run there would replace it, so it needs ``--force``. With
    ``--resume`` and no checkpoint the note says that training starts from the beginning.
    """
    out = Path(out)
    if (out / "checkpoint.pt").exists():
        return None
    finished = [name for name in FINISHED_RUN_FILES if (out / name).exists()]
    if finished and not force:
        raise StalibError(f"{out} holds a finished run ({', '.join(finished)}); choose another "
                          "`out`, or pass `force` to replace it")
    return _no_checkpoint(out) if resume else None


def _no_checkpoint(out: Path) -> str:
    return f"--resume: no checkpoint in {out}, starting from the beginning"


def plot_suffixes() -> tuple[str, ...]:
    """The file types matplotlib can save a figure as (``png``, ``pdf``, ``svg``...)."""
    from matplotlib.backend_bases import FigureCanvasBase

    return tuple(sorted(FigureCanvasBase.get_supported_filetypes()))


def check_model_file(path: str | Path) -> None:
    """The model given to ``stalib predict`` is a file and not a run's training checkpoint."""
    path = Path(path)
    hint = "give the model.pt that stalib train / cv write into the run folder (--out)"
    if path.is_dir():
        inside = " (it holds one)" if (path / "model.pt").is_file() else ""
        raise StalibError(f"{path}: a folder; {hint}: {path / 'model.pt'}{inside}")
    if path.name == "checkpoint.pt":
        raise StalibError(f"{path}: a training checkpoint, not a model; use model.pt of the "
                          f"same folder ({path.with_name('model.pt')})")
