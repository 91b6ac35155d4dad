"""The project's error types. Every bad input ends in one of these, never a silent repair."""

from __future__ import annotations

import re
from pathlib import Path


class StalibError(Exception):
    """Base class: the CLI prints ``str(error)`` on one line and exits with status 2."""


class FormatError(StalibError, ValueError):
    """A data file does not match its format.

    The message always names the file (and the 1-based line when one is known) and says what
    was expected, e.g. ``data/SBU/s01s02/01/001/skeleton_pos.txt:3: expected 91 numbers, got 88``.
    """

    def __init__(self, path: str | Path, message: str, line: int | None = None):
        self.path = Path(path)
        self.line = line
        self.reason = message
        where = f"{self.path}:{line}" if line is not None else f"{self.path}"
        super().__init__(f"{where}: {message}")


class DataRootError(StalibError):
    """The data root (``--data-root`` / ``STALIB_DATA``) is missing or lacks a dataset folder."""


class ConfigError(StalibError, ValueError):
    """An argument or configuration value is out of range; the message names it.

    The library names an argument as Python does, in backticks (`` `lr` must be > 0``): the CLI says
    the same with its flags (``--lr must be > 0``), :func:`in_flags`."""


def in_flags(message: str, flags: dict[str, str]) -> str:
    """``message`` with each backticked argument name that ``flags`` knows (``{"lr": "--lr"}``)
    written as its flag, the others without their backticks."""
    return re.sub(r"`([A-Za-z_][A-Za-z0-9_]*)`", lambda m: flags.get(m[1], m[1]), message)
