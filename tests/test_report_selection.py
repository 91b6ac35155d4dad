"""The rule of stalib.report.selection: mean over SBU and UTKinect of the probes' validation
means; a simpler candidate within the margin wins; nothing is chosen while runs are missing."""

from __future__ import annotations

import pandas as pd

from stalib.config import CONFIGURATIONS
from stalib.report.selection import (
    DATASETS,
    FAMILIES,
    SEEDS,
    Family,
    choose,
    format_scores,
    scores,
)

FAM = Family(probes=("lstm", "sta-lstm"), models=("lstm", "sta-lstm"),
             candidates=("a", "b", "c"))


def _rows(acc: dict) -> dict[str, pd.DataFrame]:
    """Validation rows: acc[(candidate, dataset)] for every probe, fold and seed."""
    out = {}
    for dataset, protocol in DATASETS.items():
        out[dataset] = pd.DataFrame([
            {"configuration": c, "model": m, "protocol": f"{protocol}:val{j}", "seed": s,
             "accuracy": acc[(c, dataset)]}
            for c in FAM.candidates for m in FAM.probes for j in range(1, 6) for s in SEEDS])
    return out


def test_the_mean_over_both_datasets_decides_and_a_close_simpler_one_wins():
    acc = {("a", "sbu"): 0.90, ("a", "utkinect"): 0.80,   # 85.0
           ("b", "sbu"): 0.95, ("b", "utkinect"): 0.78,   # 86.5: better on SBU alone
           ("c", "sbu"): 0.92, ("c", "utkinect"): 0.82}   # 87.0
    assert choose(FAM, _rows(acc)) == "b"  # within 0.5 of c, and simpler
    acc[("c", "utkinect")] = 0.84  # 88.0: c now wins by more than the margin
    assert choose(FAM, _rows(acc)) == "c"


def test_nothing_is_chosen_while_a_run_is_missing():
    acc = {(c, d): 0.9 for c in FAM.candidates for d in DATASETS}
    rows = _rows(acc)
    rows["utkinect"] = rows["utkinect"].iloc[1:]
    assert choose(FAM, rows) is None
    table = scores(FAM, rows)
    assert table["score"].isna().any() and (table["runs"] <= table["needed"]).all()


def test_every_candidate_is_a_named_configuration():
    for family in FAMILIES.values():
        assert set(family.candidates) <= set(CONFIGURATIONS)
        assert set(family.probes) <= set(family.models)


def test_the_score_table_shows_runs_missing_and_the_choice():
    acc = {(c, d): 0.9 for c in FAM.candidates for d in DATASETS}
    rows = _rows(acc)
    val = pd.concat([df.assign(dataset=d) for d, df in rows.items()], ignore_index=True)
    fig7 = FAMILIES["fig7"]
    val = val[val["configuration"] == "a"].assign(configuration=fig7.candidates[0])
    shown = format_scores(val)
    first = shown[shown["Candidate"] == fig7.candidates[0]].iloc[0]
    assert first["SBU 5fold"] == "90.00 · 90.00" and first["Score"] == "90.00"
    second = shown[shown["Candidate"] == fig7.candidates[1]].iloc[0]
    assert second["UTKinect xsub"] == "0/10 runs · 0/10 runs" and second["Score"] == "—"
    assert not (shown["Chosen"] == "yes").any()  # a candidate's runs are missing


def test_the_recorded_choice_is_what_the_rule_chooses_from_the_committed_rows():
    """The report reads each family's recorded choice; recomputed from validation.csv by the
    rule, it must be the same (a new validation row that changes the choice fails here)."""
    from pathlib import Path

    from stalib.report import selection, tables

    root = Path(__file__).resolve().parents[1] / "results"
    rows = selection.by_dataset(tables.load_all_validation(root))
    for name, family in selection.FAMILIES.items():
        assert family.recorded in family.candidates, name
        assert selection.choose(family, rows) == family.recorded, name
