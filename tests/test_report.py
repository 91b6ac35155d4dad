"""Summaries of results files: mean ± std over folds and seeds, literature, differences.

All results here are SYNTHETIC and live in tmp_path; nothing is written under results/.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from stalib import report
from stalib.errors import FormatError
from stalib.report import plots

REPO = Path(__file__).resolve().parents[1]


def synthetic_runs(dataset="sbu", protocol="5fold", models=("lstm", "sta-lstm"), folds=5,
                   seeds=(0, 1), base=0.8) -> pd.DataFrame:
    rows = []
    for i, model in enumerate(models):
        for fold in range(1, folds + 1):
            for seed in seeds:
                rows.append({
                    "dataset": dataset, "protocol": protocol, "model": model, "fold": fold,
                    "seed": seed, "accuracy": base + 0.05 * i + 0.01 * fold + 0.001 * seed,
                    "n_test": 46, "iterations": 1500, "wall_time_s": 30.0 + fold,
                    "device": "cpu", "git_commit": "abc123",
                    "timestamp": f"2026-11-2{fold}T10:00:00Z",
                    "params": json.dumps({"model": model}),
                    "versions": json.dumps({"python": "3.11.7", "torch": "2.13.0"}),
                })
    return pd.DataFrame(rows)


def write_cv(root: Path, df: pd.DataFrame, name="cv.csv") -> Path:
    path = root / df["dataset"].iloc[0] / name
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, index=False)
    return path


def test_results_root_env_and_default(tmp_path, monkeypatch):
    monkeypatch.setenv(report.RESULTS_ENV, str(tmp_path))
    assert report.results_root() == tmp_path
    assert report.results_root("elsewhere") == Path("elsewhere")
    monkeypatch.delenv(report.RESULTS_ENV)
    monkeypatch.chdir(REPO / "stalib")
    assert report.results_root() == REPO / "results"


def test_load_cv_absent_then_present(tmp_path):
    assert report.load_cv("sbu", tmp_path) is None
    assert report.load_all_cv(tmp_path) is None
    write_cv(tmp_path, pd.concat([synthetic_runs(), synthetic_runs(models=("hcn",))]))
    df = report.load_cv("sbu", tmp_path)
    assert len(df) == 30
    assert set(df["model"]) == {"lstm", "sta-lstm", "hcn"}
    assert len(report.load_all_cv(tmp_path)) == 30


def test_one_results_file_per_dataset(tmp_path):
    write_cv(tmp_path, synthetic_runs())
    # files of an older layout beside it are not read: cv.csv is THE results file
    write_cv(tmp_path, synthetic_runs(models=("hcn",)), name="cv-csta.csv")
    assert report.cv_files("sbu", tmp_path) == [tmp_path / "sbu" / "cv.csv"]
    assert set(report.load_cv("sbu", tmp_path)["model"]) == {"lstm", "sta-lstm"}


def test_a_run_recorded_twice_counts_once(tmp_path):
    runs = synthetic_runs()
    write_cv(tmp_path, pd.concat([runs, runs.iloc[:5]]))
    assert len(report.load_cv("sbu", tmp_path)) == 20
    changed = runs.iloc[:1].copy()
    changed["accuracy"] = 0.1
    write_cv(tmp_path, pd.concat([runs, changed]))
    with pytest.raises(FormatError, match="also recorded with another accuracy"):
        report.load_cv("sbu", tmp_path)


def test_paired_with_sta_lstm_on_common_runs():
    df = pd.concat([synthetic_runs(models=("sta-lstm",), seeds=(0, 1)),
                    synthetic_runs(models=("csta-cnn",), seeds=(0,), base=0.85)])
    table = report.paired(df, report.CSTA_MODELS)
    assert list(table["model"]) == ["csta-cnn"]  # models without runs give no row
    row = table.iloc[0]
    common = df[(df.model == "sta-lstm") & (df.seed == 0)]
    assert row["runs"] == 5 and row["wins"] == 5
    assert row["reference_mean"] == pytest.approx(100 * common["accuracy"].mean())
    assert row["diff"] == pytest.approx(5.0)  # base 0.85 vs 0.80, same fold/seed terms
    shown = report.format_paired(table)
    assert shown["Paired difference (pp)"].iloc[0] == "+5.00 ± 0.00"
    assert shown["Runs won"].iloc[0] == "5 of 5"
    assert report.paired(None, report.CSTA_MODELS).empty


def test_paired_within_a_configuration_or_against_a_named_one():
    sta = synthetic_runs(models=("sta-lstm",), seeds=(0,))
    df = pd.concat([sta.assign(configuration="paper"),
                    sta.assign(configuration="l1-off", accuracy=sta["accuracy"] + 0.1),
                    synthetic_runs(models=("hcn",), seeds=(0,), base=0.85).assign(
                        configuration="paper")])
    same = report.paired(df, ["hcn"])
    pairs = ["configuration", "reference_configuration"]
    assert same[pairs].values.tolist() == [["paper", "paper"]]
    assert same["diff"].iloc[0] == pytest.approx(5.0)
    other = report.paired(df, ["hcn"], reference_configuration="l1-off")
    assert other[pairs].values.tolist() == [["paper", "l1-off"]]
    assert other["diff"].iloc[0] == pytest.approx(-5.0) and other["wins"].iloc[0] == 0
    shown = report.format_paired(other)
    assert shown["Model"].iloc[0] == "HCN (paper)"
    assert shown["Reference"].iloc[0] == "STA-LSTM (l1-off)"
    assert report.paired(df, ["hcn"], reference_configuration="none").empty


def test_mcnemar_exact_against_hand_computed_binomial_tails():
    assert report.mcnemar_exact(0, 0) == 1.0
    assert report.mcnemar_exact(5, 0) == pytest.approx(2 / 32)
    # n = 12 discordant, 2 one way: 2 * (C(12,0) + C(12,1) + C(12,2)) / 2**12
    assert report.mcnemar_exact(10, 2) == pytest.approx(2 * 79 / 4096)
    assert report.mcnemar_exact(2, 10) == report.mcnemar_exact(10, 2)
    assert report.mcnemar_exact(3, 3) == 1.0  # capped
    with pytest.raises(ValueError, match="counts must be >= 0"):
        report.mcnemar_exact(-1, 2)


def test_paired_gives_mcnemar_only_for_one_sequence_runs():
    # leave-one-sequence-out: 20 folds, one sequence each, one seed
    right_lstm = [1] * 14 + [0] * 6
    right_sta = [1] * 10 + [0] * 10  # discordant: 4 lstm-only, 0 sta-only
    loso = pd.DataFrame(
        [dict(dataset="utkinect", protocol="loso", model=m, fold=f + 1, seed=0,
              accuracy=float(r[f]), n_test=1)
         for m, r in (("lstm", right_lstm), ("sta-lstm", right_sta)) for f in range(20)])
    table = report.paired(loso, ["sta-lstm"], reference="lstm")
    row = table.iloc[0]
    assert (row["runs"], row["wins"], row["losses"]) == (20, 0, 4)
    assert row["p_value"] == pytest.approx(2 / 16)
    shown = report.format_paired(table)
    assert shown["Won / lost (sequences)"].iloc[0] == "0 / 4"
    assert shown["McNemar exact p"].iloc[0] == "0.125"
    assert shown["Paired difference (pp)"].iloc[0] == "-20.00"  # no std of 0/100 outcomes
    # folds of many sequences and several seeds: no p-value, and no column for it
    folds = pd.concat([synthetic_runs(models=("sta-lstm",), seeds=(0, 1)),
                       synthetic_runs(models=("csta-cnn",), seeds=(0, 1), base=0.85)])
    table = report.paired(folds, ["csta-cnn"])
    assert table["p_value"].isna().all() and table["losses"].iloc[0] == 0
    assert "McNemar exact p" not in report.format_paired(table).columns


def test_sequences_in_runs():
    df = synthetic_runs().assign(n_train=236)
    assert report.sequences_in_runs(df, "sbu") == 282
    assert report.sequences_in_runs(df, "ntu60") is None
    assert report.sequences_in_runs(None, "sbu") is None


def test_read_cv_rejects_bad_files(tmp_path):
    bad = synthetic_runs().drop(columns=["seed"])
    path = write_cv(tmp_path, bad)
    with pytest.raises(FormatError, match="missing columns seed"):
        report.read_cv(path)
    df = synthetic_runs()
    df.loc[3, "accuracy"] = 91.5  # percent instead of a fraction
    path = write_cv(tmp_path, df)
    with pytest.raises(FormatError, match=r"cv.csv:5: accuracy must be a fraction"):
        report.read_cv(path)


def test_summarise_mean_std_over_folds_and_seeds():
    df = synthetic_runs(models=("sta-lstm", "lstm"))
    s = report.summarise(df)
    assert list(s["model"]) == ["lstm", "sta-lstm"]  # paper order, not file order
    lstm = s.iloc[0]
    acc = 100 * df[df.model == "lstm"]["accuracy"]
    assert lstm["mean"] == pytest.approx(acc.mean())
    assert lstm["std"] == pytest.approx(np.std(acc, ddof=1))
    assert (lstm["runs"], lstm["folds"], lstm["seeds"]) == (10, 5, 2)
    assert lstm["label"] == "LSTM"
    one = report.summarise(synthetic_runs(folds=1, seeds=(0,)))
    assert np.isnan(one["std"].iloc[0])
    assert report.summarise(None).empty


def test_a_grid_still_running_is_not_set_against_the_paper():
    """STA-LSTM's rows of a configuration on 4 of the 5 folds (a grid still running) keep their mean
    and runs, but get no difference to the paper's 91.51 and say "running"."""
    lit = report.load_literature(REPO / "results" / "literature.csv")
    whole = synthetic_runs(models=("sta-lstm",)).assign(configuration="paper")
    running = whole[whole["fold"] < 5].assign(configuration="new")
    table = report.compare(report.summarise(pd.concat([whole, running])), lit)
    assert table["whole"].tolist() == [True, False] and table["paper"].tolist() == [91.51] * 2
    assert not np.isnan(table["diff"].iloc[0]) and np.isnan(table["diff"].iloc[1])
    shown = report.format_comparison(table)
    assert shown["Runs (folds × seeds)"].tolist() == ["10 (5 × 2)", "8 (4 × 2), running"]
    assert shown["Difference (pp)"].iloc[1] == "—"
    a_seed_short = whole.drop(whole.index[-1])  # fold 5 has one seed of the two
    assert not report.summarise(a_seed_short)["whole"].iloc[0]
    one_seed = whole[whole["seed"] == 0].assign(configuration="new")  # every fold, seed 0 so far
    assert report.summarise(pd.concat([whole, one_seed]))["whole"].tolist() == [True, False]


