"""Named configurations (stalib.config.CONFIGURATIONS) and ``--config`` of ``stalib train`` /
``stalib cv``."""

from __future__ import annotations

import pytest

from stalib.cli import build_parser, main
from stalib.commands.train import _config
from stalib.config import CONFIGURATIONS, TrainConfig
from stalib.errors import ConfigError
from stalib.report import grid


def _cfg(*argv: str) -> TrainConfig:
    args = build_parser().parse_args(["cv", "--dataset", "sbu", "--model", "sta-lstm", *argv])
    return _config(args, 1, 0)


R1_VIEW_GAIN_FLAGS = ("--schedule", "joint", "--epochs", "150", "--batch-size", "32",
                      "--lr-schedule", "cosine", "--weight-decay", "1e-4",
                      "--preprocess", "view_normalize=true", "--l1-reading", "mean",
                      "--set", "alpha_gain=joints")


def test_a_configuration_is_its_flags_and_its_name():
    """--config r1-view-gain is the committed rows' flags, filed under the configuration's name, and
    the report job's settings."""
    by_name = _cfg("--config", "r1-view-gain")
    by_flags = _cfg(*R1_VIEW_GAIN_FLAGS, "--config", "r1-view-gain")
    assert by_name == by_flags and by_name.configuration_name == "r1-view-gain"
    job = grid.make_config("sbu", "sta-lstm", None, 1, 0, 1000, 500,
                           {"configuration": "r1-view-gain", **CONFIGURATIONS["r1-view-gain"]})
    assert job == by_name
    assert _cfg("--config", "r1").deviations() == CONFIGURATIONS["r1"]


def test_no_configuration_keeps_the_paper_settings():
    cfg = _cfg()
    assert cfg.deviations() == {} and cfg.configuration_name == "paper"
    assert (cfg.schedule, cfg.lr_schedule, cfg.weight_decay, cfg.l1_reading) == (
        "staged", "constant", 0.0, "sum")


def test_a_flag_that_changes_a_configuration_needs_a_configuration_name():
    with pytest.raises(ConfigError, match=r"`configuration` r1-view: this run changes its settings "
                                          r"\(lr=0\.01\); start from it with --from r1-view "
                                          r"and file it under a --config NAME"):
        _cfg("--config", "r1-view", "--lr", "0.01")
    with pytest.raises(ConfigError, match=r"\(lr=0\.01\); file it under a --config NAME"):
        _cfg("--from", "r1-view", "--lr", "0.01")  # started from it already: only a name lacks
    cfg = _cfg("--from", "r1-view", "--lr", "0.01", "--config", "r1-view-lr1e-2")
    assert cfg.lr == 0.01 and cfg.epochs == 150 and cfg.configuration_name == "r1-view-lr1e-2"
    # a flag that repeats the configuration's value changes nothing
    assert _cfg("--config", "r1", "--epochs", "150").configuration_name == "r1"
    with pytest.raises(ConfigError, match="'r2': not a named configuration"):  # a typo
        _cfg("--config", "r2")
    assert _cfg("--config", "r2", "--lr", "0.01").configuration_name == "r2"  # a new one
    # the default configurations name the defaults, as TrainConfig checks (no typo to catch)
    assert _cfg("--config", "paper").configuration_name == "paper"


def test_a_view_configuration_on_npz_data_needs_its_axes(tmp_path):
    def npz(*argv):
        args = build_parser().parse_args(["cv", "--dataset", f"npz:{tmp_path}/x.npz",
                                          "--model", "lstm", *argv])
        return _config(args, 1, 0)

    with pytest.raises(ConfigError, match=r"view_axes=\[R,L,S0,S1\]"):
        npz("--config", "r1-view")
    cfg = npz("--config", "r1-view", "--preprocess", "view_axes=[8,4,0,2]")
    assert cfg.preprocess == {"view_axes": (8, 4, 0, 2)} and cfg.configuration_name == "r1-view"
    assert npz("--config", "r1").preprocess == {}


def test_the_chosen_configurations_are_named():
    """The report's chosen configurations are configurations of the one registry: --config NAME
    gives the settings their committed rows were made with (held row by row in
    test_results_integrity), and TrainConfig.named the same configuration in Python."""
    cli = _cfg("--config", "r1-view-gain-swap")
    assert cli.augment_swap and cli.model_overrides == {"alpha_gain": "joints"}
    assert cli.configuration_name == "r1-view-gain-swap"
    api = TrainConfig.named("r1-view-gain-swap", "sbu", cli.model)
    assert api.deviations() == cli.deviations() and api.configuration_name == cli.configuration_name
    assert _cfg("--config", "r1-view-rot-l2").weight_decay_mode == "l2"
    assert _cfg("--config", "l1-off").lambda3 == 0.0


def test_from_configuration_refuses_a_setting_that_would_change_it():
    with pytest.raises(ConfigError, match=r"named\('r1-view'\): epochs would change"):
        TrainConfig.named("r1-view", epochs=2)
    assert TrainConfig.named("r1-view", fold=3, seed=2).fold == 3  # places, not settings
    with pytest.raises(ConfigError, match="`configuration` 'r2': expected one of"):
        TrainConfig.named("r2")


