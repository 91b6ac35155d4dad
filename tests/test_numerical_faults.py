"""A NaN during training stops the run: one line naming stage and iteration, exit status 2, the
last good checkpoint kept, and nothing written to the results or as a final model.

The CLI case uses a real trigger: an absurd learning rate (``--lr 1e15``) makes the weights blow
up, and the trainer meets a non-finite loss or gradient a few iterations later. The in-process
case injects NaN into the loss of step 4 of Algorithm 1 (stage 3 of 8) through
``run_experiment``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import numpy as np
import pytest
import torch

from stalib.config import TrainConfig
from stalib.train import NumericalError

STOP = re.compile(r"non-finite (?:loss \(\S+\)|gradient) at stage (\d+)/8 \(.+\), iteration "
                  r"(\d+); last good checkpoint kept at (\S+)$")


def _finite_weights(ckpt: dict) -> bool:
    return all(torch.isfinite(v).all() for v in ckpt["model"].values() if v.is_floating_point())


def test_cli_stops_on_a_real_divergence(data_root, tmp_path):
    env = dict(os.environ, STALIB_DATA=str(data_root), OMP_NUM_THREADS="1")
    args = ["train", "--dataset", "sbu", "--model", "sta-lstm", "--n1", "10", "--n2", "5",
            "--set", "hidden=16", "--set", "spatial_hidden=16", "--checkpoint-every", "3",
            "--lr", "1e15", "--out", "run", "--results", "res", "--quiet", "--device", "cpu",
            "--threads", "1"]
    proc = subprocess.run([sys.executable, "-m", "stalib", *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    m = STOP.search(line)
    assert m, line
    stage, iteration = int(m.group(1)), int(m.group(2))
    ckpt_path = tmp_path / m.group(3)
    assert ckpt_path == tmp_path / "run" / "checkpoint.pt"
    ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=False)
    # the checkpoint is from before the failing iteration, and its weights are finite
    assert (ckpt["stage"], ckpt["iteration"]) < (stage - 1, iteration)
    assert _finite_weights(ckpt)
    assert not (tmp_path / "run" / "model.pt").exists()
    assert not (tmp_path / "run" / "metrics.json").exists()
    assert not (tmp_path / "res").exists()  # no results row, not even an empty file




def test_run_experiment_stops_mid_schedule_and_writes_no_results(tmp_path, monkeypatch,
                                                                 one_thread):
    import stalib.experiment as ex
    from stalib.data.core import SkeletonSet

    rng = np.random.default_rng(0)
    seqs = [rng.normal(size=(int(rng.integers(5, 9)), 6, 3)).astype(np.float32)
            for _ in range(20)]
    data = SkeletonSet.from_sequences(seqs, [i % 2 for i in range(20)],
                                      [f"g{i % 5}" for i in range(20)],
                                      [f"s{i}" for i in range(20)], ["a", "b"], 1, 6, name="toy")
    real = ex.make_loss
    calls = {"n": 0}

    def nan_on_call_14(cfg):
        loss_fn = real(cfg)

        def wrapped(model, out, batch):
            calls["n"] += 1
            terms = loss_fn(model, out, batch)
            if calls["n"] == 14:  # 6 + 6 iterations of steps 2 and 3, then step 4's second
                terms["total"] = terms["total"] * float("nan")
            return terms

        return wrapped

    monkeypatch.setattr(ex, "make_loss", nan_on_call_14)
    cfg = TrainConfig(dataset="npz:toy.npz", model="sta-lstm", n1=6, n2=4, batch_size=4,
                      device="cpu", checkpoint_every=5,
                      model_overrides={"hidden": 8, "spatial_hidden": 8})
    out, results = tmp_path / "run", tmp_path / "results"
    with pytest.raises(NumericalError, match=r"stage 3/8 \(fine-tune TA and main\), "
                                             r"iteration 2; last good checkpoint kept"):
        ex.run_experiment(cfg, out, results_dir=results, progress=False, data=data)
    ckpt = torch.load(out / "checkpoint.pt", map_location="cpu", weights_only=False)
    assert (ckpt["stage"], ckpt["iteration"]) == (2, 0)  # the end of step 3
    assert _finite_weights(ckpt)
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint.pt"]
    assert not results.exists()
