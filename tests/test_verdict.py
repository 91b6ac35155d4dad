"""The verdict page's logic (stalib.verdict) on made-up results files."""

from __future__ import annotations

import json
from dataclasses import asdict

import numpy as np
import pytest

from stalib.report import verdict
from stalib.results import RunRecord, write_rows


def _row(model, variant, fold, seed, acc, protocol="5fold", correct=""):
    return asdict(RunRecord(
        dataset="sbu", protocol=protocol, variant=variant, model=model, fold=fold, seed=seed,
        accuracy=acc, train_accuracy=1.0, n_test=len(correct) or 50, n_train=200,
        iterations=10, wall_time_s=1.0, device="cpu", git_commit="x", timestamp="t",
        params=json.dumps({"train": {"dataset": "sbu", "model": model}}), versions="{}",
        test_correct=correct))


def _bits(n_right, n=20):
    return "1" * n_right + "0" * (n - n_right)


def test_t_interval_and_sign_flip():
    lo, hi = verdict.t_interval(np.array([1.0, 2.0, 3.0, 4.0, 5.0]))
    assert (lo + hi) / 2 == pytest.approx(3.0)
    assert hi - lo == pytest.approx(2 * 2.776 * np.std([1, 2, 3, 4, 5], ddof=1) / np.sqrt(5))
    assert verdict.sign_flip_p(np.array([1.0, 1.0, 1.0, 1.0, 1.0])) == pytest.approx(2 / 32)
    assert verdict.sign_flip_p(np.array([1.0, -1.0])) == 1.0


def test_claims_use_the_variant_chosen_on_validation_and_get_their_word(tmp_path):
    sbu = tmp_path / "sbu"
    sbu.mkdir()
    test, val = [], []
    for fold in range(1, 6):
        for seed in (0, 1):
            # variant "good": STA-LSTM clearly above the LSTM on every fold; "bad": below
            test.append(_row("sta-lstm", "good", fold, seed, 0.87 + 0.01 * fold,
                             correct=_bits(18)))
            test.append(_row("lstm", "good", fold, seed, 0.8 - 0.01 * fold,
                             correct=_bits(16 - fold % 2)))
            test.append(_row("sta-lstm", "bad", fold, seed, 0.5))
            test.append(_row("lstm", "bad", fold, seed, 0.7))
            p = f"5fold:val{fold % 5 + 1}"
            val.append(_row("sta-lstm", "good", fold, seed, 0.85, p))
            val.append(_row("lstm", "good", fold, seed, 0.8, p))
            val.append(_row("sta-lstm", "bad", fold, seed, 0.6, p))
            val.append(_row("lstm", "bad", fold, seed, 0.6, p))
    # "best": the best validation of all, but its test grid is still running (fold 1 only)
    test += [_row(m, "best", 1, 0, 0.99) for m in ("sta-lstm", "lstm")]
    val += [_row(m, "best", f, 0, 0.99, f"5fold:val{f % 5 + 1}") for m in ("sta-lstm", "lstm")
            for f in range(1, 6)]
    write_rows(sbu / "cv.csv", test)
    write_rows(sbu / "validation.csv", val)
    table = verdict.verdict(tmp_path).set_index("claim")
    beats = table.loc["STA-LSTM beats the LSTM"]
    assert beats["variant"] == "good" and beats["runs"] == 10
    assert beats["diff"] == pytest.approx(100 * np.mean([0.07 + 0.02 * f for f in range(1, 6)]))
    assert beats["ci_low"] > 0 and beats["verdict"] == verdict.REPRODUCED
    assert beats["p_mcnemar"]  # both seeds kept their per-sequence outcomes
    target = table.loc["STA-LSTM reaches 91.51 % on SBU (5-fold)"]
    assert target["ours"] == pytest.approx(90.0)  # folds 88..92: the interval reaches 91.51
    assert target["ci_high"] > 91.51 and target["verdict"] == verdict.REPRODUCED
    ntu = table.loc["STA-LSTM reaches 73.4 % on NTU RGB+D cross-subject"]
    assert ntu["verdict"] == verdict.NOT_TESTABLE and "NTU" in ntu["why"]
    sa = table.loc[verdict.CLAIMS[0].text]
    assert sa["verdict"] == verdict.NOT_TESTABLE  # no SA-LSTM runs
    shown = verdict.format_verdict(table.reset_index())
    assert list(shown["Verdict"]).count(verdict.REPRODUCED) == 2
    assert len(shown.columns) == 6  # it reads at a page's width
    ntu_row = shown[shown["Claim (source)"].str.contains("73.4")].iloc[0]
    assert ntu_row["Ours vs. (%)"] == "—" and "not testable" in ntu_row["Verdict"]


def test_a_lost_comparison_is_not_reproduced(tmp_path):
    sbu = tmp_path / "sbu"
    sbu.mkdir()
    rows = [_row(m, "paper", f, 0, a) for f in range(1, 6)
            for m, a in (("sta-lstm", 0.5 + 0.01 * f), ("lstm", 0.7))]
    write_rows(sbu / "cv.csv", rows)
    table = verdict.verdict(tmp_path).set_index("claim")
    beats = table.loc["STA-LSTM beats the LSTM"]
    assert beats["variant"] == "paper" and beats["diff"] < 0
    assert beats["verdict"] == verdict.NOT_REPRODUCED
    assert table.loc["STA-LSTM reaches 91.51 % on SBU (5-fold)",
                     "verdict"] == verdict.NOT_REPRODUCED
