"""Batching: zero padding, the mask, lengths, and one pass over the data."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from stalib.data.batching import iterate_batches, pad_batch
from stalib.data.core import SkeletonSet


@pytest.fixture
def data() -> SkeletonSet:
    rng = np.random.default_rng(1)
    lengths = [5, 2, 7, 1, 3]
    return SkeletonSet.from_sequences(
        [rng.normal(size=(t, 4, 3)) + 1.0 for t in lengths], labels=[0, 1, 2, 0, 1],
        groups=list("aabbc"), names=[f"s{i}" for i in range(5)], class_names=["x", "y", "z"],
        persons=1, joints_per_person=4,
    )


def test_pad_batch_pads_with_zeros_and_masks(data):
    batch = pad_batch(data, [1, 2])
    assert batch.x.shape == (2, 7, 4, 3)
    assert batch.lengths.tolist() == [2, 7]
    assert batch.labels.tolist() == [1, 2]
    assert batch.index.tolist() == [1, 2]
    assert batch.mask.dtype == torch.bool
    assert batch.mask.sum(1).tolist() == [2, 7]
    assert batch.mask[0].tolist() == [True, True] + [False] * 5
    np.testing.assert_array_equal(batch.x[0, :2].numpy(), data[1])
    assert torch.all(batch.x[0, 2:] == 0)
    assert len(batch) == 2


def test_pad_batch_max_len(data):
    assert pad_batch(data, [0], max_len=9).x.shape[1] == 9
    with pytest.raises(ValueError, match="shorter"):
        pad_batch(data, [2], max_len=3)


def test_iterate_batches_covers_everything_once(data):
    seen = [i for b in iterate_batches(data, 2) for i in b.index.tolist()]
    assert seen == [0, 1, 2, 3, 4]
    g1, g2 = np.random.default_rng(3), np.random.default_rng(3)
    a = [b.index.tolist() for b in iterate_batches(data, 2, shuffle=True, generator=g1)]
    b = [b.index.tolist() for b in iterate_batches(data, 2, shuffle=True, generator=g2)]
    assert a == b and sorted(sum(a, [])) == [0, 1, 2, 3, 4]
    only = [i for b in iterate_batches(data, 3, indices=np.array([4, 0])) for i in b.index.tolist()]
    assert only == [4, 0]
    with pytest.raises(ValueError):
        list(iterate_batches(data, 0))
