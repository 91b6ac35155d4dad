"""A rehearsal of the NTU RGB+D path at its real size, on generated files (``stalib bench
--ntu-rehearsal N``).

Full NTU RGB+D (56,880 files) is not on the development machines: only five real ``.skeleton``
samples are. So the path of Table 2 is rehearsed on a synthetic tree built from them:

1. :func:`write_tree` writes ``N`` valid ``.skeleton`` files under ``<folder>/data/NTU``, named
   as NTU names them (setup, camera, performer, replication, action drawn without repetition
   from the grid of the real dataset, so both protocols' performers and cameras occur), each a
   real sample perturbed: turned about the vertical axis, scaled, stretched in time and jittered;
   the mutual actions (A050-A060) with two persons.
2. The cache is built in a fresh process (:func:`stalib.tools.bench.cache_build_memory`): build
   time, files per second, peak resident memory.
3. The Fig. 7 notebook, the job that makes Table 2's rows (``fig7-ntu``), is executed by
   papermill on the tree (by the report pipeline's runner, which the command passes): one
   epoch of each model at the named configuration, both protocols, evaluation included, into
   ``<folder>/results`` (never the project's ``results/``). Its rows carry the configuration
   ``rehearsal-<configuration>``: a rehearsal, never a result (no committed results file holds
   such a configuration, ``tests/test_results_integrity.py``).
4. Sequences per second per model and device from the rows' own wall times, and everything
   extrapolated to the full dataset (56,880 files; 40,320 training sequences of cross-subject).

The measurements go to a JSON file (kind ``stalib-ntu-rehearsal``) that the performance page
shows; the rows are not results, since the data are made up.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from stalib.config import CONFIGURATIONS
from stalib.data.ntu import (
    NTU_JOINTS,
    NTU_PERSONS,
    format_skeleton,
    parse_ntu_name,
    parse_skeleton,
    select_bodies,
)
from stalib.errors import ConfigError
from stalib.models.sta_lstm import PARTS
from stalib.results import read_records
from stalib.tools.bench import (
    cache_build_memory,
    git_commit,
    load_average,
    machine_info,
    utc_now,
)

KIND = "stalib-ntu-rehearsal"
#: The real NTU RGB+D 60: files, and training sequences of the cross-subject protocol.
FULL_FILES = 56_880
FULL_XSUB_TRAIN = 40_320
#: The grid of NTU names: setups, cameras, performers, replications, actions.
GRID = (17, 3, 40, 2, 60)
#: Mutual actions (two persons): A050-A060.
FIRST_MUTUAL = 50
#: The prefix of a rehearsal row's configuration.
PREFIX = "rehearsal-"
SAMPLES = "NTU-samples"
#: The models a rehearsal can train (those of the Fig. 7 notebook), and those it trains unless
#: told: Table 2's STA-LSTM and its plain LSTM baseline.
MODELS = tuple(PARTS)
DEFAULT_MODELS = ("lstm", "sta-lstm")


def names(n: int, seed: int = 0) -> list[str]:
    """``n`` distinct NTU file names drawn from :data:`GRID` without repetition."""
    total = int(np.prod(GRID))
    if not 1 <= n <= total:
        raise ValueError(f"the rehearsal writes 1 to {total} files, got {n}")
    picks = np.random.default_rng(seed).choice(total, size=n, replace=False)
    out = []
    for code in picks:
        parts = []
        for size in reversed(GRID):
            code, r = divmod(int(code), size)
            parts.append(r + 1)
        action, replication, performer, camera, setup = parts
        out.append(f"S{setup:03d}C{camera:03d}P{performer:03d}R{replication:03d}"
                   f"A{action:03d}.skeleton")
    return out


def _bodies(path: Path) -> np.ndarray:
    """The joints of a real sample, ``(frames, persons 1-2, 25, 3)``: the bodies the reader
    keeps (:func:`stalib.data.ntu.select_bodies`), in the frames where each is tracked."""
    seq, info = select_bodies(parse_skeleton(path), path)
    persons = min(info["bodies"], NTU_PERSONS)
    x = seq.reshape(len(seq), NTU_PERSONS, NTU_JOINTS, 3)[:, :persons].astype(np.float64)
    x = x[np.abs(x).sum(axis=(2, 3)).min(axis=1) > 0]
    if len(x) < 2:
        raise ValueError(f"{path}: fewer than 2 frames hold its bodies")
    return x


def perturb(joints: np.ndarray, persons: int, rng: np.random.Generator) -> np.ndarray:
    """A new sequence from a real one: ``persons`` bodies (a second one made from the first,
    a step aside, when the sample has one), turned about the vertical axis by up to 45
    degrees about its mean position, scaled by 0.9-1.1, stretched in time to 70-130 % of its
    length, and jittered by 5 mm."""
    x = joints[:, :persons]
    if x.shape[1] < persons:
        x = np.concatenate([x, x + np.array([0.8, 0.0, 0.2])], axis=1)
    t = x.shape[0]
    length = max(2, int(round(t * rng.uniform(0.7, 1.3))))
    pos = np.linspace(0, t - 1, length)
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, t - 1)
    w = (pos - lo)[:, None, None, None]
    x = (1 - w) * x[lo] + w * x[hi]
    angle = np.deg2rad(rng.uniform(-45, 45))
    c, s = np.cos(angle), np.sin(angle)
    turn = np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])
    centre = x.reshape(-1, 3).mean(0)
    x = (x - centre) @ turn.T * rng.uniform(0.9, 1.1) + centre
    return x + rng.normal(0.0, 0.005, x.shape)


def write_tree(folder: Path, samples: list[Path], n: int, seed: int = 0) -> list[Path]:
    """``n`` generated ``.skeleton`` files under ``folder`` (see the module)."""
    if not samples:
        raise ValueError("the rehearsal needs at least one real NTU .skeleton sample")
    templates = [_bodies(p) for p in samples]
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i, name in enumerate(names(n, seed)):
        persons = 2 if parse_ntu_name(name)["action"] >= FIRST_MUTUAL else 1
        x = perturb(templates[i % len(templates)], persons, rng)
        ids = [72057594037931101 + 7 * i + b for b in range(persons)]
        path = folder / name
        path.write_text(format_skeleton([[(ids[b], x[f, b]) for b in range(persons)]
                                         for f in range(len(x))]))
        out.append(path)
    return out


def sample_files(data_root: str | Path) -> list[Path]:
    """The real samples of the data root's ``NTU-samples`` (or ``NTU``) folder."""
    root = Path(data_root)
    for sub in (SAMPLES, "NTU"):
        files = sorted((root / sub).glob("*.skeleton"))
        if files:
            return files
    raise ConfigError(f"{root}: no {SAMPLES}/*.skeleton (the real NTU samples a rehearsal "
                      "perturbs)")


