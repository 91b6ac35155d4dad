"""``stalib reproduce``: run the experiment notebooks with papermill, once each, as data.

The whole set of experiments is :data:`JOBS`, a list of :class:`Job` (a notebook, its parameters,
the files it writes under the results folder). :func:`run_jobs` executes them one after the other:

* **Up to date, skipped.** After a job succeeds a stamp ``<results>/.stamps/<job>.json`` records a
  hash of the notebook's bytes, its effective parameters and its declared outputs. A job is up
  to date when that hash matches and every declared output (and the executed notebook) exists;
  ``force=True`` runs it anyway. Changes to the library do not invalidate stamps: use ``--force``
  to run the notebooks again with it. A forced job still reuses every run whose row is in the
  results file (its figures and tables are drawn again, nothing is trained again);
  ``retrain=True`` (``--retrain``) also trains every run again and replaces its row.
* **Atomic.** A job writes into a staging folder ``<results>/.staging/<job>/``, seeded with copies
  of its declared outputs that exist already (so a notebook can append to ``cv.csv`` or resume),
  and papermill writes the executed notebook to a temporary file. Only when the notebook ran to
  the end and wrote every declared output are the files moved into place, each with a rename.
  A results file (``cv.csv``, shared by the jobs of a dataset) is MERGED into place instead,
  under the lock :mod:`stalib.results` writes it with: rows of the staged copy win, rows that
  only the results file has (written meanwhile by ``stalib cv`` or another job) are kept.
  A failed run leaves the previous results and executed notebook untouched; its executed
  notebook is kept as ``<results>/notebooks/<job>.failed.ipynb`` (git-ignored, so ``git add
  results`` never commits it) and its staging folder is kept
  for inspection (and reused by the next run with the same hash, so work done is not lost).
* **Failures don't stop the others.** Every job is tried; the outcome lists each failed job with
  its notebook and error, and the command exits non-zero.

Parameters every notebook receives from papermill, besides the job's own:

- ``results_dir``: where to WRITE (the staging folder; declared outputs are relative to it);
  ``results_root``: the final results folder, to READ outputs of other jobs;
- ``runs_root``: the folder of the run folders (checkpoints, ``model.pt``): ``<project>/runs``
  (where ``stalib cv`` puts them by default, so a notebook continues what it ran) or ``--runs
  DIR``; under ``--quick`` ``<results>/.runs``, so quick runs never touch the real ones;
- ``data_root``: the data root (``--data-root``/``STALIB_DATA``) as a string, or None;
- ``quick``: True under ``--quick``: the job's ``quick`` parameters override its ``parameters``;
- ``retrain``: True under ``--retrain``: train every run again and replace its row (``--force``
  alone does not reach the notebook: it only runs a job that is up to date).

Executed with the Jupyter kernel ``python3`` (the environment's own, installed by ipykernel).
"""

from __future__ import annotations

import concurrent.futures as cf
import copy
import fnmatch
import hashlib
import json
import multiprocessing as mp
import os
import shutil
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from stalib import catalogue
from stalib.config import PAPER_N1, PAPER_N2, settings_for
from stalib.determinism import native_requested
from stalib.errors import ConfigError
from stalib.heartbeat import Heartbeat, elapsed_text, notebook_progress
from stalib.results import KEY, locked, read_records, write_rows

KERNEL_NAME = "python3"
STAMPS = ".stamps"
STAGING = ".staging"
QUICK_RUNS = ".runs"
RESULTS_TABLE = "cv.csv"
EXECUTED = "notebooks"
_SKIP_SUFFIXES = (".lock", ".tmp")
#: seconds between two progress lines of a running notebook
HEARTBEAT_S = 60.0
#: arguments of the notebook kernel: its own log (the "running over TCP without encryption" warning
#: at start, "KeyboardInterrupt caught in kernel" at shutdown) is noise to a user; the notebook's
#: errors reach us through papermill all the same
KERNEL_ARGUMENTS = ["--IPKernelApp.log_level=CRITICAL"]


