"""`stalib.results.merge_results` and `stalib merge`: rows another machine wrote join the
project's results files; nothing is replaced, and a refusal writes nothing."""

from __future__ import annotations

import json

import pytest
from test_results_integrity import _params, record

from stalib.cli import main
from stalib.errors import StalibError
from stalib.results import append_record, merge_results, read_records


def _folder(root, *records, name="cv.csv"):
    for rec in records:
        append_record(root / rec.dataset / name, rec)
    return root


def _keys(path):
    return [(r["configuration"], r["fold"], r["seed"], r["accuracy"]) for r in read_records(path)]


def test_new_rows_are_added_and_equal_rows_are_already_there(tmp_path):
    dest = _folder(tmp_path / "results", record(0, 0.5), record(1, 0.6))
    gpu = _folder(tmp_path / "gpu", record(1, 0.6), record(2, 0.7), record(0, 0.8, fold=2))
    _folder(gpu, record(0, 0.4), name="validation.csv")
    out = merge_results([gpu], dest)
    got = {(d.relative_to(dest).as_posix(), added, same) for _, d, added, same in out}
    assert got == {("sbu/cv.csv", 2, 1), ("sbu/validation.csv", 1, 0)}
    assert _keys(dest / "sbu" / "cv.csv") == [
        ("paper", "1", "0", "0.5"), ("paper", "1", "1", "0.6"), ("paper", "1", "2", "0.7"),
        ("paper", "2", "0", "0.8")]
    assert _keys(dest / "sbu" / "validation.csv") == [("paper", "1", "0", "0.4")]
    before = (dest / "sbu" / "cv.csv").read_bytes()
    assert [c[2:] for c in merge_results([gpu], dest)] == [(0, 3), (0, 1)]  # idempotent
    assert (dest / "sbu" / "cv.csv").read_bytes() == before


def test_a_differing_row_of_the_same_key_is_refused_and_nothing_is_written(tmp_path):
    dest = _folder(tmp_path / "results", record(0, 0.5))
    ok = _folder(tmp_path / "a", record(3, 0.9))
    bad = _folder(tmp_path / "b", record(1, 0.6), record(0, 0.55))
    before = (dest / "sbu" / "cv.csv").read_bytes()
    with pytest.raises(StalibError, match=r"b/sbu/cv\.csv, line 2: another result for .*'seed': "
                                          r"'0'.* they differ in accuracy; merge never replaces"):
        merge_results([ok, bad], dest)
    assert (dest / "sbu" / "cv.csv").read_bytes() == before  # not even the good folder's row
    assert sorted(p.name for p in dest.rglob("*")) == ["cv.csv", "sbu"]  # no lock left


def test_two_sources_disagreeing_with_each_other_are_refused(tmp_path):
    dest = tmp_path / "results"
    a = _folder(tmp_path / "a", record(0, 0.5))
    b = _folder(tmp_path / "b", record(0, 0.6))
    with pytest.raises(StalibError, match="another result for"):
        merge_results([a, b], dest)
    assert not dest.exists()


def test_a_configuration_keeps_one_configuration_across_machines(tmp_path):
    dest = _folder(tmp_path / "results", record(0, params=_params(seed=0)))
    other = _folder(tmp_path / "gpu", record(1, params=_params(seed=1, lambda3=0.0)))
    with pytest.raises(StalibError, match=r"configuration 'paper' of lstm .* other settings .*"
                                          r"lambda3=0\.0.*rename the configuration"):
        merge_results([other], dest)
    assert len(read_records(dest / "sbu" / "cv.csv")) == 1


@pytest.mark.parametrize("make, message", [
    (lambda p: p, "not a folder"),
    (lambda p: p.mkdir() or p, "no results files in it"),
])
def test_a_source_that_is_not_a_results_folder_is_named(tmp_path, make, message):
    src = make(tmp_path / "src")
    with pytest.raises(StalibError, match=f"{src}: {message}"):
        merge_results([src], tmp_path / "results")


def test_merging_a_folder_into_itself_is_refused(tmp_path):
    dest = _folder(tmp_path / "results", record(0))
    with pytest.raises(StalibError, match="the results folder it would be merged into"):
        merge_results([dest], dest)


def test_the_command_counts_and_dry_run_writes_nothing(tmp_path, capsys):
    dest = _folder(tmp_path / "results", record(0, 0.5))
    gpu = _folder(tmp_path / "gpu", record(0, 0.5), record(1, 0.7))
    assert main(["merge", str(gpu), "--results", str(dest), "--dry-run"]) == 0
    assert "cv.csv: would add 1 row(s), 1 already there" in capsys.readouterr().out
    assert len(read_records(dest / "sbu" / "cv.csv")) == 1
    assert main(["merge", str(gpu), "--results", str(dest)]) == 0
    assert "cv.csv: added 1 row(s), 1 already there" in capsys.readouterr().out
    rows = read_records(dest / "sbu" / "cv.csv")
    assert [json.loads(r["params"])["seed"] for r in rows] == [0, 1]
    bad = _folder(tmp_path / "bad", record(1, 0.1))
    assert main(["merge", str(bad), "--results", str(dest)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("stalib: error: ") and "bad/sbu/cv.csv" in err
