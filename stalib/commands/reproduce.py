"""``stalib reproduce``: run the experiment notebooks (see :mod:`stalib.report.reproduce`)."""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
from pathlib import Path

from stalib.data.registry import DATA_ROOT_HELP
from stalib.errors import ConfigError
from stalib.report import grid
from stalib.report import reproduce as rp
from stalib.workers import add_jobs_option, resolve_jobs

QUICK_RESULTS = Path("runs") / "quick" / "results"


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "reproduce",
        help="run the experiment notebooks with papermill (skips what is up to date)",
        description="Run every experiment notebook of the grid with papermill. Executed notebooks "
        "go to RESULTS/notebooks/, their figures and tables under RESULTS/. A job whose notebook "
        "and parameters are unchanged and whose outputs exist is skipped. Failed jobs leave the "
        "previous results intact; all jobs are tried and the failed ones are named at the end.",
    )
    p.add_argument("--quick", action="store_true",
                   help="the notebooks' quick parameters (minutes, for CI); results go to "
                   f"./{QUICK_RESULTS} unless --results is given, never to the real results/")
    p.add_argument("--only", action="append", metavar="NAME",
                   help="run only this job: exact name, glob (fig7-*) or prefix (fig7); repeatable")
    p.add_argument("--force", action="store_true",
                   help="run jobs even when up to date (say, after a change to the library): "
                   "figures and tables are drawn again, runs whose rows exist are not trained")
    p.add_argument("--retrain", action="store_true",
                   help="train every run of the chosen jobs again and replace its row in the "
                   "results file (implies --force; hours on a CPU)")
    p.add_argument("--results", metavar="DIR", default=None,
                   help="results folder (default: the project's results/)")
    p.add_argument("--runs", metavar="DIR", default=None,
                   help="folder of the run folders (checkpoints, model.pt); default: the "
                   "project's runs/, where `stalib cv` puts them; under --quick RESULTS/.runs")
    p.add_argument("--data-root", metavar="DIR", default=None, help=DATA_ROOT_HELP)
    add_jobs_option(p)
    p.add_argument("--yes", action="store_true",
                   help="start even when a job would train for more than an hour (without it, "
                   "such jobs are listed with their time and nothing runs; --only NAME asks "
                   "for one job by name)")
    p.add_argument("--native", action="store_true",
                   help="run the notebooks outside the portable deterministic mode (the CPU's "
                   "own kernels, the cores shared between --jobs); their rows say 'native'")
    p.add_argument("--list", action="store_true", help="list the jobs, whether they are up "
                   "to date, how many runs of each training grid have their row in the "
                   "results and about how long the others take at the recorded rows' pace; "
                   "run nothing")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    root = rp.project_root()
    real_results = (root / "results").resolve()
    if args.results is not None:
        results = Path(args.results)
    elif args.quick:
        results = root / QUICK_RESULTS
    else:
        results = root / "results"
    if args.quick and results.resolve() == real_results:
        raise ConfigError(f"--quick must not write into the real results folder {real_results}; "
                          "pass another --results DIR")
    data_root = args.data_root or os.environ.get("STALIB_DATA") or None
    data_root = Path(data_root).expanduser() if data_root else None
    jobs = rp.select(rp.JOBS, args.only)

    if args.list:
        print(list_table(jobs, root, results, data_root, args.quick))
        return 0

    if not (args.quick or args.only or args.yes):
        long = _long_jobs(jobs, results, data_root, root, args.force or args.retrain)
        if long:
            print("\n".join(f"  {name}: {text}" for name, text in long))
            raise ConfigError(f"{len(long)} job(s) above would train for more than an hour each "
                              "(the pace of the recorded runs); pass --yes to start them all, "
                              "or --only NAME for one")
    outcomes = rp.run_jobs(rp.JOBS, results, root=root, data_root=data_root, quick=args.quick,
                           force=args.force, retrain=args.retrain, only=args.only,
                           runs_root=Path(args.runs) if args.runs else None,
                           workers=resolve_jobs(args.jobs, "auto"),
                           log=lambda line: print(line, flush=True))
    counts = {s: sum(o.status == s for o in outcomes) for s in ("ran", "up-to-date", "skipped")}
    print(f"reproduce: {counts['ran']} ran, {counts['up-to-date']} up to date, "
          f"{counts['skipped']} skipped (data missing), results in {results}")
    summary = rp.failure_summary(outcomes)
    if summary:
        print(f"stalib reproduce: {summary}", file=sys.stderr)
        return 1
    return 0


def _state(job, root: Path, results: Path, quick: bool) -> str:
    """``notebook missing``, ``up to date`` (its stamp matches) or ``to run: <why>``
    (:func:`stalib.report.reproduce.why_to_run`)."""
    notebook = root / job.notebook
    if not notebook.is_file():
        return "notebook missing"
    why = rp.why_to_run(results, job, rp.job_hash(job, notebook, quick, results), quick)
    return "up to date" if why is None else f"to run: {why}"


#: The width ``--list`` keeps to.
LIST_WIDTH = 100


def list_table(jobs, root: Path, results: Path, data_root: Path | None, quick: bool) -> str:
    """``stalib reproduce --list``: a header, then per job its name, state (with why it would
    run), runs recorded and the time the missing ones take, and, indented below, its notebook,
    the data it needs and what it does; every line within :data:`LIST_WIDTH` columns."""
    loaded: dict = {}
    rows = []
    for job in jobs:
        progress = grid.grid_progress(job, results, data_root, quick, loaded)
        rows.append((job, _state(job, root, results, quick),
                     progress.describe() if progress else ""))
    name_w = max([len("job")] + [len(j.name) for j, _, _ in rows])
    state_w = max([len("state")] + [len(s) for _, s, _ in rows])
    runs_w = max(0, LIST_WIDTH - name_w - state_w - 4)
    lines = [f"{'job':{name_w}s}  {'state':{state_w}s}  runs", "-" * LIST_WIDTH]
    for job, state, runs in rows:
        lines.append(f"{job.name:{name_w}s}  {state:{state_w}s}  {runs[:runs_w]}".rstrip())
        needs = f" (needs {', '.join(job.requires)})" if job.requires else ""
        lines += textwrap.wrap(f"{job.notebook}{needs}: {job.description}", LIST_WIDTH,
                               initial_indent="    ", subsequent_indent="    ")
    return "\n".join(lines)


#: A job that would train this long (seconds, at the recorded pace) needs --yes or --only.
LONG_S = 3600.0


def _long_jobs(jobs, results: Path, data_root: Path | None, root: Path, force: bool
               ) -> list[tuple[str, str]]:
    """``(name, progress)`` of the jobs a plain ``stalib reproduce`` would run whose missing
    runs take more than :data:`LONG_S` at the recorded pace (:func:`grid_progress`)."""
    out, loaded = [], {}
    for job in jobs:
        state = _state(job, root, results, quick=False)
        if state == "notebook missing" or (state == "up to date" and not force) or any(
                data_root is None or not (data_root / f).is_dir() for f in job.requires):
            continue
        progress = grid.grid_progress(job, results, data_root, False, loaded)
        if progress is not None and progress.left_s > LONG_S:
            out.append((job.name, progress.describe()))
    return out
