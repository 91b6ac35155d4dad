"""Bad command lines: ONE line on stderr with a hint, exit status 2, never a traceback.

Each case runs through ``stalib.cli.main`` in this process (fast: the CLI imports torch at
start), and the cases of the reliability issue (marked ``SUB``) also run the real CLI in a
subprocess, ``python -m stalib ...``, two at a time in a module fixture; that checks what a
user sees: the exit status and everything written to stderr by the interpreter.
"""

from __future__ import annotations

import concurrent.futures as cf
import os
import subprocess
import sys
from pathlib import Path

import pytest

SBU_FILE = "SBU/s01s02/01/001/skeleton_pos.txt"
TINY = ["--n1", "1", "--n2", "1", "--device", "cpu", "--quiet"]
SUB = {"unknown dataset", "unknown model", "fold out of range", "negative lambda", "bad --seeds",
       "no data root", "data root without SBU/", "npz path missing",
       "predict: garbage checkpoint", "predict: damaged checkpoint"}

# name: (arguments, hint the one line must contain, environment: "data" | "no-data")
CASES = {
    "unknown dataset": (["train", "--dataset", "foo", "--out", "run"],
                        "expected sbu, utkinect, nwucla, utdmhad, ntu60 or npz:PATH", "data"),
    "unknown model": (["train", "--dataset", "sbu", "--model", "bar", "--out", "run"],
                      "choose one of lstm", "data"),
    "fold out of range": (["train", "--dataset", "sbu", "--fold", "9", "--out", "run", *TINY],
                          "numbered 1..5", "data"),
    "fold zero": (["train", "--dataset", "sbu", "--fold", "0", "--out", "run"],
                  "--fold must be >= 1", "data"),
    "cv fold out of range": (["cv", "--dataset", "sbu", "--seeds", "0", "--folds", "2,7",
                              "--out", "runs", "--results", "res", *TINY],
                             "out of range 1..5", "data"),
    "negative lambda": (["train", "--dataset", "sbu", "--lambda1", "-0.5", "--out", "run"],
                        "--lambda1 must be >= 0", "data"),
    "bad --seeds": (["cv", "--dataset", "sbu", "--seeds", "a,b", "--out", "runs"],
                    "expected comma-separated integers, e.g. 0,1,2", "data"),
    "negative seed in --seeds": (["cv", "--dataset", "sbu", "--seeds", "0,-1", "--out", "runs",
                                  "--results", "res", *TINY], "0..2**63-1", "data"),
    "negative --seed": (["train", "--dataset", "sbu", "--seed", "-1", "--out", "run", *TINY],
                        "0..2**63-1", "data"),
    "NaN learning rate": (["train", "--dataset", "sbu", "--lr", "nan", "--out", "run", *TINY],
                          "--lr must be a finite number > 0", "data"),
    "learning rate 1e38": (["train", "--dataset", "sbu", "--lr", "1e38", "--out", "run",
                            *TINY], "larger steps overflow float32", "data"),
    "negative --grad-clip": (["train", "--dataset", "sbu", "--grad-clip", "-1", "--out", "run",
                              *TINY], "leave it out for no clipping", "data"),
    "--preprocess without =": (["train", "--dataset", "sbu", "--preprocess", "smooth",
                                "--out", "run", *TINY], "expected KEY=VALUE, e.g. --preprocess "
                               "smooth=null", "data"),
    "--preprocess unknown field": (["train", "--dataset", "sbu", "--preprocess", "smoth=null",
                                    "--out", "run", *TINY],
                                   "not a preprocessing setting of sbu (valid: unnormalize",
                                   "data"),
    "no data root": (["train", "--dataset", "sbu", "--out", "run", *TINY],
                     "pass --data-root DIR or set STALIB_DATA", "no-data"),
    "data root without SBU/": (["train", "--dataset", "sbu", "--data-root", "emptyroot",
                                "--out", "run", *TINY], "or pass another --data-root", "no-data"),
    "data root not a folder": (["train", "--dataset", "sbu", "--data-root", "nowhere",
                                "--out", "run", *TINY], "should hold dataset folders such as SBU/",
                               "no-data"),
    "npz path missing": (["train", "--dataset", "npz:missing.npz", "--out", "run", *TINY],
                         "not found (dataset name npz:PATH)", "no-data"),
    "npz garbage": (["train", "--dataset", "npz:garbage.npz", "--out", "run", *TINY],
                    "garbage.npz: not a readable .npz archive", "no-data"),
    "predict: garbage checkpoint": (["predict", "garbage.pt", "{data}/" + SBU_FILE],
                                    "expected the model.pt", "no-data"),
    "predict: truncated checkpoint": (["predict", "truncated.pt", "{data}/" + SBU_FILE],
                                      "not a readable stalib model file", "no-data"),
    "predict: damaged checkpoint": (["predict", "damaged.pt", "{data}/" + SBU_FILE],
                                    "not a readable stalib model file", "no-data"),
    "predict: missing checkpoint": (["predict", "missing.pt", "{data}/" + SBU_FILE],
                                    "missing.pt: no such file", "no-data"),
}