@dataclass(frozen=True)
class Job:
    """One notebook run with one set of parameters.

    Attributes:
        name: unique id, used by ``--only`` and for the executed notebook's file name.
        notebook: the notebook, relative to the project folder (``notebooks/fig7.ipynb``).
        parameters: papermill parameters for a full run.
        outputs: files the notebook must write, relative to the results folder.
        quick: parameters that override ``parameters`` under ``--quick`` (a run of minutes).
        requires: dataset folders that must exist under the data root (``SBU``, ``NTU``...);
            without them the job is skipped (or fails when named exactly by ``--only``).
        description: one line for ``--list`` and the book.
        chain: jobs of one chain share run folders (the STA-LSTM runs of one configuration, which
            the Fig. 7 job trains and the CSTA and attention jobs of that configuration read): under
            ``--jobs N`` they run one after another, in the grid's order, and chains side by
            side. Empty: a chain of its own.
        reads: files under the results folder that the job summarises (``sbu/cv.csv``): their
            bytes are part of its hash, so it is out of date again when they change.
    """

    name: str
    notebook: str
    parameters: Mapping[str, Any] = field(default_factory=dict)
    outputs: tuple[str, ...] = ()
    quick: Mapping[str, Any] = field(default_factory=dict)
    requires: tuple[str, ...] = ()
    description: str = ""
    chain: str = ""
    reads: tuple[str, ...] = ()

    def effective_parameters(self, quick: bool) -> dict[str, Any]:
        params = dict(self.parameters)
        if quick:
            params.update(self.quick)
        return params

    @property
    def command(self) -> str:
        return f"stalib reproduce --only {self.name}"


# --------------------------------------------------------------------------------------------- The
# grid. Add a job by adding a line; names are unique. Each dataset has ONE results file,
# ``<dataset>/cv.csv``, which its Fig. 7 and CSTA jobs both declare and append to (publishing merges
# rows, see _publish); every other output belongs to one job. The book reads the outputs named here
# (see stalib.report.tables, which imports from here: the grid is below the summaries of its
# results), so a page and its job cannot drift.

#: The six models of the paper's Fig. 7 (the STA-LSTM ablation) and the four of the CSTA ablation
#: (the catalogue's families).
FIG7_MODELS: tuple[str, ...] = catalogue.FIG7_MODELS
CSTA_MODELS: tuple[str, ...] = catalogue.CSTA_MODELS
#: Folder of each dataset under the data root (see stalib.data.root).
DATA_FOLDERS: dict[str, str] = catalogue.folders()
#: Datasets that chose nothing: only the configurations chosen on SBU and UTKinect run there,
#: unchanged, on the test split (no paper-settings grid, no validation runs first).
OUT_OF_SAMPLE: tuple[str, ...] = catalogue.out_of_sample()
SEEDS = list(catalogue.TEST_SEEDS)
#: Algorithm 1's N1 and N2 (the paper's), for every full run.
PAPER_ITERATIONS = {"n1": PAPER_N1, "n2": PAPER_N2}
#: --quick: one seed, the first fold, 30 iterations (loso: the first 2 of its 199 folds), one CPU
#: thread (a smoke test of minutes on a small machine).
QUICK = {"seeds": [0], "folds": [1], "n1": 20, "n2": 10, "threads": 1}
SHORT = catalogue.job_names()


def _family_grid(family: str, ds: str) -> dict[str, Any]:
    """The test grid of ``family`` on ``ds``: its models, and the dataset's protocols and seeds (the
    catalogue's)."""
    d = catalogue.dataset(ds)
    return {"models": list(catalogue.FAMILIES[family].models), "protocols": list(d.protocols),
            "seeds": list(d.seeds) if d.seeds is not None else SEEDS}


#: Fig. 7 grid per dataset: models, protocols and seeds (per protocol where they differ).
FIG7_GRID: dict[str, dict[str, Any]] = {ds: _family_grid("fig7", ds) for ds in DATA_FOLDERS}
#: CSTA grid per dataset: the 4 CSTA models (HCN ablation), protocols and seeds.
CSTA_GRID: dict[str, dict[str, Any]] = {ds: _family_grid("csta", ds) for ds in DATA_FOLDERS}


def _options(configuration: str, ds: str) -> dict[str, Any]:
    """The TrainConfig fields of a job at ``configuration`` on ``ds``, its name first."""
    return {"configuration": configuration, **settings_for(configuration, ds)}


#: The Fig. 7 grids run beside the paper's settings, in the order they were explored (the
#: catalogue's ``[[grids]]``): ``{dataset: [TrainConfig fields, ...]}``, ``configuration`` naming
#: each.
VALIDATED: dict[str, list[dict[str, Any]]] = {
    g.dataset: [_options(r, g.dataset) for r in g.configurations]
    for g in catalogue.GRIDS if g.family == "fig7"}
