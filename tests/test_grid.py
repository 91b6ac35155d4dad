"""The notebooks' helpers (stalib.report.grid): planning and continuing a grid, attention.

Runs here are tiny (a few iterations on the real SBU data) and write only under tmp_path.
"""

from __future__ import annotations

import numpy as np
import pytest

from stalib.errors import ConfigError
from stalib.experiment import trained_model
from stalib.report import grid
from stalib.results import read_records

pytestmark = pytest.mark.usefixtures("one_thread")


def test_configs_match_stalib_cv_defaults():
    cfg = grid.make_config("sbu", "sta-lstm", "5fold", 2, 1, 1000, 500)
    assert cfg.protocol is None  # the standard protocol, as `stalib cv` records it
    assert (cfg.fold, cfg.seed, cfg.n1, cfg.n2, cfg.device) == (2, 1, 1000, 500, "auto")
    assert grid.make_config("utkinect", "lstm", "loso", 1, 0, 1, 1).protocol == "loso"
    cfg = grid.make_config("sbu", "sta-lstm", "5fold", 1, 0, 1, 1, options={"batch_size": 4},
                           model_overrides={"sta-lstm": {"alpha_gain": "joints"},
                                            "lstm": {"hidden": 3}})
    assert cfg.batch_size == 4 and cfg.model_overrides == {"alpha_gain": "joints"}
    with pytest.raises(ConfigError, match="fold"):
        grid.make_config("sbu", "lstm", "5fold", 1, 0, 1, 1, options={"fold": 3})
    with pytest.raises(ConfigError, match="nonsense"):
        grid.make_config("sbu", "lstm", "5fold", 1, 0, 1, 1, options={"nonsense": 3})
    standard = grid.make_config("sbu", "lstm", None, 1, 0, 1, 1)
    assert grid.make_config("sbu", "lstm", "5fold", 1, 0, 1, 1) == standard
    assert standard.same_run({**standard.to_dict(), "protocol": "5fold"})  # stalib cv --protocol
    assert grid.run_folder("runs", "sbu", "5fold", "lstm", 3, 2).as_posix() == \
        "runs/sbu/5fold/lstm/fold3-seed2"


def test_per_protocol_values_and_folds():
    assert grid.for_protocol([0, 1], "xsub", "seeds") == [0, 1]
    assert grid.for_protocol({"xsub": [0, 1], "loso": [0]}, "loso", "seeds") == [0]
    with pytest.raises(ConfigError, match="no value for protocol 'xview'"):
        grid.for_protocol({"xsub": [0]}, "xview", "seeds")
    assert grid.resolve_folds("all", 3, "p") == [1, 2, 3]
    assert grid.resolve_folds(2, 199, "loso") == [1, 2]
    assert grid.resolve_folds([5, 1], 5, "p") == [5, 1]
    for bad in ([0], [6], [], "some"):
        with pytest.raises(ConfigError):
            grid.resolve_folds(bad, 5, "p")


def test_plan_grid(utkinect_data, tmp_path):
    runs = grid.plan_grid("utkinect", ["lstm", "sta-lstm"], ["xsub", "loso"],
                          {"xsub": [0, 1, 2], "loso": [0]}, {"xsub": "all", "loso": 2},
                          10, 5, tmp_path / "runs", data=utkinect_data)
    keys = [r.key for r in runs]
    assert len(keys) == 2 * (3 * 1 + 1 * 2) and len(set(keys)) == len(keys)
    # N1 = 10, N2 = 5 are not the paper's settings: the runs are filed as configuration "custom"
    assert keys[0] == ("utkinect", "xsub", "custom", "lstm", 1, 0)
    assert ("utkinect", "loso", "custom", "sta-lstm", 2, 0) in keys
    # an unnamed configuration's folder carries its settings' hash: two never share one
    assert runs[-1].out == (tmp_path / "runs" / "utkinect" / "loso"
                            / f"sta-lstm@custom-{runs[-1].cfg.settings_hash()}" / "fold2-seed0")
    other = grid.plan_grid("utkinect", ["sta-lstm"], ["loso"], [0], 2, 20, 5, tmp_path / "runs",
                           data=utkinect_data)
    assert other[-1].out.parent.name.startswith("sta-lstm@custom-")
    assert other[-1].out.parent != runs[-1].out.parent
    named = grid.plan_grid("utkinect", ["lstm"], ["xsub"], [0], "all", 1000, 500,
                           tmp_path / "runs", data=utkinect_data,
                           options={"configuration": "l1-off", "lambda3": 0.0})
    assert named[0].key == ("utkinect", "xsub", "l1-off", "lstm", 1, 0)
    assert named[0].out.parent.name == "lstm@l1-off"
    paper = grid.plan_grid("utkinect", ["lstm"], ["xsub"], [0], "all", 1000, 500,
                           tmp_path / "runs", data=utkinect_data)
    # the paper gives no settings for UTKinect: its defaults are filed as "sbu-settings"
    assert paper[0].key[2] == "sbu-settings" and paper[0].out.parent.name == "lstm"
    with pytest.raises(ConfigError, match="not in 1..1"):
        grid.plan_grid("utkinect", ["lstm"], ["xsub"], [0], [2], 1, 1, tmp_path,
                       data=utkinect_data)


