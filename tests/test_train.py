"""The trainer: Algorithm 1 as data, each stage trains exactly its groups, resume, NaN stop."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from stalib.config import TrainConfig
from stalib.data.core import SkeletonSet
from stalib.experiment import make_loss
from stalib.models import build_model
from stalib.schedule import ALGORITHM_1, SCHEDULES, apply_stage, parameter_groups
from stalib.train import NumericalError, train_run


def toy_set(n=24, k=6, classes=3, seed=0) -> SkeletonSet:
    """Sequences whose class is the joint that moves: learnable in a few dozen steps."""
    rng = np.random.default_rng(seed)
    seqs, labels = [], []
    for i in range(n):
        t = int(rng.integers(5, 12))
        c = i % classes
        s = rng.normal(0, 0.05, (t, k, 3)).astype(np.float32)
        s[:, c, 0] += np.linspace(0, 1, t)
        seqs.append(s)
        labels.append(c)
    return SkeletonSet.from_sequences(
        seqs, labels, [f"g{i % 4}" for i in range(n)], [f"s{i}" for i in range(n)],
        [f"c{c}" for c in range(classes)], persons=1, joints_per_person=k, name="toy",
    )


def small_cfg(model="sta-lstm", **kw) -> TrainConfig:
    base = dict(dataset="toy", model=model, n1=6, n2=4, batch_size=4, seed=3, device="cpu",
                checkpoint_every=5, model_overrides={"hidden": 8, "spatial_hidden": 8})
    base.update(kw)
    return TrainConfig(**base)


def test_algorithm_1_is_steps_2_to_9():
    assert [s.step for s in ALGORITHM_1] == [2, 3, 4, 5, 6, 7, 8, 9]
    assert SCHEDULES["sta-lstm"] == ALGORITHM_1
    assert [s.step for s in SCHEDULES["ta-lstm"]] == [2, 3, 4]
    assert [s.step for s in SCHEDULES["sa-lstm"]] == [5, 6, 7]
    # step 8 freezes both attentions and trains the main network only
    s8 = ALGORITHM_1[6]
    assert (s8.spatial, s8.temporal, s8.main) == ("frozen", "frozen", "train")


@pytest.mark.parametrize("stage", ALGORITHM_1, ids=lambda s: f"step{s.step}")
def test_each_stage_changes_exactly_the_parameters_it_trains(stage):
    torch.manual_seed(0)
    data = toy_set()
    model = build_model("sta-lstm", data.num_joints, data.num_classes, hidden=8, spatial_hidden=8)
    # bring the architecture to the state this stage starts from
    for previous in ALGORITHM_1[: ALGORITHM_1.index(stage)]:
        apply_stage(model, previous)
    trained = apply_stage(model, stage)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    opt = torch.optim.Adam(trained, lr=1e-2)
    loss_fn = make_loss(small_cfg())
    from stalib.data.batching import pad_batch

    for _ in range(3):
        batch = pad_batch(data, np.arange(8))
        out = model(batch.x, batch.mask)
        opt.zero_grad()
        loss_fn(model, out, batch)["total"].backward()
        opt.step()
    groups = parameter_groups(model)
    group_of = {id(p): g for g, ps in groups.items() for p in ps}
    for name, p in model.named_parameters():
        changed = not torch.equal(before[name], p.detach())
        should = getattr(stage, group_of[id(p)]) == "train"
        assert changed == should, f"step {stage.step}: {name} changed={changed}, expected {should}"


def test_parameter_groups_partition_the_model():
    model = build_model("sta-lstm", 6, 3, hidden=8, spatial_hidden=8)
    groups = parameter_groups(model)
    ids = [id(p) for ps in groups.values() for p in ps]
    assert len(ids) == len(set(ids)) == len(list(model.parameters()))


def test_main_network_grows_from_one_to_three_layers():
    model = build_model("sta-lstm", 6, 3, hidden=8, spatial_hidden=8)
    apply_stage(model, ALGORITHM_1[0])
    assert model.main_layers == 1
    apply_stage(model, ALGORITHM_1[1])
    assert model.main_layers == 3
    apply_stage(model, ALGORITHM_1[3])  # step 5: a new one-layer main network
    assert model.main_layers == 1


def test_training_learns_the_toy_task():
    data = toy_set(n=30)
    cfg = small_cfg(model="lstm", n1=40, n2=20, lr=1e-2)
    model = build_model("lstm", data.num_joints, data.num_classes, hidden=16)
    idx = np.arange(len(data))
    res = train_run(cfg, model, make_loss(cfg), data, idx, idx, progress=False)
    assert res.iterations == 40 + 40 + 20
    assert res.train_accuracy > 0.8


def _final_state(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def stopped_then_resumed(cfg, data, ckpt, stop: int):
    """Train ``cfg`` on all of ``data``, stop after ``stop`` iterations, then resume in a
    process-like fresh state; returns ``(result, model)`` of the resumed run."""
    idx = np.arange(len(data))
    torch.manual_seed(cfg.seed)
    model = build_model(cfg.model, data.num_joints, data.num_classes, **cfg.model_overrides)
    with pytest.raises(SystemExit):
        train_run(cfg, model, make_loss(cfg), data, idx, idx, progress=False,
                  checkpoint=ckpt, stop_after=stop)
    torch.manual_seed(12345)  # a resumed process starts from unrelated random state
    model = build_model(cfg.model, data.num_joints, data.num_classes, **cfg.model_overrides)
    res = train_run(cfg, model, make_loss(cfg), data, idx, idx, progress=False,
                    checkpoint=ckpt, resume=True)
    return res, model


def test_resume_gives_the_same_weights_as_an_uninterrupted_run(tmp_path):
    data = toy_set()
    idx = np.arange(len(data))
    cfg = small_cfg()
    torch.manual_seed(cfg.seed)
    ref_model = build_model("sta-lstm", data.num_joints, data.num_classes,
                            **cfg.model_overrides)
    ref = train_run(cfg, ref_model, make_loss(cfg), data, idx, idx, progress=False,
                    checkpoint=tmp_path / "a.pt")
    for stop in (7, 12, 31):  # mid-stage and at stage boundaries
        res, model = stopped_then_resumed(cfg, data, tmp_path / f"b{stop}.pt", stop)
        assert res.iterations == ref.iterations
        assert res.accuracy == ref.accuracy
        for k, v in _final_state(ref_model).items():
            assert torch.equal(v, model.state_dict()[k]), f"stop {stop}: {k} differs"


def test_a_resumed_run_names_every_commit_that_trained_it(tmp_path, monkeypatch):
    """The checkpoint keeps the commit of the code that wrote it; a run resumed by another
    commit's code says both (the row then carries +mixed: stalib.results.run_commit)."""
    import stalib.train as train_module

    data = toy_set()
    idx = np.arange(len(data))
    cfg = small_cfg()
    monkeypatch.setattr(train_module, "code_commit", lambda: "a" * 40)
    model = build_model("sta-lstm", data.num_joints, data.num_classes, **cfg.model_overrides)
    with pytest.raises(SystemExit):
        train_run(cfg, model, make_loss(cfg), data, idx, idx, progress=False,
                  checkpoint=tmp_path / "m.pt", stop_after=6)
    assert torch.load(tmp_path / "m.pt", weights_only=False)["trained_by"] == ["a" * 40]
    monkeypatch.setattr(train_module, "code_commit", lambda: "b" * 40)
    res = train_run(cfg, model, make_loss(cfg), data, idx, idx, progress=False,
                    checkpoint=tmp_path / "m.pt", resume=True)
    assert res.trained_by == ["a" * 40, "b" * 40]
    fresh = train_run(cfg, model, make_loss(cfg), data, idx, idx, progress=False)
    assert fresh.trained_by == ["b" * 40]


