"""The portable deterministic mode (stalib.determinism): it takes effect in a fresh process
started by the stalib command and in its worker processes, a row outside it is refused, rows say
their mode, and the report reads a configuration's portable rows once its portable grid is
whole."""

from __future__ import annotations

import csv
import os
import subprocess
import sys

import pytest

from stalib import determinism
from stalib.determinism import PORTABLE_ENV
from stalib.results import speaking_rows

PORTABLE_TEXT = "portable cpu isa=AVX2 threads=1 cbwr=AVX2,STRICT"


def _bare_env(**extra: str) -> dict:
    """This environment without the mode's variables (a user's shell)."""
    env = {k: v for k, v in os.environ.items() if k not in PORTABLE_ENV
           and k != determinism.MARK}
    return {**env, **extra}


def _rows(path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _stalib(*args: str, env: dict | None = None, timeout: int = 300):
    return subprocess.run([sys.executable, "-m", "stalib", *args], capture_output=True,
                          text=True, env=env or _bare_env(), timeout=timeout)


@pytest.mark.slow
def test_the_stalib_command_trains_in_the_portable_mode_from_a_bare_shell(tmp_path, data_root):
    out = _stalib("train", "--dataset", "sbu", "--model", "lstm", "--n1", "2", "--n2", "1",
                  "--data-root", str(data_root), "--out", str(tmp_path / "run"), "--results",
                  str(tmp_path / "results"), "--quiet")
    assert out.returncode == 0, out.stderr
    (row,) = _rows(tmp_path / "results" / "sbu" / "cv.csv")
    assert row["determinism"] == PORTABLE_TEXT


@pytest.mark.slow
def test_cv_workers_run_in_the_portable_mode(tmp_path, data_root):
    out = _stalib("cv", "--dataset", "sbu", "--model", "lstm", "--n1", "2", "--n2", "1",
                  "--folds", "1,2", "--seeds", "0", "--jobs", "2", "--data-root",
                  str(data_root), "--out", str(tmp_path / "runs"), "--results",
                  str(tmp_path / "results"), "--quiet")
    assert out.returncode == 0, out.stderr
    rows = _rows(tmp_path / "results" / "sbu" / "cv.csv")
    assert [r["determinism"] for r in rows] == [PORTABLE_TEXT] * 2


@pytest.mark.slow
def test_native_rows_say_so_and_more_threads_need_native(tmp_path, data_root):
    args = ["train", "--dataset", "sbu", "--model", "lstm", "--n1", "2", "--n2", "1",
            "--data-root", str(data_root), "--out", str(tmp_path / "run"), "--results",
            str(tmp_path / "results"), "--quiet", "--threads", "2"]
    refused = _stalib(*args)
    assert refused.returncode == 2
    assert "--threads 2: the portable deterministic mode runs one thread" in refused.stderr
    assert _stalib(*args, "--native").returncode == 0
    (row,) = _rows(tmp_path / "results" / "sbu" / "cv.csv")
    assert row["determinism"].startswith("native cpu isa=") and "threads=2" in row["determinism"]


def _in_a_bare_process(code: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=_bare_env(**env), timeout=120)


def test_a_row_outside_the_mode_is_refused_and_native_records_what_ran():
    code = ("import torch\nfrom stalib.determinism import row_mode\n"
            "print(row_mode('cpu', native=True))\nrow_mode('cpu', native=False)\n")
    out = _in_a_bare_process(code)
    assert out.stdout.startswith("native cpu isa=")
    assert "the portable deterministic mode is not in effect (OMP_NUM_THREADS=1 not set" in (
        out.stderr)


def test_enable_before_torch_takes_effect_and_after_it_is_refused():
    ok = _in_a_bare_process("from stalib import determinism\ndeterminism.enable()\n"
                            "print(determinism.current().text())")
    assert ok.stdout.strip() == PORTABLE_TEXT, ok.stderr
    late = _in_a_bare_process("import torch\nfrom stalib import determinism\n"
                              "determinism.enable()")
    assert "already imported, the portable mode can no longer take effect" in late.stderr


def test_one_variable_missing_is_named():
    env = {**PORTABLE_ENV}
    env.pop("ATEN_CPU_CAPABILITY")
    out = _in_a_bare_process("import torch\nfrom stalib import determinism\n"
                             "print(determinism.current().problems)", **env)
    assert "ATEN_CPU_CAPABILITY=avx2 not set" in out.stdout


def test_this_test_process_is_in_the_mode():
    """conftest enables the mode before torch loads; rows written by tests need it."""
    assert determinism.current().portable, determinism.current().problems


def test_the_mode_word_of_a_row():
    assert determinism.word(PORTABLE_TEXT) == "portable"
    assert determinism.word("native cpu isa=AVX512 threads=2") == "native"
    assert determinism.word("") == determinism.word(None) == "unrecorded"
    assert determinism.word("nan") == "unrecorded"


def _row(fold: int, seed: int, mode: str, acc: float = 0.5) -> dict:
    return {"dataset": "sbu", "protocol": "5fold", "configuration": "v", "model": "lstm",
            "fold": fold, "seed": seed, "accuracy": acc, "determinism": mode}


def test_the_report_reads_portable_rows_only_once_their_grid_is_whole():
    history = [_row(f, 0, "unrecorded") for f in (1, 2)]
    half = [_row(1, 0, PORTABLE_TEXT, 0.9)]
    assert speaking_rows(history + half) == history  # the portable grid is not whole yet
    whole = half + [_row(2, 0, PORTABLE_TEXT, 0.8)]
    assert speaking_rows(history + whole) == whole
    other = [{**r, "model": "sta-lstm"} for r in history]  # another configuration: untouched
    assert speaking_rows(history + whole + other) == whole + other
    assert speaking_rows(whole) == whole
