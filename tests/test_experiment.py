"""run_experiment end to end on a generated npz dataset: run folder, results row, model reload,
stalib predict."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from stalib.config import TrainConfig
from stalib.data.core import SkeletonSet
from stalib.data.npz import save_npz
from stalib.errors import ConfigError, StalibError
from stalib.experiment import load_model, run_experiment, trained_model
from stalib.results import COLUMNS, read_records


@pytest.fixture()
def npz_path(tmp_path):
    rng = np.random.default_rng(0)
    seqs, labels = [], []
    for i in range(30):
        t, c = int(rng.integers(6, 14)), i % 3
        s = rng.normal(0, 0.05, (t, 4, 3)).astype(np.float32)
        s[:, c, 1] += np.linspace(0, 1, t)
        seqs.append(s)
        labels.append(c)
    data = SkeletonSet.from_sequences(
        seqs, labels, [f"g{i % 5}" for i in range(30)], [f"s{i}" for i in range(30)],
        ["up", "left", "right"], persons=1, joints_per_person=4, name="toy",
    )
    return save_npz(data, tmp_path / "toy.npz")


def tiny(npz, model="sta-lstm", **kw):
    small = ({"hidden": 8, "spatial_hidden": 8} if "lstm" in model else
             {"c1": 8, "c2": 16, "c3": 4, "c4": 8, "c5": 8, "c6": 8, "fc": 8, "frames": 16,
              "attn_hidden": 8})
    base = dict(dataset=f"npz:{npz}", model=model, n1=8, n2=4, batch_size=4, device="cpu",
                model_overrides=small)
    return TrainConfig(**(base | kw))


def test_run_writes_folder_and_results_row(tmp_path, npz_path):
    cfg = tiny(npz_path)
    exp = run_experiment(cfg, tmp_path / "run", results_dir=tmp_path / "results", progress=False)
    rows = read_records(tmp_path / "results" / "npz-toy" / "cv.csv")
    assert len(rows) == 1 and set(rows[0]) == set(COLUMNS)
    row = rows[0]
    assert (row["model"], row["fold"], row["seed"]) == ("sta-lstm", "1", "0")
    assert 0.0 <= float(row["accuracy"]) <= 1.0 and int(row["iterations"]) == 5 * 8 + 3 * 4
    params = json.loads(row["params"])
    assert params["train"] == cfg.to_dict()
    assert set(json.loads(row["versions"])) >= {"python", "torch", "numpy", "stalib"}
    assert row["git_commit"] and row["timestamp"].endswith("Z")
    for name in ("checkpoint.pt", "model.pt", "metrics.json"):
        assert (exp.out / name).is_file()
    # the same row again is refused, never silently overwritten
    with pytest.raises(StalibError, match="exists already"):
        run_experiment(cfg, tmp_path / "run2", results_dir=tmp_path / "results", progress=False)


@pytest.mark.parametrize("model", ["lstm", "sa-lstm", "ta-lstm", "sta-lstm", "csta-cnn"])
def test_saved_model_reloads_with_identical_outputs(tmp_path, npz_path, model):
    cfg = tiny(npz_path, model=model)
    exp = run_experiment(cfg, tmp_path / "run", progress=False)
    reloaded, meta = load_model(exp.out / "model.pt")
    assert meta["class_names"] == ["up", "left", "right"]
    x = torch.randn(2, 9, 4, 3)
    mask = torch.ones(2, 9, dtype=torch.bool)
    exp.model.eval()
    with torch.no_grad():
        assert torch.allclose(exp.model(x, mask).logits, reloaded(x, mask).logits, atol=1e-6)


def test_trained_model_loads_a_finished_run_instead_of_training(tmp_path, npz_path):
    cfg = tiny(npz_path)
    run_experiment(cfg, tmp_path / "run", progress=False)
    stamp = (tmp_path / "run" / "model.pt").stat().st_mtime_ns
    model, meta = trained_model(cfg, tmp_path / "run")
    assert (tmp_path / "run" / "model.pt").stat().st_mtime_ns == stamp
    assert meta["train_config"] == cfg.to_dict()
    with pytest.raises(StalibError, match="another configuration"):
        trained_model(tiny(npz_path, lr=0.5), tmp_path / "run")


def test_fold_out_of_range_names_the_range(tmp_path, npz_path):
    with pytest.raises(StalibError, match=r"`fold` 9 .*1\.\.5"):
        run_experiment(tiny(npz_path, fold=9), tmp_path / "run", progress=False)


def test_predict_cli_prints_top_classes_and_draws(tmp_path, npz_path):
    exp = run_experiment(tiny(npz_path), tmp_path / "run", progress=False)
    png = tmp_path / "att.png"
    res = subprocess.run(
        [sys.executable, "-m", "stalib", "predict", str(exp.out / "model.pt"), str(npz_path),
         "--top", "2", "--plot", str(png)], capture_output=True, text=True, check=False,
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout.count("1. ") == 30 and res.stdout.count("2. ") == 30
    assert png.stat().st_size > 1000


def test_inner_validation_never_touches_the_test_fold(npz_path):
    from stalib.data.registry import get_splits
    from stalib.experiment import fold_indices, load_data

    cfg = tiny(npz_path, fold=2, val_fold=4)
    data = load_data(cfg.dataset, None)
    splits = get_splits(cfg.dataset, data)
    train, val = fold_indices(cfg, data)
    assert set(val) == set(splits[3].test)
    assert not set(train) & set(splits[1].test)  # the outer test fold is never used
    assert not set(train) & set(val)
    assert set(train) | set(val) == set(splits[1].train)


def test_inner_validation_rows_never_go_to_cv_csv(tmp_path, npz_path):
    exp = run_experiment(tiny(npz_path, val_fold=2), tmp_path / "run",
                         results_dir=tmp_path / "results", progress=False)
    assert exp.record.protocol.endswith(":val2")
    folder = tmp_path / "results" / f"npz-{npz_path.stem}"
    assert not (folder / "cv.csv").exists()
    (row,) = read_records(folder / "validation.csv")
    assert row["protocol"].endswith(":val2") and row["configuration"] == "custom"  # tiny settings


def test_cv_validation_runs_every_next_fold_pair(tmp_path, npz_path, monkeypatch):
    from stalib.cli import main

    monkeypatch.chdir(tmp_path)
    args = ["cv", "--dataset", f"npz:{npz_path}", "--model", "lstm", "--n1", "1", "--n2", "1",
            "--batch-size", "4", "--set", "hidden=4", "--seeds", "0", "--folds", "1,5",
            "--config", "tiny", "--validation", "--quiet", "--results", "res"]
    assert main(args) == 0
    folder = tmp_path / "res" / f"npz-{npz_path.stem}"
    assert not (folder / "cv.csv").exists()
    rows = read_records(folder / "validation.csv")
    # fold k is validated on fold k+1, the last fold on fold 1
    assert sorted((r["fold"], r["protocol"].split(":")[1]) for r in rows) == [
        ("1", "val2"), ("5", "val1")]
    assert {r["configuration"] for r in rows} == {"tiny"}
    assert (tmp_path / "runs" / f"npz-{npz_path.stem}" / "5fold" / "lstm@tiny"
            / "fold5-val1-seed0" / "model.pt").is_file()
    assert main(args + ["--resume"]) == 0  # finished pairs are skipped
    assert len(read_records(folder / "validation.csv")) == 2


def test_configs_saved_before_a_field_existed_still_match(npz_path):
    cfg = tiny(npz_path)
    older = {k: v for k, v in cfg.to_dict().items() if k != "val_fold"}
    assert cfg.same_run(older)
    assert not tiny(npz_path, val_fold=3).same_run(older)
    assert not cfg.same_run({**older, "unknown_field": 1})


def test_a_run_uses_and_records_its_preprocessing(tmp_path, npz_path):
    from stalib.experiment import load_data, load_data_for

    cfg = tiny(npz_path, preprocess={"centre_joint": 0}, configuration="centred")
    raw, centred = load_data(cfg.dataset, None), load_data_for(cfg, None)
    assert raw is not centred and len(raw) == len(centred)
    # centred on joint 0 of the first frame: that joint is at the origin there
    assert np.allclose(centred[3][0, 0], 0.0) and not np.allclose(raw[3][0, 0], 0.0)
    assert load_data_for(cfg, None) is centred  # loaded once per process and setting
    # the paper's value written out is the same setting: the same load
    assert load_data(cfg.dataset, None, {"centre_joint": 0, "smooth": None}) is centred
    exp = run_experiment(cfg, tmp_path / "run", results_dir=tmp_path / "results", progress=False)
    row = read_records(tmp_path / "results" / "npz-toy" / "cv.csv")[0]
    params = json.loads(row["params"])
    assert params["train"]["preprocess"] == {"centre_joint": 0}
    assert row["configuration"] == "centred"
    assert params["preprocessing"] == "Centre(joint=0)"
    assert json.loads((exp.out / "metrics.json").read_text())["params"]["preprocessing"] == (
        "Centre(joint=0)")
    # stalib predict preprocesses the file as the run's training data was: the same logits
    from stalib.predict import classify, read_for_model

    model, meta = load_model(exp.out / "model.pt")
    (_, seq), *_ = read_for_model(npz_path, meta["dataset"], meta["train_config"]["preprocess"])
    assert np.allclose(seq, centred[0])
    prob, _, _ = classify(model, seq)
    assert np.allclose(prob, classify(model, np.asarray(centred[0]))[0])
    assert not np.allclose(read_for_model(npz_path, meta["dataset"])[0][1], seq)


def _npz_file(path, shift: float):
    from stalib.data.core import SkeletonSet
    from stalib.data.npz import save_npz

    rng = np.random.default_rng(0)
    seqs = [(rng.normal(size=(6, 6, 3)) + shift).astype(np.float32) for _ in range(20)]
    data = SkeletonSet.from_sequences(seqs, [i % 2 for i in range(20)],
                                      [f"g{i % 5}" for i in range(20)],
                                      [f"s{i}" for i in range(20)], ["a", "b"], 1, 6, name="x")
    path.parent.mkdir(parents=True, exist_ok=True)
    return save_npz(data, path)


def test_an_npz_of_the_same_name_but_other_content_is_refused(tmp_path, capsys):
    """a/mine.npz and b/mine.npz both file under npz-mine: a cv --resume on the second once
    reported the first file's accuracy; now it is refused, naming both files."""
    from stalib.cli import main

    first, second = _npz_file(tmp_path / "a" / "mine.npz", 0.0), _npz_file(
        tmp_path / "b" / "mine.npz", 1.0)
    args = ["--model", "lstm", "--n1", "1", "--n2", "1", "--folds", "1", "--seeds", "0",
            "--set", "hidden=4", "--results", str(tmp_path / "results"), "--quiet", "--resume"]
    assert main(["cv", "--dataset", f"npz:{first}", "--out", str(tmp_path / "r1"), *args]) == 0
    capsys.readouterr()
    code = main(["cv", "--dataset", f"npz:{second}", "--out", str(tmp_path / "r2"), *args])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert f"{second}: its content (sha256 " in err[0] and f"is not that of {first}" in err[0]
    again = main(["cv", "--dataset", f"npz:{first}", "--out", str(tmp_path / "r1"), *args])
    assert again == 0  # the same file resumes as before


