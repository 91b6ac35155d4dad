"""TrainConfig: the paper's settings by default; variants name every other configuration."""

from __future__ import annotations

import pytest

from stalib.config import TrainConfig
from stalib.errors import ConfigError


def test_the_defaults_are_the_papers_settings():
    cfg = TrainConfig(dataset="sbu", model="sta-lstm")
    assert cfg.deviations() == {} and cfg.variant_name == "paper"
    # the paper's values written out are still the paper's settings
    same = TrainConfig(dataset="sbu", model="sta-lstm", lambda3=0.0005, batch_size=8, n1=1000,
                       device="cpu", fold=3, seed=9, checkpoint_every=7)
    assert same.deviations() == {} and same.variant_name == "paper"
    assert TrainConfig(dataset="ntu60", lambda3=0.00005, batch_size=256).deviations() == {}


def test_other_settings_are_custom_unless_named():
    cfg = TrainConfig(dataset="sbu", lambda3=0.0, n2=10, model_overrides={"hidden": 8})
    assert cfg.deviations() == {"lambda3": 0.0, "n2": 10, "model_overrides": {"hidden": 8}}
    assert cfg.variant_name == "custom"
    named = TrainConfig(dataset="sbu", lambda3=0.0, variant="l1-off")
    assert named.variant_name == "l1-off"
    # the SBU lambda3 is not NTU's: the same number deviates on NTU
    assert TrainConfig(dataset="ntu60", lambda3=0.0005).deviations() == {"lambda3": 0.0005}


@pytest.mark.parametrize("name", ["", "Paper", "has space", "-x", "a/b", "x" * 41, 3])
def test_a_variant_name_is_checked(name):
    with pytest.raises(ConfigError, match="--variant"):
        TrainConfig(variant=name)


def test_paper_cannot_name_other_settings():
    with pytest.raises(ConfigError, match=r"--variant paper: .*lambda3=0.0.*another --variant"):
        TrainConfig(dataset="sbu", lambda3=0.0, variant="paper")
    assert TrainConfig(variant="paper").variant_name == "paper"
