"""Property-based fuzzing of the readers with mutated real files (:mod:`stalib.tools.reliability`).

For every reader (SBU, UTKinect joints and label files, NTU ``.skeleton``, ``.npz``) hypothesis
mutates real files inside ``tmp_path`` and loads them through ``load_dataset``: each case must
load to a valid set (float32, finite, the dataset's K joints, >= 1 frame) or raise a FormatError
naming its file; any other exception or a hang fails and is shrunk to a minimal mutation list.
The example counts are :data:`stalib.tools.reliability.DEFAULT_EXAMPLES`, the same that
``python -m stalib.tools.reliability fuzz`` records in ``results/reliability/fuzz.json``.

The regression cases below are the inputs that broke the contract before the readers were fixed.
"""

from __future__ import annotations

import json
import time

import pytest

pytest.importorskip("hypothesis")

from stalib.errors import FormatError  # noqa: E402
from stalib.tools import reliability as rel  # noqa: E402


@pytest.mark.parametrize("target", list(rel.TARGETS))
def test_mutated_real_files_load_or_raise_format_error(target, data_root, tmp_path):
    res = rel.fuzz_target(target, data_root, tmp_path)
    assert res["cases"] == rel.DEFAULT_EXAMPLES[target]
    assert res["parsed"] + res["rejected"] == res["cases"]
    assert res["parsed"] > 0 and res["rejected"] > 0  # both outcomes are exercised
    assert 0 < res["with_preprocessing"] < res["cases"]  # raw and preprocessed loading
    assert len(res["mutations"]) >= 10  # many kinds of mutation were drawn


# (target, mutations, preprocess, expected reason): each broke the contract before the fix.
REGRESSIONS = {
    "sbu 1e308 -> float32 inf": ("sbu", [("set_column", 1, "1e308")], "beyond the float32 range"),
    "sbu one row, frame index 1e20 -> OverflowError": (
        "sbu", [("keep_lines", 1), ("set_field", 0, 0, "1e20")], "frame index 1e+20"),
    "utkinect joints UTF-16 -> UnicodeDecodeError": (
        "utkinect-joints", [("encoding", "utf-16")], "not a text file"),
    "utkinect joints huge frame number -> OverflowError": (
        "utkinect-joints", [("set_field", 0, 0, "9" * 25)], "frame number 9999"),
    "utkinect joints 1e39 -> float32 inf": (
        "utkinect-joints", [("set_column", 3, "1e39")], "beyond the float32 range"),
    "utkinect labels binary byte -> UnicodeDecodeError": (
        "utkinect-labels", [("garbage", 0, b"\xff")], "not a text file"),
    "ntu 1e39 -> float32 inf": ("ntu", [("set_field", 4, 0, "1e39")], "within the float32 range"),
    "npz float64 1e308 -> float32 inf": ("npz", [("set_row", 0, 1e308)], "float32 range"),
    "npz NUL bytes in a header -> tokenize.TokenError": (
        "npz", [("file", ("garbage", 49, b"\x00\x00"))], "unreadable (TokenError"),
    "npz header declaring a huge shape -> MemoryError": (
        "npz", [("header", "frames", "huge")], "header declares shape (10000000000000, 30, 3)"),
    "npz K = 0 joints -> accepted": ("npz", [("joints", 0)], "no joints"),
    "npz damaged deflate stream -> zlib.error": (
        "npz", [("compress", True), ("file", ("garbage", 120, b"\xff" * 8))], "unreadable"),
}


@pytest.fixture(scope="module")
def fixtures(data_root, tmp_path_factory):
    made = {}

    def get(name):
        if name not in made:
            made[name] = rel.make_fixture(name, data_root, tmp_path_factory.mktemp(name))
        return made[name]

    return get


@pytest.mark.parametrize("case", list(REGRESSIONS))
@pytest.mark.parametrize("preprocess", [False, True], ids=["raw", "preprocessed"])
def test_regressions_found_by_fuzzing(fixtures, case, preprocess):
    target, mutations, reason = REGRESSIONS[case]
    outcome, got = fixtures(target).run((0, mutations), preprocess)
    assert outcome == "rejected"
    assert reason in got


def test_unmutated_sources_load(fixtures):
    for name in rel.TARGETS:
        fx = fixtures(name)
        for i in range(len(fx.sources)):
            assert fx.run((i, []), True) == ("parsed", "")
            assert fx.run((i, []), False) == ("parsed", "")


# ------------------------------------------------------------------------------ the harness
def test_contract_check_flags_other_exceptions_hangs_and_foreign_files(tmp_path):
    mine, other = tmp_path / "a.txt", tmp_path / "b.txt"
    assert rel.check_contract(lambda: _raise(FormatError(mine, "bad", 3)), [mine], 30) == (
        "rejected", "bad")
    with pytest.raises(AssertionError, match="ZeroDivisionError instead of FormatError"):
        rel.check_contract(lambda: 1 / 0, [mine], 30)
    with pytest.raises(AssertionError, match="names .*b.txt, not one of"):
        rel.check_contract(lambda: _raise(FormatError(other, "bad")), [mine], 30)
    finished = []

    def slow():
        time.sleep(5)
        finished.append(True)

    with pytest.raises(AssertionError, match="hang: no answer within 0.2 s"):
        rel.check_contract(slow, [mine], 30, timeout_s=0.2)
    assert finished == []  # interrupted, not waited for (no wall-clock bound: machines are loaded)


def test_contract_check_flags_invalid_sets():
    import numpy as np

    from stalib.data.core import SkeletonSet

    def make(frames):
        return SkeletonSet.from_sequences([frames], [0], ["g"], ["n"], ["c"], 1, frames.shape[1])

    rel.check_set(make(np.zeros((4, 20, 3), np.float32)), 20)
    with pytest.raises(AssertionError, match="non-finite"):
        rel.check_set(make(np.full((4, 20, 3), np.inf, np.float32)), 20)
    with pytest.raises(AssertionError, match="K = 20 joints, expected 30"):
        rel.check_set(make(np.zeros((4, 20, 3), np.float32)), 30)


def _raise(err):
    raise err


def test_text_mutations_do_what_they_say():
    text = b"1,0.5,0.25,3,2\n2,0.5,0.25,3,2\n"
    assert rel.apply_text_mutation(text, ("newlines", "crlf")) == text.replace(b"\n", b"\r\n")
    dropped = rel.apply_text_mutation(text, ("drop_columns", 1, 3))  # one joint fewer
    assert dropped.split(b"\n")[:2] == [b"1,2", b"2,2"]
    assert rel.apply_text_mutation(text, ("set_field", 1, 2, "nan")).split(b"\n")[1] == (
        b"2,0.5,nan,3,2")
    assert rel.apply_text_mutation(text, ("duplicate_line", 0)).count(b"1,0.5") == 2
    assert rel.apply_text_mutation(text, ("keep_lines", 1)) == b"1,0.5,0.25,3,2"
    assert rel.apply_text_mutation(text, ("empty",)) == b""


def test_report_json(data_root, tmp_path):
    out = tmp_path / "reliability" / "fuzz.json"
    report = rel.run_fuzz(data_root, out, scale=0.05)
    saved = json.loads(out.read_text())
    assert saved["total_cases"] == report["total_cases"] == sum(
        max(1, round(n * 0.05)) for n in rel.DEFAULT_EXAMPLES.values())
    assert set(saved["targets"]) == set(rel.TARGETS)
    for t in saved["targets"].values():
        assert t["cases"] == t["parsed"] + t["rejected"] == t["max_examples"]
    assert saved["versions"]["hypothesis"]
