"""``stalib merge SRC ... [--results DIR]``: add the results rows another machine wrote (a GPU
machine, a cluster node: ``stalib cv --results SRC``) to the project's results files
(:func:`stalib.results.merge_results`)."""

from __future__ import annotations

from pathlib import Path

from stalib.results import merge_results


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "merge", help="add the results rows of other results folders to results/",
        description="Add the rows of SRC/<dataset>/cv.csv and validation.csv to the same files "
        "under --results. A row already there (equal in every column but its wall time and "
        "timestamp: the same run) is skipped; a row that differs from the one of its key, or "
        "whose configuration holds other settings there, is refused with its file and line, and "
        "then nothing is written. No row is ever replaced.")
    p.add_argument("sources", nargs="+", metavar="SRC", help="results folders to merge")
    p.add_argument("--results", default="results", metavar="DIR",
                   help="the results folder to add them to (default results/)")
    p.add_argument("--dry-run", action="store_true", help="check and count, write nothing")
    p.set_defaults(func=run)


def run(args) -> int:
    verb = "would add" if args.dry_run else "added"
    for src, path, added, same in merge_results(args.sources, Path(args.results), args.dry_run):
        print(f"{path}: {verb} {added} row(s), {same} already there ({src})")
    return 0
