"""Results records: one row per (dataset, protocol, model, fold, seed).

Rows live in ``results/<dataset>/cv.csv``.

Every row says how it was made: the run's full configuration (``params``, JSON), the seed, the git
commit of the code (with ``+dirty`` when ``stalib/`` had uncommitted changes), package versions,
device, wall time and a UTC timestamp. Rows are written under a file lock through a temporary file
and a rename, so concurrent runs and crashes never leave a half-written or clobbered file. A row
whose key already exists is replaced only when asked (``replace=True``), never silently.
"""

from __future__ import annotations

import csv
import fcntl
import io
import json
import os
import platform
import subprocess
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from pathlib import Path

from stalib.errors import StalibError

KEY = ("dataset", "protocol", "model", "fold", "seed")


@dataclass
class RunRecord:
    dataset: str
    protocol: str
    model: str
    fold: int
    seed: int
    accuracy: float  # test accuracy, fraction in [0, 1]
    train_accuracy: float
    n_test: int
    n_train: int
    iterations: int
    wall_time_s: float
    device: str
    git_commit: str
    timestamp: str
    params: str  # JSON: the TrainConfig and model/loss settings
    versions: str  # JSON: python, torch, numpy, stalib

    def key(self) -> tuple:
        return tuple(str(getattr(self, k)) for k in KEY)


COLUMNS = [f.name for f in fields(RunRecord)]


def git_commit(path: Path | None = None) -> str:
    """The commit of the code in use, ``+dirty`` if ``stalib/`` has uncommitted changes."""
    here = Path(path or Path(__file__).resolve().parent.parent)
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "stalib"], cwd=here, capture_output=True,
            text=True, check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return sha + ("+dirty" if dirty else "")


def package_versions() -> dict:
    import numpy
    import torch

    import stalib

    return {
        "python": platform.python_version(), "torch": torch.__version__,
        "numpy": numpy.__version__, "stalib": stalib.__version__,
    }


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def read_records(path: Path) -> list[dict]:
    """The rows of a results CSV as dicts (empty when the file does not exist)."""
    if not path.exists():
        return []
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames is None:
            return []
        missing = set(COLUMNS) - set(reader.fieldnames)
        if missing:
            raise StalibError(
                f"{path}: not a stalib results file, missing columns {sorted(missing)}")
        return list(reader)


def has_record(path: Path, key: tuple) -> bool:
    return any(tuple(str(r[k]) for k in KEY) == tuple(map(str, key)) for r in read_records(path))


def append_record(path: Path, record: RunRecord, replace: bool = False) -> None:
    """Add ``record`` to the CSV at ``path`` atomically, under an exclusive lock."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lock_path = path.with_name(path.name + ".lock")
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        rows = read_records(path)
        key = record.key()
        same = [r for r in rows if tuple(str(r[k]) for k in KEY) == key]
        if same and not replace:
            raise StalibError(
                f"{path}: a result for {dict(zip(KEY, key, strict=True))} exists already; "
                "rerun with --force to replace it"
            )
        rows = [r for r in rows if tuple(str(r[k]) for k in KEY) != key]
        rows.append({k: v for k, v in asdict(record).items()})
        rows.sort(key=lambda r: (r["model"], r["protocol"], int(r["fold"]), int(r["seed"])))
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(buf.getvalue())
        os.replace(tmp, path)


def params_json(d: dict) -> str:
    return json.dumps(d, sort_keys=True, default=str)
