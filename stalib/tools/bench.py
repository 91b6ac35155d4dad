"""Performance measurements: ``stalib bench`` (training steps, data path, sweep, SBU grid).

**Training step** (:func:`run_bench`). One step is what the trainer does per iteration: forward,
the loss of the model (eq. (7) for the LSTM models, cross-entropy + attention term for
CSTA-CNN), backward and an Adam step, with every parameter trained (the architecture of
Algorithm 1's last step: 3-layer main LSTM, both attentions on). Models: the plain 3-layer LSTM,
STA-LSTM, the per-step reference STA-LSTM (:mod:`stalib.models.reference`: same parameters,
Python loop over time and hand-written cells) and CSTA-CNN, all at their default sizes. Inputs
are random, and every sequence has all ``T`` frames (the padded worst case). Each (device, shape,
model) is warmed up, then timed ``repeats`` times over ``inner`` steps (``inner`` chosen so that
one repeat lasts about ``min_repeat_s``); the reported time is the median over the repeats of the
mean step time, and ``seq/s = batch / step time``. On CUDA the device is synchronised before each
clock reading.

Shapes: SBU (batch 8, 46 frames, 30 joints = 2 persons x 15, 8 classes) and NTU (batch 256, 300
frames, 50 joints = 2 x 25, 60 classes), the batch sizes of section 5.1. ``--quick`` replaces NTU by
a smaller configuration (batch 32, 100 frames), labelled as such, and repeats less.

**Data path** (:func:`run_data_bench`): the vectorised NTU parser against the line-by-line
reference on the same files (the real samples of the data root when there is one, and files
generated with :func:`stalib.data.ntu.format_skeleton`); the peak memory of an NTU cache build for
two numbers of generated files (each build in a fresh subprocess); the cost of each training-time
augmentation (:func:`augment_cost`); and the share of a training iteration spent waiting for the
batch (``BatchStream`` padding, with and without the augmentations, the copy to the device)
against the compute, at the SBU and NTU shapes.

**Sweep** (:func:`run_sweep`): step time against sequence length (batch fixed) and against
batch size (length fixed) at NTU's joints and classes, for the book's performance chapter.

**Grid** (:func:`run_grid_timing`): the wall time of the whole Fig. 7 SBU grid (six models x 5
folds, one seed) trained here with the paper's settings, into a temporary folder.

Threads: ``threads=1`` by default. On a machine whose cores are busy with other work (as here,
where the training grid runs beside it), several OpenMP threads wait for each other and the
timings scatter by 10x; one thread gives stable, comparable numbers. ``threads=0`` keeps
torch's default. The load average at the start and end is recorded with every result.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from stalib import catalogue
from stalib.checkpoint import write_json_atomic
from stalib.config import PAPER_N1, PAPER_N2, TrainConfig
from stalib.data.augment import Augment, PersonSwap
from stalib.data.batching import Batch, pad_batch
from stalib.data.core import SkeletonSet
from stalib.data.ntu import NTU_JOINTS, format_skeleton, parse_skeleton, parse_skeleton_reference
from stalib.data.registry import preprocess_settings
from stalib.data.root import resolve_data_root
from stalib.data.stream import BatchStream, Loader
from stalib.determinism import current as determinism_mode
from stalib.errors import ConfigError, DataRootError, FormatError
from stalib.experiment import load_data, make_loss, num_folds
from stalib.grid import Execution, PlannedRun, execute
from stalib.models import build_model
from stalib.models.reference import reference_forward
from stalib.results import cpu_description, cpu_name
from stalib.results import git_commit as commit
from stalib.results import utc_now as now

KIND = "stalib-bench"
SWEEP_KIND = "stalib-sweep"
GRID_KIND = "stalib-grid-timing"
FORMAT_VERSION = 1

#: Targets of the performance issue, checked in the report (never enforced).
TARGET_STA_OVER_LSTM = 1.5  # STA-LSTM step <= 1.5 x plain LSTM step
TARGET_REFERENCE_OVER_STA = 3.0  # STA-LSTM >= 3 x faster than the per-step reference (NTU)


@dataclass(frozen=True)
class Shape:
    key: str
    label: str
    batch: int
    frames: int
    joints: int  # all persons together
    persons: int
    classes: int
    dataset: str  # whose eq. (7) weights the loss uses

    @property
    def describe(self) -> str:
        return f"{self.batch} x {self.frames} frames x {self.joints} joints, {self.classes} classes"


SHAPES: dict[str, Shape] = {
    "sbu": Shape("sbu", "SBU", 8, 46, 30, 2, 8, "sbu"),
    "ntu": Shape("ntu", "NTU", 256, 300, 50, 2, 60, "ntu60"),
    "ntu-quick": Shape("ntu-quick", "NTU quick configuration (batch 32, 100 frames)", 32, 100, 50,
                       2,
                       60, "ntu60"),
}

MODELS: dict[str, str] = {
    "lstm": "LSTM (3 layers)",
    "sta-lstm": "STA-LSTM",
    "sta-lstm-reference": "STA-LSTM, per-step reference",
    "csta-cnn": "CSTA-CNN",
}


# ----------------------------------------------------------------------------- machine
def git_commit() -> str:
    return commit()


def load_average() -> list[float] | None:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:  # pragma: no cover - not on Linux/macOS
        return None


def machine_info() -> dict:
    """CPU count, torch threads, devices, versions: what the numbers depend on."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS
        usable = os.cpu_count()
    info = {
        "cpu": cpu_name(), "cpu_description": cpu_description(), "cpu_count": os.cpu_count(),
        "cpu_usable": usable,
        "torch_threads": torch.get_num_threads(), "torch": torch.__version__,
        "numpy": np.__version__, "python": platform.python_version(),
        "platform": platform.platform(), "mkldnn": torch.backends.mkldnn.is_available(),
        "cuda_available": torch.cuda.is_available(), "devices": {"cpu": cpu_name()},
        "determinism": determinism_mode().text(),
    }
    if torch.cuda.is_available():
        info["cuda"] = torch.version.cuda
        info["devices"]["cuda"] = torch.cuda.get_device_name(0)
    return info


