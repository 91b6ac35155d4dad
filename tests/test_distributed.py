"""Data-parallel training (stalib.distributed + the trainer): slicing, weights, and a real
two-process run under torchrun (gloo, CPU) that ends with the weights of one process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from test_train import toy_set

from stalib import distributed
from stalib.cli import main
from stalib.data.stream import BatchStream
from stalib.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("n,world", [(8, 2), (5, 2), (1, 2), (7, 3), (2, 3), (9, 1)])
def test_shard_slices_cover_the_batch_and_weights_average_to_the_global_mean(n, world):
    chunk = np.arange(100, 100 + n)
    parts = [distributed.shard(chunk, r, world) for r in range(world)]
    real = [(idx, w) for idx, w in parts if w > 0]
    np.testing.assert_array_equal(np.concatenate([idx for idx, _ in real]), chunk)
    # per-rank batch means m_r; DDP averages w_r m_r over ranks = the global mean
    values = np.random.default_rng(n).normal(size=200)
    ddp = sum(w * values[idx].mean() for idx, w in parts) / world
    np.testing.assert_allclose(ddp, values[chunk].mean(), rtol=1e-12)
    for idx, w in parts:
        assert len(idx) >= 1  # every rank runs a forward/backward pass
        if w == 0:
            np.testing.assert_array_equal(idx, chunk[:1])


def test_batch_stream_ranks_split_the_single_process_stream():
    data = toy_set(n=13)
    idx = np.arange(len(data))
    single = BatchStream(data, idx, 5, seed=4)
    ranks = [BatchStream(data, idx, 5, seed=4, rank=r, world=2) for r in range(2)]
    for _ in range(7):  # crosses epoch ends (13 = 5 + 5 + 3)
        whole = single.next()
        parts = [s.next() for s in ranks]
        got = np.concatenate([b.index.numpy() for b, s in zip(parts, ranks, strict=True)
                              if s.weight > 0])
        np.testing.assert_array_equal(got, whole.index.numpy())
        assert sum(s.weight for s in ranks) / 2 == pytest.approx(1.0)


def test_env_info(monkeypatch):
    for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(k, raising=False)
    assert distributed.env_info() == distributed.DistInfo()
    assert not distributed.init("cpu").enabled  # no torchrun: a plain single process
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    info = distributed.env_info()
    assert (info.rank, info.world, info.enabled, info.is_main) == (1, 2, True, False)
    monkeypatch.setenv("RANK", "2")
    with pytest.raises(ConfigError, match="RANK"):
        distributed.env_info()
    monkeypatch.setenv("RANK", "x")
    with pytest.raises(ConfigError, match="not an integer"):
        distributed.env_info()


def test_cv_refuses_to_run_under_torchrun(monkeypatch, capsys):
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert main(["cv", "--dataset", "sbu", "--seeds", "0"]) == 2
    assert "does not run under torchrun" in capsys.readouterr().err


def write_toy_npz(path: Path, n_train: int = 21, n_test: int = 10) -> Path:
    """Toy sequences (the class is the joint that moves) with a train/test ``split``."""
    rng = np.random.default_rng(0)
    seqs, labels, split = [], [], []
    for i in range(n_train + n_test):
        t = int(rng.integers(5, 12))
        c = i % 3
        s = rng.normal(0, 0.05, (t, 6, 3)).astype(np.float32)
        s[:, c, 0] += np.linspace(0, 1, t)
        seqs.append(s)
        labels.append(c)
        split.append("train" if i < n_train else "test")
    np.savez(path, frames=np.concatenate(seqs), lengths=np.array([len(s) for s in seqs]),
             labels=np.array(labels), split=np.array(split), groups=np.arange(len(seqs)) % 5)
    return path


def _run(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO))
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


@pytest.mark.slow
def test_two_processes_give_the_weights_of_one_process(tmp_path):
    """torchrun --nproc_per_node 2 (gloo) == one process with the same global batch.

    21 training sequences in global batches of 5: slices of 3 + 2 sequences, and at every epoch
    end a batch of 1 (one rank gets weight 0). Dropout is 0: the ranks would otherwise draw other
    masks than one process. Tolerance: 1e-6 absolute on every weight (summation order differs:
    the gradients are summed over two processes; measured ~1e-8), the same accuracies.
    """
    npz = write_toy_npz(tmp_path / "toy.npz")
    args = ["train", "--dataset", f"npz:{npz}", "--protocol", "provided", "--model", "sta-lstm",
            "--n1", "4", "--n2", "2", "--batch-size", "5", "--set", "hidden=8",
            "--set", "spatial_hidden=8", "--set", "dropout=0", "--device", "cpu", "--quiet",
            "--threads", "1"]
    _run([sys.executable, "-m", "stalib", *args, "--out", "one"], tmp_path)
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone",
                "--nproc_per_node", "2", "-m", "stalib"]
    proc = _run([*torchrun, *args, "--out", "two", "--results", "res"], tmp_path)
    assert "x2 (DDP gloo)" in proc.stdout
    one = torch.load(tmp_path / "one" / "model.pt", weights_only=False)["state_dict"]
    two = torch.load(tmp_path / "two" / "model.pt", weights_only=False)["state_dict"]
    assert one.keys() == two.keys()
    for k in one:
        torch.testing.assert_close(two[k], one[k], atol=1e-6, rtol=0, msg=k)
    m1 = json.loads((tmp_path / "one" / "metrics.json").read_text())
    m2 = json.loads((tmp_path / "two" / "metrics.json").read_text())
    assert (m1["accuracy"], m1["train_accuracy"]) == (m2["accuracy"], m2["train_accuracy"])
    assert m2["iterations"] == m1["iterations"] == 26
    assert len(m1["history"]) == len(m2["history"])
    for a, b in zip(m1["history"], m2["history"], strict=True):  # global batch losses
        assert b["loss"] == pytest.approx(a["loss"], rel=1e-5)
        assert b["train_batch_acc"] == pytest.approx(a["train_batch_acc"])
    # only rank 0 wrote: one run folder, one results row
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one", "res", "toy.npz", "two"]
    rows = (tmp_path / "res" / "npz-toy" / "cv.csv").read_text().strip().splitlines()
    assert len(rows) == 2 and "DDP gloo" in rows[1]
    # --resume: rank 0 reads the (final) checkpoint and sends it to rank 1; nothing more trains
    _run([*torchrun, *args, "--out", "two", "--resume"], tmp_path)
    again = torch.load(tmp_path / "two" / "model.pt", weights_only=False)["state_dict"]
    for k in two:
        assert torch.equal(again[k], two[k]), k
