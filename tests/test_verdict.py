"""The verdict page's logic (stalib.verdict) on made-up results files."""

from __future__ import annotations

import json
from dataclasses import asdict

import numpy as np
import pytest

from stalib.report import verdict
from stalib.results import RunRecord, write_rows


def _row(model, configuration, fold, seed, acc, protocol="5fold", correct=""):
    return asdict(RunRecord(
        dataset="sbu", protocol=protocol, configuration=configuration, model=model, fold=fold,
        seed=seed,
        accuracy=acc, train_accuracy=1.0, n_test=len(correct) or 50, n_train=200,
        iterations=10, wall_time_s=1.0, device="cpu", git_commit="x", timestamp="t",
        params=json.dumps({"train": {"dataset": "sbu", "model": model}}), versions="{}",
        test_correct=correct))


def _bits(n_right, n=20):
    return "1" * n_right + "0" * (n - n_right)


def test_t_interval_and_sign_flip():
    from stalib import stats

    lo, hi = stats.t_interval(np.array([1.0, 2.0, 3.0, 4.0, 5.0]))
    assert (lo + hi) / 2 == pytest.approx(3.0)
    # t(0.975, 4) = 2.776445; s = sqrt(2.5)
    assert hi - lo == pytest.approx(2 * 2.776445 * np.sqrt(2.5) / np.sqrt(5), abs=1e-5)
    assert stats.sign_flip_p(np.array([1.0, 1.0, 1.0, 1.0, 1.0])) == pytest.approx(2 / 32)
    assert stats.sign_flip_p(np.array([1.0, -1.0])) == 1.0
    # 3, 1, 2: of the 8 sign patterns, |mean| >= 2 for (+,+,+), (-,-,-), (+,-,+)... counted:
    # means 2, 4/3, 0, 2/3 and their negatives: two of eight reach 2
    assert stats.sign_flip_p(np.array([3.0, 1.0, 2.0])) == pytest.approx(2 / 8)


#: Test configurations of the made-up rows: the Fig. 7 models at "good", the CSTA models at
#: "cnn", the linear floor at "lin".
CHOICES = {"fig7": "good", "csta": "cnn", "linear": "lin"}


def _verdict(root, choices=CHOICES):
    return verdict.verdict(root, choices).set_index("claim")


def test_claims_speak_at_their_family_s_choice_and_get_their_word(tmp_path):
    sbu = tmp_path / "sbu"
    sbu.mkdir()
    test = []
    for fold in range(1, 6):
        for seed in (0, 1):
            # "good": STA-LSTM clearly above the LSTM on every fold; "bad": below, and better
            # on validation, but not the family's choice: it never speaks
            test.append(_row("sta-lstm", "good", fold, seed, 0.87 + 0.01 * fold,
                             correct=_bits(18)))
            test.append(_row("lstm", "good", fold, seed, 0.8 - 0.01 * fold,
                             correct=_bits(16 - fold % 2)))
            test.append(_row("sta-lstm", "bad", fold, seed, 0.5))
            test.append(_row("lstm", "bad", fold, seed, 0.7))
    write_rows(sbu / "cv.csv", test)
    table = _verdict(tmp_path)
    beats = table.loc["STA-LSTM beats the LSTM"]
    assert beats["configuration"] == "good" and beats["runs"] == 10
    assert beats["diff"] == pytest.approx(100 * np.mean([0.07 + 0.02 * f for f in range(1, 6)]))
    assert beats["ci_low"] > 0 and beats["verdict"] == verdict.REPRODUCED
    assert beats["p_mcnemar"]  # both seeds kept their per-sequence outcomes
    target = table.loc["STA-LSTM reaches 91.51 % on SBU (5-fold)"]
    assert target["ours"] == pytest.approx(90.0)  # folds 88..92: the interval reaches 91.51
    assert target["ci_high"] > 91.51 and target["verdict"] == verdict.REPRODUCED
    ntu = table.loc["STA-LSTM reaches 73.4 % on NTU RGB+D cross-subject"]
    assert ntu["verdict"] == verdict.NOT_TESTABLE and "NTU" in ntu["why"]
    sa = table.loc[verdict.CLAIMS[0].title]
    assert sa["verdict"] == verdict.NOT_TESTABLE and "sa-lstm 0 of 10 runs" in sa["why"]
    shown = verdict.format_verdict(table.reset_index())
    assert list(shown["Verdict"]).count(verdict.REPRODUCED) == 2
    assert len(shown.columns) == 6  # it reads at a page's width
    ntu_row = shown[shown["Claim (source)"].str.contains("73.4")].iloc[0]
    assert ntu_row["Ours [95 %] vs. (%)"] == "—" and "not testable" in ntu_row["Verdict"]
    target_row = shown[shown["Claim (source)"].str.contains("91.51")].iloc[0]
    # a target's interval is of our accuracy, beside it; its difference stands alone
    assert target_row["Ours [95 %] vs. (%)"].startswith("90.00 [") and target_row[
        "Ours [95 %] vs. (%)"].endswith("] vs. 91.51")
    assert target_row["Difference (pp) [95 %]"] == "-1.51"
    beats_row = shown[shown["Claim (source)"].str.startswith("STA-LSTM beats the LSTM (")].iloc[0]
    assert "McNemar, per seed: " in beats_row["p"] and "[" in beats_row["Difference (pp) [95 %]"]