#: The CSTA counterpart: per dataset its grids' ``options`` and, as ``reference``, the Fig. 7
#: configuration of the STA-LSTM it is compared with and drawn beside.
CSTA_VALIDATED: dict[str, list[dict[str, Any]]] = {
    g.dataset: [{"options": _options(r, g.dataset), "reference": b}
                for r, b in zip(g.configurations, g.beside, strict=True)]
    for g in catalogue.GRIDS if g.family == "csta"}
#: Fig. 7 grids that take hours of a CPU, each a job of its own so that the others do not wait:
#: UTKinect leave-one-sequence-out has 199 folds (one seed), for the LSTM and STA-LSTM at the
#: paper's settings and at the Fig. 7 models' recorded configuration.
_LOSO = {"dataset": "utkinect", "models": ["lstm", "sta-lstm"], "protocols": ["loso"],
         "seeds": [0]}
LONG_GRIDS: dict[str, dict[str, Any]] = {
    "utkinect-loso": _LOSO,
    f"utkinect-loso-{catalogue.FAMILIES['fig7'].recorded}": {
        **_LOSO, "options": _options(catalogue.FAMILIES["fig7"].recorded, "utkinect")},
}
#: Epochs of a quick run of a one-stage configuration (``epochs`` in its options).
QUICK_EPOCHS = 1
#: Folds of a quick run where it is not just fold 1.
QUICK_FOLDS: dict[str, Any] = {"utkinect": {"xsub": [1], "loso": [1, 2]}}
#: Written by the errors job of each dataset: test accuracy per class of every model and
#: configuration whose rows keep ``test_correct`` (:func:`stalib.report.tables.per_class`).
PER_CLASS = "per_class.csv"
#: The class whose test sequence the CSTA job draws (None: the first test sequence's class).
ACTION = {ds: "kicking" if ds == "sbu" else None for ds in DATA_FOLDERS}


def _quick(ds: str, protocols: Sequence[str], options: Mapping[str, Any] | None = None
           ) -> dict[str, Any]:
    quick = copy.deepcopy(QUICK)
    folds = QUICK_FOLDS.get(ds)
    if isinstance(folds, Mapping):
        folds = {p: folds.get(p, QUICK["folds"]) for p in protocols}
        if all(f == QUICK["folds"] for f in folds.values()):
            folds = None
    if folds is not None:
        quick["folds"] = folds
    return {**quick, **_quick_options(options)}


def _quick_options(options: Mapping[str, Any] | None, key: str = "options") -> dict[str, Any]:
    """A quick run's ``options`` (or ``reference_options``, under ``key``): a one-stage
    configuration of ``epochs`` runs QUICK_EPOCHS of them (the iterations of QUICK bound Algorithm
    1, not epochs)."""
    if not options or options.get("epochs") is None:
        return {}
    return {key: {**copy.deepcopy(dict(options)), "epochs": QUICK_EPOCHS}}


def _fig7_job(name: str, figure: str, ds: str, grid: Mapping[str, Any], description: str,
              options: Mapping[str, Any] | None = None) -> Job:
    """The job ``fig7-<name>``: the Fig. 7 notebook over ``grid`` (models, protocols, seeds) of
    ``ds``, every fold, the paper's iterations and TrainConfig ``options``; its bar chart is
    ``figures/fig7-<figure>.png``."""
    chart = f"figures/fig7-{figure}.png"
    parameters = {"dataset": ds, **copy.deepcopy(dict(grid)), "folds": "all",
                  **PAPER_ITERATIONS, "figure": chart}
    if options:
        parameters["options"] = dict(options)
    return Job(name=f"fig7-{name}", notebook="notebooks/fig7.ipynb", parameters=parameters,
               outputs=(f"{ds}/cv.csv", chart), quick=_quick(ds, grid["protocols"], options),
               requires=(DATA_FOLDERS[ds],), description=description,
               chain=_chain(ds, options, grid["protocols"]))


def _chain(ds: str, options: Mapping[str, Any] | None, protocols: Sequence[str]) -> str:
    """The chain (Job.chain) of the jobs that train or read STA-LSTM of ``options``'s configuration
    on ``ds`` under ``protocols``."""
    configuration = (options or {}).get("configuration") or "default"
    return f"{ds}:{configuration}:{'+'.join(protocols)}"


