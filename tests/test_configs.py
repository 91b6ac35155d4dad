"""Runs grouped by settings (fold and seed are not settings) for the reproducibility page."""

from __future__ import annotations

import json

import pandas as pd

from stalib.report.configs import configuration_groups, flatten, settings_of


def _row(model, configuration, fold, seed, **train):
    params = {"train": {"model": model, "fold": fold, "seed": seed, "configuration": configuration,
                        "lambda3": None, "n1": 1000, **train},
              "loss": {"lambda3": train.get("lambda3", 0.0005)}, "protocol": "5fold"}
    return {"dataset": "sbu", "protocol": "5fold", "model": model, "configuration": configuration,
            "fold": fold, "seed": seed, "params": json.dumps(params)}


def test_flatten_and_settings():
    assert flatten({"a": {"b": 1, "c": [1, 2]}, "d": {}}) == {"a.b": "1", "a.c": "[1, 2]"}
    s = settings_of(json.dumps({"train": {"fold": 3, "seed": 1, "configuration": "x", "lr": 0.1}}))
    assert s == {"train.lr": "0.1"}


def test_runs_of_one_grid_are_one_row_and_configurations_show_what_they_change():
    rows = [_row(m, "paper", f, s) for m in ("lstm", "sta-lstm") for f in range(1, 6)
            for s in (0, 1, 2)]
    rows += [_row("sta-lstm", "l1-off", f, 0, lambda3=0.0) for f in range(1, 6)]
    groups = configuration_groups(pd.DataFrame(rows))
    assert len(groups) == 3  # 35 runs, three configurations
    paper = groups[(groups.model == "sta-lstm") & (groups.configuration == "paper")].iloc[0]
    assert (paper.runs, paper.folds, paper.seeds) == (15, "1-5", "0-2")
    assert paper.differs == "(the reference)"
    l1 = groups[groups.configuration == "l1-off"].iloc[0]
    assert l1.runs == 5 and l1.seeds == "0"
    assert l1.differs == "loss.lambda3: 0.0005 → 0.0; train.lambda3: null → 0.0"
    assert groups[groups.model == "lstm"].iloc[0].differs == ""  # the only one of its model


def test_a_setting_an_older_row_lacks_reads_as_its_default():
    """A row written before ``train.warmup`` existed ran with what is now its default (0): no
    difference; a row that changed it shows the default as the old value."""
    rows = [_row("lstm", "paper", 1, 0), _row("lstm", "warm", 1, 0, warmup=0.0),
            _row("lstm", "warm2", 1, 0, warmup=0.1)]
    groups = configuration_groups(pd.DataFrame(rows)).set_index("configuration")
    assert groups.at["warm", "differs"] == "(same settings)"
    assert groups.at["warm2", "differs"] == "train.warmup: 0.0 → 0.1"
    # runs of one grid recorded before and after the setting existed are one group
    one = configuration_groups(pd.DataFrame([_row("lstm", "paper", 1, 0),
                                             _row("lstm", "paper", 2, 0, warmup=0.0)]))
    assert len(one) == 1 and one.iloc[0].runs == 2 and one.iloc[0].folds == "1, 2"


def test_the_reference_of_data_the_paper_lacks_is_its_default_configuration():
    rows = [{**_row("lstm", v, 1, 0, **kw), "dataset": "utkinect"}
            for v, kw in (("sbu-settings", {}), ("a-configuration", {"warmup": 0.1}))]
    groups = configuration_groups(pd.DataFrame(rows)).set_index("configuration")
    assert groups.at["sbu-settings", "differs"] == "(the reference)"
    assert groups.at["a-configuration", "differs"] == "train.warmup: 0.0 → 0.1"


def test_the_committed_results_fit_on_a_page():
    """806 runs were 806 rows of raw JSON; grouped, they are a few dozen short rows: at least
    ten runs a group, however many grids are committed, each difference a short item."""
    from stalib import report

    runs = report.load_all_cv()
    if runs is None:
        return
    groups = configuration_groups(runs)
    assert groups["runs"].sum() == len(runs)
    assert 10 * len(groups) <= len(runs)
    items = groups["differs"].str.split("; ").explode()  # each difference one short item
    assert items.str.len().max() < 200 and groups["differs"].str.len().max() < 1000
