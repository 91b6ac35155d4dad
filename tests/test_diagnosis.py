"""stalib.report.diagnosis: run histories collected, drawn and tabled per stage."""

from __future__ import annotations

import json

import pytest

from stalib.data.npz import save_npz
from stalib.errors import StalibError
from stalib.experiment import run_experiment
from stalib.report import diagnosis
from tests.test_train import small_cfg, toy_set


def test_collect_plot_and_stage_table_of_a_real_run(tmp_path):
    npz = save_npz(toy_set(), tmp_path / "toy.npz")
    cfg = small_cfg(dataset=f"npz:{npz}", protocol="loso", configuration="diag")
    run_experiment(cfg, tmp_path / "run", progress=False)
    doc = diagnosis.collect([tmp_path / "run"], tmp_path / "d.json", ["toy STA-LSTM"])
    assert json.loads((tmp_path / "d.json").read_text()) == doc
    (run,) = diagnosis.load(tmp_path / "d.json")["runs"]
    assert run["label"] == "toy STA-LSTM" and run["model"] == "sta-lstm"
    t = [e["t"] for e in run["history"]]
    assert t == sorted(t) and t[-1] == 5 * 6 + 3 * 4  # iterations over all 8 stages
    table = diagnosis.stage_table(run)
    assert list(table["step"]) == [2, 3, 4, 5, 6, 7, 8, 9]
    # alpha exists from step 5 on (frozen in steps 6 and 8, so no gradient reaches it there)
    assert table["alpha_entropy"].isna().tolist() == [True] * 3 + [False] * 5
    # steps 5, 7 and 9 train the spatial attention
    assert table["grad_spatial"].isna().tolist() == [True] * 3 + [False, True, False, True, False]
    fig = diagnosis.plot_run(run)
    drawn = [ax for ax in fig.axes if ax.axison]
    assert len(drawn) == 5 and fig.get_size_inches()[0] == pytest.approx(6.5)
    # each legend stands above its curves, clear of them and of the panel's title
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for ax in drawn:
        if ax.get_legend() is not None:
            box = ax.get_legend().get_window_extent(renderer)
            assert box.y0 >= ax.get_window_extent(renderer).y1 - 1
            assert not box.overlaps(ax.title.get_window_extent(renderer))


def test_a_plain_lstm_has_no_empty_attention_panels(tmp_path):
    npz = save_npz(toy_set(), tmp_path / "toy.npz")
    cfg = small_cfg(dataset=f"npz:{npz}", protocol="loso", configuration="diag", model="lstm")
    run_experiment(cfg, tmp_path / "run", progress=False)
    (run,) = diagnosis.collect([tmp_path / "run"], tmp_path / "d.json")["runs"]
    fig = diagnosis.plot_run(run)
    titles = [ax.get_title() for ax in fig.axes if ax.axison]
    assert not any("alpha" in t or "beta" in t for t in titles)
    assert "Not logged (no such subnetwork): alpha entropy" in " ".join(
        fig._suptitle.get_text().split())


def test_a_folder_without_metrics_is_refused(tmp_path):
    with pytest.raises(StalibError, match="no metrics.json"):
        diagnosis.collect([tmp_path], tmp_path / "d.json")
    with pytest.raises(StalibError, match="label"):
        diagnosis.collect([tmp_path, tmp_path], tmp_path / "d.json", ["one"])
