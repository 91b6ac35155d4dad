"""The linear baseline (stalib.models.linear): shapes, padding never read, it learns."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from stalib.errors import ConfigError
from stalib.experiment import make_loss
from stalib.models import build_model
from stalib.train import train_run
from tests.test_train import small_cfg, toy_set


def test_logits_ignore_padding_and_count_parameters():
    model = build_model("linear", 6, 3)
    assert sum(p.numel() for p in model.parameters()) == 8 * 6 * 3 * 3 + 3
    x = torch.randn(2, 9, 6, 3)
    mask = torch.arange(9)[None] < torch.tensor([[9], [5]])
    a = model(x, mask).logits
    x[1, 5:] = 1e6
    assert torch.equal(a, model(x, mask).logits)


def test_options_are_checked():
    with pytest.raises(ConfigError, match="expected frames"):
        build_model("linear", 6, 3, hidden=4)
    with pytest.raises(ConfigError, match="frames must be"):
        build_model("linear", 6, 3, frames=0)


def test_learns_the_toy_task():
    data = toy_set(n=30)
    idx = np.arange(len(data))
    cfg = small_cfg("linear", model_overrides={}, schedule="joint", epochs=40, lr=0.05,
                    batch_size=8)
    torch.manual_seed(0)
    model = build_model("linear", data.num_joints, data.num_classes)
    res = train_run(cfg, model, make_loss(cfg), data, idx, idx, progress=False)
    assert res.train_accuracy >= 0.9
