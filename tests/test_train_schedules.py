"""Training configurations beside Algorithm 1: joint schedule, epochs, learning-rate schedules,
weight decay, the L1 reading, new augmentations, and that resuming a configuration run changes
nothing."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from stalib.cli import build_parser, flags_of
from stalib.config import TrainConfig
from stalib.errors import ConfigError, in_flags
from stalib.experiment import make_loss
from stalib.models import build_model
from stalib.schedule import (
    ALGORITHM_1,
    joint_schedule,
    lr_factor,
    make_optimizer,
    schedule_of,
    stage_iterations,
)
from stalib.train import train_run
from tests.test_train import small_cfg, stopped_then_resumed, toy_set


def test_paper_defaults_are_no_configuration():
    cfg = TrainConfig()
    assert (cfg.schedule, cfg.epochs, cfg.lr_schedule, cfg.warmup, cfg.weight_decay,
            cfg.l1_reading, cfg.augment_crop, cfg.augment_swap) == (
        "staged", None, "constant", 0.0, 0.0, "sum", 0.0, False)
    assert cfg.deviations() == {}
    assert schedule_of(cfg) == ALGORITHM_1


def test_configuration_settings_are_deviations_and_need_a_configuration():
    cfg = TrainConfig(schedule="joint", epochs=3, lr_schedule="cosine", weight_decay=1e-4)
    assert cfg.deviations() == {"schedule": "joint", "epochs": 3, "lr_schedule": "cosine",
                                "weight_decay": 1e-4}
    assert cfg.configuration_name == "custom"
    with pytest.raises(ConfigError, match="`configuration` paper"):
        TrainConfig(schedule="joint", configuration="paper")


@pytest.mark.parametrize("field, value, message", [
    ("schedule", "both", "--schedule"), ("lr_schedule", "linear", "--lr-schedule"),
    ("l1_reading", "max", "--l1-reading"), ("epochs", 0, "--epochs"),
    ("warmup", 1.0, "--warmup"), ("weight_decay", -1.0, "--weight-decay"),
    ("augment_crop", 1.0, "--augment-crop"), ("weight_decay_mode", "l1", "--weight-decay-mode"),
])
def test_bad_settings_are_refused_naming_the_argument_and_the_cli_its_flag(field, value, message):
    """The library names the argument as Python does; the CLI says the same with its flag."""
    with pytest.raises(ConfigError, match=f"^`{field}` must") as err:
        TrainConfig(**{field: value})
    parser = build_parser()
    assert in_flags(str(err.value), flags_of(parser, "train")).startswith(f"{message} must")


def test_joint_schedule_trains_every_built_subnetwork_in_one_stage():
    (sta,) = joint_schedule("sta-lstm")
    assert (sta.spatial, sta.temporal, sta.main, sta.iterations) == ("train", "train", "train",
                                                                     "N")
    (lstm,) = joint_schedule("lstm")
    assert (lstm.spatial, lstm.temporal) == ("off", "off")
    (ta,) = joint_schedule("ta-lstm")
    assert (ta.spatial, ta.temporal) == ("off", "train")


def test_epochs_count_passes_over_the_training_set_and_need_one_stage():
    cfg = TrainConfig(model="sta-lstm", schedule="joint", epochs=5, batch_size=32)
    (stage,) = schedule_of(cfg)
    assert stage_iterations(stage, cfg, 226) == 5 * 8  # ceil(226 / 32) = 8 batches an epoch
    with pytest.raises(ConfigError, match="`schedule` joint"):
        schedule_of(TrainConfig(model="sta-lstm", epochs=5))
    assert len(schedule_of(TrainConfig(model="hcn", epochs=5))) == 1  # CNNs: one stage already


def test_lr_factors_warmup_cosine_and_step():
    cos = lr_factor(TrainConfig(lr_schedule="cosine"), 100)
    assert cos(0) == 1.0 and cos(50) == pytest.approx(0.5) and cos(99) < 0.001
    step = lr_factor(TrainConfig(lr_schedule="step"), 100)
    assert [step(i) for i in (0, 49, 50, 74, 75, 99)] == pytest.approx(
        [1, 1, 0.1, 0.1, 0.01, 0.01])
    warm = lr_factor(TrainConfig(lr_schedule="cosine", warmup=0.1), 100)
    assert [warm(i) for i in (0, 4, 9)] == pytest.approx([0.1, 0.5, 1.0])
    assert warm(10) == 1.0 and warm(99) < 0.001
    assert lr_factor(TrainConfig(), 100)(57) == 1.0


def test_optimizer_adam_or_adamw_and_a_scheduler_only_when_the_rate_changes():
    p = [torch.nn.Parameter(torch.ones(3))]
    opt, sched = make_optimizer(p, TrainConfig(), 10)
    assert type(opt) is torch.optim.Adam and sched is None
    opt, sched = make_optimizer(p, TrainConfig(weight_decay=0.01, lr_schedule="cosine"), 10)
    assert type(opt) is torch.optim.AdamW and opt.param_groups[0]["weight_decay"] == 0.01
    for _ in range(5):
        opt.step()
        sched.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(1e-3 * 0.5 * (1 + math.cos(math.pi / 2)))


def test_weight_decay_modes_decoupled_or_l2_on_the_gradient():
    """At lr 1e-3 and W 1e-4, AdamW shrinks a weight with no loss gradient by lr x W a step
    (1e-7); Adam's L2 reading adds W x w to its gradient, which Adam normalises to a step of about
    lr: four orders of magnitude more."""
    moved = {}
    for mode in ("decoupled", "l2"):
        p = [torch.nn.Parameter(torch.ones(3, dtype=torch.float64))]  # 1 - 1e-7 in float64
        opt, _ = make_optimizer(p, TrainConfig(weight_decay=1e-4, weight_decay_mode=mode), 10)
        assert type(opt) is (torch.optim.AdamW if mode == "decoupled" else torch.optim.Adam)
        assert opt.param_groups[0]["weight_decay"] == 1e-4
        p[0].grad = torch.zeros(3, dtype=torch.float64)
        opt.step()
        moved[mode] = float(1.0 - p[0].detach()[0])
    assert moved["decoupled"] == pytest.approx(1e-7, rel=1e-2)
    assert moved["l2"] == pytest.approx(1e-3, rel=1e-2)
    assert TrainConfig(weight_decay=1e-4, weight_decay_mode="l2").deviations() == {
        "weight_decay": 1e-4, "weight_decay_mode": "l2"}
    with pytest.raises(ConfigError, match="`weight_decay_mode` l2 needs `weight_decay` > 0"):
        TrainConfig(weight_decay_mode="l2")


def test_cosine_run_follows_its_schedule_and_resumes_to_the_same_weights(tmp_path):
    data = toy_set()
    idx = np.arange(len(data))
    cfg = small_cfg(schedule="joint", epochs=4, lr_schedule="cosine", warmup=0.2,
                    weight_decay=0.01, augment_crop=0.5, l1_reading="mean", lr=0.01)
    torch.manual_seed(cfg.seed)
    ref_model = build_model("sta-lstm", data.num_joints, data.num_classes,
                            **cfg.model_overrides)
    ref = train_run(cfg, ref_model, make_loss(cfg), data, idx, idx, progress=False,
                    log_every=1)
    assert ref.iterations == 4 * 6  # 24 sequences in batches of 4
    assert ref_model.main_layers == 3  # joint training starts at the built depth
    for stop in (5, 13):
        _, model = stopped_then_resumed(cfg, data, tmp_path / f"r{stop}.pt", stop)
        for k, v in ref_model.state_dict().items():
            assert torch.equal(v, model.state_dict()[k]), f"stop {stop}: {k} differs"


def test_history_logs_gradient_norms_and_attention_diagnostics():
    data = toy_set()
    idx = np.arange(len(data))
    cfg = small_cfg()
    torch.manual_seed(cfg.seed)
    model = build_model("sta-lstm", data.num_joints, data.num_classes, **cfg.model_overrides)
    res = train_run(cfg, model, make_loss(cfg), data, idx, idx, progress=False, log_every=2)
    last = res.history[-1]  # step 9: every subnetwork trains
    assert last["grad_main"] > 0 and last["grad_spatial"] > 0 and last["grad_temporal"] > 0
    assert 0 < last["alpha_entropy"] <= 1
    assert 0 <= last["beta_min"] <= last["beta_mean"] <= last["beta_max"]
    first = res.history[0]  # step 2: spatial attention off, no alpha and no spatial gradient
    assert "grad_spatial" not in first and "alpha_entropy" not in first