def test_resume_refuses_another_configuration(tmp_path):
    data = toy_set()
    idx = np.arange(len(data))
    cfg = small_cfg()
    model = build_model("sta-lstm", data.num_joints, data.num_classes, **cfg.model_overrides)
    with pytest.raises(SystemExit):
        train_run(cfg, model, make_loss(cfg), data, idx, idx, progress=False,
                  checkpoint=tmp_path / "c.pt", stop_after=6)
    other = small_cfg(lr=0.5)
    with pytest.raises(Exception, match="another configuration"):
        train_run(other, model, make_loss(other), data, idx, idx, progress=False,
                  checkpoint=tmp_path / "c.pt", resume=True)


def test_nan_loss_stops_with_stage_and_iteration(tmp_path):
    data = toy_set()
    idx = np.arange(len(data))
    cfg = small_cfg()
    calls = {"n": 0}
    real = make_loss(cfg)

    def nan_after_8(model, out, batch):
        calls["n"] += 1
        terms = real(model, out, batch)
        if calls["n"] > 8:
            terms["total"] = terms["total"] * float("nan")
        return terms

    model = build_model("sta-lstm", data.num_joints, data.num_classes, **cfg.model_overrides)
    ckpt = tmp_path / "n.pt"
    with pytest.raises(NumericalError, match=r"stage 2/8 .*iteration 3"):
        train_run(cfg, model, nan_after_8, data, idx, idx, progress=False, checkpoint=ckpt)
    saved = torch.load(ckpt, weights_only=False)
    assert (saved["stage"], saved["iteration"]) == (1, 0)  # the last good checkpoint: end of step 2