def test_compare_with_the_repository_literature():
    lit = report.load_literature(REPO / "results" / "literature.csv")
    runs = pd.concat([
        synthetic_runs(protocol="5fold"),
        synthetic_runs(dataset="ntu60", protocol="xsub", models=("sta-lstm", "hcn"), folds=1,
                       seeds=(0,)),
        synthetic_runs(dataset="ntu60", protocol="cross-view", models=("sta-lstm",), folds=1),
        synthetic_runs(dataset="utkinect", protocol="loso", models=("sta-lstm",)),
    ])
    table = report.compare(report.summarise(runs), lit)
    got = {(r.dataset, report.canonical_protocol(r.dataset, r.protocol), r.model): r.paper
           for r in table.itertuples()}
    assert got[("sbu", "5fold", "sta-lstm")] == 91.51
    assert np.isnan(got[("sbu", "5fold", "lstm")])  # Fig. 7 bars are not in the text
    assert got[("ntu60", "cs", "sta-lstm")] == 73.4
    assert got[("ntu60", "cv", "sta-lstm")] == 81.2
    assert got[("ntu60", "cs", "hcn")] == 86.5
    assert np.isnan(got[("utkinect", "loso", "sta-lstm")])  # not in the paper
    row = table[(table.dataset == "sbu") & (table.model == "sta-lstm")].iloc[0]
    assert row["diff"] == pytest.approx(row["mean"] - 91.51)
    assert "Song et al." in row["paper_source"]
    sources = report.comparison_sources(table)
    assert "STA-LSTM (SBU, 5fold): Song et al., AAAI 2017, Table 1" in sources
    assert "HCN (NTU RGB+D, Cross-Subject): Li et al." in sources
    assert "no value" in report.comparison_sources(table[table.model == "lstm"])

    shown = report.format_comparison(table)
    sta = shown[(shown["Model"] == "STA-LSTM") & (shown["Protocol"] == "Cross-Subject")].iloc[0]
    assert sta["Paper (%)"] == "73.40"
    assert " ± " not in sta["Ours (%)"]  # one run: no std
    first = shown.iloc[0]
    assert " ± " in first["Ours (%)"] and first["Difference (pp)"] == "—"


