"""Results records: one row per (dataset, protocol, configuration, model, fold, seed).

Rows live in ``results/<dataset>/cv.csv`` (test folds) and ``results/<dataset>/validation.csv``
(inner validation runs, ``--val-fold``: protocol ``<protocol>:val<j>``, never a test fold).

``configuration`` names the configuration (see :mod:`stalib.config`): ``paper`` for the paper's
settings. All rows of one (dataset, protocol, configuration, model) have the same settings: a row
whose settings differ is refused with a message that asks for another configuration name. Older
files are read as they are and rewritten in today's form when a row is added: a file of stalib 0.1.0
names the column (and the field of ``params``) ``variant`` (:data:`stalib.config.RENAMED`); one
older still has no such column, and each row's configuration is worked out from its recorded
settings.

Every row says how it was made: the run's full configuration (``params``, JSON), the seed, the git
commit of the code (with ``+dirty`` when ``stalib/`` had uncommitted changes, ``+mixed`` when
the run's code was not one commit: see :func:`run_commit`), package versions, device, wall time
and a UTC timestamp. Rows are written under a file lock through a temporary file
and a rename, so concurrent runs and crashes never leave a half-written or clobbered file. A row
whose key already exists is replaced only when asked (``replace=True``), never silently.
:func:`merge_results` adds the rows another machine wrote (``stalib merge``) and never replaces
one.
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import io
import json
import os
import platform
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from pathlib import Path

import numpy
import torch

import stalib
from stalib.config import (
    CUSTOM_CONFIGURATION,
    PAPER_CONFIGURATION,
    RENAMED,
    TrainConfig,
    default_configuration,
)
from stalib.determinism import PORTABLE, UNRECORDED, word
from stalib.errors import StalibError

#: A run may be recorded once per mode (:func:`stalib.determinism.word`): the row of a run made
#: before the portable mode stays, as history, beside the row of its rerun in the mode. A results
#: file holds one row per :data:`KEY` and mode (:func:`stored_key`); the report reads one of them
#: (:func:`speaking_rows`).
KEY = ("dataset", "protocol", "configuration", "model", "fold", "seed")


@dataclass
class RunRecord:
    dataset: str
    protocol: str
    configuration: str  # the configuration's name: "paper" for the paper's settings (stalib.config)
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
    # which test sequences the model got right, in the fold's test order, one letter each ("c"
    # right, "w" wrong: encode_correct), for paired tests between models (McNemar); "" in rows
    # written before it was kept, or by DDP
    test_correct: str = ""
    # how the run computed (stalib.determinism.Mode.text): "portable cpu isa=AVX2 threads=1
    # cbwr=AVX2,STRICT", "native ...", or "unrecorded" in rows written before the column existed
    determinism: str = UNRECORDED

    def key(self) -> tuple:
        return tuple(str(getattr(self, k)) for k in KEY)

    def stored_key(self) -> tuple:
        return stored_key(asdict(self))


COLUMNS = [f.name for f in fields(RunRecord)]
#: The results files of a dataset's folder: test folds, inner validation.
RESULTS_FILES = ("cv.csv", "validation.csv")
#: Columns that older files may lack: ``configuration`` (worked out from params), ``test_correct``
#: and ``determinism`` (``unrecorded``).
OPTIONAL_COLUMNS = ("configuration", "test_correct", "determinism")
#: The letters of ``test_correct``: right, wrong. Letters, not "1"/"0": a CSV reader (pandas'
#: defaults, a spreadsheet) reads a string of digits as a number and drops its leading zeros.
RIGHT, WRONG = "c", "w"


def encode_correct(correct: Iterable[bool]) -> str:
    """``test_correct`` of a row: one letter per test sequence, :data:`RIGHT` or :data:`WRONG`."""
    return "".join(RIGHT if c else WRONG for c in correct)


def decode_correct(text: object) -> list[bool] | None:
    """The right/wrong of each test sequence of a row's ``test_correct`` (None when the row keeps
    none). Reads the letters and the digits ("1"/"0") rows were written with before."""
    text = "" if text is None else str(text).strip()
    if not text or text == "nan":
        return None
    if set(text) <= {RIGHT, WRONG}:
        return [c == RIGHT for c in text]
    if set(text) <= {"0", "1"}:
        return [c == "1" for c in text]
    raise StalibError(f"test_correct {text[:20]!r}: expected letters {RIGHT!r} (right) and "
                      f"{WRONG!r} (wrong), one per test sequence")


def stored_key(row: dict) -> tuple:
    """The key under which a file holds ``row``: its :data:`KEY` and its mode."""
    return (*_row_key(row), word(row.get("determinism")))


def speaking_rows(rows: list[dict]) -> list[dict]:
    """The rows a report reads, one per :data:`KEY` (see :func:`speaking_mask`)."""
    return [r for r, keep in zip(rows, speaking_mask(rows), strict=True) if keep]


def speaking_mask(rows: Iterable[dict]) -> list[bool]:
    """Which of ``rows`` a report reads: a configuration's (dataset, protocol, configuration, model)
    portable rows when they cover every (fold, seed) its other rows cover (its portable grid is
    whole), else its other rows: history, made before the mode or with ``--native``."""
    rows = list(rows)
    keys = [_row_key(r) for r in rows]
    portable = [word(r.get("determinism")) == PORTABLE for r in rows]
    covered: dict[tuple, set] = {}
    needed: dict[tuple, set] = {}
    for key, p in zip(keys, portable, strict=True):
        (covered if p else needed).setdefault(key[:4], set()).add(key[4:])
    whole = {g for g, runs in covered.items() if needed.get(g, set()) <= runs}
    return [p == (k[:4] in whole) for k, p in zip(keys, portable, strict=True)]


#: The mark of a row whose code was not one commit (:func:`run_commit`).
MIXED = "+mixed"
_CODE_COMMIT: str | None = None


def code_commit() -> str:
    """The commit of the code this process runs: :func:`git_commit` the first time it is asked
    (a run asks before it trains), kept for the life of the process. Python keeps the modules it
    has imported, so a checkout during a long ``stalib cv`` moves :func:`git_commit` but not
    the code that trains."""
    global _CODE_COMMIT
    if _CODE_COMMIT is None:
        _CODE_COMMIT = git_commit()
    return _CODE_COMMIT


def run_commit(trained_by: Iterable[str] = ()) -> str:
    """The ``git_commit`` of a run's row: :func:`code_commit`, with :data:`MIXED` appended when
    the run's code was not that one commit: the checkout moved while this process ran
    (:func:`git_commit` now says otherwise; modules imported late may be the new ones), or part
    of the run was trained by another commit's code (``trained_by``: the commits of the
    processes that wrote the checkpoints it resumed)."""
    mine = code_commit()
    others = ({git_commit()} | set(trained_by)) - {mine}
    return mine + (MIXED if others else "")


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


def cpu_name() -> str:
    """The CPU's model name (``/proc/cpuinfo``; else what :mod:`platform` says)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_description() -> str:
    """The CPU as far as it decides the arithmetic: its model name, family and model numbers
    (``/proc/cpuinfo``: a virtual machine may show a bare vendor name) and the vector
    instructions torch's kernels use (``torch.backends.cpu.get_cpu_capability``). The same
    run can round differently on another CPU and train to other weights."""
    numbers = {}
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key = line.split(":", 1)[0].strip()
            if key in ("cpu family", "model") and key not in numbers:
                numbers[key] = line.split(":", 1)[1].strip()
    family = (f" (family {numbers['cpu family']} model {numbers['model']})"
              if len(numbers) == 2 else "")
    return f"{cpu_name()}{family}, {torch.backends.cpu.get_cpu_capability()}"