def utc_now() -> str:
    return now()


def set_threads(threads: int) -> None:
    if threads < 0:
        raise ValueError(f"threads must be >= 0, got {threads}")
    if threads:
        torch.set_num_threads(threads)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def devices_to_run(which: str) -> list[torch.device]:
    """``cpu``, ``cuda`` or ``all`` (CPU, and CUDA when there is one)."""
    if which == "all":
        return [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available()
                                        else [])
    if which == "cpu":
        return [torch.device("cpu")]
    if which == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError("`device` cuda: CUDA is not available on this machine")
        return [torch.device("cuda")]
    raise ConfigError(f"`device` {which!r}: expected cpu, cuda or all")


# ----------------------------------------------------------------------------- one step
def make_step(model_name: str, shape: Shape, device: torch.device, bf16: bool = False,
              frames: int | None = None, batch: int | None = None) -> Callable[[], None]:
    """A function doing one training step of ``model_name`` on a fixed random batch."""
    if model_name not in MODELS:
        raise ValueError(f"unknown bench model {model_name!r}; expected one of {list(MODELS)}")
    B = batch or shape.batch
    T = frames or shape.frames
    reference = model_name == "sta-lstm-reference"
    arch = "sta-lstm" if reference else model_name
    torch.manual_seed(0)
    model = build_model(arch, shape.joints, shape.classes, shape.persons).to(device).train()
    loss_fn = make_loss(TrainConfig(dataset=shape.dataset, model=arch, device="cpu"))
    g = torch.Generator().manual_seed(0)
    x = torch.randn(B, T, shape.joints, 3, generator=g).to(device)
    mask = torch.ones(B, T, dtype=torch.bool, device=device)
    labels = torch.randint(shape.classes, (B,), generator=g).to(device)
    lengths = torch.full((B,), T, dtype=torch.int64, device=device)
    batch_ = Batch(x, mask, lengths, labels, torch.arange(B, device=device))
    if reference:
        def forward(x, mask):
            return reference_forward(model, x, mask)
    else:
        forward = model
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    autocast = (torch.autocast("cuda", dtype=torch.bfloat16) if bf16 and device.type == "cuda"
                else contextlib.nullcontext())

    def step() -> None:
        with autocast:
            out = forward(batch_.x, batch_.mask)
            loss = loss_fn(model, out, batch_)["total"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step


def time_fns(fns: dict[str, Callable[[], None]], device: torch.device, warmup: int,
             repeats: int, min_repeat_s: float, budget_s: float = 60.0) -> dict[str, dict]:
    """Per function: the median over ``repeats`` of the mean time of ``inner`` calls.

    The functions are timed *interleaved* (one repeat of each in turn, ``repeats`` rounds), so
    that a change in the machine's load during the run hits every function alike and the ratios
    between them stay meaningful on a shared machine. ``inner`` is chosen per function so that
    one repeat lasts about ``min_repeat_s``; warm-up calls are not timed. When ``repeats`` rounds
    would take longer than ``budget_s``, fewer are run, but at least 3.

    Why not ``torch.utils.benchmark.Timer``: it does warm-up, block sizes, device sync and
    threads as well, but measures one statement to the end before the next, so a change of load
    on a shared machine lands on one model and skews the ratios the report checks; it reads one
    clock (the CPU time per step recorded here needs a second run); and it has no budget shared
    by the functions. Threads are set once for the whole bench (:func:`set_threads`).
    """
    one: dict[str, float] = {}
    for name, fn in fns.items():
        for _ in range(max(1, warmup)):
            _sync(device)
            t0 = time.perf_counter()
            fn()
            _sync(device)
            one[name] = time.perf_counter() - t0
    inner = {n: max(1, math.ceil(min_repeat_s / max(t, 1e-6))) for n, t in one.items()}
    round_s = sum(inner[n] * one[n] for n in fns)
    repeats = max(min(repeats, 3), min(repeats, int(budget_s / max(round_s, 1e-6))))
    samples: dict[str, list[float]] = {n: [] for n in fns}
    cpu: dict[str, list[float]] = {n: [] for n in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            _sync(device)
            t0, c0 = time.perf_counter(), time.process_time()
            for _ in range(inner[name]):
                fn()
            _sync(device)
            samples[name].append((time.perf_counter() - t0) / inner[name])
            cpu[name].append((time.process_time() - c0) / inner[name])
    return {n: {"median_s": statistics.median(samples[n]), "samples_s": samples[n],
                "cpu_median_s": statistics.median(cpu[n]), "cpu_samples_s": cpu[n],
                "inner": inner[n], "warmup": max(1, warmup), "repeats": repeats} for n in fns}


@dataclass
class BenchSettings:
    quick: bool = False
    shapes: tuple[str, ...] = ("sbu", "ntu")
    models: tuple[str, ...] = tuple(MODELS)
    device: str = "all"
    bf16: bool = False
    warmup: int = 1
    repeats: int = 5
    min_repeat_s: float = 0.3
    budget_s: float = 120.0  # per (device, shape): fewer repeats (>= 3) for slow steps
    threads: int = 1

    @classmethod
    def for_mode(cls, quick: bool, **kw) -> BenchSettings:
        base = (dict(shapes=("sbu", "ntu-quick"), repeats=3, min_repeat_s=0.1, budget_s=20.0)
                if quick else dict(shapes=("sbu", "ntu"), repeats=5, min_repeat_s=0.3,
                                   budget_s=120.0))
        base.update({k: v for k, v in kw.items() if v is not None})
        return cls(quick=quick, **base)


def step_rows(settings: BenchSettings, log: Callable[[str], None] = print) -> list[dict]:
    rows = []
    for device in devices_to_run(settings.device):
        precisions = ["fp32"] + (["bf16"] if settings.bf16 and device.type == "cuda" else [])
        for precision in precisions:
            for key in settings.shapes:
                shape = SHAPES[key]
                steps = {name: make_step(name, shape, device, bf16=precision == "bf16")
                         for name in settings.models}
                timed = time_fns(steps, device, settings.warmup, settings.repeats,
                                 settings.min_repeat_s, settings.budget_s)
                del steps
                for name, t in timed.items():
                    ms = 1000 * t["median_s"]
                    rows.append({
                        "device": device.type, "device_name": _device_name(device),
                        "precision": precision, "shape": key, "shape_label": shape.label,
                        "batch": shape.batch, "frames": shape.frames, "joints": shape.joints,
                        "classes": shape.classes, "model": name, "model_label": MODELS[name],
                        "step_ms": round(ms, 3),
                        "seq_per_s": round(shape.batch / t["median_s"], 2),
                        "samples_ms": [round(1000 * s, 3) for s in t["samples_s"]],
                        "cpu_ms": round(1000 * t["cpu_median_s"], 3),
                        "cpu_samples_ms": [round(1000 * s, 3) for s in t["cpu_samples_s"]],
                        "inner": t["inner"], "warmup": t["warmup"], "repeats": t["repeats"],
                    })
                    log(f"  {device.type:4s} {precision} {shape.label:>8.8s} {name:<20s} "
                        f"{ms:10.1f} ms/step")
                if device.type == "cuda":
                    torch.cuda.empty_cache()
    return rows


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return cpu_name()


def ratios(rows: Sequence[dict], shape: str, device: str = "cpu",
           precision: str = "fp32") -> dict:
    """Step-time ratios ``sta_over_lstm`` and ``reference_over_sta`` at one shape.

    ``*`` = ratio of the median wall times; ``*_paired`` = median over the interleaved rounds of
    the ratio within a round (robust to a load that drifts between rounds); ``*_cpu`` = ratio of
    the median process CPU times (robust to waiting for a busy CPU; meaningful on CPU only).
    """
    by = {r["model"]: r for r in rows
          if r["shape"] == shape and r["device"] == device and r["precision"] == precision}
    out: dict = {"shape": shape, "device": device, "precision": precision}
    for key, num, den in (("sta_over_lstm", "sta-lstm", "lstm"),
                          ("reference_over_sta", "sta-lstm-reference", "sta-lstm")):
        if num in by and den in by:
            a, b = by[num], by[den]
            out[key] = round(a["step_ms"] / b["step_ms"], 3)
            if a.get("samples_ms") and len(a["samples_ms"]) == len(b.get("samples_ms", [])):
                out[f"{key}_paired"] = round(statistics.median(
                    x / y for x, y in zip(a["samples_ms"], b["samples_ms"], strict=True)), 3)
            if a.get("cpu_ms") and b.get("cpu_ms"):
                out[f"{key}_cpu"] = round(a["cpu_ms"] / b["cpu_ms"], 3)
    return out


def ntu_shape_of(settings: BenchSettings) -> str | None:
    return next((s for s in settings.shapes if s.startswith("ntu")), None)


def run_bench(settings: BenchSettings, data: bool = True, data_root: str | None = None,
              note: str | None = None, log: Callable[[str], None] = print) -> dict:
    """Every measurement of ``stalib bench`` as one JSON-able dict."""
    set_threads(settings.threads)
    started = time.perf_counter()
    doc = {"kind": KIND, "version": FORMAT_VERSION, "quick": settings.quick,
           "timestamp": utc_now(), "git_commit": git_commit(), "note": note,
           "load_average_start": load_average(), "machine": machine_info(),
           "settings": asdict(settings),
           "targets": {"sta_over_lstm_max": TARGET_STA_OVER_LSTM,
                       "reference_over_sta_min": TARGET_REFERENCE_OVER_STA}}
    log("training steps (forward + backward + Adam):")
    rows = step_rows(settings, log)
    doc["rows"] = rows
    ntu = ntu_shape_of(settings)
    per_device = {}
    for device in sorted({r["device"] for r in rows}):
        for precision in sorted({r["precision"] for r in rows if r["device"] == device}):
            per_device[f"{device}-{precision}"] = {
                s: ratios(rows, s, device, precision) for s in settings.shapes}
    doc["ratios"] = per_device
    top = ratios(rows, ntu, "cpu") if ntu else {}
    doc["ratio_shape"] = ntu
    for key in ("sta_over_lstm", "reference_over_sta"):
        for suffix in ("", "_paired", "_cpu"):
            doc[key + suffix] = top.get(key + suffix)
    if data:
        log("data path:")
        doc["data"] = run_data_bench(settings, data_root, log)
    doc["load_average_end"] = load_average()
    doc["duration_s"] = round(time.perf_counter() - started, 1)
    return doc


# ----------------------------------------------------------------------------- data path
def ntu_file_name(i: int) -> str:
    """A distinct valid NTU file name for the ``i``-th generated file."""
    return (f"S{1 + i // 6000:03d}C{1 + (i // 3000) % 2:03d}P{1 + (i // 60) % 50:03d}"
            f"R001A{1 + i % 60:03d}.skeleton")


def write_ntu_files(folder: Path, n: int, frames: int = 60, bodies: int = 1, templates: int = 8,
                    seed: int = 0) -> list[Path]:
    """``n`` generated ``.skeleton`` files (``templates`` distinct contents, distinct names)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    texts = []
    for _ in range(min(n, templates)):
        base = rng.normal(0, 0.3, (bodies, NTU_JOINTS, 3)) + np.array([0.0, 0.0, 3.0])
        walk = np.cumsum(rng.normal(0, 0.01, (frames, bodies, NTU_JOINTS, 3)), axis=0)
        texts.append(format_skeleton([[(72057594037931101 + b, base[b] + walk[f, b])
                                       for b in range(bodies)] for f in range(frames)]))
    paths = []
    for i in range(n):
        path = folder / ntu_file_name(i)
        path.write_text(texts[i % len(texts)])
        paths.append(path)
    return paths


def parser_speed(files: Sequence[Path], repeats: int) -> dict:
    """Files per second of the vectorised and the line-by-line parser on the same files."""
    for f in files:  # same results, and a warm file cache for both
        if not parse_skeleton(f).same_as(parse_skeleton_reference(f)):
            raise AssertionError(f"{f}: the parsers disagree")
    out = {"files": len(files), "bytes": int(sum(Path(f).stat().st_size for f in files))}
    for name, parse in (("vectorised", parse_skeleton), ("reference", parse_skeleton_reference)):
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            for f in files:
                parse(f)
            times.append(time.perf_counter() - t0)
        out[f"{name}_files_per_s"] = round(len(files) / statistics.median(times), 2)
    out["speedup"] = round(out["vectorised_files_per_s"] / out["reference_files_per_s"], 2)
    return out


_RSS_SCRIPT = r"""
import json, sys, time
from pathlib import Path

def status_kb(field):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return None

from stalib.data.ntu import load_ntu

before = status_kb("VmRSS")
t0 = time.perf_counter()
data = load_ntu(sys.argv[1], cache_dir=sys.argv[2], workers=int(sys.argv[3]), progress=False)
print(json.dumps({"sequences": len(data), "frames": int(data.offsets[-1]),
                  "rss_before_kb": before, "peak_rss_kb": status_kb("VmHWM"),
                  "build_s": time.perf_counter() - t0}))
"""


def cache_build_memory(folder: Path, cache_dir: Path, workers: int = 1) -> dict:
    """Peak resident memory of a fresh process building the NTU cache of ``folder``.

    Read from the process's own ``VmHWM`` (Linux). ``getrusage``'s ``ru_maxrss`` would not do:
    Linux carries the parent's high-water mark over ``fork`` + ``exec``, so a child of a large
    process reports the parent's size.
    """
    proc = subprocess.run([sys.executable, "-c", _RSS_SCRIPT, str(folder), str(cache_dir),
                           str(workers)], capture_output=True, text=True, check=True,
                          timeout=1800)
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    if out["peak_rss_kb"] is None or out["rss_before_kb"] is None:  # pragma: no cover - not Linux
        out["peak_rss_mb"] = out["growth_mb"] = None
    else:
        out["peak_rss_mb"] = round(out["peak_rss_kb"] / 1024, 1)
        out["growth_mb"] = round((out["peak_rss_kb"] - out["rss_before_kb"]) / 1024, 1)
    out["build_s"] = round(out["build_s"], 2)
    return out


def synthetic_set(n: int, shape: Shape, seed: int = 0):
    """``n`` sequences of ``shape.joints`` joints, lengths uniform in [T/3, T]."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(max(1, shape.frames // 3), shape.frames + 1, n)
    lengths[0] = shape.frames
    frames = rng.normal(0, 1, (int(lengths.sum()), shape.joints, 3)).astype(np.float32)
    return SkeletonSet(
        frames=frames, offsets=np.concatenate([[0], np.cumsum(lengths)]),
        labels=rng.integers(0, shape.classes, n), groups=[f"g{i}" for i in range(n)],
        names=[f"s{i}" for i in range(n)], class_names=[str(c) for c in range(shape.classes)],
        persons=shape.persons, joints_per_person=shape.joints // shape.persons, name="synthetic")


#: The augmentations timed by :func:`augment_cost`, each alone and all together at the settings of
#: the SBU configurations (``--augment-rotation 30 --augment-scale 0.1``, ``--augment-crop 0.2``,
#: ``--augment-swap``); ``"all"`` is also what :func:`batching_share` streams with ``augment``.
AUGMENTS: dict[str, dict] = {
    "rotation + scale": {"rotation": 30.0, "scale": 0.1},
    "temporal crop": {"crop": 0.2},
    "person swap": {"swap": True},
    "all": {"rotation": 30.0, "scale": 0.1, "crop": 0.2, "swap": True},
}


def person_swap_of(shape: Shape, data):
    """The :class:`~stalib.data.augment.PersonSwap` of ``shape``'s dataset preprocessing."""
    return PersonSwap(preprocess_settings(shape.dataset).build(), data.joints_per_person)


def augment_cost(shape: Shape, repeats: int = 3) -> list[dict]:
    """Milliseconds per batch (median over ``repeats``) of each of :data:`AUGMENTS` applied by
    :class:`stalib.data.augment.Augment` to a padded batch of ``shape`` on the CPU, where the
    trainer applies it. The synthetic sequences have both persons tracked in every frame: the
    worst case of the swap, which reframes every sequence it flips (a sequence with one person
    is left as it is)."""
    data = synthetic_set(shape.batch, shape)
    batch = pad_batch(data, np.arange(shape.batch))
    reframe, mine = person_swap_of(shape, data), np.arange(shape.batch)
    out = []
    for name, kw in AUGMENTS.items():
        augment, rng, times = Augment(**kw), np.random.default_rng(0), []
        for _ in range(repeats):
            t0 = time.perf_counter()
            augment(batch, rng, shape.batch, mine, shape.persons, reframe)
            times.append(time.perf_counter() - t0)
        ms = 1000 * statistics.median(times)
        out.append({"shape": shape.key, "augment": name, "settings": kw, "repeats": repeats,
                    "batch_ms": round(ms, 3), "sequence_ms": round(ms / shape.batch, 4)})
    return out


def batching_share(shape: Shape, device: torch.device, iterations: int, model: str = "sta-lstm",
                   prefetch: bool = False, augment: bool = False) -> dict:
    """Time waiting for batches (padding, augmentation, copy to the device) vs the training
    step's compute.

    Uses the trainer's own :class:`stalib.data.stream.BatchStream` and
    :class:`stalib.data.stream.Loader` on a synthetic set of ``2 x batch`` sequences (lengths
    uniform in [T/3, T]); ``augment``: the stream applies ``AUGMENTS["all"]``, as a run of an
    augmented configuration does.
    """
    data = synthetic_set(2 * shape.batch, shape)
    torch.manual_seed(0)
    net = build_model(model, shape.joints, shape.classes, shape.persons).to(device).train()
    loss_fn = make_loss(TrainConfig(dataset=shape.dataset, model=model, device="cpu"))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    stream = BatchStream(data, np.arange(len(data)), shape.batch, 0,
                         augment=Augment(**AUGMENTS["all"]) if augment else None,
                         reframe=person_swap_of(shape, data) if augment else None,
                         device=device)
    loader = Loader(stream, device, prefetch=prefetch)
    wait, compute = [], []
    try:
        for i in range(iterations + 1):  # the first is a warm-up
            _sync(device)
            t0 = time.perf_counter()
            batch, _ = loader.next()
            _sync(device)
            t1 = time.perf_counter()
            loss = loss_fn(net, net(batch.x, batch.mask), batch)["total"]
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss.item()
            _sync(device)
            if i:
                wait.append(t1 - t0)
                compute.append(time.perf_counter() - t1)
    finally:
        loader.close()
    pad = []
    for _ in range(5):
        t0 = time.perf_counter()
        pad_batch(data, np.arange(shape.batch))
        pad.append(time.perf_counter() - t0)
    w, c = statistics.median(wait), statistics.median(compute)
    return {"shape": shape.key, "device": device.type, "model": model, "prefetch": prefetch,
            "augment": augment, "iterations": iterations, "wait_ms": round(1000 * w, 3),
            "compute_ms": round(1000 * c, 3), "pad_batch_ms": round(1000 * statistics.median(pad),
                                                                   3),
            "wait_share": round(w / (w + c), 4)}


def ntu_sample_files(data_root: str | None) -> list[Path]:
    """Real ``.skeleton`` files: the first 50 of ``<data root>/NTU/``, the folder ``stalib data``
    and ``stalib train`` read, else those of ``<data root>/NTU-samples/`` (a few samples)."""
    try:
        root = resolve_data_root(data_root)
    except DataRootError:
        return []
    files = sorted((root / "NTU").rglob("*.skeleton"))[:50] if (root / "NTU").is_dir() else []
    return files or sorted((root / "NTU-samples").glob("*.skeleton"))


def run_data_bench(settings: BenchSettings, data_root: str | None = None,
                   log: Callable[[str], None] = print) -> dict:
    quick = settings.quick
    out: dict = {}
    with tempfile.TemporaryDirectory(prefix="stalib-bench-") as tmp:
        tmp = Path(tmp)
        real = ntu_sample_files(data_root)
        if real:
            out["parser_real"] = parser_speed(real, repeats=3 if quick else 5)
            out["parser_real"]["source"] = "real NTU samples of the data root"
            p = out["parser_real"]
            log(f"  NTU parser, {p['files']} real files: vectorised {p['vectorised_files_per_s']}"
                f" files/s, line-by-line {p['reference_files_per_s']} files/s "
                f"(x{p['speedup']})")
        else:
            out["parser_real"] = None
            log("  NTU parser, real files: no data root with NTU/ or NTU-samples/ (skipped)")
        gen = write_ntu_files(tmp / "gen", 10 if quick else 40, frames=100, bodies=2)
        out["parser_generated"] = parser_speed(gen, repeats=3 if quick else 5)
        out["parser_generated"]["source"] = ("generated with format_skeleton: 100 frames, "
                                             "2 bodies")
        p = out["parser_generated"]
        log(f"  NTU parser, {p['files']} generated files: vectorised "
            f"{p['vectorised_files_per_s']} files/s, line-by-line "
            f"{p['reference_files_per_s']} files/s (x{p['speedup']})")
        counts = (40, 160) if quick else (200, 800)
        mem = []
        for n in counts:
            folder = tmp / f"cache-src-{n}"
            write_ntu_files(folder, n, frames=60, bodies=1)
            m = cache_build_memory(folder, tmp / f"cache-{n}", workers=1)
            m["files"] = n
            mem.append(m)
            shutil.rmtree(folder, ignore_errors=True)
            shutil.rmtree(tmp / f"cache-{n}", ignore_errors=True)
            log(f"  NTU cache build, {n} files (1 process): peak RSS {m['peak_rss_mb']} MB "
                f"(+{m['growth_mb']} MB over the process before the build), {m['build_s']} s")
        peaks = [m["peak_rss_kb"] for m in mem]
        out["cache_memory"] = {"runs": mem, "frames_per_file": 60, "workers": 1,
                               "peak_rss_ratio": round(peaks[-1] / peaks[0], 3)
                               if None not in peaks else None}
    out["augment"] = []
    for key in settings.shapes:
        for r in augment_cost(SHAPES[key], repeats=3 if quick else 5):
            out["augment"].append(r)
            log(f"  augmentation, {SHAPES[key].label}, {r['augment']}: {r['batch_ms']} ms per "
                f"batch ({r['sequence_ms']} ms per sequence)")
    shares = []
    for device in devices_to_run(settings.device):
        for key in settings.shapes:
            shape = SHAPES[key]
            iterations = 10 if shape.batch * shape.frames < 5000 else 2
            for prefetch in ([False, True] if device.type == "cuda" else [False]):
                for augment in (False, True):
                    r = batching_share(shape, device, iterations, prefetch=prefetch,
                                       augment=augment)
                    shares.append(r)
                    log(f"  batches, {device.type} {shape.label}"
                        f"{' prefetch' if prefetch else ''}{' augmented' if augment else ''}: "
                        f"wait {r['wait_ms']} ms, compute {r['compute_ms']} ms per iteration "
                        f"({100 * r['wait_share']:.2f}% waiting)")
    out["batching"] = shares
    return out


# ----------------------------------------------------------------------------- sweep
SWEEP_FRAMES = (25, 50, 100, 200, 300)
SWEEP_BATCHES = (8, 16, 32, 64, 128, 256)


def run_sweep(quick: bool = False, device: str = "all", models: Sequence[str] = ("lstm",
              "sta-lstm", "csta-cnn"), threads: int = 1, note: str | None = None,
              log: Callable[[str], None] = print) -> dict:
    """Step time against sequence length (batch 32) and batch size (100 frames), NTU joints."""
    set_threads(threads)
    started = time.perf_counter()
    shape = SHAPES["ntu"]
    frames = (25, 50, 100) if quick else SWEEP_FRAMES
    batches = (8, 16, 32) if quick else SWEEP_BATCHES
    fixed_batch, fixed_frames = (8, 25) if quick else (32, 100)
    repeats, min_s = (2, 0.05) if quick else (3, 0.2)
    doc = {"kind": SWEEP_KIND, "version": FORMAT_VERSION, "quick": quick, "timestamp": utc_now(),
           "git_commit": git_commit(), "note": note, "load_average_start": load_average(),
           "machine": machine_info(), "joints": shape.joints, "classes": shape.classes,
           "fixed_batch": fixed_batch, "fixed_frames": fixed_frames, "repeats": repeats,
           "rows": []}
    for dev in devices_to_run(device):
        for axis, values in (("frames", frames), ("batch", batches)):
            for value in values:
                B = value if axis == "batch" else fixed_batch
                T = value if axis == "frames" else fixed_frames
                steps = {name: make_step(name, shape, dev, frames=T, batch=B)
                         for name in models}
                for name, t in time_fns(steps, dev, 1, repeats, min_s).items():
                    ms = 1000 * t["median_s"]
                    doc["rows"].append({"axis": axis, "device": dev.type, "model": name,
                                        "batch": B, "frames": T, "step_ms": round(ms, 3),
                                        "cpu_ms": round(1000 * t["cpu_median_s"], 3),
                                        "seq_per_s": round(B / t["median_s"], 2)})
                    log(f"  {dev.type} {axis:6s} B={B:<4d} T={T:<4d} {name:<10s} {ms:9.1f} ms")
    doc["load_average_end"] = load_average()
    doc["duration_s"] = round(time.perf_counter() - started, 1)
    return doc


# ----------------------------------------------------------------------------- the SBU grid
#: The six models of Fig. 7: the STA-LSTM configurations of the model library, in its order.
FIG7_MODELS = catalogue.FIG7_MODELS


def run_grid_timing(dataset: str = "sbu", data_root: str | None = None, seed: int = 0,
                    models: Sequence[str] = FIG7_MODELS, folds: Sequence[int] | None = None,
                    n1: int | None = None, n2: int | None = None, device: str = "cpu",
                    threads: int = 0, jobs: int = 1, note: str | None = None,
                    log: Callable[[str], None] = print) -> dict:
    """Train the Fig. 7 grid (``models`` x every fold, one seed) and time it, run by run.

    The paper's settings unless ``n1``/``n2`` are given; runs go to a temporary folder and no
    results row is written. ``jobs`` worker processes train runs side by side (what ``stalib cv
    --jobs`` does), each with ``threads`` torch threads (0: torch's default for one process, 1
    for several). ``total_wall_s`` is the wall time of the whole grid; each run's own wall time
    is in ``runs``.
    """
    set_threads(threads)
    data = load_data(dataset, data_root)
    base = TrainConfig(dataset=dataset, model=models[0], device=device)
    fold_list = list(folds) if folds else list(range(1, num_folds(base, data) + 1))
    doc = {"kind": GRID_KIND, "version": FORMAT_VERSION, "timestamp": utc_now(),
           "git_commit": git_commit(), "note": note, "dataset": dataset, "seed": seed,
           "models": list(models), "folds": fold_list,
           "n1": PAPER_N1 if n1 is None else n1, "n2": PAPER_N2 if n2 is None else n2,
           "load_average_start": load_average(), "machine": machine_info(), "runs": []}
    started = time.perf_counter()
    if jobs < 1:
        raise ValueError(f"jobs must be >= 1, got {jobs}")
    doc["jobs"] = jobs
    doc["threads_per_job"] = threads or (1 if jobs > 1 else torch.get_num_threads())
    with tempfile.TemporaryDirectory(prefix="stalib-grid-") as tmp:
        todo = [PlannedRun(TrainConfig(dataset=dataset, model=model, fold=fold, seed=seed,
                                       n1=doc["n1"], n2=doc["n2"], device=device),
                           Path(tmp) / f"{model}-fold{fold}")
                for model in models for fold in fold_list]
        how = Execution(jobs=jobs, threads=doc["threads_per_job"], data_root=data_root,
                        resume=False, keep_going=False)
        for run in execute(todo, how, data):
            doc["runs"].append({k: run[k] for k in ("model", "fold", "wall_s", "train_wall_s",
                                                    "iterations", "accuracy")})
            log(f"  {run['model']} fold {run['fold']}: {run['wall_s']:.1f} s, "
                f"{run['iterations']} iterations")
    doc["runs"].sort(key=lambda r: (list(models).index(r["model"]), r["fold"]))
    doc["total_wall_s"] = round(time.perf_counter() - started, 1)
    doc["load_average_end"] = load_average()
    return doc


# ----------------------------------------------------------------------------- arithmetic
def lstm_macs(inputs: int, hidden: int) -> int:
    """Multiply-accumulates of one LSTM layer per frame and sequence (forward): 4H (D + H)."""
    return 4 * hidden * (inputs + hidden)


def macs_per_frame(model: str, joints: int, classes: int, hidden: int = 100,
                   spatial_hidden: int = 100, layers: int = 3) -> int:
    """Forward multiply-accumulates per frame of the 3-layer LSTM or of STA-LSTM (defaults)."""
    d = 3 * joints
    main = lstm_macs(d, hidden) + (layers - 1) * lstm_macs(hidden, hidden) + hidden * classes
    if model == "lstm":
        return main
    if model == "sta-lstm":
        spatial = lstm_macs(d, hidden) + d * spatial_hidden + hidden * spatial_hidden \
            + spatial_hidden * joints
        temporal = lstm_macs(d, hidden) + d + hidden
        return main + spatial + temporal
    raise ValueError(f"macs_per_frame: lstm or sta-lstm, got {model!r}")


def mac_ratio(shape: Shape) -> float:
    """STA-LSTM / LSTM forward arithmetic at ``shape``: the floor of their step-time ratio."""
    return (macs_per_frame("sta-lstm", shape.joints, shape.classes)
            / macs_per_frame("lstm", shape.joints, shape.classes))


# ----------------------------------------------------------------------------- output
def format_table(doc: dict) -> str:
    """The one table of a bench run: step time and sequences/s per device, shape and model."""
    rows = doc["rows"]
    head = ["device", "prec", "shape", "B x T x K", "model", "ms/step", "seq/s", "x LSTM",
            "CPU ms/step", "x LSTM (CPU)"]
    lines = []
    lstm = {(r["device"], r["precision"], r["shape"]): r for r in rows if r["model"] == "lstm"}
    for r in rows:
        base = lstm.get((r["device"], r["precision"], r["shape"]))
        cpu = r.get("cpu_ms") if r["device"] == "cpu" else None
        lines.append([r["device"], r["precision"], r["shape_label"],
                      f"{r['batch']}x{r['frames']}x{r['joints']}", r["model_label"],
                      f"{r['step_ms']:.1f}", f"{r['seq_per_s']:.1f}",
                      f"{r['step_ms'] / base['step_ms']:.2f}" if base else "-",
                      f"{cpu:.1f}" if cpu else "-",
                      f"{cpu / base['cpu_ms']:.2f}" if cpu and base and base.get("cpu_ms")
                      else "-"])
    widths = [max(len(str(x)) for x in col) for col in zip(head, *lines, strict=True)]
    fmt = "  ".join(f"{{:{'<' if i < 5 else '>'}{w}}}" for i, w in enumerate(widths))
    out = [fmt.format(*head), fmt.format(*("-" * w for w in widths))]
    out += [fmt.format(*line) for line in lines]
    return "\n".join(out)


def format_targets(doc: dict) -> str:
    shape = doc.get("ratio_shape")
    lines = []
    for key, target, better in (("sta_over_lstm", TARGET_STA_OVER_LSTM, "<="),
                                ("reference_over_sta", TARGET_REFERENCE_OVER_STA, ">=")):
        value = doc.get(key)
        if value is None:
            continue
        ok = value <= target if better == "<=" else value >= target
        what = "STA-LSTM / LSTM" if key == "sta_over_lstm" else "reference / STA-LSTM"
        extra = ", ".join(f"{name} {doc[key + suffix]:.2f}" for suffix, name in
                          (("_paired", "paired rounds"), ("_cpu", "CPU time"))
                          if doc.get(key + suffix) is not None)
        lines.append(f"{what} step time at {shape} (cpu): {value:.2f}"
                     f"{f' ({extra})' if extra else ''}: {'meets' if ok else 'MISSES'} the "
                     f"target {better} {target}")
    if shape in SHAPES and doc.get("sta_over_lstm") is not None:
        lines.append(f"(arithmetic floor of STA-LSTM / LSTM at {shape}: "
                     f"{mac_ratio(SHAPES[shape]):.2f}, forward multiply-accumulates per frame)")
    return "\n".join(lines)


def write_json(doc: dict, path: str | Path) -> Path:
    path = Path(path)
    write_json_atomic(doc, path)
    return path


# ----------------------------------------------------------------------------- the book
def read_json(path: str | Path, kind: str) -> dict | None:
    """A bench / sweep / grid JSON file of ``kind``, or None when it does not exist."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        doc = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise FormatError(path, f"not JSON ({err.msg})", err.lineno) from None
    if not isinstance(doc, dict) or doc.get("kind") != kind:
        raise FormatError(path, f"not a {kind} file (its 'kind' is {doc.get('kind')!r})"
                          if isinstance(doc, dict) else f"not a {kind} file")
    return doc


def bench_frame(doc: dict):
    """The step table of a bench file as a DataFrame with ``x_lstm`` (wall time) and
    ``x_lstm_cpu`` (process CPU time, CPU rows only) ratios (for the book)."""
    df = pd.DataFrame(doc["rows"])
    if "cpu_ms" not in df:
        df["cpu_ms"] = float("nan")
    df.loc[df["device"] != "cpu", "cpu_ms"] = float("nan")
    base = df[df["model"] == "lstm"].set_index(["device", "precision", "shape"])
    key = list(zip(df["device"], df["precision"], df["shape"], strict=True))
    for col, out in (("step_ms", "x_lstm"), ("cpu_ms", "x_lstm_cpu")):
        ref = base[col]
        df[out] = [v / ref.get(k, float("nan")) for v, k in zip(df[col], key, strict=True)]
    return df


def mode_cost(portable: dict, native: dict):
    """The portable deterministic mode's cost: per (shape, model) of two bench files, one run
    in the mode and one ``--native``, both step times and their ratio (for the book)."""
    cols = ["shape_label", "model_label", "portable_ms", "native_ms", "ratio"]
    a, b = bench_frame(portable), bench_frame(native)
    key = ["device", "precision", "shape", "model"]
    both = a.merge(b[[*key, "step_ms"]], on=key, suffixes=("", "_native"))
    both = both[both["device"] == "cpu"]
    return pd.DataFrame({"shape_label": both["shape_label"], "model_label": both["model_label"],
                         "portable_ms": both["step_ms"], "native_ms": both["step_ms_native"],
                         "ratio": both["step_ms"] / both["step_ms_native"]}, columns=cols)


def plot_sweep(doc: dict):
    """Two panels: step time against frames (batch fixed) and against batch (frames fixed)."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import NullLocator

    fig = Figure(figsize=(9, 3.6))
    axes = fig.subplots(1, 2)
    for ax, axis, fixed in ((axes[0], "frames", f"batch {doc['fixed_batch']}"),
                            (axes[1], "batch", f"{doc['fixed_frames']} frames")):
        rows = [r for r in doc["rows"] if r["axis"] == axis]
        for device in sorted({r["device"] for r in rows}):
            for model in dict.fromkeys(r["model"] for r in rows):
                pts = sorted((r[axis], r["step_ms"]) for r in rows
                             if r["model"] == model and r["device"] == device)
                if pts:
                    xs, ys = zip(*pts, strict=True)
                    ax.plot(xs, ys, marker="o", label=f"{MODELS.get(model, model)} ({device})")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ticks = sorted({r[axis] for r in rows})
        ax.set_xticks(ticks, [str(t) for t in ticks])
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xlabel("sequence length (frames)" if axis == "frames" else "batch size")
        ax.set_ylabel("training step (ms)")
        ax.set_title(f"step time vs {'length' if axis == 'frames' else 'batch'} ({fixed})")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def grid_wall_time(df):
    """Wall time of the Fig. 7 grid per (dataset, protocol, configuration, seed) from a results
    table: the sum of the runs' own wall times."""
    cols = ["dataset", "protocol", "configuration", "seed", "runs", "models", "folds",
            "wall_time_h"]
    if df is None or df.empty:
        return pd.DataFrame(columns=cols)
    sub = df[df["model"].isin(FIG7_MODELS)]
    if "configuration" not in sub.columns:
        sub = sub.assign(configuration="paper")
    rows = []
    for (dataset, protocol, configuration, seed), g in sub.groupby(
            ["dataset", "protocol", "configuration", "seed"]):
        rows.append({"dataset": dataset, "protocol": protocol, "configuration": configuration,
                     "seed": int(seed),
                     "runs": int(len(g)), "models": int(g["model"].nunique()),
                     "folds": int(g["fold"].nunique()),
                     "wall_time_h": float(g["wall_time_s"].astype(float).sum()) / 3600})
    return pd.DataFrame(rows, columns=cols)
