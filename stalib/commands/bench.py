"""``stalib bench``: step, data-path, sweep and grid timings (see :mod:`stalib.tools.bench`)."""

from __future__ import annotations

import argparse
import tempfile

import torch

from stalib.config import CONFIGURATIONS
from stalib.data.root import resolve_data_root
from stalib.errors import ConfigError
from stalib.outputs import check_file
from stalib.report import selection
from stalib.report.reproduce import execute_notebook, project_root
from stalib.tools import bench, rehearsal


def _names(text: str | None, known, what: str) -> tuple[str, ...] | None:
    if text is None:
        return None
    names = tuple(v.strip() for v in text.split(",") if v.strip())
    bad = [n for n in names if n not in known]
    if bad or not names:
        raise ConfigError(f"{what} {text!r}: expected a comma-separated list of "
                          f"{', '.join(known)}")
    return names


def cmd_bench(args) -> int:
    if args.json:  # before the timings (minutes to hours), not after them
        check_file(args.json, "--json")
    if args.threads < 0:
        raise ConfigError(f"--threads must be >= 0 (0: torch's default), got {args.threads}")
    if args.repeats is not None and args.repeats < 1:
        raise ConfigError(f"--repeats must be >= 1, got {args.repeats}")
    if args.grid_jobs < 1:
        raise ConfigError(f"--grid-jobs must be >= 1, got {args.grid_jobs}")
    modes = sum(map(bool, (args.sweep, args.grid, args.ntu_rehearsal)))
    if modes > 1:
        raise ConfigError("--sweep, --grid and --ntu-rehearsal are separate runs: give one of "
                          "them")
    if args.ntu_rehearsal is not None:
        doc = _rehearse(args)
    elif args.grid:
        doc = bench.run_grid_timing(args.grid_dataset, args.data_root, seed=args.grid_seed,
                                    n1=args.grid_n1, n2=args.grid_n2, device=args.device
                                    if args.device != "all" else "cpu",
                                    threads=args.threads, jobs=args.grid_jobs,
                                    note=args.note)
        print(f"Fig. 7 grid on {doc['dataset']} (seed {doc['seed']}, {len(doc['runs'])} runs, "
              f"{doc['jobs']} process(es)): {doc['total_wall_s']:.0f} s")
    elif args.sweep:
        doc = bench.run_sweep(quick=args.quick, device=args.device, threads=args.threads,
                              note=args.note)
        print(f"sweep: {len(doc['rows'])} points in {doc['duration_s']} s")
    else:
        settings = bench.BenchSettings.for_mode(
            args.quick, shapes=_names(args.shapes, bench.SHAPES, "--shapes"),
            models=_names(args.models, bench.MODELS, "--models"), device=args.device,
            bf16=args.bf16, repeats=args.repeats, threads=args.threads)
        doc = bench.run_bench(settings, data=not args.no_data, data_root=args.data_root,
                              note=args.note)
        m = doc["machine"]
        print()
        print(f"training step, median of {settings.repeats} repeats after warm-up; "
              f"torch {m['torch']}, {m['torch_threads']} thread(s), {m['cpu_count']} CPUs "
              f"(load average {doc['load_average_start']}), "
              f"{'quick mode' if settings.quick else 'full mode'}")
        print(bench.format_table(doc))
        targets = bench.format_targets(doc)
        if targets:
            print(targets)
    if args.json:
        path = bench.write_json(doc, args.json)
        print(f"wrote {path}")
    return 0


def _rehearse(args) -> dict:
    """``--ntu-rehearsal N``: the NTU path on N generated files (:mod:`stalib.tools.rehearsal`)."""
    if args.ntu_rehearsal < 1:
        raise ConfigError(f"--ntu-rehearsal must be >= 1 (files to generate), got "
                          f"{args.ntu_rehearsal}")
    if args.config is not None and args.config not in CONFIGURATIONS:
        raise ConfigError(f"--config {args.config!r}: expected one of "
                          f"{', '.join(CONFIGURATIONS)}")
    models = list(_names(args.models, rehearsal.MODELS, "--models") or rehearsal.DEFAULT_MODELS)
    device = args.device if args.device != "all" else (
        "cuda" if torch.cuda.is_available() else "cpu")
    root = resolve_data_root(args.data_root)
    configuration = args.config or selection.FAMILIES["fig7"].recorded
    with tempfile.TemporaryDirectory(prefix="stalib-rehearsal-") as tmp:
        doc = rehearsal.run(args.rehearsal_dir or tmp, args.ntu_rehearsal, root, models,
                            configuration, execute=lambda params, out: execute_notebook(
                                project_root() / "notebooks" / "fig7.ipynb", out, params),
                            device=device)
    if args.note:
        doc["note"] = args.note
    print(rehearsal.format_summary(doc))
    return doc


