"""Progress lines while a notebook runs, and no kernel noise, under `stalib reproduce`."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import nbformat

from stalib.heartbeat import Heartbeat, elapsed_text, notebook_progress
from stalib.report import reproduce as rp

REPO = Path(__file__).resolve().parents[1]


def test_heartbeat_logs_while_the_work_runs_and_stops_after():
    lines = []
    with Heartbeat(lines.append, lambda s: f"running {s:.1f}", every=0.05):
        time.sleep(0.4)
    count = len(lines)
    time.sleep(0.2)
    assert count >= 2 and len(lines) == count and lines[0].startswith("running ")
    with Heartbeat(lines.append, lambda s: 1 / 0, every=0.01):  # a broken describe is ignored
        time.sleep(0.05)


def test_notebook_progress_and_elapsed_text(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("1"), nbformat.v4.new_markdown_cell("x"),
                nbformat.v4.new_code_cell("2"), nbformat.v4.new_code_cell("3")]
    nb.cells[0].metadata["papermill"] = {"status": "completed"}
    nbformat.write(nb, tmp_path / "nb.ipynb")
    assert notebook_progress(tmp_path / "nb.ipynb") == "cell 2 of 3"
    (tmp_path / "half.ipynb").write_text('{"cells": [')
    assert notebook_progress(tmp_path / "half.ipynb") is None
    assert notebook_progress(tmp_path / "missing.ipynb") is None
    assert [elapsed_text(s) for s in (45, 600, 7500)] == ["45 s", "10 min", "2 h 05 min"]


def test_reproduce_shows_progress_and_no_kernel_noise(tmp_path, monkeypatch, capfd):
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("results_dir = '.'\nresults_root = '.'\ndata_root = None"
                                       "\nquick = False\nretrain = False\n")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(
        "import pathlib, time\ntime.sleep(3)\n"
        "(pathlib.Path(results_dir) / 'out.txt').write_text('ok')")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    (tmp_path / "notebooks").mkdir()
    nbformat.write(nb, tmp_path / "notebooks" / "slow.ipynb")
    monkeypatch.setattr(rp, "HEARTBEAT_S", 0.5)
    lines = []
    job = rp.Job("slow", "notebooks/slow.ipynb", {}, outputs=("out.txt",))
    [outcome] = rp.run_jobs([job], tmp_path / "results", root=tmp_path, log=lines.append)
    assert outcome.status == "ran", outcome.message
    progress = [line for line in lines if "still running" in line]
    assert progress and progress[-1].startswith("[slow] still running, ")
    # the parameters cell, the one papermill injects, the sleeping cell
    assert any(line.endswith("cell 3 of 3") for line in progress), progress
    err = capfd.readouterr().err
    assert "without encryption" not in err and "KeyboardInterrupt" not in err, err


def test_failed_notebooks_are_never_committed():
    """`git add results` must not pick up a failed job's executed notebook."""
    path = "results/notebooks/fig7-sbu.failed.ipynb"
    proc = subprocess.run(["git", "check-ignore", "-q", path], cwd=REPO)
    assert proc.returncode == 0, f"{path} is not git-ignored"
    assert subprocess.run(["git", "check-ignore", "-q", "results/notebooks/fig7-sbu.ipynb"],
                          cwd=REPO).returncode == 1