def _settings_text(options: Mapping[str, Any]) -> str:
    """``lambda3=0.0, augment_rotation=30.0``: the TrainConfig fields a configuration sets."""
    return ", ".join(f"{k}={v}" for k, v in options.items() if k != "configuration")


def _validated(ds: str, configuration: str) -> dict[str, Any]:
    """The TrainConfig fields of the Fig. 7 configuration ``configuration`` of ``ds``
    (VALIDATED)."""
    for options in VALIDATED.get(ds, []):
        if options["configuration"] == configuration:
            return dict(options)
    raise ConfigError(f"{ds}: no validated Fig. 7 configuration called {configuration!r}")


def _csta_job(ds: str, options: Mapping[str, Any] | None = None,
              reference: Mapping[str, Any] | None = None) -> Job:
    """The job ``csta-<ds>[-<configuration>]``: the CSTA notebook over CSTA_GRID[ds] with
    TrainConfig ``options``, compared with (and drawn beside) STA-LSTM of the settings
    ``reference``."""
    csta = copy.deepcopy(CSTA_GRID[ds])
    suffix = f"-{options['configuration']}" if options else ""
    figure = f"figures/csta-{ds}{suffix}-coupled.png"
    parameters = {"dataset": ds, **csta, "folds": "all", **PAPER_ITERATIONS,
                  "action": ACTION[ds], "figure": figure}
    if options:
        parameters["options"] = dict(options)
    if reference:
        parameters["reference_options"] = dict(reference)
    folder = DATA_FOLDERS[ds]
    what = (f"configuration {options['configuration']!r}: {_settings_text(options)} (chosen on "
            "validation folds), ") if options else ""
    against = f"STA-LSTM ({reference['configuration']})" if reference else "STA-LSTM"
    return Job(
        name=f"csta-{SHORT[ds]}{suffix}", notebook="notebooks/csta.ipynb", parameters=parameters,
        outputs=(f"{ds}/cv.csv", figure),
        quick={**_quick(ds, csta["protocols"], options),
               **_quick_options(reference, "reference_options")},
        requires=(folder,),
        description=f"HCN / CSTA-CNN ablation on {folder} ({', '.join(csta['protocols'])}), "
                    f"{what}vs {against}, coupled map",
        chain=_chain(ds, reference, csta["protocols"]))


def _protocols(ds: str) -> list[str]:
    """Every protocol a training job of ``ds`` runs."""
    return list(dict.fromkeys(FIG7_GRID[ds]["protocols"] + [
        p for g in LONG_GRIDS.values() if g["dataset"] == ds for p in g["protocols"]]))