def register(sub) -> None:
    p = sub.add_parser(
        "bench", help="time training steps, the data path, a sweep or the SBU grid",
        description="Time a training step (forward + backward + Adam) of LSTM, STA-LSTM, the "
        "per-step reference STA-LSTM and CSTA-CNN at the SBU and NTU shapes, on CPU and CUDA "
        "when present, and the data path (NTU parsers, cache memory, batch waiting). "
        "--sweep times steps against sequence length and batch size; --grid trains and times "
        "the whole Fig. 7 grid (hours).")
    p.add_argument("--quick", action="store_true",
                   help="fewer repeats and a smaller NTU shape (batch 32, 100 frames), for CI")
    p.add_argument("--json", default=None, metavar="FILE", help="also write the results here")
    p.add_argument("--sweep", action="store_true",
                   help="step time vs sequence length and batch size (for the book's plot)")
    p.add_argument("--grid", action="store_true",
                   help="train and time the Fig. 7 grid: six models x every fold, one seed")
    p.add_argument("--device", default="all", help="cpu, cuda or all (default: all present)")
    p.add_argument("--bf16", action="store_true", help="also time bfloat16 autocast on CUDA")
    p.add_argument("--threads", type=int, default=1,
                   help="torch CPU threads (default 1: stable numbers on a shared machine; "
                        "0: torch's default)")
    p.add_argument("--native", action="store_true",
                   help="time the CPU's own kernels (AVX-512 where it has them), outside the "
                   "portable deterministic mode every row-writing run uses: the mode's cost")
    p.add_argument("--shapes", default=None, help="comma-separated: sbu, ntu, ntu-quick")
    p.add_argument("--models", default=None,
                   help="comma-separated: lstm, sta-lstm, sta-lstm-reference, csta-cnn")
    p.add_argument("--repeats", type=int, default=None, help="timed repeats per row")
    p.add_argument("--no-data", action="store_true", help="skip the data-path measurements")
    p.add_argument("--data-root", default=None,
                   help="data root, as for stalib train: NTU/ (or NTU-samples/) for the parser "
                   "timing, SBU/ for --grid (default: $STALIB_DATA)")
    p.add_argument("--note", default=None, help="a remark stored in the JSON (e.g. the load)")
    p.add_argument("--grid-dataset", default="sbu", help=argparse.SUPPRESS)
    p.add_argument("--grid-seed", type=int, default=0, help="--grid: the seed (default 0)")
    p.add_argument("--grid-n1", type=int, default=None, help="--grid: N1 (default the paper's)")
    p.add_argument("--grid-n2", type=int, default=None, help="--grid: N2 (default the paper's)")
    p.add_argument("--grid-jobs", type=int, default=2,
                   help="--grid: runs trained side by side, one torch thread each (default 2, "
                   "the 2 cores of the target laptop)")
    p.add_argument("--ntu-rehearsal", type=int, default=None, metavar="N",
                   help="rehearse the NTU RGB+D path on N generated .skeleton files built from "
                   "the real samples: cache build, one epoch of each model (--models; default "
                   "lstm,sta-lstm) at the chosen configuration on --device, the Fig. 7 "
                   "notebook; extrapolated to the full 56,880 files")
    p.add_argument("--rehearsal-dir", default=None, metavar="DIR",
                   help="--ntu-rehearsal: keep the tree, cache, rows and executed notebook here "
                   "(default: a temporary folder, removed after)")
    p.add_argument("--config", default=None, metavar="NAME",
                   help="--ntu-rehearsal: the named configuration (default: the Fig. 7 "
                   "family's choice on validation)")
    p.set_defaults(func=cmd_bench)