def package_versions() -> dict:
    """Python, torch, numpy and stalib versions, and the CPU (:func:`cpu_description`) and
    GPU that ran the code: what a row's numbers depend on besides its settings and commit."""
    out = {
        "python": platform.python_version(), "torch": torch.__version__,
        "numpy": numpy.__version__, "stalib": stalib.__version__, "cpu": cpu_description(),
    }
    if torch.cuda.is_available():
        out["gpu"] = torch.cuda.get_device_name(0)
    return out


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
        missing = set(COLUMNS) - set(reader.fieldnames) - set(OPTIONAL_COLUMNS)
        if missing:
            raise StalibError(
                f"{path}: not a stalib results file, missing columns {sorted(missing)}")
        rows = list(reader)
    for row in rows:
        if row.get("test_correct") is None:  # written before the column existed
            row["test_correct"] = ""
        if not row.get("determinism"):
            row["determinism"] = UNRECORDED
    if set(RENAMED) & set(reader.fieldnames):
        for row in rows:
            _rename_old_names(row)
    elif "configuration" not in reader.fieldnames:  # written before configurations existed
        for i, row in enumerate(rows, 2):
            row["configuration"] = configuration_of_params(row["params"], f"{path}, line {i}")
    return rows


def _rename_old_names(row: dict) -> None:
    """``row`` of an older file in today's names (:data:`stalib.config.RENAMED`): its column,
    and the field of its recorded ``train`` settings (``params`` rewritten as
    :func:`params_json` writes it)."""
    for old, new in RENAMED.items():
        row[new] = row.pop(old)
    params = json.loads(row["params"])
    train = params.get("train") or {}
    for old, new in RENAMED.items():
        if old in train:
            train[new] = train.pop(old)
    row["params"] = params_json(params)


