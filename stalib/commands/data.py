"""``stalib data summary DATASET``: what a dataset holds, as a table."""

from __future__ import annotations

import argparse
import sys
import warnings

from stalib.commands.train import protocols_help
from stalib.data.registry import (
    DATA_ROOT_HELP,
    DATASETS_SAID,
    SkippedInputWarning,
    default_protocol,
    get_splits,
    load_dataset,
)
from stalib.data.summary import format_summary
from stalib.data.utkinect import LABEL_FILE_CHOICES


def register(subparsers) -> None:
    data = subparsers.add_parser("data", help="inspect datasets (stalib data summary sbu)")
    sub = data.add_subparsers(dest="data_command", metavar="ACTION")
    sub.required = True
    p = sub.add_parser(
        "summary",
        help="sequences, classes, groups, frames, joints and persons of a dataset",
        description=f"Load DATASET ({DATASETS_SAID}) with its default preprocessing and print "
                    "a table of what it holds.",
    )
    p.add_argument("dataset", metavar="DATASET", help=DATASETS_SAID)
    p.add_argument("--data-root", default=None, help=DATA_ROOT_HELP)
    p.add_argument("--skip-bad", action="store_true",
                   help="skip malformed files and list each of them at the end (default: stop "
                        "at the first one with an error)")
    p.add_argument("--protocol", default=None,
                   help=f"also print the train/test sizes of this protocol's splits "
                        f"({protocols_help()}); 'default' for the dataset's standard one")
    p.add_argument("--per-class", action="store_true", help="also print sequences per class")

    p.add_argument("--label-file", default=None, help=f"UTKinect: {LABEL_FILE_CHOICES}")
    p.add_argument("--cache-dir", default=None,
                   help="NTU cache folder (default: $STALIB_CACHE/ntu60 or ~/.cache/stalib/ntu60)")
    p.add_argument("--workers", type=int, default=None,
                   help="NTU cache build: worker processes (default: all CPUs)")
    p.add_argument("--raw", action="store_true", help="skip the default preprocessing")
    p.set_defaults(func=run_summary)


def run_summary(args: argparse.Namespace) -> int:
    protocol = None if args.protocol in (None, "default") else args.protocol
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SkippedInputWarning)  # printed below, one line each
        data = load_dataset(
            args.dataset, args.data_root, protocol=protocol, strict=not args.skip_bad,
            cache_dir=args.cache_dir, label_file=args.label_file, preprocess=not args.raw,
            workers=args.workers,
        )
    splits = None
    if args.protocol is not None:
        splits = get_splits(args.dataset, data, protocol)
        if protocol is None:
            protocol = default_protocol(args.dataset, data)
    print(format_summary(data, per_class=args.per_class, splits=splits, protocol=protocol))
    if data.skipped:
        print(f"\n{len(data.skipped)} input(s) skipped:", file=sys.stderr)
        for line in data.skipped:
            print(f"  {line}", file=sys.stderr)
    return 0