def test_one_npz_under_two_preprocessings_shares_one_results_folder(tmp_path, capsys):
    """Issue 35: the identity of an npz is its file's content, not the data a configuration made of
    it: the linear floor's configuration (no resampling) and a 32-frame one file their rows of one
    file side by side (before, the second was refused as "other content")."""
    from stalib.cli import main
    from stalib.results import read_records

    path = _npz_file(tmp_path / "mine.npz", 0.0)
    common = ["--dataset", f"npz:{path}", "--folds", "1", "--seeds", "0", "--epochs", "1",
              "--results", str(tmp_path / "results"), "--quiet"]
    assert main(["cv", "--model", "linear", "--config", "plain", "--schedule", "joint",
                 "--out", str(tmp_path / "r1"), *common]) == 0
    t8 = ["--model", "lstm", "--config", "t8", "--schedule", "joint", "--preprocess",
          "resample=8", "--set", "hidden=4"]
    assert main(["cv", *t8, "--out", str(tmp_path / "r2"), *common]) == 0
    capsys.readouterr()
    rows = read_records(tmp_path / "results" / "npz-mine" / "cv.csv")
    hashes = {json.loads(r["params"])["data_sha256"] for r in rows}
    assert len(rows) == 2 and len(hashes) == 1
    # saved again with the same arrays (new archive bytes, same content): still the same data
    _npz_file(tmp_path / "mine.npz", 0.0)
    assert main(["cv", *t8, "--out", str(tmp_path / "r3"), "--force", *common]) == 0
    # other values in a file of that name: refused, naming what differs
    _npz_file(tmp_path / "mine.npz", 2.0)
    code = main(["cv", "--model", "linear", "--config", "plain", "--schedule", "joint",
                 "--out", str(tmp_path / "r4"), *common])
    assert code == 2 and "its content (sha256" in capsys.readouterr().err