def _grid() -> list[Job]:
    jobs: list[Job] = []
    for ds, folder in DATA_FOLDERS.items():
        short = SHORT[ds]
        jobs.append(Job(
            name=f"data-{short}", notebook="notebooks/data.ipynb",
            parameters={"dataset": ds, "protocols": _protocols(ds)},
            outputs=(f"{ds}/data.json", f"figures/data-{ds}-classes.png",
                     f"figures/data-{ds}-lengths.png", f"figures/data-{ds}-skeletons.png"),
            requires=(folder,),
            description=f"{folder}: classes, lengths, a skeleton per class, split sizes",
        ))
        fig7 = FIG7_GRID[ds]
        if ds not in OUT_OF_SAMPLE:
            jobs.append(_fig7_job(
                short, ds, ds, fig7,
                f"Fig. 7 ablation ({len(fig7['models'])} models) on {folder} "
                f"({', '.join(fig7['protocols'])}), every fold and seed"))
        for options in VALIDATED.get(ds, []):
            configuration = options["configuration"]
            jobs.append(_fig7_job(
                f"{short}-{configuration}", f"{ds}-{configuration}", ds, fig7,
                f"Fig. 7 ablation on {folder}, configuration {configuration!r}: "
                f"{_settings_text(options)} "
                f"({catalogue.CONFIGURATIONS[configuration].chosen}"
                + ("; run unchanged on data that chose nothing)" if ds in OUT_OF_SAMPLE
                   else ")"), options))
        if ds not in OUT_OF_SAMPLE:
            jobs.append(_csta_job(ds))
        for entry in CSTA_VALIDATED.get(ds, []):
            jobs.append(_csta_job(ds, entry["options"], _validated(ds, entry["reference"])))
    for name, grid in LONG_GRIDS.items():
        ds, options = grid["dataset"], grid.get("options")
        what = f", configuration {options['configuration']!r}" if options else ""
        jobs.append(_fig7_job(
            name, name, ds, {k: v for k, v in grid.items() if k not in ("dataset", "options")},
            f"Fig. 7 models on {DATA_FOLDERS[ds]} ({', '.join(grid['protocols'])}){what}, "
            "every fold", options))
    for options in ({}, *VALIDATED["sbu"]):
        tag = "sbu" + (f"-{options['configuration']}" if options else "")
        jobs.append(Job(
            name=f"attention-{tag}", notebook="notebooks/attention.ipynb",
            parameters={"dataset": "sbu", "models": ["sta-lstm"], "protocols": ["5fold"],
                        "seeds": [0], "folds": [1], "action": "kicking", **PAPER_ITERATIONS,
                        **({"options": dict(options)} if options else {})},
            outputs=tuple(f"figures/attention-{tag}-{fig}.png"
                          for fig in ("fig5a", "fig5b", "fig5c", "fig6"))
            + (f"attention/{tag}-kicking.json",),
            quick={**{k: QUICK[k] for k in ("n1", "n2", "threads")},
                   **_quick_options(options)}, requires=("SBU",),
            description="Figs. 5 and 6: STA-LSTM (fold 1, seed 0"
                        + (f", configuration {options['configuration']}" if options else "")
                        + ") on a test 'kicking' sequence of SBU",
            chain=_chain("sbu", options, ["5fold"]),
        ))
    for ds, folder in DATA_FOLDERS.items():  # last: they summarise what the others recorded
        jobs.append(Job(
            name=f"errors-{SHORT[ds]}", notebook="notebooks/errors.ipynb",
            parameters={"dataset": ds, "protocols": _protocols(ds)},
            outputs=(f"{ds}/{PER_CLASS}",), requires=(folder,), reads=(f"{ds}/cv.csv",),
            description=f"{folder}: test accuracy per class of every model and configuration whose "
                        "rows keep which test sequences were right",
        ))
    return jobs


JOBS: list[Job] = _grid()


def job_names(notebook: str, dataset: str) -> list[str]:
    """The jobs of ``notebooks/<notebook>.ipynb`` on ``dataset``, in the grid's order (a dataset
    that chose nothing has only its chosen configurations' jobs)."""
    return [j.name for j in JOBS if j.notebook == f"notebooks/{notebook}.ipynb"
            and j.parameters.get("dataset") == dataset]


def get_job(name: str, jobs: Sequence[Job] | None = None) -> Job:
    """The job called ``name``."""
    for job in JOBS if jobs is None else jobs:
        if job.name == name:
            return job
    raise ConfigError(f"no job called {name!r}")


# ---------------------------------------------------------------------------------------------
# Selection, hashing, stamps


def select(jobs: Sequence[Job], only: Iterable[str] | None) -> list[Job]:
    """The jobs matching any of ``only``: an exact name, a glob (``fig7-*``) or a prefix (``fig7``).

    An exact name selects that job alone (``fig7-sbu`` is not also ``fig7-sbu-l1-off``). No ``only``
    selects every job. A pattern matching nothing is an error that lists the names.
    """
    patterns = list(only or [])
    if not patterns:
        return list(jobs)
    chosen: list[Job] = []
    for pattern in patterns:
        hits = [j for j in jobs if j.name == pattern] or [
            j for j in jobs if fnmatch.fnmatchcase(j.name, pattern)
            or j.name.startswith(pattern + "-")]
        if not hits:
            names = ", ".join(j.name for j in jobs)
            raise ConfigError(f"`only` {pattern!r} matches no job; jobs are: {names}")
        chosen += [j for j in hits if j not in chosen]
    return [j for j in jobs if j in chosen]


def job_hash(job: Job, notebook: Path, quick: bool, results: Path | None = None) -> str:
    """sha256 of the notebook's bytes, the effective parameters, the declared outputs and the bytes
    of the files the job reads (:attr:`Job.reads`, under ``results``; a missing one counts as
    empty)."""
    h = hashlib.sha256()
    h.update(notebook.read_bytes())
    meta = {"parameters": job.effective_parameters(quick), "quick": quick,
            "outputs": list(job.outputs)}
    h.update(json.dumps(meta, sort_keys=True, default=str).encode())
    for rel in job.reads:
        path = None if results is None else Path(results) / rel
        h.update(rel.encode() + b"\0")
        h.update(path.read_bytes() if path is not None and path.is_file() else b"")
    return h.hexdigest()


