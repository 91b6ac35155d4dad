"""Output locations are checked before any work: one line, exit status 2, nothing lost."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

from stalib.cli import main
from stalib.errors import StalibError
from stalib.outputs import check_dir, check_file, check_model_file, check_run_folder


def _unwritable() -> Path:
    """A folder no file can be created in, whoever runs the tests (root included)."""
    for candidate in ("/sys", "/proc/self"):
        try:
            fd, name = tempfile.mkstemp(dir=candidate)
        except OSError:
            return Path(candidate)
        os.close(fd)
        os.unlink(name)
    pytest.skip("no read-only folder on this machine")


def test_check_dir_refuses_a_file_a_path_under_a_file_and_a_read_only_folder(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.raises(StalibError, match="is a file, not a folder"):
        check_dir(afile, "--out")
    with pytest.raises(StalibError, match="afile is a file, so no folder can be made"):
        check_dir(afile / "run" / "deeper", "--out")
    with pytest.raises(StalibError, match="cannot write there"):
        check_dir(_unwritable() / "stalib-run", "--results")
    new = tmp_path / "a" / "b"
    assert check_dir(new, "--out") == new and not new.exists()  # nothing made, nothing left
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


def test_check_file_names_the_folder_and_the_extension(tmp_path):
    with pytest.raises(StalibError, match="does not exist; create it first"):
        check_file(tmp_path / "missing" / "x.png", "--plot")
    with pytest.raises(StalibError, match=r"unknown file type '\.pgn'; expected one of .*\.png"):
        check_file(tmp_path / "x.pgn", "--plot", ("pdf", "png"))
    with pytest.raises(StalibError, match="is a folder"):
        check_file(tmp_path, "--json")
    with pytest.raises(StalibError, match="cannot write in"):
        check_file(_unwritable() / "bench.json", "--json")
    check_file(tmp_path / "x.PNG", "--plot", ("png",))


def test_a_finished_run_is_never_replaced_without_force(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "model.pt").write_bytes(b"m")
    (run / "metrics.json").write_text("{}")
    with pytest.raises(StalibError, match="holds a finished run .*`force` to replace it"):
        check_run_folder(run, resume=False, force=False)
    with pytest.raises(StalibError, match="finished run"):
        check_run_folder(run, resume=True, force=False)
    assert check_run_folder(run, resume=False, force=True) is None
    (run / "checkpoint.pt").write_bytes(b"c")  # an interrupted or resumable run: the trainer's
    assert check_run_folder(run, resume=False, force=False) is None  # own checks apply


def test_resume_without_a_checkpoint_says_so(tmp_path):
    note = check_run_folder(tmp_path / "new", resume=True, force=False)
    assert note == f"--resume: no checkpoint in {tmp_path / 'new'}, starting from the beginning"
    assert check_run_folder(tmp_path / "new", resume=False, force=False) is None


def test_predict_model_argument_checks(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "model.pt").write_bytes(b"m")
    with pytest.raises(StalibError, match="a folder; give the model.pt .* \\(it holds one\\)"):
        check_model_file(tmp_path / "run")
    with pytest.raises(StalibError, match="a training checkpoint, not a model; use model.pt"):
        check_model_file(tmp_path / "run" / "checkpoint.pt")


def _one_line(capsys, status: int, *needles: str) -> str:
    err = capsys.readouterr().err
    assert status == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize("where", ["file", "under-file", "read-only"])
def test_train_and_cv_check_out_and_results_before_loading_anything(where, tmp_path, capsys):
    """The data root does not exist: the output check must come first (no data loaded, no
    training), so the one line names the output option."""
    afile = tmp_path / "afile"
    afile.write_text("x")
    bad = {"file": afile, "under-file": afile / "run",
           "read-only": _unwritable() / "stalib-run"}[where]
    common = ["--dataset", "sbu", "--data-root", str(tmp_path / "no-data"), "--quiet"]
    status = main(["train", *common, "--out", str(bad)])
    _one_line(capsys, status, "--out")
    status = main(["train", *common, "--out", str(tmp_path / "ok"), "--results", str(bad)])
    _one_line(capsys, status, "--results")
    status = main(["cv", *common, "--seeds", "0", "--out", str(bad),
                   "--results", str(tmp_path / "r")])
    _one_line(capsys, status, "--out")
    status = main(["cv", *common, "--seeds", "0", "--out", str(tmp_path / "runs"),
                   "--results", str(bad)])
    _one_line(capsys, status, "--results")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


def test_train_refuses_to_replace_a_finished_run(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    for name in ("model.pt", "metrics.json"):
        (run / name).write_bytes(b"finished")
    status = main(["train", "--dataset", "sbu", "--data-root", str(tmp_path / "no-data"),
                   "--out", str(run)])
    _one_line(capsys, status, "holds a finished run", "--force")
    assert (run / "model.pt").read_bytes() == b"finished"


def test_bench_json_into_a_read_only_folder_fails_before_timing(capsys):
    status = main(["bench", "--quick", "--json", str(_unwritable() / "bench.json")])
    _one_line(capsys, status, "--json", "cannot write in")


@pytest.fixture(scope="module")
def model_and_file(tmp_path_factory):
    """An untrained SBU LSTM (model.pt) and one valid SBU skeleton file."""
    from stalib.config import TrainConfig
    from stalib.data.core import SkeletonSet
    from stalib.experiment import save_model
    from stalib.models import build_model

    folder = tmp_path_factory.mktemp("predict")
    data = SkeletonSet.from_sequences([np.zeros((3, 30, 3), np.float32)] * 2, [0, 1],
                                      ["a", "b"], ["x", "y"], ["c0", "c1"], 2, 15, name="t")
    cfg = TrainConfig(dataset="sbu", model="sta-lstm",
                      model_overrides={"hidden": 4, "spatial_hidden": 4})
    save_model(folder / "model.pt", cfg, build_model("sta-lstm", 30, 2, 2, hidden=4,
                                                     spatial_hidden=4), data)
    rng = np.random.default_rng(0)
    rows = [",".join([str(t + 1)] + [f"{v:.4f}" for v in rng.uniform(0.2, 0.8, 90)])
            for t in range(12)]
    skeleton = folder / "skeleton_pos.txt"
    skeleton.write_text("\n".join(rows) + "\n")
    return folder / "model.pt", skeleton


@pytest.mark.parametrize("plot, needle", [("missing/att.png", "does not exist"),
                                          ("att.pgn", "unknown file type '.pgn'")])
def test_predict_plot_is_checked_before_the_prediction(plot, needle, model_and_file, tmp_path,
                                                       capsys):
    model, skeleton = model_and_file
    status = main(["predict", str(model), str(skeleton), "--plot", str(tmp_path / plot)])
    out = capsys.readouterr()
    assert status == 2 and out.out == ""  # nothing printed before the error
    assert needle in out.err and len(out.err.strip().splitlines()) == 1, out.err


def test_predict_names_folders_and_checkpoints(model_and_file, capsys):
    model, skeleton = model_and_file
    status = main(["predict", str(model.parent), str(skeleton)])
    _one_line(capsys, status, "a folder; give the model.pt")
    status = main(["predict", str(model.parent / "checkpoint.pt"), str(skeleton)])
    _one_line(capsys, status, "use model.pt")
    status = main(["predict", str(model), str(skeleton.parent)])
    _one_line(capsys, status, "a folder; give one skeleton file")


def test_predict_plot_draws_alpha_and_beta_and_names_the_frame(model_and_file, tmp_path,
                                                               capsys):
    model, skeleton = model_and_file
    assert main(["predict", str(model), str(skeleton), "--plot", str(tmp_path / "a.png")]) == 0
    assert "attention (alpha and beta) drawn to" in capsys.readouterr().out
    assert (tmp_path / "a.png").stat().st_size > 1000


def test_predict_into_a_closed_pipe_prints_no_traceback(model_and_file):
    model, skeleton = model_and_file
    # the reader (`true`) is gone long before stalib has imported torch and predicted
    cmd = f"{sys.executable} -m stalib predict {model} {skeleton} --top 2 | true"
    proc = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, timeout=300)
    assert proc.stderr == "", proc.stderr
