"""How many worker processes share a machine: ``--jobs N`` or ``--jobs auto``.

Parallelism comes from processes, each of one thread in the portable deterministic mode
(:mod:`stalib.determinism`): threads inside one run change its bits, processes do not. On a
CPU, ``auto`` is one worker per usable core. On a GPU, the workers share the device and each
still needs a CPU core for its batches and Python: ``auto`` is half the usable cores (measured on
an H200 with 16 cores: 7 SBU runs side by side with 2 threads each took 38 s in all, against
about 200 s each with torch's default thread count).
"""

from __future__ import annotations

import argparse
import os

AUTO = "auto"


def jobs_arg(text: str) -> int | str:
    """argparse type of ``--jobs``: a count >= 1, or ``auto``."""
    if text == AUTO:
        return AUTO
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a number of worker processes "
                                         ">= 1, or auto") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1 (or auto), got {value}")
    return value


def add_jobs_option(parser: argparse.ArgumentParser) -> None:
    """``--jobs N|auto`` of the commands that run several trainings (cv, reproduce, rerun)."""
    parser.add_argument("--jobs", type=jobs_arg, default=1, metavar="N",
                        help="worker processes side by side, one thread each (default 1); "
                        "auto: one per usable core, half as many on a GPU (stalib.workers)")


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS
        return os.cpu_count() or 1


def resolve_jobs(jobs: int | str, device: str = "cpu") -> int:
    """``jobs`` as a count: ``auto`` is the usable cores on a CPU, half of them on a GPU
    (``device`` cuda, or auto with one present)."""
    if jobs != AUTO:
        return int(jobs)
    cores = usable_cores()
    gpu = str(device).startswith("cuda")
    if str(device) == "auto":
        import torch

        gpu = torch.cuda.is_available()
    return max(1, cores // 2) if gpu else cores
