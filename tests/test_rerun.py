"""stalib rerun (stalib.tools.rerun): retrains rows from their recorded settings, draws only
rows recorded in the portable mode, says what differs, exit 0 / 1 / 2."""

from __future__ import annotations

import csv

import pytest

from stalib.cli import main
from stalib.results import read_records, write_rows


@pytest.fixture(scope="module")
def recorded(tmp_path_factory, data_root):
    """A results folder with two quick portable SBU LSTM rows (this process is in the mode)."""
    root = tmp_path_factory.mktemp("recorded")
    assert main(["cv", "--dataset", "sbu", "--model", "lstm", "--n1", "3", "--n2", "2",
                 "--folds", "1,2", "--seeds", "0", "--data-root", str(data_root),
                 "--out", str(root / "runs"), "--results", str(root / "results"),
                 "--quiet"]) == 0
    return root / "results" / "sbu" / "cv.csv"


def _copy(src, dest, change=None) -> None:
    rows = read_records(src)
    if change:
        rows = change(rows)
    dest.parent.mkdir(parents=True, exist_ok=True)
    write_rows(dest, rows)


@pytest.mark.slow
def test_portable_rows_rerun_identically(recorded, data_root, capsys):
    before = recorded.read_bytes()
    code = main(["rerun", str(recorded), "--sample", "1", "--seed", "3", "--data-root",
                 str(data_root)])
    out = capsys.readouterr().out.splitlines()
    assert code == 0, out
    assert out[-1] == "1 of 1 identical" and out[0].endswith(": identical")
    assert recorded.read_bytes() == before  # the file it reads is never written


@pytest.mark.slow
def test_a_row_without_the_mode_is_not_drawn(recorded, tmp_path, data_root, capsys):
    path = tmp_path / "sbu" / "cv.csv"

    def unmark(rows):
        rows[0]["determinism"] = ""  # recorded before the mode
        return rows

    _copy(recorded, path, unmark)
    code = main(["rerun", str(path), "--data-root", str(data_root)])
    out = capsys.readouterr().out.splitlines()
    assert code == 0
    assert out[0] == "1 row(s) not recorded in the portable mode: skipped (--all-modes draws them)"
    assert "fold 2 seed 0: identical" in out[1] and out[-1] == "1 of 1 identical"


@pytest.mark.slow
def test_a_differing_row_is_named_and_exits_1(recorded, tmp_path, data_root, capsys):
    path = tmp_path / "sbu" / "cv.csv"

    def tamper(rows):
        rows[0]["accuracy"] = "0.123"
        first = rows[0]["test_correct"]
        rows[0]["test_correct"] = ("w" if first[0] == "c" else "c") + first[1:]
        return rows

    _copy(recorded, path, tamper)
    code = main(["rerun", str(path), "--models", "lstm", "--data-root", str(data_root),
                 "--keep", str(tmp_path / "kept")])
    out = capsys.readouterr().out.splitlines()
    assert code == 1
    assert "accuracy 0.123000 -> " in out[0]
    assert "test_correct: 1 of 55 sequences predicted otherwise" in out[0]
    assert out[-1] == "1 of 2 identical"
    kept = read_records(tmp_path / "kept" / "sbu" / "cv.csv")  # --keep: the reruns' rows
    assert len(kept) == 2 and all(r["determinism"].startswith("portable") for r in kept)


@pytest.mark.parametrize("args, message", [
    (["nowhere.csv"], "nowhere.csv: no such results file"),
    (["{f}", "--models", "hcn"], "--models: hcn not in"),
    (["{f}", "--sample", "0"], "--sample must be >= 1"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, args, message):
    f = tmp_path / "sbu" / "cv.csv"
    f.parent.mkdir()
    with open(f, "w", newline="") as h:
        csv.writer(h).writerow(["dataset"])
    from stalib.results import COLUMNS

    f.write_text(",".join(COLUMNS) + "\n" + ",".join(
        ["sbu", "5fold", "v", "lstm", "1", "0", "0.5", "1", "2", "2", "1", "1", "cpu", "x", "t",
         "{}", "{}", "cw", "portable cpu"]) + "\n")
    code = main(["rerun", *[a.format(f=f) for a in args]])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and message in err[0]


@pytest.mark.slow
def test_committed_rows_rerun_identically_on_this_machine(data_root, capsys):
    """The contract on whatever machine runs the suite (a fresh clone in CI): committed portable
    SBU rows of the LSTM and the linear baseline, drawn with a seed that changes every day, come
    back bit for bit. A CPU model or library build that breaks the mode fails here."""
    import datetime

    from tests.conftest import REPO

    seed = datetime.date.today().toordinal() % 1000
    code = main(["rerun", str(REPO / "results" / "sbu" / "cv.csv"), "--sample", "3",
                 "--seed", str(seed), "--models", "lstm,linear", "--data-root", str(data_root)])
    out = capsys.readouterr().out.splitlines()
    assert code == 0 and out[-1] == "3 of 3 identical", (seed, out)



@pytest.mark.slow
def test_a_differing_row_older_than_the_params_format_says_so(recorded, tmp_path, data_root,
                                                               capsys):
    """A row written before params held a setting is rerun with today's default for it: when
    it then differs, its line names those settings (the difference may be theirs)."""
    import json

    path = tmp_path / "sbu" / "cv.csv"

    def older(rows):
        params = json.loads(rows[0]["params"])
        del params["train"]["augment_swap"], params["preprocessing"]
        rows[0]["params"] = json.dumps(params)
        rows[0]["accuracy"] = "0.123"
        rows[1]["params"] = json.dumps({**json.loads(rows[1]["params"]), "preprocessing": None})
        return rows

    _copy(recorded, path, older)
    code = main(["rerun", str(path), "--data-root", str(data_root)])
    out = capsys.readouterr().out.splitlines()
    assert code == 1 and out[-1] == "1 of 2 identical"
    assert out[0].endswith("; recorded before its params held train.augment_swap, "
                           "preprocessing (today's defaults used)")
    assert out[1].endswith(": identical")  # an identical rerun names nothing