def notebook_parameters(folder: Path, models: list[str], configuration: str, device: str,
                        epochs: int = 1, threads: int | None = 1) -> dict:
    """The Fig. 7 notebook's parameters (Table 2's rows) on the rehearsal tree: ``epochs`` of each
    model at ``configuration``, both protocols, seed 0, into ``folder/results``."""
    options = {**CONFIGURATIONS[configuration], "configuration": PREFIX + configuration,
               "epochs": epochs,
               "device": device}
    return {"dataset": "ntu60", "models": models, "protocols": ["xsub", "xview"],
            "seeds": [0], "folds": "all", "options": options,
            "figure": "figures/fig7-ntu-rehearsal.png", "threads": threads,
            "data_root": str(folder / "data"), "results_dir": str(folder / "results"),
            "results_root": str(folder / "results"), "runs_root": str(folder / "runs")}


def throughput(rows: list[dict]) -> list[dict]:
    """Per model, protocol and device of the rehearsal's rows: training sequences per second
    (sequences seen in training over the run's wall time, evaluation included) and the time
    an epoch of the full cross-subject training set would take at that pace."""
    out = []
    for r in rows:
        params = json.loads(r["params"])
        epochs = params["train"].get("epochs") or 1
        seen = int(r["n_train"]) * epochs
        pace = seen / float(r["wall_time_s"])
        out.append({"model": r["model"], "protocol": r["protocol"], "device": r["device"],
                    "n_train": int(r["n_train"]), "n_test": int(r["n_test"]),
                    "epochs": epochs, "wall_s": float(r["wall_time_s"]),
                    "seq_per_s": round(pace, 1),
                    "full_epoch_s": round(FULL_XSUB_TRAIN / pace, 1)})
    return out


