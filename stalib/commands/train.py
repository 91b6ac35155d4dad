"""``stalib train``, ``stalib cv`` and ``stalib predict``."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

from stalib import distributed
from stalib.config import (
    CONFIGURATIONS,
    DEFAULT_CONFIGURATIONS,
    PAPER_N1,
    PAPER_N2,
    WEIGHT_DECAY_MODES,
    TrainConfig,
    check_configuration,
    settings_for,
)
from stalib.data.registry import _PREPROCESS, DATA_ROOT_HELP, DATASETS_SAID, FOLDERS, PROTOCOLS
from stalib.determinism import NATIVE, PORTABLE
from stalib.errors import ConfigError, StalibError
from stalib.experiment import (
    check_dataset_identity,
    checked_folds,
    dataset_identity,
    dataset_key,
    load_data_for,
    num_folds,
    protocol_of,
    record_key,
    results_file,
    run_experiment,
    validation_folds,
)
from stalib.grid import Execution, PlannedRun, execute, model_folder
from stalib.models import MODEL_NAMES, check_model_name
from stalib.outputs import check_dir, check_run_folder
from stalib.results import has_record, read_records
from stalib.schedule import SCHEDULES
from stalib.train import resolve_device
from stalib.workers import add_jobs_option, resolve_jobs


def protocols_help() -> str:
    """``sbu 5fold; utkinect xsub|loso; ...; npz provided|folds|5fold|loso``, from the registry
    (so that the help names every protocol there is)."""
    return "; ".join(f"{kind} {'|'.join(names)}" for kind, names in PROTOCOLS.items())


def preprocess_help() -> str:
    """The preprocessing dataclasses, one per dataset kind, from the registry."""
    return " / ".join(cls.__name__ for cls in _PREPROCESS.values())


def schedule_size(model: str, n1: int, n2: int) -> tuple[int, str]:
    """``(iterations, formula)`` of ``model``'s training schedule
    (:data:`stalib.schedule.SCHEDULES`): STA-LSTM (Algorithm 1) is ``5 x N1 + 3 x N2``."""
    stages = [s.iterations for s in SCHEDULES[model]]
    a = stages.count("N1") + stages.count("N")
    b = stages.count("N2") + stages.count("N")
    return a * n1 + b * n2, f"{a} x N1 + {b} x N2"


def _add_configuration_options(p: argparse.ArgumentParser) -> None:
    """The "training configuration" group of :func:`_add_run_options`: ``--config`` and the settings
    beyond Algorithm 1 (each default None: the configuration's value, else the paper's)."""
    config = p.add_argument_group(
        "training configuration", "beyond Algorithm 1 (every default is the paper's: none of it)")
    config.add_argument(
        "--from", dest="base", default=None, choices=tuple(CONFIGURATIONS), metavar="NAME",
        help="start from a named configuration's settings (`stalib configs` lists them): "
        + ", ".join(CONFIGURATIONS) + ". A flag beside it wins; the runs are then filed under "
        "the --config you name")
    config.add_argument("--schedule", default=None, choices=("staged", "joint"),
                        help="staged: the model's schedule (Algorithm 1 for the Fig. 7 models, "
                        "one stage for the CNNs); joint: one stage training every subnetwork "
                        "together for N1+N2 iterations or --epochs")
    config.add_argument("--epochs", type=int, default=None,
                        help="length of a one-stage schedule in passes over the training set "
                        "(instead of N1+N2 iterations)")
    config.add_argument("--lr-schedule", default=None,
                        choices=("constant", "cosine", "step"),
                        help="learning rate within each stage: constant (paper), cosine decay, "
                        "or step (x0.1 at 1/2 and 3/4)")
    config.add_argument("--warmup", type=float, default=0.0, metavar="SHARE",
                        help="linear warm-up over this share of each stage's iterations")
    config.add_argument("--weight-decay", type=float, default=None,
                        help="weight decay (default 0); decoupled (AdamW) unless "
                        "--weight-decay-mode l2")
    config.add_argument("--weight-decay-mode", default=None, choices=WEIGHT_DECAY_MODES,
                        help="decoupled: AdamW shrinks the weights by lr x W each step; l2: "
                        "Adam with W x w added to the gradient (torch.optim.Adam's "
                        "weight_decay), a far stronger pull at the same W (default decoupled)")
    config.add_argument("--l1-reading", default=None, choices=("sum", "mean"),
                        help="eq. (7)'s L1 term as lambda3 times the sum (paper) or the mean of "
                        "|w| over the weight matrices")
    config.add_argument("--augment-crop", type=float, default=None, metavar="C",
                        help="crop each training sequence in time to a random window of a share "
                        "in [1-C, 1] of its frames (default 0: off)")
    config.add_argument("--augment-crop-resize", action="store_true", default=None,
                        help="with --augment-crop: resample the cropped window back to the "
                        "sequence's length (crop-resize in time) instead of shortening it")
    config.add_argument("--augment-swap", action="store_true", default=None,
                        help="two-person data: swap the persons of a training sequence with "
                        "probability 1/2, then put it in the frame of the new person 1 (as "
                        "the preprocessing would have)")


def _add_run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dataset", required=True,
                   help=f"{DATASETS_SAID} (your own skeletons, see README)")
    p.add_argument("--model", default="sta-lstm", metavar="MODEL",
                   help=f"one of {', '.join(MODEL_NAMES)} (default sta-lstm)")
    p.add_argument("--protocol", default=None,
                   help=f"split protocol: {protocols_help()} (default: the first; npz: "
                   "provided with a 'split' array, folds with a 'fold' array, else 5fold)")
    p.add_argument("--data-root", default=None, help=DATA_ROOT_HELP)
    p.add_argument("--skip-bad", action="store_true",
                   help="skip malformed input files, each named in a warning and in the run's "
                   "record, instead of stopping at the first (default: stop with an error); "
                   "the run then trains on less than the whole dataset and its configuration says "
                   "so")
    p.add_argument("--n1", type=int, default=PAPER_N1,
                   help=f"Algorithm 1 N1 (default {PAPER_N1}); an STA-LSTM run is "
                   f"{schedule_size('sta-lstm', PAPER_N1, PAPER_N2)[1]} iterations "
                   f"({schedule_size('sta-lstm', PAPER_N1, PAPER_N2)[0]} by default); far fewer "
                   "finish sooner but leave the model near chance")
    p.add_argument("--n2", type=int, default=PAPER_N2,
                   help=f"Algorithm 1 N2 (default {PAPER_N2}); see --n1")
    p.add_argument("--batch-size", type=int, default=None,
                   help="default: the paper's (SBU 8, NTU 256), 8 otherwise")
    p.add_argument("--lr", type=float, default=None, help="Adam learning rate (default 1e-3)")
    for i in (1, 2, 3):
        p.add_argument(f"--lambda{i}", type=float, default=None,
                       help=f"eq. (7) lambda{i} (default: the paper's NTU value for ntu60, "
                       "its SBU value for every other dataset)")
    p.add_argument("--grad-clip", type=float, default=None, help="max gradient norm (off)")
    _add_configuration_options(p)
    p.add_argument("--augment-rotation", type=float, default=None, metavar="DEGREES",
                   help="turn each training sequence about the vertical axis by a random angle "
                   "up to this (default 0: off, as in the paper)")
    p.add_argument("--augment-scale", type=float, default=None, metavar="S",
                   help="scale each training sequence by a random factor in [1-S, 1+S] "
                   "(default 0: off)")
    p.add_argument("--preprocess", action="append", default=[], metavar="KEY=VALUE",
                   help="change a preprocessing setting of the dataset from the paper's, e.g. "
                   "--preprocess smooth=null (SBU without smoothing); the fields are those of "
                   f"stalib.data.transforms.{preprocess_help()} (npz: none is applied by "
                   "default) (repeatable)")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda (default auto)")
    p.add_argument("--bf16", action="store_true", help="bfloat16 autocast on CUDA")
    p.add_argument("--checkpoint-every", type=int, default=250,
                   help="iterations between checkpoints (default 250; one per stage too)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="model option, e.g. --set hidden=100 --set dropout=0.5 (repeatable)")
    p.add_argument("--config", default=None, metavar="NAME",
                   help="the configuration the runs are filed under: a named one (`stalib "
                   "configs`) takes its settings; a new name takes the flags' (default: 'paper' "
                   "for the paper's settings on sbu and ntu60; 'sbu-settings' for the same "
                   "defaults on other data, for which the paper gives none; else 'custom'); "
                   "e.g. --config l1-off --lambda3 0, or --config my-r1 --from r1 --lr 3e-3")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run")
    p.add_argument("--force", action="store_true", help="start again / replace existing results")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--threads", type=int, default=None,
                   help="torch CPU threads per process (the portable mode runs 1: more only "
                   "with --native)")
    p.add_argument("--native", action="store_true",
                   help="run outside the portable deterministic mode: the CPU's own vector "
                   "kernels (AVX-512 where it has them) and --threads; faster on some CPUs, but "
                   "the bits depend on the machine; rows say 'native' and stalib rerun skips "
                   "them (see stalib.determinism)")


def _overrides(pairs: list[str], flag: str = "--set", example: str = "dropout=0.3") -> dict:
    """``KEY=VALUE`` pairs as a dict; each VALUE is read as JSON when it is (``null``, ``3``)."""
    out = {}
    for pair in pairs:
        if "=" not in pair:
            raise ConfigError(f"{flag} {pair!r}: expected KEY=VALUE, e.g. {flag} {example}")
        key, value = pair.split("=", 1)
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def _config(args, fold: int, seed: int, val_fold: int | None = None) -> TrainConfig:
    check_model_name(args.model)

    if args.dataset not in FOLDERS and not args.dataset.startswith("npz:"):
        raise ConfigError(f"--dataset {args.dataset!r}: expected {DATASETS_SAID}")
    resolve_device(args.device)  # a CUDA device this install lacks: one line, before any work
    name = getattr(args, "config", None)
    base = getattr(args, "base", None) or (name if name in CONFIGURATIONS else None)
    configuration = settings_for(base, args.dataset) if base else {}
    paper = TrainConfig()

    def pick(name: str):
        """The flag's value when given, else the configuration's, else the paper's
        (TrainConfig's)."""
        value = getattr(args, name)
        return value if value is not None else configuration.get(name, getattr(paper, name))

    cfg = TrainConfig(
        dataset=args.dataset, model=args.model, protocol=args.protocol, fold=fold, seed=seed,
        val_fold=val_fold if val_fold is not None else getattr(args, "val_fold", None),
        n1=args.n1, n2=args.n2, batch_size=pick("batch_size"), lr=pick("lr"),
        lambda1=pick("lambda1"), lambda2=pick("lambda2"), lambda3=pick("lambda3"),
        grad_clip=args.grad_clip, device=args.device, bf16=args.bf16,
        checkpoint_every=args.checkpoint_every,
        model_overrides={**configuration.get("model_overrides", {}), **_overrides(args.set)},
        configuration=name if name is not None else base,
        augment_rotation=pick("augment_rotation"), augment_scale=pick("augment_scale"),
        augment_crop=pick("augment_crop"), augment_swap=pick("augment_swap"),
        augment_crop_resize=pick("augment_crop_resize"),
        schedule=pick("schedule"), epochs=pick("epochs"), lr_schedule=pick("lr_schedule"),
        warmup=args.warmup, weight_decay=pick("weight_decay"),
        weight_decay_mode=pick("weight_decay_mode"), l1_reading=pick("l1_reading"),
        preprocess={**configuration.get("preprocess", {}),
                    **_overrides(args.preprocess, "--preprocess", "smooth=null")},
        skip_bad=args.skip_bad,
    )
    if base:
        start = "" if getattr(args, "base", None) else f"start from it with --from {base} and "
        check_configuration(base, cfg, hint=f"{start}file it under a --config NAME of its own")
    elif name not in (None, *DEFAULT_CONFIGURATIONS) and not cfg.deviations():  # a typo, likely
        raise ConfigError(f"`configuration` {name!r}: not a named configuration (expected one of "
                          f"{', '.join(CONFIGURATIONS)}), and a new name needs a setting that "
                          "differs from the paper's")
    return cfg


def _threads(args) -> None:
    if args.threads is not None:
        _check_threads(args)
        torch.set_num_threads(args.threads)


def _check_threads(args) -> None:
    """``--threads`` is a positive count, and 1 in the portable mode (not ``--native``)."""
    if args.threads is None:
        return
    if args.threads < 1:
        raise ConfigError(f"--threads must be >= 1, got {args.threads}")
    if args.threads > 1 and not args.native:
        raise ConfigError(f"--threads {args.threads}: the portable deterministic mode runs one "
                          "thread per process (parallel runs: cv --jobs N); pass --native to "
                          "use more, with rows that other machines cannot repeat bit for bit")


def _check_outputs(args, cfg: TrainConfig) -> None:
    """Every output location of ``stalib train`` is usable, before any work (stalib.outputs)."""
    check_dir(args.out, "--out")
    if args.results:
        check_dir(results_file(args.results, cfg).parent, "--results")
    note = check_run_folder(args.out, resume=args.resume, force=args.force)
    if note:
        print(note, flush=True)


def cmd_train(args) -> int:
    """Train one run; under ``torchrun`` every process runs this, data-parallel.

    Only rank 0 writes the run folder and the results row; the other ranks run the same
    experiment into a temporary folder that is removed at the end (their checkpoint writes are
    skipped by the trainer, and on --resume they get rank 0's checkpoint from rank 0).
    """
    _threads(args)
    cfg = _config(args, args.fold, args.seed)
    if int(os.environ.get("RANK", "0") or 0) == 0:  # the process that writes
        _check_outputs(args, cfg)
        note = short_run_note(cfg)
        if note:
            print(note, flush=True)
    info = distributed.init(cfg.device)
    try:
        if not info.is_main:
            with tempfile.TemporaryDirectory(prefix=f"stalib-rank{info.rank}-") as tmp:
                run_experiment(cfg, Path(tmp) / "run", args.data_root, None, resume=args.resume,
                               force=True, progress=False)
            return 0
        exp = run_experiment(cfg, Path(args.out), args.data_root,
                             Path(args.results) if args.results else None, resume=args.resume,
                             force=args.force, progress=not args.quiet, native=args.native)
    finally:
        distributed.shutdown()
    r = exp.record
    print(f"{r.model} on {r.dataset} {r.protocol} fold {r.fold} seed {r.seed}: "
          f"{'validation' if cfg.val_fold else 'test'} accuracy {100 * r.accuracy:.2f}% "
          f"({r.n_test} sequences), train accuracy {100 * r.train_accuracy:.2f}% "
          f"({r.n_train}), "
          f"{r.iterations} iterations, {r.wall_time_s:.0f}s on {r.device}; saved {exp.out}")
    return 0


def short_run_note(cfg: TrainConfig) -> str | None:
    """The one rule for a run too short to mean much, said by ``train`` and ``cv`` alike: under half
    the full length of its schedule, the paper's N1 and N2 for Algorithm 1 (staged), the named
    configurations' epochs for one stage (joint); else None."""
    if cfg.schedule == "joint" or cfg.epochs is not None:
        full = CONFIGURATIONS["r1"]["epochs"]
        epochs = cfg.epochs if cfg.epochs is not None else 1
        if epochs * 2 > full:
            return None
        return (f"note: --epochs {epochs} is {100 * epochs / full:.0f}% of the {full} epochs of "
                "the named configurations: a quick check, expect an accuracy far below theirs")
    paper, _ = schedule_size(cfg.model, PAPER_N1, PAPER_N2)
    total, formula = schedule_size(cfg.model, cfg.n1, cfg.n2)
    if total * 2 > paper:
        return None
    return (f"note: --n1 {cfg.n1} --n2 {cfg.n2} is {total} iterations of {cfg.model} ({formula}), "
            f"{100 * total / paper:.0f}% of the paper's {paper}: a quick check, expect an "
            "accuracy far below the paper's (near chance for the attention models)")


def _check_cv_process(args) -> None:
    """``--jobs`` resolved for the device, ``--threads`` checked, and not under torchrun."""
    args.jobs = resolve_jobs(args.jobs, args.device)
    _check_threads(args)
    if int(os.environ.get("WORLD_SIZE", "1") or 1) > 1:
        raise ConfigError("stalib cv does not run under torchrun: run `torchrun ... -m stalib "
                          "train --fold F --seed S` per run, or `stalib cv --jobs N`")


def cmd_cv(args) -> int:
    _check_cv_process(args)

    seeds = _int_list(args.seeds, "--seeds")
    base = _config(args, 1, seeds[0])
    results = Path(args.results)
    csv_path = results_file(results, _config(args, 1, seeds[0], 2 if args.validation else None))
    out_root = Path(args.out) if args.out else (
        Path("runs") / dataset_key(args.dataset) / protocol_of(base)
        / model_folder(args.model, base.configuration_name, base.settings_hash()))
    check_dir(out_root, "--out")  # before the data is loaded: nothing is lost on a bad path
    check_dir(csv_path.parent, "--results")
    data = load_data_for(base, args.data_root)  # as its runs load it: one load serves both
    n = num_folds(base, data)
    folds = checked_folds(base, data, _int_list(args.folds, "--folds") if args.folds else None)
    if args.validation and n == 2:
        raise ConfigError(f"--validation needs one fixed split or at least 3 folds (train, "
                          f"validation, test); {args.dataset} {protocol_of(base)} has {n}")
    # (test fold, validation fold): k-fold protocols pair fold k with fold k+1; a one-split
    # protocol holds out each training group (subject) in turn
    pairs = ([p for p in validation_folds(base, data) if p[0] in folds] if args.validation
             else [(f, None) for f in folds])
    runs, skipped = [], 0
    mode = NATIVE if args.native else PORTABLE
    check_dataset_identity(csv_path, base, dataset_identity(base))
    for seed in seeds:
        for fold, val in pairs:
            cfg = _config(args, fold, seed, val)
            if has_record(csv_path, record_key(cfg), mode) and not args.force:
                if args.resume:
                    skipped += 1
                    continue
                raise StalibError(f"{csv_path}: fold {fold} seed {seed} of {args.model} is done "
                                  f"already ({mode} mode); --resume skips finished folds, --force "
                                  "redoes them")
            name = f"fold{fold}-seed{seed}" if val is None else f"fold{fold}-val{val}-seed{seed}"
            check_run_folder(out_root / name, resume=False, force=args.force)
            runs.append(PlannedRun(cfg, out_root / name))
    if skipped:
        print(f"{skipped} finished run(s) already in {csv_path}: skipped")
    if runs:
        print(f"{len(runs)} run(s) into {out_root}/ (a folder per fold and seed)", flush=True)
        note = short_run_note(base)
        if note:
            print(note, flush=True)
    how = Execution(jobs=args.jobs, data_root=args.data_root, results_dir=results,
                    resume=args.resume, force=args.force,
                    progress=not args.quiet and args.jobs == 1, native=args.native,
                    threads=args.threads or (1 if args.jobs > 1 or not args.native
                                             else max(1, os.cpu_count() or 1)))
    failures = []
    for res in execute(runs, how):
        if "error" in res:
            failures.append(res)
            print(f"fold {res['fold']} seed {res['seed']}: FAILED: {res['error']}", file=sys.stderr)
        else:
            print(f"fold {res['fold']} seed {res['seed']}: accuracy {100 * res['accuracy']:.2f}%",
                  flush=True)
    _print_summary(csv_path, args.model, protocol_of(base), base.configuration_name,
                   args.validation)
    if failures:
        raise StalibError(f"{len(failures)} of {len(runs)} run(s) failed (see above)")
    return 0


def _print_summary(csv_path: Path, model: str, protocol: str, configuration: str,
                   validation: bool = False) -> None:
    acc = [float(r["accuracy"]) for r in read_records(csv_path)
           if r["model"] == model and r["configuration"] == configuration and (
               r["protocol"].startswith(protocol + ":val") if validation
               else r["protocol"] == protocol)]
    if validation:
        protocol += " validation"
    if acc:
        print(f"{model} ({configuration}) {protocol}: {100 * np.mean(acc):.2f} +- "
              f"{100 * np.std(acc):.2f}% "
              f"over {len(acc)} run(s) in {csv_path}")


def _int_list(text: str, what: str) -> list[int]:
    """``"0,1,2"`` -> ``[0, 1, 2]``: comma-separated whole numbers, none empty, none twice (a
    seed or fold given twice would run the same run twice)."""
    parts = [v.strip() for v in text.split(",")]
    if not text.strip():
        raise ConfigError(f"{what} is empty: expected comma-separated integers, e.g. 0,1,2")
    if "" in parts:
        raise ConfigError(f"{what} {text!r}: an empty entry between commas; expected "
                          "comma-separated integers, e.g. 0,1,2")
    try:
        values = [int(v) for v in parts]
    except ValueError:
        raise ConfigError(
            f"{what} {text!r}: expected comma-separated integers, e.g. 0,1,2") from None
    twice = sorted({v for v in values if values.count(v) > 1})
    if twice:
        raise ConfigError(f"{what} {text!r}: {', '.join(map(str, twice))} given twice")
    return values


def cmd_predict(args) -> int:
    # here, not at the top: predict draws with matplotlib (about 0.35 s at every command)
    from stalib.predict import predict_file

    return predict_file(args.checkpoint, args.file, top=args.top, plot=args.plot,
                        device=args.device, window=args.window, stride=args.stride,
                        index=args.index)


def register(sub) -> None:
    p = sub.add_parser("train", help="train one model on one fold",
                       description="Train one model on one fold with one seed (Algorithm 1). "
                       "Data-parallel: torchrun --nproc_per_node N -m stalib train ... (each "
                       "process takes its slice of every --batch-size batch; rank 0 writes).")
    _add_run_options(p)
    p.add_argument("--fold", type=int, default=1, help="1-based fold of the protocol (default 1)")
    p.add_argument("--val-fold", type=int, default=None, metavar="J",
                   help="inner validation for choosing settings: train on --fold's training part "
                   "without fold J and evaluate on fold J (never on the test fold); --results "
                   "files it in RESULTS/<dataset>/validation.csv, never in cv.csv")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="run folder: checkpoint, model.pt, metrics.json")
    p.add_argument("--results", default=None,
                   help="also add a row to RESULTS/<dataset>/cv.csv (validation.csv with "
                   "--val-fold; off by default)")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("cv", help="cross-validate: every fold x seed",
                       description="Run every fold of the protocol for each seed and record the "
                       "results in RESULTS/<dataset>/cv.csv.")
    _add_run_options(p)
    p.add_argument("--seeds", default="0,1,2", help="comma-separated seeds (default 0,1,2)")
    p.add_argument("--folds", default=None, help="comma-separated folds (default all)")
    p.add_argument("--out", default=None,
                   help="runs folder (default runs/<dataset>/<protocol>/<model>)")
    p.add_argument("--results", default="results", help="results folder (default results/)")
    add_jobs_option(p)
    p.add_argument("--validation", action="store_true",
                   help="inner validation for choosing settings: for each fold k, train on its "
                   "training part without fold k+1 (fold 1 after the last) and evaluate on "
                   "fold k+1, never on the test fold k; on a one-split protocol (UTKinect "
                   "xsub) hold out each training subject in turn; rows go to "
                   "RESULTS/<dataset>/validation.csv")
    p.set_defaults(func=cmd_cv)

    p = sub.add_parser("predict", help="classify one skeleton file with a trained model",
                       description="Print the top classes of one skeleton file and optionally "
                       "draw its attention.")
    p.add_argument("checkpoint", help="model.pt written by stalib train / cv")
    p.add_argument("file", help="a skeleton file of the model's dataset format")
    p.add_argument("--top", type=int, default=5)
    p.add_argument("--plot", default=None, metavar="OUT.png",
                   help="draw the spatial attention alpha at the frame where the temporal "
                   "attention rises most (the peak of beta_t - beta_(t-1), Fig. 5a's rule; the "
                   "largest joint weight without temporal attention) and beta of the whole "
                   "sequence (.png, .pdf, .svg, ...)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--window", type=int, default=None, metavar="FRAMES",
                   help="also classify a long recording window by window (a raw UTKinect file "
                   "holds ten actions) and print its segments")
    p.add_argument("--stride", type=int, default=None, metavar="FRAMES",
                   help="frames between windows (default half the window)")
    p.add_argument("--index", type=int, default=0, metavar="I",
                   help="--plot: the sequence of the file to draw (default 0, the first)")
    p.set_defaults(func=cmd_predict)