def settings_of_params(params: str, where: str) -> dict | None:
    """The settings (:meth:`TrainConfig.deviations`) of a row's ``params``; None without a
    recorded configuration (``params`` lacks ``train``)."""
    try:
        train = json.loads(params).get("train")
        return None if train is None else TrainConfig.from_dict(train).deviations()
    except (json.JSONDecodeError, AttributeError, StalibError, TypeError) as err:
        raise StalibError(f"{where}: unreadable params ({err})") from None


def configuration_of_params(params: str, where: str) -> str:
    """The configuration of a row written before the column existed: paper or custom, by its
    settings."""
    settings = settings_of_params(params, where)
    if settings:
        return CUSTOM_CONFIGURATION
    train = json.loads(params).get("train") or {}
    return default_configuration(train["dataset"]) if "dataset" in train else PAPER_CONFIGURATION


def _row_key(row: dict) -> tuple:
    """A row's :data:`KEY` as strings (as :meth:`RunRecord.key` gives a record's)."""
    return tuple(str(row[k]) for k in KEY)


def has_record(path: Path, key: tuple, mode: str | None = None) -> bool:
    """Whether ``path`` holds a row of ``key`` (:data:`KEY`), of the mode ``mode`` when given
    (``portable``: a rerun in the portable mode does not count the history row as done)."""
    return any(_row_key(r) == tuple(map(str, key)) and (
        mode is None or word(r.get("determinism")) == mode) for r in read_records(path))


@contextlib.contextmanager
def locked(path: Path):
    """Hold the exclusive lock of the results file ``path`` (``<path>.lock``), and remove the
    lock file after use.

    A process that opened the lock file before its holder removed it may get a lock on the
    removed file; it checks, once it holds the lock, that the name still leads to the file it
    locked, and tries again when not. So two processes never hold the lock at once, and no
    ``*.lock`` stays behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    name = path.with_name(path.name + ".lock")
    while True:
        with open(name, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                same = os.stat(name).st_ino == os.fstat(lock.fileno()).st_ino
            except FileNotFoundError:
                same = False
            if not same:
                continue
            try:
                yield
            finally:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(name)
            return


def write_rows(path: Path, rows: list[dict]) -> None:
    """Write ``rows`` to ``path`` in the file's order (model, configuration, protocol, fold, seed),
    through a temporary file and a rename; call it under :func:`locked`.

    A row holding a value under a column this version does not know (a file written by a newer
    stalib) is refused, never written without it: an older checkout appending to a shared
    results file once dropped every row's ``test_correct`` that way."""
    unknown = sorted({k for r in rows for k, v in r.items() if k not in COLUMNS and v})
    if unknown:
        raise StalibError(f"{path}: its rows have columns this version of stalib does not know "
                          f"({', '.join(map(str, unknown))}); rewriting it would drop them: use "
                          "the stalib that wrote them")
    rows = sorted(rows, key=lambda r: (r["model"], r["configuration"], r["protocol"],
                                       int(r["fold"]),
                                       int(r["seed"]), word(r.get("determinism"))))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(buf.getvalue())
    os.replace(tmp, path)


def append_record(path: Path, record: RunRecord, replace: bool = False) -> None:
    """Add ``record`` to the CSV at ``path`` atomically, under an exclusive lock."""
    with locked(path):
        rows = read_records(path)
        key = record.stored_key()
        same = [r for r in rows if stored_key(r) == key]
        if same and not replace:
            raise StalibError(
                f"{path}: a result for {dict(zip(KEY, key[:-1], strict=True))} exists already "
                f"({key[-1]} mode); rerun with `force` to replace it"
            )
        rows = [r for r in rows if stored_key(r) != key]
        _check_settings(path, rows, asdict(record))
        write_rows(path, rows + [asdict(record)])


def _check_settings(path: Path, rows: list[dict], record: dict, where: str = "the new row",
                    hint: str = "file it under another `configuration` name") -> None:
    """Refuse ``record`` when the rows of its configuration were made with other settings."""
    mine = settings_of_params(record["params"], f"{path}: {where}")
    if mine is None:
        return
    group = ("dataset", "protocol", "configuration", "model")
    for i, row in enumerate(rows, 2):
        if any(str(row[k]) != str(record[k]) for k in group):
            continue
        theirs = settings_of_params(row["params"], f"{path}, line {i}")
        if theirs is not None and theirs != mine:
            raise StalibError(
                f"{path}: configuration {record['configuration']!r} of {record['model']} "
                f"({record['protocol']}) holds runs with other settings ({_describe(theirs)}, "
                f"{where}: {_describe(mine)}); {hint}")