def run(folder: str | Path, n: int, data_root: str | Path, models: list[str], configuration: str,
        execute: Callable[[dict, Path], Path], device: str = "cpu", epochs: int = 1,
        seed: int = 0, log: Callable[[str], None] = print) -> dict:
    """The whole rehearsal (see the module) in ``folder``; returns its JSON document.
    ``execute(parameters, executed)`` runs the Fig. 7 notebook with papermill
    (:func:`stalib.report.reproduce.execute_notebook`, which the command passes)."""
    folder = Path(folder)
    tree = folder / "data" / "NTU"
    if tree.exists() and any(tree.iterdir()):
        raise ConfigError(f"{tree}: not empty; a rehearsal writes a new tree (give another "
                          "`rehearsal_dir`)")
    samples = sample_files(data_root)
    load_start = load_average()
    log(f"rehearsal: writing {n} generated .skeleton files from {len(samples)} real samples")
    t0 = time.perf_counter()
    files = write_tree(tree, samples, n, seed)
    write_s = time.perf_counter() - t0
    log("rehearsal: building the cache in a fresh process")
    cache = cache_build_memory(tree, folder / "cache")
    cache["files_per_s"] = round(n / cache["build_s"], 1) if cache["build_s"] else None
    log(f"rehearsal: one epoch of {', '.join(models)} at {configuration} on {device}")
    t0 = time.perf_counter()
    executed = execute(notebook_parameters(folder, models, configuration, device, epochs),
                       folder / "fig7-ntu-rehearsal.ipynb")
    notebook_s = time.perf_counter() - t0
    rows = read_records(folder / "results" / "ntu60" / "cv.csv")
    size = sum(p.stat().st_size for p in files)
    scale = FULL_FILES / n
    return {
        "kind": KIND, "version": 1, "quick": False, "timestamp": utc_now(),
        "git_commit": git_commit(), "machine": machine_info(),
        "load_average_start": load_start, "load_average_end": load_average(), "files": n,
        "seed": seed, "from": configuration, "configuration": PREFIX + configuration,
        "device": device, "epochs": epochs,
        "samples": [p.name for p in samples], "write_s": round(write_s, 2),
        "bytes": size, "cache": cache,
        "notebook": executed.name, "notebook_s": round(notebook_s, 1),
        "runs": throughput(rows),
        "full": {"files": FULL_FILES, "cache_build_s": round(cache["build_s"] * scale, 0),
                 "bytes": int(size * scale)},
    }


def format_summary(doc: dict) -> str:
    """A rehearsal's document as the lines ``stalib bench --ntu-rehearsal`` prints."""
    c, full = doc["cache"], doc["full"]
    lines = [
        f"NTU rehearsal on {doc['files']} generated files ({doc['bytes'] / 1e6:.0f} MB, written "
        f"in {doc['write_s']:.1f} s), configuration {doc['from']}, {doc['epochs']} epoch(s) "
        f"on {doc['device']}",
        f"cache: built in {c['build_s']:.1f} s ({c['files_per_s']} files/s), peak RSS "
        f"{c['peak_rss_mb']} MB; the full {full['files']} files: about "
        f"{full['cache_build_s'] / 60:.0f} min at that pace",
    ]
    for r in doc["runs"]:
        lines.append(f"{r['model']} {r['protocol']} on {r['device']}: {r['n_train']} training "
                     f"sequences, {r['seq_per_s']} sequences/s (evaluation included); an epoch "
                     f"of the full cross-subject training set: about {r['full_epoch_s'] / 60:.1f}"
                     " min")
    lines.append(f"the Fig. 7 notebook ran in {doc['notebook_s']:.0f} s; its rows are "
                 f"configuration {doc['configuration']}: a rehearsal, never a result")
    return "\n".join(lines)
