"""``stalib bench``: the quick CLI run and its JSON, the timing helper, the data-path pieces,
the sweep, the grid timer and the book helpers (on synthetic documents)."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
import torch
from test_distributed import write_toy_npz

from stalib.cli import main
from stalib.data.ntu import parse_skeleton
from stalib.tools import bench


@pytest.mark.slow
def test_quick_bench_prints_one_table_and_writes_json(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert main(["bench", "--quick", "--no-data", "--json", str(out), "--note", "test"]) == 0
    text = capsys.readouterr().out
    # one table; the columns are right-aligned, so the gap between headers depends on the widths
    assert len(re.findall(r"ms/step +seq/s", text)) == 1
    assert "NTU quick configuration (batch 32, 100 frames)" in text
    assert "STA-LSTM / LSTM step time at ntu-quick" in text
    doc = json.loads(out.read_text())
    assert doc["kind"] == "stalib-bench" and doc["quick"] and doc["note"] == "test"
    shapes = {(r["shape"], r["batch"], r["frames"], r["joints"]) for r in doc["rows"]}
    assert shapes == {("sbu", 8, 46, 30), ("ntu-quick", 32, 100, 50)}
    cpu = [r for r in doc["rows"] if r["device"] == "cpu"]
    assert {r["model"] for r in cpu} == set(bench.MODELS) and len(cpu) == 8
    for r in cpu:
        assert r["step_ms"] > 0 and r["seq_per_s"] == pytest.approx(
            1000 * r["batch"] / r["step_ms"], rel=1e-3)
        assert len(r["samples_ms"]) == r["repeats"] >= 3
    ms = {r["model"]: r["step_ms"] for r in cpu if r["shape"] == "ntu-quick"}
    assert doc["sta_over_lstm"] == pytest.approx(ms["sta-lstm"] / ms["lstm"], rel=1e-3)
    assert doc["reference_over_sta"] == pytest.approx(
        ms["sta-lstm-reference"] / ms["sta-lstm"], rel=1e-3)
    assert doc["ratio_shape"] == "ntu-quick"
    m = doc["machine"]
    assert m["cpu_count"] >= 1 and m["torch_threads"] == 1 and "cpu" in m["devices"]
    assert doc["git_commit"] and doc["timestamp"].endswith("Z")
    assert len(doc["load_average_start"]) == 3
    if torch.cuda.is_available():  # the CUDA rows come with the CPU ones
        assert {r["model"] for r in doc["rows"] if r["device"] == "cuda"} == set(bench.MODELS)


def test_time_fns_interleaves_and_takes_medians():
    calls = []
    fns = {"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}
    out = bench.time_fns(fns, torch.device("cpu"), warmup=1, repeats=4, min_repeat_s=0.0)
    assert calls[:2] == ["a", "b"]  # warm-up, then the rounds alternate
    assert calls[2:] == ["a", "b"] * 4
    assert out["a"]["repeats"] == 4 and out["a"]["inner"] == 1 and out["a"]["median_s"] >= 0


def test_every_bench_model_does_a_training_step():
    shape = bench.Shape("tiny", "tiny", 2, 5, 6, 2, 3, "sbu")
    for name in bench.MODELS:
        step = bench.make_step(name, shape, torch.device("cpu"))
        step()
        step()


def test_parser_speed_and_generated_files(tmp_path):
    files = bench.write_ntu_files(tmp_path, 5, frames=7, bodies=2, templates=2)
    assert len({f.name for f in files}) == 5
    raw = parse_skeleton(files[0])
    assert raw.num_frames == 7 and len(raw.body_ids) == 14
    out = bench.parser_speed(files, repeats=1)
    assert out["files"] == 5 and out["vectorised_files_per_s"] > 0 and out["speedup"] > 0


def test_cache_build_memory_in_a_subprocess(tmp_path):
    bench.write_ntu_files(tmp_path / "src", 6, frames=5)
    out = bench.cache_build_memory(tmp_path / "src", tmp_path / "cache")
    assert out["sequences"] == 6 and out["frames"] == 30
    assert 0 < out["peak_rss_mb"] < 2000 and out["growth_mb"] >= 0


def test_batching_share():
    shape = bench.Shape("tiny", "tiny", 4, 8, 6, 2, 3, "sbu")
    out = bench.batching_share(shape, torch.device("cpu"), iterations=2)
    assert 0 < out["wait_share"] < 1 and out["wait_ms"] > 0 and out["compute_ms"] > 0
    assert out["augment"] is False


# SBU's 2 x 15 joints: the person swap reframes with SBU's preprocessing, which needs its joints
SMALL_SBU = bench.Shape("small-sbu", "small SBU", 4, 8, 30, 2, 3, "sbu")


def test_batching_share_with_the_augmentations():
    out = bench.batching_share(SMALL_SBU, torch.device("cpu"), iterations=2, augment=True)
    assert out["augment"] is True and out["wait_ms"] > 0 and 0 < out["wait_share"] < 1


def test_augment_cost_times_each_augmentation_and_all_together():
    rows = bench.augment_cost(SMALL_SBU, repeats=2)
    assert [r["augment"] for r in rows] == list(bench.AUGMENTS)
    assert all(r["batch_ms"] > 0 and r["shape"] == "small-sbu" and r["repeats"] == 2
               for r in rows)
    assert all(r["sequence_ms"] == pytest.approx(r["batch_ms"] / 4, abs=1e-3) for r in rows)
    assert rows[-1]["settings"] == {"rotation": 30.0, "scale": 0.1, "crop": 0.2, "swap": True}


def test_the_benchmarked_swap_changes_the_batch():
    """What augment_cost times does the work: the swap with SBU's reframing moves every
    two-person sequence it flips (none of them is left untouched)."""
    from stalib.data.augment import Augment
    from stalib.data.batching import pad_batch

    data = bench.synthetic_set(SMALL_SBU.batch, SMALL_SBU)
    batch = pad_batch(data, np.arange(4))
    out = Augment(swap=True)(batch, np.random.default_rng(1), 4, np.arange(4), 2,
                             bench.person_swap_of(SMALL_SBU, data))
    moved = [not torch.equal(out.x[b], batch.x[b]) for b in range(4)]
    assert any(moved)


def test_sweep_quick(monkeypatch):
    monkeypatch.setattr(bench, "SHAPES", {**bench.SHAPES, "ntu": bench.Shape(
        "ntu", "NTU", 256, 300, 6, 2, 3, "ntu60")})  # few joints: fast
    doc = bench.run_sweep(quick=True, device="cpu", models=("lstm",), log=lambda s: None)
    assert doc["kind"] == "stalib-sweep"
    frames = [r["frames"] for r in doc["rows"] if r["axis"] == "frames"]
    batches = [r["batch"] for r in doc["rows"] if r["axis"] == "batch"]
    assert frames == [25, 50, 100] and batches == [8, 16, 32]
    fig = bench.plot_sweep(doc)
    assert len(fig.axes) == 2


def test_grid_timing_on_a_tiny_dataset(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    arrays = dict(np.load(write_toy_npz(tmp_path / "split.npz")))
    del arrays["split"]  # without its split the file's protocol is the group 5-fold: 2 folds
    np.savez(tmp_path / "toy.npz", **arrays)
    npz = tmp_path / "toy.npz"
    doc = bench.run_grid_timing(f"npz:{npz}", models=("lstm", "sta-lstm"), folds=[1, 2], n1=1,
                                n2=1, threads=1, log=lambda s: None)
    assert [(r["model"], r["fold"]) for r in doc["runs"]] == [
        ("lstm", 1), ("lstm", 2), ("sta-lstm", 1), ("sta-lstm", 2)]
    assert doc["runs"][2]["iterations"] == 8  # Algorithm 1: 8 stages of 1 iteration
    assert doc["total_wall_s"] >= sum(r["train_wall_s"] for r in doc["runs"]) - 1
    assert not (tmp_path / "results").exists()  # no results row
    # two worker processes train the same runs to the same accuracies
    par = bench.run_grid_timing(f"npz:{npz}", models=("lstm", "sta-lstm"), folds=[1, 2], n1=1,
                                n2=1, threads=1, jobs=2, log=lambda s: None)
    assert par["jobs"] == 2 and par["threads_per_job"] == 1
    assert [(r["model"], r["fold"], r["accuracy"]) for r in par["runs"]] == [
        (r["model"], r["fold"], r["accuracy"]) for r in doc["runs"]]
    with pytest.raises(ValueError, match="jobs must be >= 1"):
        bench.run_grid_timing(f"npz:{npz}", models=("lstm",), folds=[1], n1=1, n2=1, jobs=0)


def test_book_helpers_on_synthetic_documents(tmp_path):
    doc = {"kind": "stalib-bench", "rows": [
        {"device": "cpu", "precision": "fp32", "shape": "ntu", "model": m, "step_ms": ms}
        for m, ms in (("lstm", 100.0), ("sta-lstm", 170.0))]}
    df = bench.bench_frame(doc)
    assert list(df["x_lstm"].round(2)) == [1.0, 1.7]
    path = tmp_path / "b.json"
    path.write_text(json.dumps(doc))
    assert bench.read_json(path, "stalib-bench")["rows"][1]["step_ms"] == 170.0
    assert bench.read_json(tmp_path / "missing.json", "stalib-bench") is None
    with pytest.raises(Exception, match="not a stalib-sweep file"):
        bench.read_json(path, "stalib-sweep")
    cv = pd.DataFrame({"dataset": "sbu", "protocol": "5fold", "seed": [0] * 4 + [1],
                       "fold": [1, 1, 2, 1, 1],
                       "model": ["lstm", "sta-lstm", "sta-lstm", "csta-cnn", "lstm"],
                       "wall_time_s": [3600.0, 1800.0, 1800.0, 99.0, 7200.0]})
    g = bench.grid_wall_time(cv)
    assert list(g["wall_time_h"]) == [2.0, 2.0] and list(g["runs"]) == [3, 1]
    assert list(g["folds"]) == [2, 1]
    assert bench.grid_wall_time(None).empty
    table = bench.format_table({"rows": [
        {"device": "cpu", "precision": "fp32", "shape": "sbu", "shape_label": "SBU", "batch": 8,
         "frames": 46, "joints": 30, "model": m, "model_label": m, "step_ms": v,
         "seq_per_s": 8000 / v} for m, v in (("lstm", 10.0), ("sta-lstm", 16.0))]})
    assert "1.60" in table and table.count("\n") == 3


def test_bench_cli_rejects_bad_options(capsys):
    assert main(["bench", "--shapes", "sbu,xx"]) == 2
    assert "--shapes" in capsys.readouterr().err
    assert main(["bench", "--sweep", "--grid"]) == 2
    assert main(["bench", "--threads", "-1"]) == 2
    assert main(["bench", "--device", "tpu", "--no-data"]) == 2


def test_synthetic_set_lengths():
    shape = bench.SHAPES["sbu"]
    data = bench.synthetic_set(20, shape)
    assert len(data) == 20 and data.num_joints == 30
    assert data.lengths.max() == 46 and data.lengths.min() >= 15
    assert np.isfinite(data.frames).all()


def test_arithmetic_floor_of_the_sta_over_lstm_ratio():
    # 3-layer LSTM on NTU (150 inputs, H = 100): 4H(150+H) + 2 * 4H(2H) + 100 * 60 classes
    assert bench.macs_per_frame("lstm", 50, 60) == 400 * 250 + 2 * 400 * 200 + 6000
    assert 1.7 < bench.mac_ratio(bench.SHAPES["sbu"]) < bench.mac_ratio(bench.SHAPES["ntu"]) < 1.9
    with pytest.raises(ValueError):
        bench.macs_per_frame("csta-cnn", 50, 60)


def test_mode_cost_sets_each_step_in_the_mode_beside_the_native_one():
    from stalib.tools.bench import mode_cost

    def doc(ms):
        return {"rows": [{"device": "cpu", "precision": "fp32", "shape": "sbu",
                          "shape_label": "SBU", "model": m, "model_label": m, "step_ms": v,
                          "cpu_ms": v} for m, v in zip(("lstm", "sta-lstm"), ms, strict=True)]}

    cost = mode_cost(doc([12.0, 30.0]), doc([10.0, 20.0]))
    assert list(cost["model_label"]) == ["lstm", "sta-lstm"]
    assert list(cost["ratio"]) == [1.2, 1.5]
