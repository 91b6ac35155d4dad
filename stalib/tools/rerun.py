"""``stalib rerun``: train recorded runs again from their rows and say whether they come back.

A row of a results file holds everything its run needs: the configuration (``params.train``,
:class:`stalib.config.TrainConfig`), the seed, and the data it names. :func:`rerun_rows` trains
each drawn row again in this process's mode, into a folder of its own (a temporary one, or
``keep``), never into the results folder it read, and :func:`compare` sets the new row beside
the recorded one: ``accuracy``, ``train_accuracy`` and ``test_correct`` exactly.

Rows are drawn from those recorded in the portable deterministic mode (:mod:`stalib.determinism`):
only they promise the same bits on another machine. ``all_modes`` draws the others too (rows
made before the mode or with ``--native``), to rerun them in the mode: that is how a grid made
before the mode is recorded again (``--keep DIR``, then ``stalib merge DIR``).
"""

from __future__ import annotations

import dataclasses
import json
import random
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from stalib.config import TrainConfig
from stalib.determinism import PORTABLE, word
from stalib.errors import ConfigError, StalibError
from stalib.experiment import dataset_identity, results_file
from stalib.grid import Execution, PlannedRun, execute
from stalib.results import decode_correct, read_records, stored_key

#: The columns a rerun must give again, bit for bit.
COMPARED = ("accuracy", "train_accuracy", "test_correct")


@dataclass(frozen=True)
class Drawn:
    """The rows of a file that a rerun trains again, and how many it left aside."""

    rows: list[dict]
    not_portable: int  # rows outside the portable mode, left aside (no all_modes)
    filtered: int  # rows of other models or configurations (the filters)


def draw(path: Path, *, models: Sequence[str] = (), configurations: Sequence[str] = (),
         sample: int | None = None, seed: int = 0, all_modes: bool = False) -> Drawn:
    """The rows of the results file ``path`` to rerun: those of ``models`` and ``configurations``
    (every one when empty), of the portable mode unless ``all_modes``, and of those ``sample`` drawn
    at random with ``seed`` (every one when None), in the file's order."""
    path = Path(path)
    if not path.is_file():
        raise StalibError(f"{path}: no such results file (expected <results>/<dataset>/cv.csv "
                          "or validation.csv)")
    rows = read_records(path)
    for flag, wanted, column in (("--models", models, "model"),
                                 ("--configs", configurations, "configuration")):
        unknown = sorted(set(wanted) - {r[column] for r in rows})
        if unknown:
            raise ConfigError(f"{flag}: {', '.join(unknown)} not in {path} (it holds "
                              f"{', '.join(sorted({r[column] for r in rows}))})")
    chosen = [r for r in rows if (not models or r["model"] in models)
              and (not configurations or r["configuration"] in configurations)]
    portable = [r for r in chosen if all_modes or word(r["determinism"]) == PORTABLE]
    left_aside = len(chosen) - len(portable)
    if sample is not None:
        if sample < 1:
            raise ConfigError(f"`sample` must be >= 1, got {sample}")
        if sample < len(portable):
            picked = set(random.Random(seed).sample(range(len(portable)), sample))
            portable = [r for i, r in enumerate(portable) if i in picked]
    return Drawn(portable, left_aside, len(rows) - len(chosen))


def config_of(row: dict, where: str):
    """The :class:`TrainConfig` a row was trained with (``params.train``)."""
    try:
        return TrainConfig.from_dict(json.loads(row["params"])["train"])
    except (json.JSONDecodeError, KeyError, TypeError) as err:
        raise StalibError(f"{where}: the row keeps no configuration to rerun ({err})") from None


def missing_settings(row: dict) -> list[str]:
    """The settings a row's ``params`` do not record, because it was written before they
    existed (``train.<field>`` of :class:`TrainConfig`, and ``preprocessing``): a rerun trains
    with today's defaults for them."""
    params = json.loads(row["params"])
    train = params.get("train") or {}
    missing = [f"train.{f.name}" for f in dataclasses.fields(TrainConfig) if f.name not in train]
    return missing + ([] if "preprocessing" in params else ["preprocessing"])