def test_run_grid_continues_what_is_recorded(sbu_data, data_root, tmp_path):
    runs = grid.plan_grid("sbu", ["lstm", "ta-lstm"], ["5fold"], [0], [1], 2, 1,
                          tmp_path / "runs", data=sbu_data)
    results, elsewhere = tmp_path / "results", tmp_path / "elsewhere"
    # `stalib cv` recorded ta-lstm in another results folder (e.g. results_root) already
    grid.run_grid(runs[1:], elsewhere, data_root=data_root, log=None)
    done = grid.run_grid(runs, results, data_root=data_root, done_in=[elsewhere], log=None)
    assert list(done["status"]) == ["ran", "recorded"]
    assert (runs[0].out / "model.pt").is_file()
    assert [r["model"] for r in read_records(results / "sbu" / "cv.csv")] == ["lstm"]
    again = grid.run_grid(runs, results, data_root=data_root, done_in=[elsewhere], log=None)
    assert list(again["status"]) == ["recorded", "recorded"]
    rows = grid.recorded(runs, results, elsewhere)
    assert sorted(rows["model"]) == ["lstm", "ta-lstm"]
    assert len(grid.recorded(runs[:1], results, elsewhere)) == 1
    # the finished run is loaded, not trained again, for the attention figures
    model, meta = trained_model(runs[0].cfg, runs[0].out, data_root)
    assert meta["train_config"] == runs[0].cfg.to_dict()
    forced = grid.run_grid(runs[:1], results, data_root=data_root, force=True, log=None)
    assert list(forced["status"]) == ["ran"]
    assert len(read_records(results / "sbu" / "cv.csv")) == 1


def test_attention_of_a_test_sequence(sbu_data):
    from stalib.experiment import fold_indices, new_model

    cfg = grid.make_config("sbu", "sta-lstm", "5fold", 1, 0, 1, 1)
    model = new_model(cfg, sbu_data).eval()
    _, test = fold_indices(cfg, sbu_data)
    i = grid.pick_sequence(sbu_data, test, "kicking")
    assert i in set(test.tolist()) and sbu_data.class_names[sbu_data.labels[i]] == "kicking"
    att = grid.attention_of(model, sbu_data, i)
    t = len(sbu_data[i])
    assert att.alpha.shape == (t, 30) and att.beta.shape == (t,)
    assert np.allclose(att.alpha.sum(axis=1), 1.0, atol=1e-5)
    assert att.frames.shape == (t, 30, 3)
    top = grid.top_joints(att.alpha[0], [f"j{k}" for k in range(30)], 8)
    assert len(top) == 8 and top[0]["alpha"] >= top[-1]["alpha"]
    with pytest.raises(ConfigError, match="no class 'dancing'"):
        grid.pick_sequence(sbu_data, test, "dancing")
    assert grid.pick_sequence(sbu_data, test) == int(test[0])


def test_foot_lift():
    from stalib.data.skeletons import get_layout

    layout = get_layout("sbu")
    frames = np.zeros((5, 30, 3))
    frames[:, layout.head, 1] = 2.0  # person 1 upright (y up); person 2 absent
    foot = layout.feet[0]
    frames[:, foot, 1] = [0.0, 0.1, 0.6, 0.2, 0.0]
    lift = grid.foot_lift(frames, "sbu")
    assert int(np.argmax(lift)) == 2 and lift[2] == pytest.approx(0.6)
    flipped = frames.copy()
    flipped[..., 1] *= -1  # y down: the same motion
    assert int(np.argmax(grid.foot_lift(flipped, "sbu"))) == 2


