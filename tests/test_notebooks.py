"""The experiment notebooks end to end: `stalib reproduce --quick` on the real data, then the book.

One quick run of the whole grid (every job whose dataset is under the data root; NTU jobs are
skipped without ``NTU/``) into a tmp folder, through the real command line, two chains of jobs
at a time (``--jobs 2``): one seed, fold 1, 30 iterations or one epoch (UTKinect LOSO: 2 folds),
a few minutes on two CPU cores. Then the jupyter-book is
built from those results (``$STALIB_RESULTS``), as ``tests/test_book.py`` builds it from
synthetic ones. Nothing is written under the repository's results/ or runs/.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from test_book import build, mathjax, text_of  # noqa: F401  (mathjax: a fixture)

from stalib.report import reproduce as rp
from stalib.results import read_records

REPO = Path(__file__).resolve().parents[1]
STALIB = Path(sys.executable).with_name("stalib")

pytestmark = pytest.mark.slow


def available(job: rp.Job, data_root: Path) -> bool:
    return all((data_root / f).is_dir() for f in job.requires)


@pytest.fixture(scope="session")
def quick(tmp_path_factory, data_root):
    """``stalib reproduce --quick --results TMP``; returns (results folder, its output)."""
    tmp = tmp_path_factory.mktemp("quick")
    results = tmp / "results"
    env = dict(os.environ, STALIB_DATA=str(data_root))
    cmd = [str(STALIB), "reproduce", "--quick", "--jobs", "2", "--results", str(results)]
    proc = subprocess.run(cmd, cwd=tmp, env=env, capture_output=True, text=True, timeout=1200)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"stalib reproduce --quick failed:\n{log[-8000:]}"
    return results, proc.stdout, data_root


def test_quick_runs_every_available_job(quick):
    results, out, data_root = quick
    ran = [j for j in rp.JOBS if available(j, data_root)]
    assert {"fig7-sbu", "csta-sbu", "attention-sbu", "data-sbu"} <= {j.name for j in ran}
    for job in rp.JOBS:
        if job not in ran:
            assert f"[{job.name}] skipped: needs" in out
            continue
        assert f"[{job.name}] ran" in out, out
        stamp = json.loads((results / ".stamps" / f"{job.name}.json").read_text())
        assert stamp["quick"] is True and stamp["parameters"] == job.effective_parameters(True)
        for rel in job.outputs:
            assert (results / rel).is_file() and (results / rel).stat().st_size > 0, rel
        executed = results / "notebooks" / f"{job.name}.ipynb"
        assert executed.is_file()
        assert "Traceback" not in executed.read_text()
    assert not (results / ".staging" / "fig7-sbu").exists()
    # quick runs went into the quick results folder, never into the project's runs/ (quick settings
    # are configuration "custom": the run folder says so)
    assert (results / rp.QUICK_RUNS / "sbu" / "5fold" / "sta-lstm@custom" / "fold1-seed0" /
            "model.pt").is_file()


def test_one_results_file_per_dataset_holds_both_grids(quick):
    results, _, data_root = quick
    rows = read_records(results / "sbu" / "cv.csv")
    keys = {(r["protocol"], r["model"], r["fold"], r["seed"]) for r in rows}
    models = rp.FIG7_GRID["sbu"]["models"] + rp.CSTA_GRID["sbu"]["models"]
    assert keys == {("5fold", m, "1", "0") for m in models}
    configurations = {(r["configuration"], r["model"]) for r in rows}
    assert configurations == {("custom", m) for m in models} | {
        (o["configuration"],
         m) for o in rp.VALIDATED["sbu"] for m in rp.FIG7_GRID["sbu"]["models"]} | {
        (e["options"]["configuration"], m) for e in rp.CSTA_VALIDATED["sbu"]
        for m in rp.CSTA_GRID["sbu"]["models"]}
    assert {(json.loads(r["params"])["train"]["n1"], json.loads(r["params"])["train"]["n2"])
            for r in rows} == {(20, 10)}  # the quick parameters
    if (data_root / "UTKinect").is_dir():
        rows = read_records(results / "utkinect" / "cv.csv")
        got = sorted((r["model"], r["protocol"], r["fold"]) for r in rows)
        fig7 = rp.FIG7_GRID["utkinect"]["models"]
        want = sorted([(m, "xsub", "1") for m in fig7 + rp.CSTA_GRID["utkinect"]["models"]]
                      + [(m, "xsub", "1") for _ in rp.VALIDATED.get("utkinect", [])
                         for m in fig7]  # the configurations chosen on SBU's validation folds
                      + [(m, "xsub", "1") for _ in rp.CSTA_VALIDATED.get("utkinect", [])
                         for m in rp.CSTA_GRID["utkinect"]["models"]]
                      + [(m, "loso", f) for g in rp.LONG_GRIDS.values()
                         if g["dataset"] == "utkinect" for m in g["models"]
                         for f in ("1", "2")])
        assert got == want
    assert list(results.glob("*/cv-*.csv")) == []


def test_quick_attention_is_a_test_kicking_sequence(quick, sbu_data):
    from stalib.experiment import fold_indices

    results, _, _ = quick
    att = json.loads((results / "attention" / "sbu-kicking.json").read_text())
    assert att["action"] == "kicking" and att["fold"] == 1 and att["seed"] == 0
    assert att["quick"] is True and att["train_config"]["n1"] == 20
    cfg = rp.get_job("attention-sbu")  # the job's fold 1: the sequence is in its test set
    assert cfg.parameters["folds"] == [1]
    from stalib.report.grid import make_config

    _, test = fold_indices(make_config("sbu", "sta-lstm", "5fold", 1, 0, 20, 10), sbu_data)
    assert att["index"] in set(test.tolist())
    assert sbu_data.names[att["index"]] == att["sequence"]
    alpha, beta = np.array(att["alpha"]), np.array(att["beta"])
    assert alpha.shape == (att["frames"], 30) and beta.shape == (att["frames"],)
    assert np.allclose(alpha.sum(axis=1), 1.0, atol=1e-4)
    assert att["configuration"] == "custom"  # quick settings
    other = json.loads((results / "attention" / "sbu-l1-off-kicking.json").read_text())
    assert other["configuration"] == "l1-off" and other["train_config"]["lambda3"] == 0.0
    assert other["action"] == "kicking" and other["index"] in set(test.tolist())
    assert att["frame_shown"] == int(np.argmax(np.diff(beta))) + 2
    assert len(att["top_joints_at_frame_shown"]) == 8


def test_quick_run_again_is_up_to_date(quick):
    results, _, data_root = quick
    env = dict(os.environ, STALIB_DATA=str(data_root))
    proc = subprocess.run([str(STALIB), "reproduce", "--quick", "--results", str(results)],
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    n = sum(available(j, data_root) for j in rp.JOBS)
    assert f"0 ran, {n} up to date" in proc.stdout


def test_book_from_quick_results(quick, tmp_path, mathjax):  # noqa: F811
    results, _, data_root = quick
    html = build(tmp_path / "out", results)
    table1 = text_of(html / "table1.html")
    # the row of the recorded configuration (its quick runs keep its name), by its readable name
    assert "STA-LSTM (this replication, tuned configuration (Fig. 7 models))" in table1
    assert "91.51" in table1
    fig7 = text_of(html / "fig7.html")
    configurations = text_of(html / "appendix-configurations.html")
    # what each configuration changes
    assert "lambda3=0.0" in configurations and "n1=20" in configurations
    # STA-LSTM against the LSTM on the runs both have (the quick grid runs both on SBU)
    assert "Paired difference (pp)" in fig7 and "Runs won" in fig7
    assert "literature: Song et al., AAAI 2017, Table 1" in table1
    assert "our copy of SBU has 282 sequences" in table1 and "230 sequences" in table1
    table2 = text_of(html / "table2.html")
    if not (data_root / "NTU").is_dir():
        assert "NTU RGB+D was not available" in table2
        assert "stalib reproduce --only fig7-ntu" in table2 and "not run" in table2
    attention = text_of(html / "attention.html")
    # Figs. 5a, 5b, 5c and 6 for the paper's settings and for each validated configuration
    assert (html / "attention.html").read_text(encoding="utf-8").count("<img") == 4 * (
        1 + len(rp.VALIDATED["sbu"]))
    assert "a quick run" in attention and "Δβ peaks at frame" in attention
    csta = text_of(html / "appendix-csta.html")
    assert "Paired by protocol, fold and seed" in csta
    # the coupled map of each CSTA job of SBU (the paper's settings and each chosen configuration)
    assert (html / "appendix-csta.html").read_text(encoding="utf-8").count("<img") >= 1 + len(
        rp.CSTA_VALIDATED["sbu"])
    assert "Against STA-LSTM (l1-off-aug)" in csta
    for configuration in {o["configuration"] for options in rp.VALIDATED.values() for o in options}:
        # one table per configuration, whichever datasets run it (r1-view-gain: SBU and UTKinect)
        assert csta.count(f"Against STA-LSTM ({configuration}), paired") <= 1, configuration
    datasets = (html / "datasets.html").read_text(encoding="utf-8")
    assert datasets.count("<img") >= 3
    stamps = text_of(html / "appendix-runs.html")  # the executed notebooks
    assert "fig7-sbu" in stamps and "attention-sbu" in stamps
    for page in html.glob("*.html"):
        assert "Traceback" not in page.read_text(encoding="utf-8"), page.name


def test_papermill_from_another_folder_writes_only_inside_the_checkout(tmp_path, data_root):
    """A notebook run by papermill from a folder outside the repository, without folder
    parameters, writes its results into this checkout's results folder ($STALIB_RESULTS
    here, so the committed results stay untouched), and nothing into the caller's folder
    (``results_dir="../results"`` once resolved against the caller's working directory)."""
    outside, results = tmp_path / "outside", tmp_path / "results"
    elsewhere = outside / "cwd"
    elsewhere.mkdir(parents=True)
    env = dict(os.environ, STALIB_DATA=str(data_root), STALIB_RESULTS=str(results))
    out = tmp_path / "executed.ipynb"
    proc = subprocess.run(
        [sys.executable, "-m", "papermill", str(REPO / "notebooks" / "data.ipynb"), str(out),
         "-p", "dataset", "sbu", "-y", '{"seeds": [0]}', "--kernel", "python3"],
        cwd=elsewhere, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert list(elsewhere.iterdir()) == [] and list(outside.iterdir()) == [elsewhere]
    assert (results / "sbu" / "data.json").is_file()


def test_a_notebook_without_folders_finds_its_checkout_from_anywhere(tmp_path, monkeypatch):
    from stalib.report import grid

    monkeypatch.delenv("STALIB_RESULTS", raising=False)
    monkeypatch.chdir(tmp_path)
    results_dir, results_root, runs_root = grid.setup_notebook(None)
    assert results_dir == results_root == REPO / "results" and runs_root == REPO / "runs"
    assert grid.setup_notebook(None, "a", "b", "c") == (Path("a"), Path("b"), Path("c"))
