"""``stalib diagnose RUN_DIR ... --out FILE``: training histories of finished runs, for the
report's diagnosis page (:mod:`stalib.diagnosis`)."""

from __future__ import annotations


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "diagnose", help="collect the training histories of finished runs into one JSON file",
        description="Read metrics.json of each RUN_DIR (loss terms, gradient norms per "
        "subnetwork, alpha entropy, beta range per logging step) and write them to --out, "
        "e.g. results/diagnosis/sbu.json, which the report draws.")
    p.add_argument("runs", nargs="+", metavar="RUN_DIR", help="finished run folders")
    p.add_argument("--out", required=True, help="the JSON file to write")
    p.add_argument("--label", action="append", default=None,
                   help="a label per run folder, in order (default: model and configuration)")
    p.set_defaults(func=run)


def run(args) -> int:
    # here, not at the top: the diagnosis figures import matplotlib (about 0.35 s), which every
    # other command would pay for when the parser is built
    from stalib.report.diagnosis import collect

    doc = collect(args.runs, args.out, args.label)
    print(f"{len(doc['runs'])} run(s) written to {args.out}")
    return 0
