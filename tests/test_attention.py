"""Attention figures drawn again from what their job recorded, never by training again."""

from __future__ import annotations

import json

import numpy as np

from stalib.attention import recorded_attention
from stalib.config import TrainConfig
from stalib.data.core import SkeletonSet


def _setup(tmp_path):
    rng = np.random.default_rng(0)
    seqs = [rng.normal(size=(5 + i, 4, 3)).astype(np.float32) for i in range(3)]
    data = SkeletonSet.from_sequences(seqs, [0, 1, 0], ["g0", "g1", "g2"], ["a", "b", "c"],
                                      ["x", "y"], persons=1, joints_per_person=4, name="toy")
    cfg = TrainConfig(dataset="sbu", model="sta-lstm", fold=1, seed=0)
    rec = {"train_config": cfg.to_dict(), "index": 1, "sequence": "b", "predicted": "x",
           "alpha": rng.random((6, 4)).round(6).tolist(), "beta": rng.random(6).tolist()}
    path = tmp_path / "sbu-kicking.json"
    path.write_text(json.dumps(rec))
    return data, cfg, rec, path


def test_the_record_stands_in_for_a_missing_run(tmp_path):
    data, cfg, rec, path = _setup(tmp_path)
    att, meta = recorded_attention(path, cfg, tmp_path / "run", data)
    assert (att.index, att.name, att.label, att.predicted) == (1, "b", 1, 0)
    assert not att.correct and np.array_equal(att.frames, data[1])
    assert np.allclose(att.alpha, rec["alpha"]) and meta == {"train_config": cfg.to_dict()}


def test_the_record_is_not_used_when_the_run_is_there_or_differs(tmp_path):
    data, cfg, rec, path = _setup(tmp_path)
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "model.pt").write_bytes(b"model")
    assert recorded_attention(path, cfg, tmp_path / "run", data) is None  # use the model
    other = TrainConfig(dataset="sbu", model="sta-lstm", fold=1, seed=0, lambda3=0.0)
    assert recorded_attention(path, other, tmp_path / "none", data) is None
    assert recorded_attention(tmp_path / "missing.json", cfg, tmp_path / "none", data) is None
    path.write_text(json.dumps({**rec, "sequence": "c"}))  # another copy of the data
    assert recorded_attention(path, cfg, tmp_path / "none", data) is None
    path.write_text(json.dumps({**rec, "alpha": [[0.5] * 4] * 3}))  # not this sequence's length
    assert recorded_attention(path, cfg, tmp_path / "none", data) is None