def test_a_notebook_starts_with_its_threads_and_paths_and_saves_figures(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import torch

    before = torch.get_num_threads()
    try:
        folders = grid.setup_notebook(1, str(tmp_path / "results"), tmp_path / "read",
                                      tmp_path / "runs")
        assert folders == (tmp_path / "results", tmp_path / "read", tmp_path / "runs")
        assert torch.get_num_threads() == 1
        grid.setup_notebook(None)  # None: torch's default, untouched
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    image = grid.save_figure(fig, folders[0] / "figures" / "line.png")
    plt.close(fig)
    path = tmp_path / "results" / "figures" / "line.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert image.filename == str(path)


def test_grid_progress_counts_the_recorded_runs_of_a_job(tmp_path, data_root):
    """--list's "k/n runs": n from the job's grid as its notebook plans it (SBU: 6 models x 5 folds
    x 3 seeds), k the rows of exactly those runs (another configuration's row does not count); the
    time left from the pace per iteration of the recorded runs closest to each missing one, times
    the iterations that run will train (its fold's training set, its schedule)."""
    import math
    from dataclasses import asdict

    from stalib.data.registry import get_splits
    from stalib.report import reproduce as rp
    from stalib.report.grid import grid_progress
    from stalib.results import RunRecord, write_rows

    def row(configuration, model, fold, seconds, iterations):
        return asdict(RunRecord(
            dataset="sbu", protocol="5fold", configuration=configuration, model=model, fold=fold,
            seed=0,
            accuracy=0.5, train_accuracy=1.0, n_test=1, n_train=1, iterations=iterations,
            wall_time_s=seconds, device="cpu", git_commit="x", timestamp="t", params="{}",
            versions="{}"))

    (tmp_path / "sbu").mkdir()
    write_rows(tmp_path / "sbu" / "cv.csv", [row("r1-view-gain", "lstm", 1, 100.0, 1200),
                                             row("r1-view-gain", "sta-lstm", 2, 300.0, 1200),
                                             row("paper", "lstm", 1, 7.0, 2500)])
    job = rp.get_job("fig7-sbu-r1-view-gain")
    loaded: dict = {}  # SBU loaded once
    full = grid_progress(job, tmp_path, data_root, cache=loaded)
    # 150 epochs of batches of 32 over each fold's training set
    its = [150 * math.ceil(len(s.train) / 32) for s in get_splits("sbu", loaded["sbu"], "5fold")]
    assert len(set(its)) > 1  # the folds differ in size, so in iterations
    every = 3 * sum(its)  # every fold, 3 seeds
    # 14 LSTM runs at its own pace, 14 STA-LSTM runs at its own, the 60 runs of the 4 models without
    # a row of their own at the median pace of the configuration's rows (200 s / 1200)
    want = (100 * (every - its[0]) + 300 * (every - its[1]) + 4 * 200 * every) / 1200
    assert full[:2] == (2, 90) and full[3] == 0 and math.isclose(full[2], want)
    assert full.describe() == f"2/90 runs, ~{want / 3600:.1f} h left"
    quick = grid_progress(job, tmp_path, data_root, quick=True, cache=loaded)  # fold 1, seed 0
    q = math.ceil(len(get_splits("sbu", loaded["sbu"], "5fold")[0].train) / 32)  # one epoch
    assert quick[:2] == (1, 6) and math.isclose(quick[2], (300 + 4 * 200) * q / 1200)
    untimed = grid_progress(rp.get_job("csta-sbu-r1-view"), tmp_path, data_root, cache=loaded)
    assert untimed == (0, 60, 0.0, 60) and untimed.describe() == "0/60 runs, 60 untimed left"
    paper = grid_progress(rp.get_job("fig7-sbu"), tmp_path, data_root, cache=loaded)
    # the paper LSTM's pace (7 s per 2500 iterations) times the iterations Algorithm 1 gives
    # each model: 2500 for the LSTM, SA- and TA-LSTM, 6500 for STA-LSTM
    assert paper[:2] == (1, 90) and math.isclose(paper[2], 7 * (14 + 4 * 15 + 15 * 6500 / 2500))
    assert grid_progress(rp.get_job("data-sbu"), tmp_path, data_root) is None
    assert grid_progress(job, tmp_path, None) is None


def test_test_labels_are_each_folds_classes_in_test_order(sbu_data):
    """The order of a row's test_correct: the fold's test indices as the splits give them."""
    from stalib.data.registry import get_splits
    from stalib.report.grid import test_labels

    labels = test_labels("sbu", sbu_data, ["5fold"])
    assert labels["classes"] == list(sbu_data.class_names)
    splits = get_splits("sbu", sbu_data, "5fold")
    assert sorted(labels["protocols"]["5fold"]) == list(range(1, len(splits) + 1))
    for i, split in enumerate(splits, start=1):
        got = labels["protocols"]["5fold"][i]
        assert got.tolist() == [int(sbu_data.labels[j]) for j in split.test]
    assert sum(len(v) for v in labels["protocols"]["5fold"].values()) == len(sbu_data)
