"""``stalib rerun FILE``: train committed rows again from their recorded settings and compare
(:mod:`stalib.tools.rerun`). Exit 0 when every rerun is identical, 1 when one differs, 2 on bad
input."""

from __future__ import annotations

from pathlib import Path

from stalib.tools.rerun import compare, draw, label, missing_settings, rerun_rows
from stalib.workers import add_jobs_option, resolve_jobs


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "rerun", help="train recorded runs again and check they come back bit for bit",
        description="Train rows of a results file again from their recorded settings and seed, "
        "in the portable deterministic mode, into a temporary folder (results/ is never "
        "touched), and compare accuracy, train accuracy and test_correct exactly. One line per "
        "row (identical, or what differs), then 'K of N identical'. Draws only rows recorded "
        "in the portable mode (--all-modes: every row). Exit 0: all identical; 1: one "
        "differs; 2: bad input.")
    p.add_argument("file", metavar="FILE", help="a results file (results/sbu/cv.csv ...)")
    p.add_argument("--sample", type=int, default=None, metavar="N",
                   help="rerun N rows drawn at random (default: every drawn row)")
    p.add_argument("--seed", type=int, default=0, metavar="S",
                   help="the seed of the --sample draw (default 0)")
    p.add_argument("--models", default="", metavar="M,...", help="only rows of these models")
    p.add_argument("--configs", default="", metavar="V,...",
                   help="only rows of these configurations")
    p.add_argument("--all-modes", action="store_true",
                   help="also draw rows recorded outside the portable mode (before it, or "
                   "--native): to record them again in the mode (with --keep)")
    p.add_argument("--keep", default=None, metavar="DIR",
                   help="write the reruns' rows and run folders to DIR and keep them (a second "
                   "call resumes there; `stalib merge DIR` adds the rows to results/)")
    add_jobs_option(p)
    p.add_argument("--data-root", default=None, metavar="DIR",
                   help="the data root (default $STALIB_DATA)")
    p.set_defaults(func=run)


def _names(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def run(args) -> int:
    path = Path(args.file)
    drawn = draw(path, models=_names(args.models), configurations=_names(args.configs),
                 sample=args.sample, seed=args.seed, all_modes=args.all_modes)
    if drawn.not_portable:
        print(f"{drawn.not_portable} row(s) not recorded in the portable mode: skipped "
              "(--all-modes draws them)", flush=True)
    if not drawn.rows:
        print(f"0 rows of {path} to rerun")
        return 2
    identical = 0

    def report(recorded: dict, new: dict) -> None:
        nonlocal identical
        differs = compare(recorded, new)
        identical += not differs
        older = missing_settings(recorded) if differs else []
        if older:  # a difference may then be in the settings, not in the arithmetic
            named = ", ".join(older[:4]) + (f" and {len(older) - 4} more" if len(older) > 4 else "")
            differs.append(f"recorded before its params held {named} (today's defaults used)")
        print(f"{label(recorded)}: {'; '.join(differs) if differs else 'identical'}", flush=True)

    pairs = rerun_rows(drawn.rows, path, data_root=args.data_root,
                       keep=Path(args.keep) if args.keep else None,
                       jobs=resolve_jobs(args.jobs, "auto"),
                       report=report)
    print(f"{identical} of {len(pairs)} identical")
    return 0 if identical == len(pairs) else 1