def check_same_data(row: dict, cfg, where: str) -> None:
    """Refuse to rerun ``row`` when its data is not the data it was recorded on: an npz file
    whose content (:func:`stalib.experiment.dataset_identity`) differs from the sha256 the row
    recorded. The rerun would measure other data, not the determinism of the arithmetic."""
    try:
        recorded = json.loads(row.get("params") or "{}").get("data_sha256")
    except json.JSONDecodeError:
        return
    if recorded is None:
        return
    now = dataset_identity(cfg).get("data_sha256")
    if now != recorded:
        raise StalibError(f"{where}: other data: {cfg.dataset[4:]} now holds content sha256 "
                          f"{str(now)[:12]}, the row was recorded on {recorded[:12]}; a rerun "
                          "would measure other data, so none is run (restore the file, or "
                          "train it anew with stalib cv)")


def compare(recorded: dict, rerun: dict) -> list[str]:
    """What differs between a recorded row and its rerun (empty: identical)."""
    out = []
    for column in ("accuracy", "train_accuracy"):
        if float(recorded[column]) != float(rerun[column]):
            out.append(f"{column} {float(recorded[column]):.6f} -> {float(rerun[column]):.6f}")
    a, b = decode_correct(recorded["test_correct"]), decode_correct(rerun["test_correct"])
    if a != b:
        if a is None or b is None or len(a) != len(b):
            out.append("test_correct not comparable")
        else:
            out.append(f"test_correct: {sum(x != y for x, y in zip(a, b, strict=True))} of "
                       f"{len(a)} sequences predicted otherwise")
    return out


def label(row: dict) -> str:
    return (f"{row['dataset']} {row['protocol']} {row['configuration']} {row['model']} fold "
            f"{row['fold']} seed {row['seed']}")


def rerun_rows(rows: list[dict], path: Path, *, data_root: str | None, keep: Path | None,
               jobs: int = 1, report: Callable[[dict, dict], None] | None = None
               ) -> list[tuple[dict, dict]]:
    """Train every row of ``rows`` (of the file ``path``) again in this process's mode and
    return ``(recorded, rerun)`` pairs in their order. The new rows and run folders go to
    ``keep`` (kept: a later call resumes there) or to a temporary folder; ``report`` is called
    with each pair as it comes."""
    if jobs < 1:
        raise ConfigError(f"`jobs` must be >= 1, got {jobs}")
    with tempfile.TemporaryDirectory(prefix="stalib-rerun-") as tmp:
        root = Path(keep) if keep is not None else Path(tmp)
        planned, done = [], {}
        for i, r in enumerate(rows):  # every row readable, and of the data it was recorded on,
            # before any training: a rerun on other data would read as a failure of determinism
            where = f"{path}, {label(r)}"
            cfg = config_of(r, where)
            check_same_data(r, cfg, where)
            mine = stored_key({**r, "determinism": PORTABLE})
            kept = [k for k in read_records(results_file(root, cfg)) if stored_key(k) == mine]
            if kept:  # kept from an earlier rerun into the same folder (--keep): not trained
                done[i] = kept[0]
                continue
            out = (root / "runs" / r["dataset"] / r["protocol"].replace(":", "-")
                   / f"{r['model']}@{r['configuration']}" / f"fold{r['fold']}-seed{r['seed']}")
            planned.append((i, PlannedRun(cfg, out)))
        pairs: list[tuple[dict, dict] | None] = [None] * len(rows)
        for i, new in done.items():
            pairs[i] = (rows[i], new)
            if report is not None:
                report(rows[i], new)
        at = {str(run.out): i for i, run in planned}
        how = Execution(jobs=jobs, data_root=data_root, results_dir=root, resume=True,
                        keep_going=False)
        for outcome in execute([run for _, run in planned], how):
            i = at[outcome["out"]]
            pairs[i] = (rows[i], outcome["record"])
            if report is not None:
                report(rows[i], outcome["record"])
    return [p for p in pairs if p is not None]
