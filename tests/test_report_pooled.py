"""The pooled verdict: per-dataset effects from rows, the pooled estimate and the four labels."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from stalib.report import pooled
from stalib.results import RIGHT, WRONG


def _rows(dataset, protocol, configuration, accs, folds=1, n_test=100, seed_shift=0.0):
    """Rows of models ``accs`` ({model: accuracy}) at every fold and seed, with test_correct."""
    out = []
    rng = np.random.default_rng(0)
    for model, acc in accs.items():
        for fold in range(1, folds + 1):
            for seed in pooled.SEEDS:
                right = rng.random(n_test) < acc + seed_shift * seed
                out.append(dict(dataset=dataset, protocol=protocol, configuration=configuration,
                                model=model,
                                fold=fold, seed=seed, accuracy=right.mean(), n_test=n_test,
                                n_train=4 * n_test, test_correct="".join(
                                    RIGHT if r else WRONG for r in right)))
    return pd.DataFrame(out)


def test_one_split_effect_needs_every_seed():
    rows = _rows("nwucla", "xview", "v", {"sta-lstm": 0.9, "lstm": 0.8}, n_test=400)
    e = pooled.dataset_effect(rows, "sta-lstm", "lstm")
    assert e["runs"] == 3 and "paired bootstrap" in e["method"]
    assert e["low"] < e["diff"] < e["high"] and 5 < e["diff"] < 15
    assert pooled.dataset_effect(rows[rows["seed"] != 2], "sta-lstm", "lstm") is None


def test_kfold_effect_uses_the_corrected_interval():
    rows = _rows("sbu", "5fold", "v", {"sta-lstm": 0.9, "lstm": 0.88}, folds=5, n_test=50)
    e = pooled.dataset_effect(rows, "sta-lstm", "lstm")
    assert e["df"] == 4 and "Nadeau-Bengio" in e["method"] and e["runs"] == 15


def test_labels():
    c = pooled.COMPARISONS[0]
    assert pooled.label(c, None) == pooled.NOT_TESTABLE
    assert pooled.label(c, {"low": 0.1, "high": 3.0}) == pooled.REPRODUCED
    assert pooled.label(c, {"low": -3.0, "high": -0.1}) == pooled.CONTRADICTED
    assert pooled.label(c, {"low": -1.0, "high": 1.0}) == pooled.INCONCLUSIVE
    sized = dataclasses.replace(c, stated_gain=5.0)
    assert pooled.label(sized, {"low": -1.0, "high": 4.0}) == pooled.CONTRADICTED


def test_measure_pools_the_whole_grids_and_the_table_says_so():
    c = pooled.COMPARISONS[4]  # STA-LSTM beats the LSTM
    test = pd.concat([
        _rows("nwucla", "xview", "v", {"sta-lstm": 0.9, "lstm": 0.8}, n_test=300),
        _rows("utdmhad", "xsub", "v", {"sta-lstm": 0.85, "lstm": 0.75}, n_test=300),
        _rows("utkinect", "xsub", "v", {"sta-lstm": 0.95, "lstm": 0.85}, n_test=300),
        _rows("utdmhad", "xsub", "other", {"sta-lstm": 0.1, "lstm": 0.9}, n_test=300),
    ])
    r = pooled.measure(c, test, "v")
    assert r["per_dataset"]["sbu"] is None and r["pooled"]["k"] == 3
    assert r["label"] == pooled.REPRODUCED
    table = pooled.pooled_table([{"comparison": c, **r}])
    assert "| — |" in table and "I² " in table and "**reproduced**" in table
    assert "detects, 80 % power" in table.splitlines()[-1]
    # two datasets alone: t on 1 degree of freedom, an interval too wide to say
    two = pooled.measure(c, test[test["dataset"] != "utkinect"], "v")
    assert two["pooled"]["k"] == 2 and two["label"] == pooled.INCONCLUSIVE
    assert "not reproduced" not in table


def test_every_claim_carries_its_source_sentence():
    for c in pooled.COMPARISONS:
        assert c.source and len(c.quote) > 20, c.text


def test_the_attention_sentence_gives_each_model_over_the_lstm_and_what_data_detects():
    test = pd.concat([
        _rows("nwucla", "xview", "v", {"sta-lstm": 0.9, "sa-lstm": 0.85, "lstm": 0.8}, n_test=300),
        _rows("utdmhad", "xsub", "v", {"sta-lstm": 0.9, "sa-lstm": 0.85, "lstm": 0.8},
              n_test=300)])
    results = [{"comparison": c, **pooled.measure(c, test, "v")} for c in pooled.COMPARISONS]
    text = pooled.attention_sentence(results)
    assert text.startswith("**Attention over the plain LSTM, pooled over the datasets:** SA-LSTM +")
    assert "STA-LSTM +" in text and "; SA-LSTM +" not in text and " TA-LSTM +" not in text
    assert "NW-UCLA " in text and "UTD-MHAD " in text and "SBU" not in text