def _make_files(folder: Path) -> None:
    """A real (untrained) model.pt and damaged copies of it, a garbage npz, an empty root."""
    import numpy as np

    from stalib.config import TrainConfig
    from stalib.data.core import SkeletonSet
    from stalib.experiment import save_model
    from stalib.models import build_model

    (folder / "emptyroot").mkdir()
    (folder / "garbage.npz").write_bytes(b"PK\x03\x04 not really a zip")
    (folder / "garbage.pt").write_text("this is not a model\n")
    data = SkeletonSet.from_sequences([np.zeros((3, 30, 3), np.float32)] * 2, [0, 1],
                                      ["a", "b"], ["x", "y"], ["c0", "c1"], 2, 15, name="t")
    cfg = TrainConfig(dataset="sbu", model="lstm", model_overrides={"hidden": 4})
    save_model(folder / "model.pt", cfg, build_model("lstm", 30, 2, 2, hidden=4), data)
    good = (folder / "model.pt").read_bytes()
    (folder / "truncated.pt").write_bytes(good[: len(good) // 2])
    (folder / "damaged.pt").write_bytes(good[:100] + bytes(200) + good[300:])


def _run(args: list[str], env: dict, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "stalib", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def _args(case: str, data_root: Path) -> list[str]:
    return [a.replace("{data}", str(data_root)) for a in CASES[case][0]]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli-errors")
    _make_files(folder)
    return folder


@pytest.fixture(scope="module")
def outcomes(data_root, folder):
    """The SUB cases, each run as ``python -m stalib ...``."""
    base = {k: v for k, v in os.environ.items() if k != "STALIB_DATA"}
    base["OMP_NUM_THREADS"] = "1"
    envs = {"data": {**base, "STALIB_DATA": str(data_root)}, "no-data": base}
    with cf.ThreadPoolExecutor(2) as pool:
        futures = {name: pool.submit(_run, _args(name, data_root), envs[CASES[name][2]], folder)
                   for name in sorted(SUB)}
        return {name: f.result() for name, f in futures.items()}


def _check(err: str, status: int, case: str) -> None:
    assert "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got:\n{err}"
    assert lines[0].startswith("stalib: error: "), lines[0]
    assert CASES[case][1] in lines[0], lines[0]
    assert status == 2, (status, err)


@pytest.mark.parametrize("case", list(CASES))
def test_in_process(case, data_root, folder, monkeypatch, capsys):
    from stalib.cli import main
    from stalib.experiment import _load

    _load.cache_clear()  # datasets are cached per process by (name, data_root)
    monkeypatch.chdir(folder)
    if CASES[case][2] == "data":
        monkeypatch.setenv("STALIB_DATA", str(data_root))
    else:
        monkeypatch.delenv("STALIB_DATA", raising=False)
    status = main(_args(case, data_root))
    _check(capsys.readouterr().err, status, case)


@pytest.mark.parametrize("case", sorted(SUB))
def test_subprocess(case, outcomes):
    proc = outcomes[case]
    _check(proc.stderr, proc.returncode, case)


def test_every_sub_case_exists():
    assert SUB <= set(CASES)