#: Columns that say when and how fast a run went, not what it computed: two rows of one run
#: that differ only here are the same run (merged once, the first kept).
CLOCK_COLUMNS = ("wall_time_s", "timestamp")


def merge_file(src: Path, dest: Path, shown: Path | None = None) -> tuple[int, int]:
    """Add the rows of the results file ``src`` to ``dest`` (created if missing), under its lock.

    A row whose key is not in ``dest`` is added; one equal to ``dest``'s row of its key in every
    column but the clock's (:data:`CLOCK_COLUMNS`) is the same run, already there, and skipped;
    one that differs from it is refused (nothing is replaced), as is a row whose configuration
    holds other settings in ``dest`` (the check of :func:`append_record`). ``shown``: the file
    messages name for ``dest`` (a trial merge works on a temporary copy). Returns ``(added,
    already there)``."""
    incoming = read_records(src)
    with locked(dest):
        rows = read_records(dest)
        added = _new_rows(src, shown or dest, rows, incoming)
        if added:
            write_rows(dest, rows + added)
    return len(added), len(incoming) - len(added)


def _new_rows(src: Path, dest: Path, rows: list[dict], incoming: list[dict]) -> list[dict]:
    """The rows of ``incoming`` (read from ``src``) that ``rows`` (of ``dest``) lacks; see
    :func:`merge_file` for what is refused."""
    have = {stored_key(r): r for r in rows}
    added: list[dict] = []
    for i, row in enumerate(incoming, 2):
        key = stored_key(row)
        old = have.get(key)
        if old is None:
            _check_settings(dest, rows + added, row, f"the row of {src}, line {i}",
                            "rename the configuration in one of the two files")
            have[key] = row
            added.append(row)
            continue
        differ = [c for c in COLUMNS if c not in CLOCK_COLUMNS
                  and str(old.get(c, "")) != str(row.get(c, ""))]
        if differ:
            raise StalibError(
                f"{src}, line {i}: another result for {dict(zip(KEY, key[:-1], strict=True))} "
                f"({key[-1]} mode) is in "
                f"{dest} (or earlier in {src.name}); they differ in {', '.join(differ)}; merge "
                "never replaces a row: remove one of the two first")
    return added


def merge_results(sources: list[Path], dest_dir: Path, dry_run: bool = False
                  ) -> list[tuple[Path, Path, int, int]]:
    """Merge every ``<dataset>/cv.csv`` and ``validation.csv`` under each folder of ``sources``
    into the same file under ``dest_dir`` (:func:`merge_file`), e.g. the results a GPU machine
    or a cluster node wrote into a folder of its own. All of them are first merged into a copy
    of ``dest_dir``'s files, so a refused row leaves ``dest_dir`` as it was. Returns
    ``(source file, file under dest_dir, added, already there)`` per file."""
    dest_dir = Path(dest_dir)
    plan = [(f, dest_dir / f.relative_to(src)) for src in map(Path, sources)
            for f in _results_files(src, dest_dir)]
    counts = []
    with tempfile.TemporaryDirectory() as tmp:  # the trial merge, on copies
        for f, d in plan:
            trial = Path(tmp) / d.relative_to(dest_dir)
            if d.exists() and not trial.exists():
                trial.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(d, trial)
            counts.append(merge_file(f, trial, shown=d))
    if not dry_run:
        counts = [merge_file(f, d) for f, d in plan]
    return [(f, d, *c) for (f, d), c in zip(plan, counts, strict=True)]


def _results_files(src: Path, dest_dir: Path) -> list[Path]:
    """The results files under the folder ``src`` (at least one), which is not ``dest_dir``."""
    expected = f"a results folder holding <dataset>/{' or '.join(RESULTS_FILES)}"
    if not src.is_dir():
        raise StalibError(f"{src}: not a folder (expected {expected})")
    if dest_dir.exists() and dest_dir.resolve() == src.resolve():
        raise StalibError(f"{src}: this is the results folder it would be merged into")
    files = sorted(p for name in RESULTS_FILES for p in src.glob(f"*/{name}"))
    if not files:
        raise StalibError(f"{src}: no results files in it (expected {expected})")
    return files


def _describe(settings: dict) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in sorted(settings.items())) or "the paper's"


def params_json(d: dict) -> str:
    return json.dumps(d, sort_keys=True, default=str)