def test_literature_file_is_complete_and_cited():
    lit = report.load_literature(REPO / "results" / "literature.csv")
    assert list(lit.columns[:6]) == list(report.LITERATURE_COLUMNS)
    t1 = lit[lit.table == "Table 1"]
    assert len(t1) == 7 and t1[t1.method == "STA-LSTM"]["accuracy"].item() == 91.51
    t2 = lit[lit.table == "Table 2"]
    assert len(t2) == 14 and set(t2["protocol"]) == {"cs", "cv"}
    sta = t2[t2.method == "STA-LSTM"].set_index("protocol")["accuracy"]
    assert (sta["cs"], sta["cv"]) == (73.4, 81.2)
    assert lit[["table", "dataset", "protocol", "method"]].duplicated().sum() == 0
    assert lit["source"].str.len().min() > 10
    assert set(lit["dataset"]) <= set(report.DATASETS)
    assert lit["accuracy"].between(0, 100).all()


def test_literature_rows_for_display():
    lit = report.load_literature(REPO / "results" / "literature.csv")
    rows = report.literature_rows(lit, "Table 2")
    assert len(rows) == 14
    assert set(rows["Protocol"]) == {"Cross-Subject", "Cross-View"}
    assert "Method (literature)" in rows.columns
    hbrnn = rows[rows["Method (literature)"].str.startswith("HBRNN")]
    assert sorted(hbrnn["Accuracy (%)"]) == ["59.1", "64.0"]  # as printed in the paper