def test_inner_validation_of_one_fixed_split_holds_out_each_training_subject(utkinect_data):
    """UTKinect cross-subject has one split: its validation folds are its five training
    subjects in turn, so settings are chosen without the test subjects."""
    from stalib.experiment import fold_indices, validation_folds

    cfg = TrainConfig(dataset="utkinect", model="lstm", protocol="xsub")
    assert validation_folds(cfg, utkinect_data) == [(1, j) for j in range(1, 6)]
    groups = np.asarray(utkinect_data.groups)
    _, test = fold_indices(cfg, utkinect_data)
    held_out = []
    for j in range(1, 6):
        train, val = fold_indices(TrainConfig(dataset="utkinect", model="lstm", protocol="xsub",
                                              val_fold=j), utkinect_data)
        assert len(set(groups[val])) == 1 and not set(groups[val]) & set(groups[train])
        assert not (set(train) | set(val)) & set(test)  # never a test subject
        held_out += list(groups[val])
    assert sorted(set(held_out)) == ["s01", "s03", "s05", "s07", "s09"]
    with pytest.raises(ConfigError, match=r"`val_fold` 6 is out of range 1\.\.5 .*s01, s03"):
        fold_indices(TrainConfig(dataset="utkinect", model="lstm", protocol="xsub",
                                 val_fold=6), utkinect_data)


