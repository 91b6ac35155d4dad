"""``stalib verdict``: every claim's label and measurement, from a results folder's rows."""

from __future__ import annotations

from pathlib import Path

from stalib.report import pooled
from stalib.results_folder import results_root


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "verdict", help="each claim's label and numbers, from the results rows",
        description="Every claim of the papers with its label, measured at each family's "
        "recorded configuration (stalib/catalogue.toml) on the rows of a results folder; then "
        "each pooled comparison per dataset and pooled. --write keeps the numbers in "
        f"<results>/{pooled.SNAPSHOT}, which a test recomputes (a refactor changes no number).")
    p.add_argument("--results", type=Path, default=None,
                   help="results folder (default: $STALIB_RESULTS, else the project's results/)")
    p.add_argument("--write", action="store_true",
                   help=f"write the numbers to <results>/{pooled.SNAPSHOT}")
    p.set_defaults(func=run)


def run(args) -> int:
    root = args.results or results_root()
    table = pooled.snapshot(root)
    for _, r in table.iterrows():
        v, lo, hi = r["value"], r["low"], r["high"]
        numbers = ("—" if v != v else f"{v:.2f} % [{lo:.2f}, {hi:.2f}]"
                   if r["measure"] == "accuracy" else
                   f"{v:+.2f} pp" + ("" if lo != lo else f" [{lo:+.2f}, {hi:+.2f}]"))
        where = "pooled" if r["dataset"] == "pooled" else f"{r['dataset']} {r['protocol']}"
        label = f"  {r['label']}" if r["label"] else ""
        print(f"{r['table']:7} {r['claim'][:60]:60} {where:15} {numbers}{label}")
    if args.write:
        path = Path(root) / pooled.SNAPSHOT
        table.to_csv(path, index=False)
        print(f"written: {path}")
    return 0
