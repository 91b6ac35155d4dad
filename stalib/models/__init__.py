"""The models of stalib, by name.

========================= ==================================================================
name                      model
========================= ==================================================================
``lstm`` ... ``sta-lstm`` the six configurations of Fig. 7 (:mod:`stalib.models.sta_lstm`)
``hcn``                   hierarchical co-occurrence CNN backbone (:mod:`stalib.models.hcn`)
``hcn-joint``             backbone + joint weights only (:mod:`stalib.models.csta`)
``hcn-frame``             backbone + frame weights only
``csta-cnn``              backbone + coupled spatial-temporal attention
``linear``                logistic regression on 8 resampled frames (:mod:`stalib.models.linear`)
========================= ==================================================================
"""

from __future__ import annotations

import torch

from stalib.errors import ConfigError
from stalib.models.base import ModelOutput
from stalib.models.csta import CSTA_PARTS, build_csta
from stalib.models.linear import build_linear
from stalib.models.sta_lstm import PARTS, build_sta_lstm

MODEL_NAMES: tuple[str, ...] = (*PARTS, *CSTA_PARTS, "linear")

__all__ = ["MODEL_NAMES", "ModelOutput", "build_model", "check_model_name"]


def check_model_name(name: str) -> str:
    if name not in MODEL_NAMES:
        raise ConfigError(f"`model` {name!r} is not a model; choose one of "
                          f"{', '.join(MODEL_NAMES)}")
    return name


def build_model(
    name: str, num_joints: int, num_classes: int, persons: int = 1, **overrides
) -> torch.nn.Module:
    """A freshly initialised model ``name`` for ``num_joints`` joints (all persons together)."""
    check_model_name(name)
    if name in PARTS:
        return build_sta_lstm(name, num_joints, num_classes, **overrides)
    if name == "linear":
        return build_linear(num_joints, num_classes, **overrides)
    return build_csta(name, num_joints, num_classes, persons=persons, **overrides)