def test_the_committed_verdict_speaks_at_the_recorded_choices():
    """Without ``choices`` every claim speaks at its family's recorded configuration (the
    catalogue's), and the committed results give the table the report shows."""
    from pathlib import Path

    from stalib import catalogue

    root = Path(__file__).resolve().parents[1] / "results"
    table = verdict.verdict(root)
    measured = table[table["configuration"].notna()]
    assert len(measured) >= 10
    for claim, (_, row) in zip(verdict.CLAIMS, table.iterrows(), strict=True):
        if isinstance(row["configuration"], str):
            assert row["configuration"] == catalogue.recorded(claim.model), claim.text
    rows = table.set_index("claim")
    beats = rows.loc["STA-LSTM beats the LSTM"]
    assert beats["runs"] == 15 and beats["verdict"] == verdict.INCONCLUSIVE


def test_a_lost_comparison_is_contradicted(tmp_path):
    sbu = tmp_path / "sbu"
    sbu.mkdir()
    rows = [_row(m, "good", f, 0, a) for f in range(1, 6)
            for m, a in (("sta-lstm", 0.5 + 0.01 * f), ("lstm", 0.7))]
    write_rows(sbu / "cv.csv", rows)
    table = _verdict(tmp_path)
    beats = table.loc["STA-LSTM beats the LSTM"]
    assert beats["configuration"] == "good" and beats["diff"] < 0
    assert beats["ci_high"] < 0 and beats["verdict"] == verdict.CONTRADICTED
    assert table.loc["STA-LSTM reaches 91.51 % on SBU (5-fold)",
                     "verdict"] == verdict.CONTRADICTED  # folds of 51-55 %: far below


def test_each_claim_records_the_modes_of_the_rows_it_speaks_from(tmp_path):
    """The LSTM's rows were recorded before the portable mode, STA-LSTM's in it: the comparison
    says both modes, the accuracy target STA-LSTM's alone, and the sentence counts them."""
    sbu = tmp_path / "sbu"
    sbu.mkdir()
    portable = "portable cpu isa=AVX2 threads=1 cbwr=AVX2,STRICT"
    rows = [{**_row(m, "good", f, 0, a), "determinism": d} for f in range(1, 6)
            for m, a, d in (("sta-lstm", 0.95, portable), ("lstm", 0.7, "unrecorded"))]
    write_rows(sbu / "cv.csv", rows)
    table = verdict.verdict(tmp_path, CHOICES)
    by_claim = table.set_index("claim")["modes"]
    assert by_claim["STA-LSTM beats the LSTM"] == "portable, unrecorded"
    assert by_claim["STA-LSTM reaches 91.51 % on SBU (5-fold)"] == "portable"
    text = verdict.modes_sentence(table)
    assert text.startswith("1 of the 2 measured claims speak from runs recorded in the portable")
    assert ("\n- STA-LSTM beats the LSTM (SBU 5fold, good): portable, recorded before the mode"
            in text)
    portable_only = table.assign(modes=table["modes"].str.replace(", unrecorded", ""))
    assert verdict.modes_sentence(portable_only) == ("All 2 measured claims speak from runs "
                                                     "recorded in the portable deterministic "
                                                     "mode only.")


