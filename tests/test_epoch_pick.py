"""stalib.tools.epoch_pick and train_run(watch=...): evaluating the test fold after every
epoch changes no number of the run, and the file records the final model beside the best
epoch."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from stalib.config import TrainConfig
from stalib.data.core import SkeletonSet
from stalib.errors import ConfigError, FormatError
from stalib.experiment import make_loss
from stalib.models import build_model
from stalib.tools import epoch_pick
from stalib.train import train_run


def _toy(n=18, k=4, classes=3) -> SkeletonSet:
    rng = np.random.default_rng(0)
    seqs = []
    for i in range(n):
        s = rng.normal(0, 0.05, (int(rng.integers(5, 10)), k, 3)).astype(np.float32)
        s[:, i % classes, 0] += np.linspace(0, 1, len(s))
        seqs.append(s)
    return SkeletonSet.from_sequences(
        seqs, [i % classes for i in range(n)], [f"g{i % 3}" for i in range(n)],
        [f"s{i}" for i in range(n)], [f"c{c}" for c in range(classes)], persons=1,
        joints_per_person=k, name="toy")


@pytest.mark.parametrize("model", ["sta-lstm", "hcn"])
def test_watching_the_test_sequences_changes_no_number(model):
    """Dropout draws random numbers in training mode only: an evaluation between two steps
    must not move the generator, the weights, or the result."""
    data = _toy()
    train, test = np.arange(12), np.arange(12, 18)
    cfg = TrainConfig(dataset="toy", model=model, schedule="joint", epochs=3, batch_size=4,
                      seed=5, device="cpu")
    runs = []
    for watch in (None, test):
        torch.manual_seed(cfg.seed)
        net = build_model(model, data.num_joints, data.num_classes, data.persons)
        res = train_run(cfg, net, make_loss(cfg), data, train, test, progress=False,
                        log_every=3, watch=watch)
        runs.append((res, net.state_dict()))
    (plain, w0), (watched, w1) = runs
    assert watched.accuracy == plain.accuracy and watched.train_accuracy == plain.train_accuracy
    assert (watched.test_correct == plain.test_correct).all()
    assert all(torch.equal(w0[k], w1[k]) for k in w0)
    assert all("watch_accuracy" not in e for e in plain.history)
    assert [e["iteration"] for e in watched.history] == [3, 6, 9]  # one entry per epoch
    assert watched.history[-1]["watch_accuracy"] == watched.accuracy  # the final model


def test_fold_curve_records_the_final_model_beside_the_best_epoch(utkinect_data):
    cfg = TrainConfig(dataset="utkinect", model="hcn", schedule="joint", epochs=3,
                      batch_size=64, seed=0, device="cpu", configuration="probe")
    out = epoch_pick.fold_curve(cfg, utkinect_data)
    assert len(out["curve"]) == 3 and out["n_test"] == len(out["test_correct"])
    assert out["final"] == out["curve"][-1]
    assert out["best"] == max(out["curve"]) >= out["final"]
    assert out["curve"][out["best_epoch"] - 1] == out["best"]
    assert out["test_correct"].count("c") == round(out["final"] * out["n_test"])


def test_a_configuration_without_epochs_is_refused(utkinect_data):
    cfg = TrainConfig(dataset="utkinect", model="hcn", n1=5, n2=5, device="cpu")
    with pytest.raises(ConfigError, match="trains by iterations, not epochs"):
        epoch_pick.fold_curve(cfg, utkinect_data)


def test_load_all_reads_every_epoch_pick_file_of_a_folder(tmp_path):
    doc = {"kind": epoch_pick.KIND, "folds": [{"fold": 1}]}
    (tmp_path / "sbu-b.json").write_text(json.dumps({**doc, "model": "b"}))
    (tmp_path / "sbu-a.json").write_text(json.dumps({**doc, "model": "a"}))
    (tmp_path / "notes.txt").write_text("not json")  # not a .json file: not read
    assert [d["model"] for d in epoch_pick.load_all(tmp_path)] == ["a", "b"]
    (tmp_path / "bench.json").write_text("{}")
    with pytest.raises(FormatError, match="bench.json"):
        epoch_pick.load_all(tmp_path)


def test_load_refuses_another_file_in_one_line(tmp_path):
    path = tmp_path / "bench.json"
    path.write_text(json.dumps({"kind": "stalib-bench", "folds": [1]}))
    with pytest.raises(FormatError, match="bench.json.*not an epoch-pick file") as err:
        epoch_pick.load(path)
    assert "\n" not in str(err.value)
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(FormatError, match="broken.json.*not a readable epoch-pick file"):
        epoch_pick.load(tmp_path / "broken.json")


def test_every_fold_is_checked_before_the_first_trains(data_root, monkeypatch):
    """A fold outside the protocol at the end of --folds is refused in one line, and no fold
    before it has trained (folds are checked as `stalib cv` checks them)."""
    trained = []
    monkeypatch.setattr(epoch_pick, "fold_curve", lambda cfg, data: trained.append(cfg.fold))
    cfg = TrainConfig(dataset="sbu", model="hcn", schedule="joint", epochs=1, device="cpu")
    with pytest.raises(ConfigError, match=r"^`folds`: fold 9 out of range 1\.\.5 for sbu 5fold$"):
        epoch_pick.epoch_pick(cfg, [1, 9], str(data_root))
    assert trained == []
