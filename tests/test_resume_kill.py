"""Kill and resume through the CLI: SIGKILL mid-stage, ``--resume``, bit-identical result.

``stalib train`` (STA-LSTM on SBU fold 1, N1 = 40, N2 = 20, hidden 16, CPU, one thread) runs in a
subprocess; once a mid-stage checkpoint of stage 2 or later exists it is killed with SIGKILL and
rerun with ``--resume``. Final accuracy and every tensor of ``model.pt`` must equal those of an
uninterrupted run with the same seed (``torch.equal``). ``stalib cv --resume`` must skip the folds
already in the results CSV and continue a fold from its checkpoint.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from stalib.results import read_records
from stalib.tools import reliability as rel

pytestmark = pytest.mark.slow


def test_sigkill_mid_stage_then_resume_equals_an_uninterrupted_run(data_root, tmp_path):
    res = rel.kill_and_resume(data_root, tmp_path)
    assert res["killed_at_returncode"] == -signal.SIGKILL
    assert res["checkpoint_seen"]["stage"] >= 2 and res["checkpoint_seen"]["iteration"] > 0
    assert "model.pt" not in res["files_after_kill"]  # killed before the end
    assert res["resumed_from_checkpoint"]  # continued from the killed run's checkpoint
    assert res["uninterrupted"]["iterations"] == res["resumed"]["iterations"] == 5 * 40 + 3 * 20
    assert res["accuracy_equal"], (res["uninterrupted"], res["resumed"])
    assert res["uninterrupted"] == res["resumed"]
    assert res["weights_equal"], res["differing_tensors"]
    assert res["tensors"] > 10


CV = ["--dataset", "sbu", "--model", "lstm", "--seeds", "0", "--n1", "4", "--n2", "2",
      "--set", "hidden=8", "--checkpoint-every", "2", "--quiet", "--device", "cpu",
      "--threads", "1"]


def _cv(tmp_path, data_root, *extra):
    env = dict(os.environ, STALIB_DATA=str(data_root), OMP_NUM_THREADS="1")
    return subprocess.run([sys.executable, "-m", "stalib", "cv", *CV, "--out", "runs",
                           "--results", "res", *extra], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600)




def test_cv_resume_skips_finished_folds_and_continues_a_partial_one(data_root, tmp_path,
                                                                     one_thread):
    from stalib.config import TrainConfig
    from stalib.experiment import run_experiment

    first = _cv(tmp_path, data_root, "--folds", "1")
    assert first.returncode == 0, first.stderr
    csv = tmp_path / "res" / "sbu" / "cv.csv"
    (row1,) = read_records(csv)
    fold1 = tmp_path / "runs" / "fold1-seed0"
    stamp1 = (fold1 / "metrics.json").stat().st_mtime_ns

    # fold 2 interrupted after 3 of its 10 iterations (the configuration stalib cv builds)
    cfg = TrainConfig(dataset="sbu", model="lstm", fold=2, seed=0, n1=4, n2=2, device="cpu",
                      checkpoint_every=2, model_overrides={"hidden": 8})
    fold2 = tmp_path / "runs" / "fold2-seed0"
    with pytest.raises(SystemExit):
        run_experiment(cfg, fold2, data_root, progress=False, stop_after=3)
    assert rel.read_checkpoint_position(fold2 / "checkpoint.pt") == (0, 2)  # mid stage 1
    rel.mark_checkpoint(fold2 / "checkpoint.pt")

    refused = _cv(tmp_path, data_root, "--folds", "1,2")
    assert refused.returncode == 2
    assert "--resume skips finished folds" in refused.stderr.strip().splitlines()[-1]

    again = _cv(tmp_path, data_root, "--folds", "1,2", "--resume")
    assert again.returncode == 0, again.stderr
    assert f"1 finished run(s) already in {csv.relative_to(tmp_path)}: skipped" in again.stdout
    assert "fold 1 seed 0" not in again.stdout and "fold 2 seed 0: accuracy" in again.stdout
    rows = read_records(csv)
    assert [(r["fold"], r["seed"]) for r in rows] == [("1", "0"), ("2", "0")]
    assert rows[0] == row1  # the finished fold is untouched
    assert (fold1 / "metrics.json").stat().st_mtime_ns == stamp1
    metrics = json.loads((fold2 / "metrics.json").read_text())
    assert any(h.get("marker") == rel.MARKER for h in metrics["history"])  # continued
    assert metrics["iterations"] == 4 + 4 + 2