def test_literature_needs_citations(tmp_path):
    path = tmp_path / "lit.csv"
    path.write_text("table,dataset,protocol,method,accuracy,source\nT,sbu,5-fold,X,50,\n")
    with pytest.raises(FormatError, match="citation"):
        report.load_literature(path)


def test_performance_and_provenance():
    df = synthetic_runs()
    perf = report.performance(df)
    assert list(perf["model"]) == ["lstm", "sta-lstm"]
    assert perf["ms_per_iteration"].iloc[0] == pytest.approx(1000 * 33.0 / 1500)
    prov = report.provenance(df)
    assert prov["runs"] == 20 and prov["seeds"] == [0, 1] and prov["git_commits"] == ["abc123"]
    assert prov["versions"] == [{"python": "3.11.7", "torch": "2.13.0"}]
    assert report.provenance(None) == {}


def test_missing_notes_name_the_command():
    note = report.ntu_missing_note("Table 2", "table2-ntu")
    assert "NTU RGB+D was not available" in note
    assert "`stalib reproduce --only table2-ntu`" in note
    assert "`NTU/`" in note


def test_validation_choice_averages_the_models_every_configuration_has():
    runs = []
    for configuration, accs in (("paper", {"lstm": 0.7, "sta-lstm": 0.5, "ta-lstm": 0.9}),
                          ("l1-off", {"lstm": 0.8, "sta-lstm": 0.7})):
        for model, acc in accs.items():
            for fold in (1, 2):
                runs.append(dict(dataset="sbu", protocol=f"5fold:val{fold % 5 + 1}",
                                 configuration=configuration, model=model, fold=fold, seed=0,
                                 accuracy=acc + 0.01 * fold))
    val = report.summarise_validation(pd.DataFrame(runs))
    assert set(val["protocol"]) == {"5fold"} and set(val["runs"]) == {2}
    choice = report.validation_choice(val).set_index("configuration")
    # ta-lstm ran only with the paper's settings: not part of the comparison
    assert choice.loc["paper", "models"] == 2
    assert choice.loc["paper", "mean"] == pytest.approx(61.5)
    assert choice.loc["l1-off", "mean"] == pytest.approx(76.5)
    assert list(choice["chosen"]) == [False, True]
    assert report.validation_choice(report.summarise_validation(None)).empty
    shown = report.format_choice(report.validation_choice(val))
    assert shown.to_dict("list") == {
        "Dataset": ["SBU", "SBU"], "Configuration": ["paper", "l1-off"], "Models averaged": [2, 2],
        "Mean validation accuracy (%)": ["61.50", "76.50"], "Chosen": ["", "yes"]}


