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