def stamp_path(results: Path, job: Job) -> Path:
    return results / STAMPS / f"{job.name}.json"


def executed_path(results: Path, job: Job, failed: bool = False) -> Path:
    return results / EXECUTED / (f"{job.name}.failed.ipynb" if failed else f"{job.name}.ipynb")


def is_up_to_date(results: Path, job: Job, digest: str) -> bool:
    """The stamp matches ``digest`` and every output and the executed notebook exist."""
    return why_to_run(results, job, digest) is None


def why_to_run(results: Path, job: Job, digest: str, quick: bool = False) -> str | None:
    """Why ``job`` would run (None: it is up to date): ``never run here`` (no stamp), ``its
    parameters changed``, ``notebook or input changed`` (the notebook's bytes or a file it reads),
    ``<output> missing``."""
    stamp = stamp_path(results, job)
    try:
        recorded = json.loads(stamp.read_text())
        digest_then = recorded["hash"]
    except (OSError, ValueError, KeyError, TypeError):
        return "never run here"
    if digest_then != digest:
        if recorded.get("parameters") != json.loads(json.dumps(
                job.effective_parameters(quick), default=str)):
            return "its parameters changed"
        return "notebook or input changed"
    needed = [results / o for o in job.outputs] + [executed_path(results, job)]
    missing = [p for p in needed if not p.is_file()]
    return f"{missing[0].name} missing" if missing else None


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


# ---------------------------------------------------------------------------------------------
# Running


Status = Literal["ran", "up-to-date", "skipped", "failed"]


@dataclass
class Outcome:
    job: Job
    status: Status
    message: str = ""
    seconds: float = 0.0


def project_root() -> Path:
    """The project folder: the one holding the ``stalib`` package (and ``notebooks/``)."""
    return Path(__file__).resolve().parents[2]


def _prepare_staging(staging: Path, digest: str, fresh: bool, results: Path, job: Job) -> None:
    top = staging.parent
    top.mkdir(parents=True, exist_ok=True)
    if not (top / ".gitignore").exists():  # staging is never committed
        (top / ".gitignore").write_text("*\n")
    marker = staging / ".hash"
    reuse = not fresh and marker.is_file() and marker.read_text().strip() == digest
    if not reuse and staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True, exist_ok=True)
    marker.write_text(digest + "\n")
    for rel in job.outputs:
        src, dst = results / rel, staging / rel
        if src.is_file() and not dst.exists():
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)


def merge_results(staged: Path, dest: Path) -> None:
    """Put the results file ``staged`` at ``dest``, keeping rows only ``dest`` has.

    Under ``dest``'s lock (the one :func:`stalib.results.append_record` takes): the rows of
    ``staged``, plus every row of ``dest`` whose key (:data:`stalib.results.KEY`) ``staged`` lacks,
    sorted as ``append_record`` sorts them; written through a temporary file and a rename.
    """
    with locked(dest):
        rows = read_records(staged)
        have = {tuple(str(r[k]) for k in KEY) for r in rows}
        rows += [r for r in read_records(dest) if tuple(str(r[k]) for k in KEY) not in have]
        write_rows(dest, rows)
    staged.unlink()


def _publish(staging: Path, results: Path) -> list[Path]:
    """Move every file written under ``staging`` to the same place under ``results``.

    Results files (``cv.csv``) that exist already are merged (:func:`merge_results`).
    """
    moved = []
    for src in sorted(staging.rglob("*")):
        if not src.is_file() or src == staging / ".hash" or src.name.endswith(_SKIP_SUFFIXES):
            continue
        dst = results / src.relative_to(staging)
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.name == RESULTS_TABLE and dst.is_file():
            merge_results(src, dst)
        else:
            os.replace(src, dst)
        moved.append(dst)
    return moved


def _error_text(err: BaseException) -> str:
    ename = getattr(err, "ename", None)
    if ename:  # papermill.exceptions.PapermillExecutionError
        evalue = str(getattr(err, "evalue", "")).strip().splitlines()
        cell = getattr(err, "exec_count", None)
        where = f" in cell {cell}" if cell is not None else ""
        return f"{ename}{where}: {evalue[0] if evalue else ''}".rstrip(": ")
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}".rstrip(": ")