def test_wilson_interval_known_values():
    # 0 of 10: the upper end is z^2 / (n + z^2); 10 of 10 mirrors it
    assert report.wilson_interval(0, 10) == pytest.approx((0.0, 100 * 3.8415 / 13.8415), abs=1e-3)
    low, high = report.wilson_interval(10, 10)
    assert high == pytest.approx(100.0) and low == pytest.approx(100 - 100 * 3.8415 / 13.8415,
                                                                 abs=1e-3)
    low, high = report.wilson_interval(50, 100)  # symmetric about 50 %
    assert 50 - low == pytest.approx(high - 50) and low == pytest.approx(40.38, abs=0.01)
    for bad in ((3, 2), (-1, 5), (0, 0)):
        with pytest.raises(ValueError, match="wilson_interval"):
            report.wilson_interval(*bad)


def test_one_sequence_per_run_is_pooled_with_its_interval():
    loso = synthetic_runs(protocol="loso", models=("lstm",), folds=20, seeds=(0,))
    loso = loso.assign(n_test=1, accuracy=[1.0] * 15 + [0.0] * 5)
    both = pd.concat([loso, synthetic_runs(models=("lstm",))], ignore_index=True)
    s = report.summarise(both).set_index("protocol")
    assert (s.loc["loso", "correct"], s.loc["loso", "sequences"]) == (15, 20)
    assert s.loc["loso", "mean"] == pytest.approx(75.0)
    assert (s.loc["loso", "ci_low"], s.loc["loso", "ci_high"]) == pytest.approx(
        report.wilson_interval(15, 20))
    # k-fold runs with several seeds test the same sequences again: no binomial interval
    assert np.isnan(s.loc["5fold", "ci_low"]) and s.loc["5fold", "sequences"] == 46 * 10
    shown = report.format_comparison(report.summarise(both)).set_index("Protocol")["Ours (%)"]
    low, high = report.wilson_interval(15, 20)
    assert shown["loso"] == f"75.00 (15 of 20; 95 % CI {low:.1f}–{high:.1f})"
    assert " ± " in shown["5fold"]
    summary = report.summarise(both)
    bars = plots.sequence_interval(summary)
    i, j = list(summary["protocol"]).index("loso"), list(summary["protocol"]).index("5fold")
    assert bars[:, i] == pytest.approx([75 - low, high - 75])
    # k-fold with seeds: the Wilson interval over the test sequences of one seed
    n = int(s.loc["5fold", "sequences"] / s.loc["5fold", "seeds"])
    k = int(round(s.loc["5fold", "mean"] / 100 * n))
    lo5, hi5 = report.wilson_interval(k, n)
    assert bars[:, j] == pytest.approx([s.loc["5fold", "mean"] - lo5, hi5 - s.loc["5fold", "mean"]])
    # rows without n_test (hand-made frames) still summarise, without counts
    assert np.isnan(report.summarise(loso.drop(columns="n_test"))["sequences"].iloc[0])


