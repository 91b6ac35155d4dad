"""Issue 37: your own data without traps. Each test names the item of the issue it covers; each
failed before its fix."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import sys

import numpy as np
import pytest
from test_results_integrity import record

from stalib.cli import main
from stalib.errors import FormatError, StalibError


def _npz(path, n=40, t=8, k=4, seed=0, **extra):
    """A small labelled npz (the class is the joint that moves), with ``extra`` arrays."""
    rng = np.random.default_rng(seed)
    seqs, labels = [], []
    for i in range(n):
        s = rng.normal(0, 0.05, (t, k, 3)).astype(np.float32)
        s[:, i % 2, 0] += np.linspace(0, 1, t)
        seqs.append(s)
        labels.append(i % 2)
    np.savez(path, frames=np.concatenate(seqs), lengths=np.full(n, t), labels=np.array(labels),
             **extra)
    return path


def _cli(argv, capsys):
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


TINY = ["--model", "lstm", "--n1", "2", "--n2", "1", "--set", "hidden=4", "--quiet"]


# ------------------------------------------------------------------ 1. the file's own protocol
def test_1_an_npz_split_is_its_protocol_in_train_and_cv(tmp_path, capsys):
    split = np.array(["train"] * 30 + ["test"] * 10)
    path = _npz(tmp_path / "split.npz", split=split, groups=np.arange(40) % 5)
    code, out, _ = _cli(["train", "--dataset", f"npz:{path}", "--out", str(tmp_path / "run"),
                         *TINY], capsys)
    assert code == 0 and "provided fold 1" in out and "(10 sequences)" in out
    code, out, _ = _cli(["cv", "--dataset", f"npz:{path}", "--seeds", "0",
                         "--results", str(tmp_path / "res"), "--out", str(tmp_path / "cv"),
                         *TINY], capsys)
    rows = (tmp_path / "res" / "npz-split" / "cv.csv").read_text().splitlines()
    assert code == 0 and len(rows) == 2 and ",provided," in rows[1]


# ------------------------------------------------------------------ 2. padding is not frames
def test_2_zero_padded_sequences_without_lengths_are_refused(tmp_path):
    from stalib.data.npz import load_npz

    seqs = np.ones((3, 10, 4, 3), dtype=np.float32)
    seqs[1, 7:] = 0.0  # sequence 1 has 7 real frames and 3 of padding
    np.savez(tmp_path / "pad.npz", sequences=seqs, labels=np.array([0, 1, 0]))
    with pytest.raises(FormatError, match=r"array 'sequences': sequence 1 ends in 3 all-zero "
                                          r"frames \(of 10\).*give 'lengths'"):
        load_npz(tmp_path / "pad.npz")
    np.savez(tmp_path / "ok.npz", sequences=seqs, lengths=np.array([10, 7, 10]),
             labels=np.array([0, 1, 0]))
    assert load_npz(tmp_path / "ok.npz").lengths.tolist() == [10, 7, 10]


# ------------------------------------------------------------------ 3. figures named by parameters
def test_3_a_hand_run_names_its_figure_and_never_writes_over_the_report(tmp_path):
    from stalib.report.grid import YOUR_FIGURES, figure_path

    by_hand = figure_path(None, "fig7", "utkinect", {}, tmp_path, by_hand=True)
    assert by_hand == tmp_path / YOUR_FIGURES / "fig7-utkinect.png"
    job = figure_path(None, "fig7", "npz:/a/b/mine.npz", {"configuration": "r1"}, tmp_path, False)
    assert job == tmp_path / "figures" / "fig7-npz-mine-r1.png"
    asked = figure_path("figures/fig7-sbu.png", "fig7", "utkinect", {}, tmp_path, True)
    assert asked == tmp_path / "figures" / "fig7-sbu.png"  # given by name: asked for
    from pathlib import Path

    ignored = (Path(__file__).parents[1] / ".gitignore").read_text().splitlines()
    assert f"results/{YOUR_FIGURES}/" in ignored and "results/npz-*/" in ignored


# ------------------------------------------------------------------ 4. rerun on other data
def test_4_rerun_refuses_other_data_before_training(tmp_path, capsys):
    path = _npz(tmp_path / "mine.npz", groups=np.arange(40) % 5)
    res = tmp_path / "res"
    code, _, _ = _cli(["cv", "--dataset", f"npz:{path}", "--seeds", "0", "--folds", "1",
                       "--results", str(res), "--out", str(tmp_path / "cv"), *TINY], capsys)
    assert code == 0
    arrays = dict(np.load(path))
    arrays["frames"] = arrays["frames"] * 1000  # the coordinates in other units
    np.savez(path, **arrays)
    code, out, err = _cli(["rerun", str(res / "npz-mine" / "cv.csv")], capsys)
    assert code == 2 and "identical" not in out
    assert "other data: " in err and "a rerun would measure other data" in err
    assert len(err.strip().splitlines()) == 1


# ------------------------------------------------------------------ 5. a missing CUDA
@pytest.mark.skipif("torch" in sys.modules and __import__("torch").cuda.is_available(),
                    reason="this machine has CUDA")
@pytest.mark.parametrize("command", ["train", "cv", "predict"])
def test_5_cuda_on_a_cpu_install_is_one_line(tmp_path, capsys, command):
    path = _npz(tmp_path / "mine.npz", groups=np.arange(40) % 5)
    if command == "predict":
        assert main(["train", "--dataset", f"npz:{path}", "--out", str(tmp_path / "run"),
                     *TINY]) == 0
        capsys.readouterr()
        argv = ["predict", str(tmp_path / "run" / "model.pt"), str(path), "--device", "cuda"]
    else:
        argv = [command, "--dataset", f"npz:{path}", "--out", str(tmp_path / "r"),
                "--device", "cuda", *TINY]
    code, _, err = _cli(argv, capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "--device cuda:" in err and "model" not in err.split("--device cuda:")[1]


# ------------------------------------------------------------------ 6. an npz in the data notebook
def test_6_the_data_notebook_names_an_npz_path_safely_and_draws_it(tmp_path):
    from stalib.experiment import dataset_key
    from stalib.report import plots

    assert dataset_key("npz:/x/y/my data.npz") == "npz-my data"
    assert "/" not in dataset_key("npz:/x/y/mine.npz") and ":" not in dataset_key("npz:a.npz")
    frames = [np.random.default_rng(0).normal(size=(4, 3)) for _ in range(2)]
    fig = plots.plot_skeleton_grid(frames, ["a", "b"], None)  # no layout: joints only
    assert fig.axes and fig.axes[0].collections
    source = (__import__("pathlib").Path(__file__).parents[1] / "notebooks" / "data.py")
    text = source.read_text()
    assert 'f"figures/data-{key}-' in text and "figures/data-{dataset}" not in text


# ------------------------------------------------------------------ 7. leave one group out
def test_7_an_npz_offers_leave_one_group_out_by_name(tmp_path):
    from stalib.data.registry import get_splits, load_dataset, protocols

    path = _npz(tmp_path / "g.npz", groups=np.repeat(["s1", "s2", "s3", "s4"], 10))
    data = load_dataset(f"npz:{path}")
    assert "logo" in protocols(f"npz:{path}") and "loso" in protocols(f"npz:{path}")
    logo = get_splits(f"npz:{path}", data, "logo")
    assert [s.name for s in logo] == ["group:s1", "group:s2", "group:s3", "group:s4"]
    assert all(len(s.test) == 10 for s in logo)
    assert len(get_splits(f"npz:{path}", data, "loso")) == 40  # one sequence a split


# ------------------------------------------------------------------ 8. run folders by settings
def test_8_unnamed_settings_never_share_a_run_folder_and_cv_says_where(tmp_path, capsys,
                                                                       monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = _npz(tmp_path / "mine.npz", groups=np.arange(40) % 5)
    base = ["cv", "--dataset", f"npz:{path}", "--seeds", "0", "--folds", "1", *TINY]
    code, out1, _ = _cli([*base, "--results", "a"], capsys)
    code2, out2, err2 = _cli([*base, "--lr", "0.01", "--results", "b"], capsys)
    assert code == 0 and code2 == 0, err2
    assert "run(s) into runs/npz-mine/5fold/lstm@custom-" in out1
    folders = sorted(p.name for p in (tmp_path / "runs" / "npz-mine" / "5fold").iterdir())
    assert len(folders) == 2 and all(f.startswith("lstm@custom-") for f in folders)


# ------------------------------------------------------------------ 9. merge compares the run
def test_9_merge_takes_a_rerecorded_run_as_the_same_and_names_real_files(tmp_path):
    from stalib.results import append_record, merge_results, read_records

    dest, other = tmp_path / "results", tmp_path / "gpu"
    append_record(dest / "sbu" / "cv.csv", record(0, 0.5))
    append_record(other / "sbu" / "cv.csv", dataclasses.replace(
        record(0, 0.5), wall_time_s=9.9, timestamp="2026-02-02T00:00:00Z"))
    [(_, _, added, same)] = merge_results([other], dest)
    assert (added, same) == (0, 1) and len(read_records(dest / "sbu" / "cv.csv")) == 1
    bad = tmp_path / "bad"
    append_record(bad / "sbu" / "cv.csv", record(0, 0.7))
    with pytest.raises(StalibError) as err:
        merge_results([bad], dest)
    assert f"is in {dest / 'sbu' / 'cv.csv'}" in str(err.value) and "/tmp" not in str(
        err.value).split("is in ")[1].split(" (or")[0].replace(str(tmp_path), "")


# ------------------------------------------------------------------ 10. list arguments, warnings
@pytest.mark.parametrize("seeds, message", [
    ("0,,1", "an empty entry between commas"), ("0,0", "0 given twice"), ("", "is empty"),
    ("a", "expected comma-separated integers")])
def test_10_list_arguments_are_checked(tmp_path, capsys, seeds, message):
    path = _npz(tmp_path / "m.npz")
    code, _, err = _cli(["cv", "--dataset", f"npz:{path}", "--seeds", seeds,
                         "--results", str(tmp_path / "r"), *TINY], capsys)
    assert code == 2 and message in err and not (tmp_path / "r").exists()


def test_10_a_label_gap_is_one_line_and_a_0_based_fold_array_is_numbered_as_fold_is(
        tmp_path, capsys):
    rng = np.random.default_rng(0)
    frames = rng.normal(size=(40 * 5, 3, 3)).astype(np.float32)
    np.savez(tmp_path / "gap.npz", frames=frames, lengths=np.full(40, 5),
             labels=np.arange(40) % 2 * 2, fold=np.arange(40) % 4)  # labels 0 and 2: a gap
    code, out, err = _cli(["data", "summary", f"npz:{tmp_path / 'gap.npz'}", "--protocol",
                           "default"], capsys)
    assert code == 0
    assert err.strip().startswith("stalib: warning: ") and len(err.strip().splitlines()) == 1
    assert "labels 1 have no sequence" in err and "warnings.warn" not in err
    assert "fold1 (value 0)" in out and "fold0 " not in out


# ------------------------------------------------------------------ 11. reproduce --list
def test_11_reproduce_list_says_why_in_100_columns(tmp_path, capsys):
    code, out, _ = _cli(["reproduce", "--list", "--results", str(tmp_path / "fresh")], capsys)
    lines = out.splitlines()
    assert code == 0 and lines[0].split() == ["job", "state", "runs"]
    assert max(len(line) for line in lines) <= 100
    assert "to run: never run here" in out and "hours on a CPU" not in out


# ------------------------------------------------------------------ 13. the predict plot
def test_13_the_attention_plot_marks_its_frame_with_whole_ticks():
    from stalib.report import plots

    rng = np.random.default_rng(0)
    alpha, beta = rng.random((12, 6)), np.linspace(0, 1, 12) ** 2
    fig = plots.plot_attention_summary(rng.normal(size=(12, 6, 3)), alpha, beta, None,
                                       title="x.npz: predicted up (true: left)")
    heat = fig.axes[0]
    assert any(line.get_gid() == "alpha-frame-heatmap" for line in heat.lines)
    ticks = [t for t in heat.get_xticks() if 0.5 <= t <= 12.5]
    assert ticks and all(float(t).is_integer() for t in ticks)
    assert all(float(t).is_integer() for t in heat.get_yticks())
    assert fig._suptitle.get_text() == "x.npz: predicted up (true: left)"


# ------------------------------------------------------------------ 14. a log, not bar frames
def test_14_progress_off_a_terminal_is_a_line_per_stage(tmp_path):
    from stalib.config import TrainConfig
    from stalib.experiment import run_experiment

    path = _npz(tmp_path / "m.npz")
    err = io.StringIO()
    with contextlib.redirect_stderr(err):  # not a terminal
        run_experiment(TrainConfig(dataset=f"npz:{path}", model="sta-lstm", n1=2, n2=1,
                                   model_overrides={"hidden": 4, "spatial_hidden": 4}),
                       tmp_path / "run", progress=True)
    text = err.getvalue()
    assert "\r" not in text
    lines = [ln for ln in text.splitlines() if " iterations, loss " in ln]
    assert len(lines) == 8 and all(ln.startswith("step ") for ln in lines)  # 8 stages
    json.dumps(text)  # plain text


# ------------------------------------------------------------------ the README's walk
def test_the_readme_walk_from_savez_to_rerun_runs(tmp_path):
    """The README's own-data section, run as written (``stalib`` as ``python -m stalib``) on a
    generated file with split, groups and lengths."""
    import re
    import subprocess
    from pathlib import Path

    readme = (Path(__file__).parents[1] / "README.md").read_text()
    walk = readme.split("<!-- own-data-walk -->")[1].split("<!-- /own-data-walk -->")[0]
    python = re.search(r"```python\n(.*?)```", walk, re.S).group(1)
    shell = re.search(r"```bash\n(.*?)```", walk, re.S).group(1)
    rng = np.random.default_rng(0)
    sequences, labels = [], []
    for i in range(48):
        s = rng.normal(0, 0.05, (int(rng.integers(6, 12)), 5, 3)).astype(np.float32)
        s[:, i % 3, 1] += np.linspace(0, 1, len(s))
        sequences.append(s)
        labels.append(i % 3)
    subjects = np.repeat([f"p{k}" for k in range(6)], 8)
    split = np.where(np.isin(subjects, ["p4", "p5"]), "test", "train")
    import os

    here = os.getcwd()
    os.chdir(tmp_path)
    try:
        exec(python, {"sequences": sequences, "labels": labels, "subjects": subjects,
                      "split": split})
    finally:
        os.chdir(here)
    commands = [c.split("#")[0].strip() for c in shell.replace("\\\n", " ").splitlines()]
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).parents[1]))
    outputs = []
    for command in filter(None, commands):
        argv = [sys.executable, "-m", "stalib", *command.split()[1:]]
        proc = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=600)
        assert proc.returncode == 0, f"{command}\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
        outputs.append(proc.stdout)
    assert "provided: 1 split(s)" in outputs[0]
    assert "note: --epochs 5" in outputs[1] and "run(s) into runs/npz-mine/provided/" in outputs[1]
    assert "accuracy: " in outputs[2] and (tmp_path / "attention.png").is_file()
    assert "2 of 2 identical" in outputs[3]