def test_a_grid_a_seed_short_does_not_speak(tmp_path):
    """Seed 0 ran on every fold and seed 1 on fold 1 only: the grid is still running, and the
    claim says how many of its runs are in; rows of another configuration do not stand in."""
    sbu = tmp_path / "sbu"
    sbu.mkdir()
    rows = [_row("sta-lstm", "good", f, 0, 0.9) for f in range(1, 6)]
    rows.append(_row("sta-lstm", "good", 1, 1, 0.9))
    rows += [_row("sta-lstm", "paper", f, s, 0.5) for f in range(1, 6) for s in (0, 1)]
    write_rows(sbu / "cv.csv", rows)
    target = _verdict(tmp_path).loc["STA-LSTM reaches 91.51 % on SBU (5-fold)"]
    assert target["verdict"] == verdict.NOT_TESTABLE and target["configuration"] is None
    assert target["why"] == "the test grid at good is not whole yet: sta-lstm 6 of 10 runs"


def test_an_ablation_speaks_at_its_family_s_configuration(tmp_path):
    """SA-LSTM has rows at "old" too; the Fig. 7 family speaks at "good": SA-LSTM is measured there
    (one configuration for the ablation)."""
    sbu = tmp_path / "sbu"
    sbu.mkdir()
    rows = [_row(m, v, f, 0, a) for f in range(1, 6) for m, v, a in (
        ("sta-lstm", "good", 0.9), ("sa-lstm", "old", 0.7), ("sa-lstm", "good", 0.88),
        ("lstm", "good", 0.8))]
    write_rows(sbu / "cv.csv", rows)
    table = _verdict(tmp_path)
    sa = table.loc[verdict.CLAIMS[0].title]
    assert sa["configuration"] == "good" and sa["ours"] == pytest.approx(88.0)
    assert table.loc["STA-LSTM beats SA-LSTM", "configuration"] == "good"


def test_tried_lists_every_configuration_of_a_missed_target(tmp_path):
    sbu = tmp_path / "sbu"
    sbu.mkdir()
    test = [{**_row("hcn", v, f, s, a), "train_accuracy": ta} for f in range(1, 6)
            for s in (0, 1) for v, a, ta in (("paper", 0.7, 0.8), (CHOICES["csta"], 0.9, 1.0))]
    test[0]["train_accuracy"] = 0.6
    val = [_row("hcn", v, f, s, a, f"5fold:val{f % 5 + 1}") for f in range(1, 6)
           for s in (0, 1) for v, a in ((CHOICES["csta"], 0.88), ("small", 0.75))]
    write_rows(sbu / "cv.csv", test)
    write_rows(sbu / "validation.csv", val)
    claim = next(c for c in verdict.CLAIMS if c.model == "hcn" and c.kind == "target")
    t = verdict.tried(claim, verdict.report.load_all_cv(tmp_path),
                      verdict.report.load_all_validation(tmp_path), CHOICES
                      ).set_index("configuration")
    assert list(t.index) == ["cnn", "small", "paper"]  # best validation first
    assert t.at["cnn", "chosen"] and not t.at["paper", "chosen"]
    assert t.at["cnn", "val_seeds"] == 2 and t.at["small", "test_runs"] == 0
    assert t.at["paper", "train_min"] == pytest.approx(60.0)
    assert t.at["paper", "test_mean"] == pytest.approx(70.0)