def test_per_class_counts_each_run_by_the_class_of_its_test_sequences(tmp_path):
    """Two folds of 4 test sequences; runs are matched to their fold's labels in test order,
    summed over runs, and a row without test_correct does not count."""
    labels = {"classes": ["a", "b", "c"],
              "protocols": {"5fold": {1: np.array([0, 0, 1, 2]), 2: np.array([1, 1, 0, 0])}}}
    df = synthetic_runs(models=("lstm",), folds=2, seeds=(0,))
    df = pd.concat([df, synthetic_runs(models=("linear",), folds=1, seeds=(0,))])
    df["configuration"] = "r1"
    df["test_correct"] = ["1011", "0110", ""]  # lstm folds 1 and 2; linear has none
    table = report.per_class(df, labels)
    assert list(table["model"]) == ["lstm"] and table["runs"].tolist() == [2]
    row = table.iloc[0]
    # a: fold 1 seqs 0,1 (1, 0) + fold 2 seqs 2,3 (1, 0) -> 2 of 4; b: fold 1 seq 2 (1) +
    # fold 2 seqs 0,1 (0, 1) -> 2 of 3; c: fold 1 seq 3 (1) -> 1 of 1
    assert row["a"] == pytest.approx(50.0)
    assert row["b"] == pytest.approx(200 / 3)
    assert row["c"] == pytest.approx(100.0)
    assert report.per_class(None, labels).empty and report.per_class(df, None).empty
    bad = df.assign(test_correct=["10", "0110", ""])  # fold 1 has 4 test sequences
    with pytest.raises(FormatError, match="test_correct has 2 sequences, the fold's test "
                                          "labels 4"):
        report.per_class(bad, labels)
    # what the errors job writes, read back for the book
    (tmp_path / "sbu").mkdir()
    table.to_csv(tmp_path / "sbu" / "per_class.csv", index=False)
    back = report.load_per_class("sbu", tmp_path)
    assert back["a"].tolist() == [pytest.approx(50.0)]
    assert report.load_per_class("utkinect", tmp_path) is None
    (tmp_path / "sbu" / "per_class.csv").write_text("model,a\nlstm,50\n")
    with pytest.raises(FormatError, match="missing dataset, protocol, configuration, label, runs"):
        report.load_per_class("sbu", tmp_path)


def test_configuration_settings_name_sbu_settings_where_the_paper_gives_none():
    """A run at the defaults is at the paper's settings on SBU, at its SBU settings on UTKinect
    (the paper gives none there): the settings table says which."""
    from dataclasses import asdict

    from stalib.config import TrainConfig

    rows = []
    for dataset, configuration in (("sbu", "paper"), ("utkinect", "sbu-settings")):
        df = synthetic_runs(dataset=dataset, models=("lstm",), folds=1, seeds=(0,))
        df["configuration"] = configuration
        df["params"] = json.dumps({"train": asdict(TrainConfig(dataset=dataset))})
        rows.append(df)
    got = report.configuration_settings(pd.concat(rows))
    assert dict(zip(got["dataset"], got["settings"], strict=True)) == {
        "sbu": "the paper's", "utkinect": "the paper's SBU settings"}


def test_rerun_agreement_counts_runs_that_predict_alike(tmp_path):
    runs = synthetic_runs(models=("sta-lstm",), folds=2, seeds=(0,)).assign(
        configuration="r1", test_correct=["1101", "0111"])
    write_cv(tmp_path, runs)
    reruns = runs.assign(git_commit="def456")
    reruns.loc[1, ["accuracy", "test_correct"]] = [runs.loc[1, "accuracy"] - 0.25, "0011"]
    path = tmp_path / report.RERUNS / "sbu-cv.csv"
    path.parent.mkdir()
    reruns.to_csv(path, index=False)
    agree = report.rerun_agreement(report.load_cv("sbu", tmp_path),
                                   report.load_reruns("sbu", tmp_path))
    (row,) = agree.to_dict("records")
    assert (row["runs"], row["same predictions"]) == (2, 1)
    assert row["recorded (%)"] == pytest.approx(100 * runs["accuracy"].mean(), abs=0.01)
    assert row["rerun (%)"] == pytest.approx(row["recorded (%)"] - 12.5, abs=0.01)
    assert row["largest difference (pp)"] == pytest.approx(25.0)
    assert (row["recorded commits"], row["rerun commits"]) == ("abc123", "def456")
    assert report.load_reruns("sbu", tmp_path, name="validation.csv") is None
    assert report.rerun_agreement(runs, None).empty


