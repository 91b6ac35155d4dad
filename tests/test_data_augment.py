"""Training-time augmentation: rotation about y and scaling, zeros kept, drawn reproducibly,
the same global batch under data parallelism, off by default."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from stalib.config import TrainConfig
from stalib.data.augment import Augment
from stalib.data.core import SkeletonSet
from stalib.errors import ConfigError
from stalib.train import BatchStream


def _data(n: int = 12) -> SkeletonSet:
    rng = np.random.default_rng(0)
    seqs = [rng.normal(size=(int(rng.integers(3, 7)), 4, 3)).astype(np.float32)
            for _ in range(n)]
    return SkeletonSet.from_sequences(seqs, [i % 2 for i in range(n)], [f"g{i}" for i in range(n)],
                                      [f"s{i}" for i in range(n)], ["a", "b"], 1, 4, name="toy")


def test_a_quarter_turn_about_y_and_a_scale():
    x = torch.tensor([[[[1.0, 2.0, 0.0], [0.0, -1.0, 3.0]]]])  # (1, 1, 2, 3)
    out = Augment.apply(x, np.array([np.pi / 2]), np.array([2.0]))
    # (x, y, z) -> 2 * (x cos a + z sin a, y, -x sin a + z cos a) with a = 90 degrees
    want = torch.tensor([[0.0, 4.0, -2.0], [6.0, -2.0, 0.0]])
    assert torch.allclose(out[0, 0], want, atol=1e-6)


def test_rotation_keeps_height_and_distances_and_zeros():
    rng = np.random.default_rng(1)
    x = torch.as_tensor(rng.normal(size=(5, 6, 4, 3)), dtype=torch.float32)
    x[:, 4:] = 0.0  # padded frames
    aug = Augment(rotation=180.0)
    angles, factors = aug.draw(rng, 5)
    assert np.all(factors == 1.0) and np.all(np.abs(angles) <= np.pi)
    out = aug.apply(x, angles, factors)
    assert torch.equal(out[:, 4:], torch.zeros_like(out[:, 4:]))
    assert torch.allclose(out[..., 1], x[..., 1])
    assert torch.allclose(torch.cdist(out[0, 0], out[0, 0]), torch.cdist(x[0, 0], x[0, 0]),
                          atol=1e-5)


def test_draws_stay_in_range():
    angles, factors = Augment(rotation=30.0, scale=0.2).draw(np.random.default_rng(2), 10_000)
    assert np.abs(angles).max() <= np.deg2rad(30.0) and np.abs(angles).max() > np.deg2rad(29)
    assert factors.min() >= 0.8 and factors.max() <= 1.2 and factors.max() > 1.19


@pytest.mark.parametrize("kw", [{"rotation": -1.0}, {"rotation": 181.0}, {"scale": 1.0},
                                {"scale": float("nan")}, {"rotation": float("inf")}])
def test_bad_ranges_are_refused(kw):
    with pytest.raises(ConfigError, match="--augment-"):
        Augment(**kw)
    with pytest.raises(ConfigError, match="--augment-"):
        TrainConfig(**{f"augment_{k}": v for k, v in kw.items()})


def test_off_by_default_and_a_variant_when_on():
    cfg = TrainConfig()
    assert not Augment(cfg.augment_rotation, cfg.augment_scale).active
    on = TrainConfig(augment_rotation=15.0)
    assert on.deviations() == {"augment_rotation": 15.0} and on.variant_name == "custom"


def test_off_leaves_the_batches_of_the_stream_unchanged():
    data = _data()
    plain = BatchStream(data, np.arange(12), 4, seed=3)
    off = BatchStream(data, np.arange(12), 4, seed=3, augment=Augment())
    for _ in range(5):
        a, b = plain.next(), off.next()
        assert torch.equal(a.x, b.x) and torch.equal(a.index, b.index)


def test_augmented_stream_resumes_and_shards_like_one_process():
    data = _data()
    aug = Augment(rotation=45.0, scale=0.1)
    one = BatchStream(data, np.arange(12), 4, seed=3, augment=aug)
    first = [one.next() for _ in range(2)]
    assert not torch.allclose(first[0].x, BatchStream(data, np.arange(12), 4, seed=3).next().x)
    state = one.state_dict()
    later = [one.next() for _ in range(4)]
    resumed = BatchStream(data, np.arange(12), 4, seed=99, augment=aug)
    resumed.load_state_dict(state)
    for want in later:
        got = resumed.next()
        assert torch.equal(got.x, want.x) and torch.equal(got.index, want.index)
    # two ranks: each its slice of the same augmented global batch
    ranks = [BatchStream(data, np.arange(12), 4, seed=3, rank=r, world=2, augment=aug)
             for r in (0, 1)]
    single = BatchStream(data, np.arange(12), 4, seed=3, augment=aug)
    for _ in range(3):
        whole = single.next()
        parts = [r.next() for r in ranks]
        assert torch.equal(torch.cat([p.index for p in parts]), whole.index)
        for p in parts:
            for i, idx in enumerate(p.index.tolist()):
                j = whole.index.tolist().index(idx)
                n = int(p.lengths[i])
                assert torch.allclose(p.x[i, :n], whole.x[j, :n], atol=1e-6)


def test_temporal_crop_keeps_a_contiguous_window_at_the_front():
    x = torch.arange(2 * 10 * 1 * 3, dtype=torch.float32).view(2, 10, 1, 3)
    lengths = torch.tensor([10, 6])
    out, mask, new = Augment.crop_frames(x, lengths, np.array([0.5, 1.0]), np.array([1.0, 0.3]))
    assert new.tolist() == [5, 6] and mask.sum(1).tolist() == [5, 6]
    assert torch.equal(out[0, :5], x[0, 5:10])  # the last window of 5 (where = 1)
    assert torch.equal(out[1, :6], x[1, :6]) and not out[0, 5:].any()


def test_person_swap_exchanges_the_two_halves_of_the_joint_axis():
    x = torch.zeros(2, 3, 4, 3)
    x[:, :, :2] = 1.0  # person 1
    out = Augment.swap_persons(x, np.array([True, False]))
    assert not out[0, :, :2].any() and (out[0, :, 2:] == 1).all()
    assert torch.equal(out[1], x[1])


def test_swap_refuses_one_person_data():
    from stalib.data.batching import Batch

    b = Batch(torch.zeros(1, 2, 4, 3), torch.ones(1, 2, dtype=torch.bool), torch.tensor([2]),
              torch.tensor([0]), torch.tensor([0]))
    with pytest.raises(ConfigError, match="two-person"):
        Augment(swap=True)(b, np.random.default_rng(0), 1, np.arange(1), persons=1)