def test_a_validation_fold_that_is_the_test_fold_is_refused(sbu_data):
    from stalib.experiment import fold_indices, validation_folds

    cfg = TrainConfig(dataset="sbu", model="lstm", fold=2, val_fold=2)
    with pytest.raises(ConfigError, match="overlaps the test part of `fold` 2"):
        fold_indices(cfg, sbu_data)
    assert validation_folds(TrainConfig(dataset="sbu", model="lstm"), sbu_data) == [
        (1, 2), (2, 3), (3, 4), (4, 5), (5, 1)]


def test_predict_on_a_labelled_npz_gives_the_accuracy_and_draws_the_chosen_sequence(
        tmp_path, npz_path):
    """On an npz it once printed 80 sequences without their labels or an accuracy, and --plot
    drew only the first."""
    exp = run_experiment(tiny(npz_path), tmp_path / "run", progress=False)
    png = tmp_path / "att.png"
    res = subprocess.run(
        [sys.executable, "-m", "stalib", "predict", str(exp.out / "model.pt"), str(npz_path),
         "--top", "1", "--plot", str(png), "--index", "3"], capture_output=True, text=True,
        check=False)
    assert res.returncode == 0, res.stderr
    assert res.stdout.count(", true class ") == 30
    last = res.stdout.strip().splitlines()
    assert any(line.startswith("accuracy: ") and " of 30 (" in line for line in last[-2:])
    assert png.stat().st_size > 1000 and "s3 (" in res.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "stalib", "predict", str(exp.out / "model.pt"), str(npz_path),
         "--index", "30"], capture_output=True, text=True, check=False)
    assert bad.returncode == 2 and "--index 30:" in bad.stderr and "0..29" in bad.stderr


def test_windows_cover_a_long_recording_and_segments_merge_equal_neighbours():
    from stalib.predict import segments, windows

    assert windows(10, 20, 5) == [(0, 10)]
    assert windows(10, 4, 3) == [(0, 4), (3, 7), (6, 10)]
    assert windows(11, 4, 3) == [(0, 4), (3, 7), (6, 10), (7, 11)]  # the last frame covered
    spans = windows(10, 4, 3)
    merged = segments(spans, [2, 2, 5], [0.9, 0.7, 0.6])
    assert merged == [(0, 7, 2, 0.8), (6, 10, 5, 0.6)]