def test_stalib_configs_lists_every_name_with_its_flags(capsys):
    from stalib.config import CONFIGURATION_NOTES

    assert set(CONFIGURATION_NOTES) == set(CONFIGURATIONS)
    assert main(["configs"]) == 0
    out = capsys.readouterr().out
    for name in CONFIGURATIONS:
        assert f"\n{name}\n" in f"\n{out}"
    assert "flags: --lambda3 0.0 --augment-rotation 30.0 --augment-scale 0.1" in out
    assert "view_normalize=true --l1-reading mean --lr 0.01\n" in out  # r1-view-lr1e-2


def test_a_configuration_named_as_a_configuration_must_be_that_configuration():
    """--config r1-view-gain-swap --epochs 2 once filed a 2-epoch run under the report's name."""
    with pytest.raises(ConfigError, match=r"`configuration` r1-view-gain-swap: this run changes"):
        _cfg("--config", "r1-view-gain-swap", "--epochs", "2")
    assert _cfg("--config", "l1-off", "--lambda3", "0").configuration_name == "l1-off"


def test_a_configuration_with_the_person_swap_runs_on_one_person_data_without_it():
    cfg = _cfg("--config", "r1-view-gain-swap", "--dataset", "utkinect")
    assert not cfg.augment_swap and cfg.configuration_name == "r1-view-gain-swap"
    assert _cfg("--config", "r1-view-gain-swap", "--dataset", "sbu").augment_swap


def test_the_chosen_configuration_is_the_committed_rows_settings():
    """--config r1-view-gain-swap trains what the report's STA-LSTM rows were trained with."""
    import json
    from pathlib import Path

    from stalib.results import read_records

    rows = [r for r in read_records(Path(__file__).resolve().parents[1] / "results" / "sbu"
                                    / "cv.csv")
            if r["model"] == "sta-lstm" and r["configuration"] == "r1-view-gain-swap"]
    assert rows
    committed = TrainConfig.from_dict(json.loads(rows[0]["params"])["train"])
    cli = build_parser().parse_args(["train", "--config", "r1-view-gain-swap", "--dataset",
                                     "sbu", "--model", "sta-lstm", "--fold", "1", "--out", "d"])
    cfg = _config(cli, 1, 0)
    assert cfg.deviations() == committed.deviations()
    assert cfg.configuration_name == committed.configuration_name == "r1-view-gain-swap"
    with pytest.raises(ConfigError, match="`configuration` r1-view-gain-swap: this run changes its "
                                          r"settings \(epochs=2"):
        _config(build_parser().parse_args(["train", "--config", "r1-view-gain-swap", "--dataset",
                                           "sbu", "--model", "sta-lstm", "--epochs", "2",
                                           "--out", "d"]), 1, 0)


def test_a_configuration_s_person_swap_is_dropped_on_one_person_data_and_a_flag_s_is_kept():
    """The Fig. 7 models' chosen configuration swaps persons: on your one-person npz data it must
    run (it failed at the first batch before), as it does on UTKinect; a swap asked for by a flag is
    still refused there by the augmentation."""
    import dataclasses

    from stalib.config import fit_to_data

    chosen = TrainConfig.named("r1-view-gain-swap-t32-crop-rot", dataset="sbu",
                                     model="lstm")
    assert chosen.augment_swap and fit_to_data(chosen, 2) is chosen
    one = fit_to_data(chosen, 1)
    assert not one.augment_swap
    assert dataclasses.replace(one, augment_swap=True) == chosen  # nothing else changed
    flag = TrainConfig(dataset="sbu", model="lstm", augment_swap=True, configuration="mine")
    assert fit_to_data(flag, 1).augment_swap


def test_the_chosen_configuration_trains_on_one_person_npz_data(tmp_path):
    import dataclasses

    import numpy as np

    from stalib.experiment import run_experiment

    rng = np.random.default_rng(0)
    lengths = rng.integers(12, 20, 10)
    np.savez(tmp_path / "one.npz", frames=rng.normal(0, 1, (lengths.sum(), 6, 3)),
             lengths=lengths, labels=np.arange(10) % 2, fold=np.arange(10) % 2 + 1)
    chosen = TrainConfig.named("r1-view-gain-swap-t32-crop-rot", dataset="sbu",
                                     model="lstm")
    cfg = dataclasses.replace(chosen, dataset=f"npz:{tmp_path / 'one.npz'}", protocol="folds",
                              fold=1, epochs=1, preprocess={"resample": 32,
                                                            "view_axes": [1, 2, 0, 3]})
    run_experiment(cfg, tmp_path / "run", progress=False)  # raised at the first batch before
    saved = (tmp_path / "run" / "metrics.json").read_text()
    assert '"augment_swap": false' in saved


@pytest.mark.parametrize("argv, now", [
    (["train", "--recipe", "r1"], "--recipe is now --config NAME"),
    (["cv", "--variant=l1-off"], "--variant is now --config NAME"),
    (["rerun", "results/sbu/cv.csv", "--variants", "paper"], "--variants is now --configs"),
    (["recipes"], "recipes is now configs"),
])
def test_a_flag_of_stalib_0_1_0_says_its_new_name(argv, now, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"stalib: error: {now}") and err.count("\n") == 1


def test_the_cli_says_a_library_error_with_its_flags(capsys):
    """The library names arguments as Python does (`lr`); the CLI writes its flags."""
    assert main(["train", "--dataset", "sbu", "--lr", "-1", "--out", "x"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("stalib: error: --lr must be a finite number > 0") and "`" not in err
