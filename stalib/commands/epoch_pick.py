"""``stalib epoch-pick``: what picking each fold's epoch on its test fold would add
(:mod:`stalib.tools.epoch_pick`). A diagnostic file, never a results row."""

from __future__ import annotations

from pathlib import Path

from stalib.checkpoint import write_json_atomic
from stalib.commands.train import _int_list
from stalib.config import TrainConfig
from stalib.tools.epoch_pick import epoch_pick


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "epoch-pick", help="measure what choosing each fold's epoch on its test fold adds",
        description="Train a named configuration on test folds, evaluate each test fold after "
        "every epoch (this changes no number of the run), and write per fold the final "
        "accuracy, the best over epochs and the curve to --out: how far a published figure "
        "that picked epochs on its test folds stands from the final model's. A diagnostic, "
        "in the portable mode; never a results row.")
    p.add_argument("--dataset", required=True, help="sbu, utkinect, ...")
    p.add_argument("--model", required=True, help="a model name (stalib train --help)")
    p.add_argument("--config", required=True, help="a named configuration (stalib configs)")
    p.add_argument("--protocol", default=None, help="the dataset's protocol (default: its own)")
    p.add_argument("--folds", default="all", metavar="K,...",
                   help="test folds (default: every fold of the protocol)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, metavar="FILE",
                   help="the JSON file to write (e.g. results/epoch-pick/sbu-hcn.json)")
    p.add_argument("--data-root", default=None, metavar="DIR",
                   help="the data root (default $STALIB_DATA)")
    p.set_defaults(func=run)


def run(args) -> int:
    cfg = TrainConfig.named(args.config, dataset=args.dataset, model=args.model,
                                  seed=args.seed, protocol=args.protocol)
    folds = None if args.folds == "all" else _int_list(args.folds, "--folds")
    doc = epoch_pick(cfg, folds, args.data_root)
    write_json_atomic(doc, Path(args.out))
    for f in doc["folds"]:
        print(f"fold {f['fold']}: final {100 * f['final']:.2f}%, best {100 * f['best']:.2f}% "
              f"at epoch {f['best_epoch']} of {len(f['curve'])}")
    return 0
