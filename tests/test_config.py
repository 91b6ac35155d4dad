"""TrainConfig: the paper's settings by default; configurations name every other configuration."""

from __future__ import annotations

import pytest

from stalib.config import TrainConfig
from stalib.errors import ConfigError


def test_the_defaults_are_the_papers_settings():
    cfg = TrainConfig(dataset="sbu", model="sta-lstm")
    assert cfg.deviations() == {} and cfg.configuration_name == "paper"
    # the paper's values written out are still the paper's settings
    same = TrainConfig(dataset="sbu", model="sta-lstm", lambda3=0.0005, batch_size=8, n1=1000,
                       device="cpu", fold=3, seed=9, checkpoint_every=7)
    assert same.deviations() == {} and same.configuration_name == "paper"
    assert TrainConfig(dataset="ntu60", lambda3=0.00005, batch_size=256).deviations() == {}


def test_other_settings_are_custom_unless_named():
    cfg = TrainConfig(dataset="sbu", lambda3=0.0, n2=10, model_overrides={"hidden": 8})
    assert cfg.deviations() == {"lambda3": 0.0, "n2": 10, "model_overrides": {"hidden": 8}}
    assert cfg.configuration_name == "custom"
    named = TrainConfig(dataset="sbu", lambda3=0.0, configuration="l1-off")
    assert named.configuration_name == "l1-off"
    # the SBU lambda3 is not NTU's: the same number deviates on NTU
    assert TrainConfig(dataset="ntu60", lambda3=0.0005).deviations() == {"lambda3": 0.0005}


@pytest.mark.parametrize("name", ["", "Paper", "has space", "-x", "a/b", "x" * 41, 3])
def test_a_configuration_name_is_checked(name):
    with pytest.raises(ConfigError, match="`configuration`"):
        TrainConfig(configuration=name)


def test_paper_cannot_name_other_settings():
    with pytest.raises(ConfigError,
                       match=r"`configuration` paper: .*lambda3=0.0.*another `configuration`"):
        TrainConfig(dataset="sbu", lambda3=0.0, configuration="paper")
    assert TrainConfig(configuration="paper").configuration_name == "paper"


def test_preprocessing_is_a_setting_with_one_spelling():
    # SBU without smoothing: a deviation, filed as custom unless named
    cfg = TrainConfig(dataset="sbu", preprocess={"smooth": None})
    assert cfg.deviations() == {"preprocess": {"smooth": None}}
    assert cfg.configuration_name == "custom"
    # the paper's value written out is no change: dropped, so the run stays the paper's
    same = TrainConfig(dataset="sbu", preprocess={"smooth": "savgol", "smooth_window": 5})
    assert same.preprocess == {} and same.configuration_name == "paper"
    # UTKinect has no smoothing by default: asking for it is the change
    utk = TrainConfig(dataset="utkinect", preprocess={"smooth": "savgol", "centre_joint": 3})
    assert utk.preprocess == {"centre_joint": 3, "smooth": "savgol"}
    with pytest.raises(ConfigError, match="`configuration` paper: .*preprocess"):
        TrainConfig(dataset="sbu", preprocess={"smooth": None}, configuration="paper")


@pytest.mark.parametrize("changes, message", [
    ({"smoth": None}, r"`preprocess` smoth: not a preprocessing setting of sbu \(valid: .*smooth"),
    ({"smooth_window": 4}, r"`preprocess` .*window must be an odd number"),
    ({"smooth": "median"}, r"`preprocess` .*median"),
    ({"mirror": False}, r"`preprocess` mirror: not a preprocessing setting of sbu"),
])
def test_bad_preprocessing_is_refused_with_its_field(changes, message):
    with pytest.raises(ConfigError, match=message):
        TrainConfig(dataset="sbu", preprocess=changes)


def test_a_dataset_the_registry_does_not_know_needs_no_preprocessing():
    assert TrainConfig(dataset="toy").configuration_name == "sbu-settings"  # e.g. a SkeletonSet
    with pytest.raises(ConfigError, match="unknown dataset 'toy'"):
        TrainConfig(dataset="toy", preprocess={"smooth": None})


def test_preprocessing_must_be_a_dict():
    with pytest.raises(ConfigError, match="`preprocess` must be a dict"):
        TrainConfig(dataset="sbu", preprocess="smooth=None")


def test_defaults_on_data_the_paper_lacks_are_sbu_settings_not_paper():
    assert TrainConfig(dataset="sbu").configuration_name == "paper"
    assert TrainConfig(dataset="ntu60").configuration_name == "paper"
    assert TrainConfig(dataset="utkinect").configuration_name == "sbu-settings"
    assert TrainConfig(dataset="npz:x.npz").configuration_name == "sbu-settings"
    with pytest.raises(ConfigError, match="filed as 'sbu-settings'"):
        TrainConfig(dataset="utkinect", configuration="paper")
    with pytest.raises(ConfigError, match="filed as 'paper'"):
        TrainConfig(dataset="sbu", configuration="sbu-settings")
    with pytest.raises(ConfigError, match="differs from the defaults"):
        TrainConfig(dataset="utkinect", configuration="sbu-settings", lambda3=0.0)


def test_committed_rows_never_call_a_utkinect_run_paper():
    from stalib.results import read_records
    from tests.conftest import REPO

    rows = read_records(REPO / "results" / "utkinect" / "cv.csv")
    assert rows and not [r for r in rows if r["configuration"] == "paper"]


def test_zero_iterations_are_refused():
    """--n1 0 --n2 0 once trained nothing and saved the untrained model."""
    with pytest.raises(ConfigError, match="`n1` 0 `n2` 0 trains 0 iterations"):
        TrainConfig(n1=0, n2=0)
    assert TrainConfig(n1=0, n2=1).n2 == 1
    assert TrainConfig(n1=0, n2=0, schedule="joint", epochs=2).epochs == 2


def test_a_configuration_written_by_stalib_0_1_0_reads_under_todays_name():
    """Checkpoints and results of stalib 0.1.0 name the results label ``variant``."""
    cfg = TrainConfig(dataset="sbu", lambda3=0.0, configuration="l1-off")
    old = {("variant" if k == "configuration" else k): v for k, v in cfg.to_dict().items()}
    assert "configuration" not in old and TrainConfig.from_dict(old) == cfg
    assert cfg.same_run(old)