def test_levels_read_each_family_s_configuration_and_say_by_how_much(tmp_path):
    """The baselines' levels (the catalogue's): a Fig. 7 model against the linear floor, HCN
    against 96 %; met or short by how much; a level without runs says so."""
    sbu = tmp_path / "sbu"
    sbu.mkdir()
    test = []
    for fold in range(1, 6):
        for seed in (0, 1):
            for model, configuration, acc in (("sta-lstm", "good", 0.93), ("lstm", "good", 0.90),
                                        ("linear", "lin", 0.92), ("hcn", "cnn", 0.95),
                                        ("lstm", "other", 0.99)):  # speaks for no level
                test.append(_row(model, configuration, fold, seed, acc))
    write_rows(sbu / "cv.csv", test)
    rows = verdict.level_rows(verdict.report.load_all_cv(tmp_path), CHOICES)
    got = {(r["target"][:8], r["model"]): r for r in rows.to_dict("records")}
    lstm = got[("every Fi", "lstm")]
    assert lstm["configuration"] == "good" and lstm["ours"] == pytest.approx(90.0)
    assert lstm["level"] == pytest.approx(92.0) and not lstm["met"]
    assert lstm["gap"] == pytest.approx(-2.0)
    assert got[("every Fi", "sta-lstm")]["met"]
    hcn = got[("HCN reac", "hcn")]
    assert hcn["level"] == 96.0 and hcn["gap"] == pytest.approx(-1.0)
    assert np.isnan(got[("the LSTM", "lstm")]["ours"])  # UTKinect: no runs


def test_the_intro_says_what_the_committed_results_say():
    """The intro's title names what was done, not a verdict the rows could falsify; its one
    typed reading of the numbers (on SBU a plain LSTM and the linear floor score as much as the
    paper's STA-LSTM) must stay true of results/, and no claim there says "not reproduced"."""
    from pathlib import Path

    from stalib.report import pooled, tables
    from stalib.report import verdict as v

    intro = (Path(__file__).resolve().parents[1] / "book" / "intro.md").read_text()
    assert "# STA-LSTM and CSTA-CNN replicated on four datasets\n" in intro
    words = " ".join(intro.split())
    assert ("a plain LSTM and a logistic regression on 8 frames (the *linear floor*) score as "
            "much") in words
    root = Path(__file__).resolve().parents[1] / "results"
    test = tables.load_all_cv(root)
    for model in ("lstm", "linear"):
        assert v.model_mean(test, "sbu", "5fold", model) >= 91.51
    table = v.verdict(root)
    assert "not reproduced" not in v.claims_table(table)
    assert set(table["verdict"]) <= set(pooled.LABELS)
    results = pooled.pooled_verdict(test)
    assert "not reproduced" not in pooled.pooled_table(results)


def test_the_claims_table_has_every_claim_its_word_and_the_paper_value():
    from stalib.report import verdict as v

    table = v.verdict(None)
    text = v.claims_table(table)
    lines = text.splitlines()
    assert len(lines) == 2 + len(v.CLAIMS)
    assert "| 91.51 % |" in text and "[Table 1](table1.md)" in text
    for word in table["verdict"]:
        assert f"**{word}" in text


def test_a_gain_excluded_by_the_whole_interval_says_which_model_leads():
    """A claimed gain whose whole 95 % interval is below zero is not 'at most +0.00': the
    claims table says the reference leads, and by how much at least."""
    beats = next(c for c in verdict.CLAIMS if c.model == "csta-cnn" and c.reference == "hcn")
    assert verdict.largest_gain(beats, 0.31) == "at most +0.31 pp"
    assert verdict.largest_gain(beats, -0.67) == "HCN ahead by at least 0.67 pp"


def test_every_claim_carries_its_source_and_its_words():
    """Issue 38: no claim worded beyond its source: each row of the verdict names where it comes
    from and quotes it (or, for a table, where its value stands)."""
    from stalib.report import pooled

    for claim in verdict.CLAIMS:
        assert claim.source and len(claim.quote) >= 20, claim.text
    for comparison in pooled.COMPARISONS:
        assert comparison.source and len(comparison.quote) >= 20, comparison.text
    csta = [c for c in verdict.CLAIMS if c.source.startswith(verdict.CSTA)]
    assert {c.dataset for c in csta} == {"sbu", "ntu60"}
    ntu = next(c for c in csta if c.kind == "comparison" and c.dataset == "ntu60")
    assert "slightly lower than HCN" in ntu.quote  # as the paper states it, not "beats"