def test_a_rerun_without_its_recorded_row_is_an_error(tmp_path):
    runs = synthetic_runs(models=("lstm",), folds=1, seeds=(0,)).assign(configuration="r1")
    with pytest.raises(FormatError, match="has no recorded row"):
        report.rerun_agreement(runs.iloc[:0], runs.assign(seed=5, source_file="x.csv"))


def test_a_portable_rerun_is_set_beside_the_portable_row_of_its_run(tmp_path):
    """A run recorded before the mode and again in it: its rerun in the mode is compared with
    the portable row, not the other, and says where each was recorded."""
    portable = "portable cpu isa=AVX2 threads=1 cbwr=AVX2,STRICT"
    old = synthetic_runs(models=("lstm",), folds=1, seeds=(0,)).assign(
        configuration="r1", test_correct="cwcw", determinism="unrecorded", accuracy=0.5)
    new = old.assign(determinism=portable, test_correct="cccw", accuracy=0.75,
                     timestamp="2026-12-03T10:00:00Z",
                     versions='{"cpu": "CPU A, AVX2"}')
    write_cv(tmp_path, pd.concat([old, new], ignore_index=True))
    recorded = report.load_cv("sbu", tmp_path, every_mode=True)
    assert len(recorded) == 2 and len(report.load_cv("sbu", tmp_path)) == 1
    reruns = new.assign(timestamp="2026-12-04T10:00:00Z", versions='{"cpu": "CPU B, AVX2"}',
                        git_commit="def4567")
    (row,) = report.rerun_agreement(recorded, reruns).to_dict("records")
    assert (row["runs"], row["same predictions"], row["identical"]) == (1, 1, 1)
    text = report.rerun_provenance(recorded, reruns)
    assert "Recorded 2026-12-03 on CPU A, AVX2" in text and "rerun 2026-12-04 on CPU B" in text
    assert "commit def4567" in text and "not across CPU models" not in text
    same = report.rerun_provenance(recorded, reruns.assign(versions='{"cpu": "CPU A, AVX2"}'))
    assert same.endswith("not across CPU models.")


def test_epoch_pick_table_sets_the_final_model_beside_the_best_epoch(tmp_path):
    """Fold 1's final model is its recorded portable row (same predictions); fold 2 has no row
    in the file's mode; the mean row averages the folds."""
    portable = "portable cpu isa=AVX2 threads=1 cbwr=AVX2,STRICT"
    doc = {"kind": "stalib-epoch-pick", "dataset": "sbu", "protocol": "5fold", "model": "hcn",
           "configuration": "r1", "seed": 0, "determinism": portable, "folds": [
               {"fold": 1, "n_test": 4, "final": 0.5, "test_correct": "ccww", "best": 0.75,
                "best_epoch": 3, "curve": [0.25, 0.5, 0.75, 0.5]},
               {"fold": 2, "n_test": 4, "final": 1.0, "test_correct": "cccc", "best": 1.0,
                "best_epoch": 2, "curve": [0.5, 1.0]}]}
    recorded = synthetic_runs(models=("hcn",), folds=2, seeds=(0,)).assign(
        configuration="r1", determinism=[portable, "unrecorded"], test_correct=["ccww", "cccc"])
    table = report.epoch_pick_table(doc, recorded)
    assert table["same as its recorded row"].tolist() == ["yes", "no row", ""]
    assert table["gain (points)"].tolist() == [25.0, 0.0, 12.5]
    assert table.iloc[-1]["final model (%)"] == 75.0 and table.iloc[-1]["fold"] == "mean"
    other = recorded.assign(test_correct=["cwcw", "cccc"])
    assert report.epoch_pick_table(doc, other)["same as its recorded row"][0] == "no"