def test_predict_by_window_prints_segments(tmp_path, npz_path):
    from stalib.predict import predict_file

    exp = run_experiment(tiny(npz_path), tmp_path / "run", progress=False)
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert predict_file(exp.out / "model.pt", npz_path, top=1, window=4, stride=2) == 0
    text = out.getvalue()
    assert "by window (4 rows, every 2; rows as numbered in the file):" in text
    assert "    rows 0-" in text and "windows right: " in text  # an npz's labels score them


def test_skip_bad_trains_on_what_loads_and_records_what_it_skipped(tmp_path, npz_path,
                                                                   fake_sbu):
    """--skip-bad: a bad file stops a run unless skipped; a skipped one is named in the row, which
    is filed under a configuration of its own (the data is not the whole dataset)."""
    from stalib.errors import FormatError
    from stalib.experiment import load_data

    root = fake_sbu()
    bad = sorted((root / "SBU").rglob("skeleton_pos.txt"))[0]
    bad.write_text("1,2,3\n")
    with pytest.raises(FormatError, match="skeleton_pos.txt"):
        load_data("sbu", root)
    data = load_data("sbu", root, skip_bad=True)
    assert len(data.skipped) == 1 and "skeleton_pos.txt" in data.skipped[0]
    cfg = tiny(npz_path, skip_bad=True)
    assert cfg.deviations()["skip_bad"] is True and cfg.configuration_name != "paper"
    given = SkeletonSet.from_sequences(*_toy(), persons=1, joints_per_person=4, name="toy",
                                       skipped=["skipped: x.skeleton: no frames"])
    run_experiment(cfg, tmp_path / "run", results_dir=tmp_path / "results", progress=False,
                   data=given)
    (row,) = read_records(tmp_path / "results" / "npz-toy" / "cv.csv")
    assert json.loads(row["params"])["skipped"] == ["skipped: x.skeleton: no frames"]


def _toy():
    rng = np.random.default_rng(0)
    seqs = [rng.normal(0, 0.05, (8, 4, 3)).astype(np.float32) for _ in range(30)]
    return (seqs, [i % 3 for i in range(30)], [f"g{i % 5}" for i in range(30)],
            [f"s{i}" for i in range(30)], ["up", "left", "right"])


def test_a_run_is_resolved_once_and_its_row_reads_the_resolution(tmp_path, npz_path,
                                                                 monkeypatch):
    """The registry is asked once per run for the protocol, the splits and the preprocessing
    (:func:`stalib.experiment.resolve`); the model, the trainer and the row read the result."""
    import stalib.experiment as ex

    calls = {"standard_protocol": 0, "get_splits": 0, "preprocess_settings": 0}
    for name in calls:
        real = getattr(ex, name)

        def counted(*a, _real=real, _name=name, **k):
            calls[_name] += 1
            return _real(*a, **k)

        monkeypatch.setattr(ex, name, counted)
    cfg = tiny(npz_path, model="lstm", fold=2, val_fold=3)
    data = ex.load_data_for(cfg, None)
    calls.update(dict.fromkeys(calls, 0))
    run = ex.resolve(cfg, data=data)
    assert calls == {"standard_protocol": 1, "get_splits": 1, "preprocess_settings": 1}
    assert run.protocol == "5fold" and run.key == ("npz-toy", "5fold:val3", "custom", "lstm", 2, 0)
    assert set(run.train_idx).isdisjoint(run.test_idx) and len(run.test_idx) == 6
    calls.update(dict.fromkeys(calls, 0))
    exp = ex.run_experiment(cfg, tmp_path / "run", results_dir=tmp_path / "results",
                            progress=False, data=data)
    assert calls == {"standard_protocol": 1, "get_splits": 1, "preprocess_settings": 1}
    row = read_records(tmp_path / "results" / "npz-toy" / "validation.csv")[0]
    assert (row["protocol"], row["n_test"]) == ("5fold:val3", str(len(run.test_idx)))
    assert json.loads(row["params"])["preprocessing"] == run.preprocessing
    assert exp.record.n_train == len(run.train_idx)