def execute_notebook(notebook: Path, executed: Path, parameters: Mapping[str, Any]) -> Path:
    """Execute ``notebook`` with ``parameters`` into ``executed`` (papermill, the jobs' kernel, its
    working directory the notebook's folder); returns ``executed``. Every job runs so
    (:func:`run_job`), and ``stalib bench --ntu-rehearsal`` outside the jobs."""
    import papermill

    papermill.execute_notebook(
        str(notebook), str(executed), parameters=dict(parameters), kernel_name=KERNEL_NAME,
        cwd=str(notebook.parent), progress_bar=False, log_output=False,
        extra_arguments=KERNEL_ARGUMENTS)
    return executed


def default_runs_root(results: Path, root: Path, quick: bool) -> Path:
    """Where run folders go: ``<results>/.runs`` under ``--quick``, else ``<root>/runs``."""
    return Path(results) / QUICK_RUNS if quick else Path(root) / "runs"


def run_job(job: Job, results: Path, *, root: Path, data_root: Path | None, quick: bool,
            force: bool, retrain: bool = False, explicit: bool = False,
            runs_root: Path | None = None, threads: int | None = None,
            log: Callable[[str], None] = print) -> Outcome:
    """Run one job unless it is up to date (see the module's docstring); ``retrain`` implies
    ``force``. ``threads``: the notebook's torch CPU threads where the job leaves them to torch
    (jobs side by side share the cores)."""
    force = force or retrain
    notebook = root / job.notebook
    if not notebook.is_file():
        return Outcome(job, "failed", f"{job.notebook}: notebook not found")
    missing = [f for f in job.requires if data_root is None or not (data_root / f).is_dir()]
    if missing:
        where = f"under the data root {data_root}" if data_root else "(no data root given)"
        message = (f"needs {', '.join(f + '/' for f in missing)} {where}; pass --data-root DIR "
                   "or set STALIB_DATA")
        return Outcome(job, "failed" if explicit else "skipped", message)
    digest = job_hash(job, notebook, quick, results)
    if not force and is_up_to_date(results, job, digest):
        return Outcome(job, "up-to-date", "stamp matches, outputs exist")

    staging = results / STAGING / job.name
    _prepare_staging(staging, digest, fresh=force, results=results, job=job)
    executed = executed_path(results, job)
    executed.parent.mkdir(parents=True, exist_ok=True)
    tmp = executed.with_name(f".{job.name}.tmp.ipynb")
    parameters = job.effective_parameters(quick)
    parameters.update({
        "results_dir": str(staging),
        "results_root": str(results),
        "runs_root": str(runs_root or default_runs_root(results, root, quick)),
        "data_root": str(data_root) if data_root is not None else None,
        "quick": quick,
        "retrain": retrain,
    })
    if threads is not None and parameters.get("threads") is None:
        parameters["threads"] = threads

    log(f"[{job.name}] running {job.notebook}" + (" (quick)" if quick else ""))
    start = time.monotonic()

    def progress(seconds: float) -> str:
        where = notebook_progress(tmp)
        return f"[{job.name}] still running, {elapsed_text(seconds)}" + (
            f", {where}" if where else "")

    try:
        with Heartbeat(log, progress, every=HEARTBEAT_S):
            execute_notebook(notebook, tmp, parameters)
    except Exception as err:  # any failure of one job must not stop the others
        failed = executed_path(results, job, failed=True)
        if tmp.exists():
            os.replace(tmp, failed)
        note = f"; executed notebook: {failed}" if failed.exists() else ""
        return Outcome(job, "failed", f"{job.notebook}: {_error_text(err)}{note}",
                       time.monotonic() - start)
    absent = [o for o in job.outputs if not (staging / o).is_file()]
    if absent:
        failed = executed_path(results, job, failed=True)
        os.replace(tmp, failed)
        return Outcome(job, "failed", f"{job.notebook}: ran but did not write "
                       f"{', '.join(absent)} under results_dir", time.monotonic() - start)
    _publish(staging, results)
    os.replace(tmp, executed)
    executed_path(results, job, failed=True).unlink(missing_ok=True)
    stamp = {
        "job": job.name, "hash": digest, "notebook": job.notebook, "quick": quick,
        "parameters": job.effective_parameters(quick), "outputs": list(job.outputs),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    _write_atomic(stamp_path(results, job), json.dumps(stamp, indent=2, sort_keys=True) + "\n")
    shutil.rmtree(staging, ignore_errors=True)
    return Outcome(job, "ran", f"wrote {len(job.outputs)} output(s)", time.monotonic() - start)


def run_jobs(jobs: Sequence[Job], results: Path, *, root: Path | None = None,
             data_root: Path | None = None, quick: bool = False, force: bool = False,
             retrain: bool = False, only: Iterable[str] | None = None,
             runs_root: Path | None = None, workers: int = 1,
             log: Callable[[str], None] = print) -> list[Outcome]:
    """Run the selected jobs in order; every job is tried whatever happened to the others.

    ``workers`` > 1 runs that many chains (:attr:`Job.chain`) side by side, each in a process of its
    own and its jobs in order; the outcomes come back in the grid's order. Results files are merged
    under their lock (:func:`merge_results`), so jobs of different chains may publish into one
    ``cv.csv``. A job that summarises results files (:attr:`Job.reads`) runs after all the others,
    so that it reads what they recorded (side by side, it could stamp a ``cv.csv`` that another
    chain was still adding rows to, and be out of date at once).
    """
    if workers < 1:
        raise ConfigError(f"`jobs` must be >= 1, got {workers}")
    only = list(only or [])
    chosen = select(jobs, only)
    root = Path(root or project_root()).absolute()
    # absolute: the notebooks run with their own folder as working directory
    results = Path(results).absolute()
    data_root = Path(data_root).absolute() if data_root is not None else None
    runs_root = Path(runs_root).absolute() if runs_root is not None else None
    results.mkdir(parents=True, exist_ok=True)
    settings = {"results": results, "root": root, "data_root": data_root, "quick": quick,
                "force": force, "retrain": retrain, "only": only, "runs_root": runs_root,
                # the portable mode's kernels inherit one thread; native ones share the cores
                "threads": max(1, (os.cpu_count() or 1) // workers)
                if workers > 1 and native_requested() else None}
    chains, summaries = phases(chosen)
    if workers == 1 or len(chains) <= 1:
        outcomes = _run_chain([job for job in chosen if job not in summaries], settings, log)
    else:
        with cf.ProcessPoolExecutor(min(workers, len(chains)),
                                    mp_context=mp.get_context("spawn")) as pool:
            done = [pool.submit(_run_chain, chain, settings) for chain in chains.values()]
            outcomes = [o for f in done for o in f.result()]
    outcomes += _run_chain(summaries, settings, log)
    order = {job.name: i for i, job in enumerate(chosen)}
    return sorted(outcomes, key=lambda o: order[o.job.name])


def phases(jobs: Sequence[Job]) -> tuple[dict[str, list[Job]], list[Job]]:
    """``jobs`` as :func:`run_jobs` runs them: the chains (:attr:`Job.chain`, each in order) of the
    jobs that train and draw, which may run side by side, then the jobs that summarise results files
    (:attr:`Job.reads`), which run after all of them."""
    chains: dict[str, list[Job]] = {}
    for job in jobs:
        if not job.reads:
            chains.setdefault(job.chain or job.name, []).append(job)
    return chains, [job for job in jobs if job.reads]


def _run_chain(chain: Sequence[Job], settings: Mapping[str, Any],
               log: Callable[[str], None] | None = None) -> list[Outcome]:
    """Run ``chain``'s jobs one after another (:func:`run_jobs`; in a worker process its lines go to
    its standard output, flushed)."""
    if log is None:
        def log(line: str) -> None:
            print(line, flush=True)
    outcomes = []
    for job in chain:
        outcome = run_job(job, settings["results"], root=settings["root"],
                          data_root=settings["data_root"], quick=settings["quick"],
                          force=settings["force"], retrain=settings["retrain"],
                          explicit=job.name in settings["only"],
                          runs_root=settings["runs_root"], threads=settings["threads"],
                          log=log)
        seconds = f" ({outcome.seconds:.1f} s)" if outcome.seconds else ""
        log(f"[{job.name}] {outcome.status}{seconds}: {outcome.message}")
        outcomes.append(outcome)
    return outcomes


def failure_summary(outcomes: Sequence[Outcome]) -> str | None:
    """One paragraph naming every failed job and its notebook, or None when none failed."""
    failed = [o for o in outcomes if o.status == "failed"]
    if not failed:
        return None
    lines = [f"{len(failed)} of {len(outcomes)} job(s) failed:"]
    lines += [f"  {o.job.name} ({o.job.notebook}): {o.message}" for o in failed]
    return "\n".join(lines)
