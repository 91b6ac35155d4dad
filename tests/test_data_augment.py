"""Training-time augmentation: rotation about y and scaling, zeros kept, drawn reproducibly,
the same global batch under data parallelism, off by default; the person swap in the frame of
the new person 1 (PersonSwap), on real SBU sequences and made-up NTU ones."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from stalib.config import TrainConfig
from stalib.data.augment import Augment, PersonSwap
from stalib.data.batching import Batch
from stalib.data.core import SkeletonSet
from stalib.data.registry import load_dataset
from stalib.data.stream import BatchStream, person_swap
from stalib.data.transforms import Compose, NTUPreprocess, SBUPreprocess
from stalib.errors import ConfigError


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


def test_apply_turns_each_sequence_by_its_own_angle():
    """Each row equals the rotation of that row alone: p @ R_b^T for every joint of b."""
    rng = np.random.default_rng(3)
    x = torch.as_tensor(rng.normal(size=(4, 5, 6, 3)), dtype=torch.float64)
    angles, factors = rng.uniform(-np.pi, np.pi, 4), rng.uniform(0.5, 1.5, 4)
    out = Augment.apply(x, angles, factors)
    for b in range(4):
        c, s = np.cos(angles[b]), np.sin(angles[b])
        r = factors[b] * np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])
        assert np.allclose(out[b].numpy(), x[b].numpy() @ r.T, atol=1e-12)


def test_apply_rejects_a_batch_that_is_not_b_t_k_3():
    with pytest.raises(ValueError, match=r"Augment.apply: x of shape \(B, T, K, 3\)"):
        Augment.apply(torch.zeros(2, 6, 3), np.zeros(2), np.ones(2))


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
    with pytest.raises(ConfigError, match="`augment_"):
        Augment(**kw)
    with pytest.raises(ConfigError, match="`augment_"):
        TrainConfig(**{f"augment_{k}": v for k, v in kw.items()})


def test_off_by_default_and_a_configuration_when_on():
    cfg = TrainConfig()
    assert not Augment(cfg.augment_rotation, cfg.augment_scale).active
    on = TrainConfig(augment_rotation=15.0)
    assert on.deviations() == {"augment_rotation": 15.0} and on.configuration_name == "custom"


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


def test_crop_resize_stretches_the_same_window_back_to_the_length(sbu_data):
    """The window crop_frames keeps (same draws), resampled to the row's length: on a real
    sequence it equals Resample of that window, and the mask and lengths do not change."""
    from stalib.data.transforms import Resample

    seqs = [sbu_data[i] for i in (0, 5)]
    n = [len(q) for q in seqs]
    x = torch.zeros(2, max(n), *seqs[0].shape[1:])
    for b, q in enumerate(seqs):
        x[b, : len(q)] = torch.as_tensor(q)
    lengths, share, where = torch.tensor(n), np.array([0.5, 1.0]), np.array([0.4, 0.3])
    out = Augment.crop_resize_frames(x, lengths, share, where)
    cropped, _, kept = Augment.crop_frames(x, lengths, share, where)
    want = Resample(n[0])(cropped[0, : int(kept[0])].numpy())
    np.testing.assert_array_equal(out[0, : n[0]].numpy(), want)
    assert torch.equal(out[1], x[1])  # share 1: the whole sequence, untouched
    assert not out[0, n[0]:].any()  # padding stays zero


def test_crop_resize_keeps_masks_and_needs_a_crop():
    data = _data()
    aug = Augment(crop=0.5, crop_resize=True)
    plain = BatchStream(data, np.arange(12), 4, seed=3).next()
    got = BatchStream(data, np.arange(12), 4, seed=3, augment=aug).next()
    assert torch.equal(got.mask, plain.mask) and torch.equal(got.lengths, plain.lengths)
    assert not torch.equal(got.x, plain.x)
    with pytest.raises(ConfigError, match="`augment_crop_resize` stretches the window"):
        Augment(crop_resize=True)
    assert TrainConfig(augment_crop=0.5, augment_crop_resize=True).deviations() == {
        "augment_crop": 0.5, "augment_crop_resize": True}


def _read_the_other_way_round(seq: np.ndarray, joints: int) -> np.ndarray:
    return np.concatenate([seq[:, joints:], seq[:, :joints]], axis=1)


@pytest.mark.parametrize("view", [True, False])
def test_person_swap_equals_preprocessing_the_persons_read_the_other_way_round(data_root, view):
    settings = SBUPreprocess(view_normalize=view)
    raw = load_dataset("sbu", data_root, preprocess=False)
    pre = load_dataset("sbu", data_root, preprocess=settings)
    swap = PersonSwap(settings.build(), 15)
    for i in range(len(raw)):  # all 282 real sequences
        want = settings.build()(_read_the_other_way_round(np.asarray(raw[i]), 15))
        got = swap(np.asarray(pre[i]))
        np.testing.assert_allclose(got, want, atol=1e-5)
        np.testing.assert_allclose(got[0, 2], 0.0, atol=1e-6)  # the new person 1's torso
        if view:
            assert got[0, 17, 0] > 0.1 and abs(got[0, 17, 2]) < 1e-5  # person 2 at +x again
        np.testing.assert_allclose(swap.reframe(np.asarray(pre[i])), pre[i], atol=1e-5)


def test_the_bare_exchange_leaves_sbu_person_2_at_minus_x(data_root):
    """What the swap did up to commit 0827020: the view the test folds never show."""
    pre = load_dataset("sbu", data_root, preprocess=SBUPreprocess(view_normalize=True))
    bare = PersonSwap(None, 15)(np.asarray(pre[0]))
    np.testing.assert_array_equal(bare, _read_the_other_way_round(np.asarray(pre[0]), 15))
    axis = bare[0, 17] - bare[0, 2]  # the new person 1's torso -> person 2's torso
    assert axis[0] < -0.1 and np.abs(bare[0, 2]).max() > 0.1  # and person 1 off the origin


def _ntu_pair(frames: int = 6, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    bodies = rng.normal(0, 0.3, (frames, 50, 3)) + np.repeat([[1.0, 0, 3.0], [-0.5, 0, 2.5]],
                                                              25, axis=0)
    return bodies.astype(np.float32)


def test_person_swap_puts_ntu_data_in_the_new_person_1s_body_frame():
    settings = NTUPreprocess(scale_by_spine=True)
    raw = _ntu_pair()
    swap = PersonSwap(settings.build(), 25)
    np.testing.assert_allclose(swap(settings.build()(raw)),
                               settings.build()(_read_the_other_way_round(raw, 25)), atol=1e-4)
    alone = raw.copy()
    alone[:, 25:] = 0.0  # a one-person action: nobody to put first
    assert swap.has_two_persons(settings.build()(raw))
    assert not swap.has_two_persons(settings.build()(alone))


def test_without_frame_steps_the_swap_is_the_bare_exchange():
    seq = _ntu_pair(3)
    np.testing.assert_array_equal(PersonSwap(Compose([]), 25)(seq),
                                  _read_the_other_way_round(seq, 25))
    with pytest.raises(ValueError, match=r"\(T, 50, 3\)"):
        PersonSwap(None, 25)(seq[:, :30])


def test_augment_swaps_whole_rows_first_then_turns_them(data_root):
    settings = SBUPreprocess(view_normalize=True)
    data = load_dataset("sbu", data_root, preprocess=settings)
    swap = PersonSwap(settings.build(), 15)
    rows = [0, 1, 2, 3]
    n = max(len(data[i]) for i in rows)
    x = torch.zeros(4, n + 2, 30, 3)
    lengths = torch.tensor([len(data[i]) for i in rows])
    for b, i in enumerate(rows):
        x[b, : len(data[i])] = torch.as_tensor(np.asarray(data[i]))
    batch = Batch(x, torch.arange(n + 2)[None] < lengths[:, None], lengths,
                  torch.zeros(4, dtype=torch.long), torch.arange(4))
    aug = Augment(rotation=40.0, swap=True)
    out = aug(batch, np.random.default_rng(7), 4, np.arange(4), 2, swap)
    rng = np.random.default_rng(7)  # the same draws: angles and factors, then the flips
    angles, factors = aug.draw(rng, 4)
    flip = rng.uniform(0.0, 1.0, 4) < 0.5
    assert flip.any() and not flip.all()
    for b, i in enumerate(rows):
        seq = swap(np.asarray(data[i])) if flip[b] else np.asarray(data[i])
        want = Augment.apply(torch.as_tensor(seq)[None], angles[b : b + 1], factors[b : b + 1])
        torch.testing.assert_close(out.x[b, : lengths[b]], want[0], atol=1e-5, rtol=0)
        assert not out.x[b, lengths[b] :].any()
    with pytest.raises(ValueError, match="PersonSwap"):
        aug(batch, np.random.default_rng(7), 4, np.arange(4), 2)


def test_a_swap_refuses_data_not_in_its_preprocessing_frame(data_root):
    raw = load_dataset("sbu", data_root, preprocess=False)
    cfg = TrainConfig(dataset="sbu", augment_swap=True, preprocess={"view_normalize": True})
    with pytest.raises(ConfigError, match="`augment_swap`: sequence .* is not in the frame"):
        person_swap(cfg, raw, np.arange(10))
    good = load_dataset("sbu", data_root, preprocess=SBUPreprocess(view_normalize=True))
    assert isinstance(person_swap(cfg, good, np.arange(10)), PersonSwap)


def test_swap_refuses_one_person_data():
    b = Batch(torch.zeros(1, 2, 4, 3), torch.ones(1, 2, dtype=torch.bool), torch.tensor([2]),
              torch.tensor([0]), torch.tensor([0]))
    with pytest.raises(ConfigError, match="two-person"):
        Augment(swap=True)(b, np.random.default_rng(0), 1, np.arange(1), persons=1)


def _padded_batch(rng, lengths, joints=6, t=None):
    """Random rows of the given lengths, zero-padded, some joints absent in some frames."""
    t = t or max(lengths)
    x = torch.zeros(len(lengths), t, joints, 3)
    for b, n in enumerate(lengths):
        x[b, :n] = torch.as_tensor(rng.normal(0, 1, (n, joints, 3)), dtype=torch.float32)
        gone = rng.uniform(size=(n, joints)) < 0.1
        x[b, :n][torch.as_tensor(gone)] = 0.0
    return x


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(
    not torch.cuda.is_available(), reason="needs a CUDA GPU"))])
def test_the_batched_crops_equal_the_crop_of_each_row_alone_bit_for_bit(device):
    """The crops run on the whole batch on its device; each row must be what cropping (and
    resampling, stalib.data.transforms.Resample) that row alone gives, to the bit."""
    from stalib.data.transforms import Resample

    rng = np.random.default_rng(4)
    lengths = [1, 2, 7, 30, 64, 64, 13, 40]
    x = _padded_batch(rng, lengths)
    share, where = rng.uniform(0.5, 1.0, len(lengths)), rng.uniform(0, 1, len(lengths))
    share[3] = 1.0  # a row the crop keeps whole
    lens = torch.tensor(lengths)
    stretched = Augment.crop_resize_frames(x.to(device), lens, share, where).cpu()
    cropped, mask, kept = Augment.crop_frames(x.to(device), lens, share, where)
    cropped = cropped.cpu()
    for b, n in enumerate(lengths):
        k = int(kept[b])
        start = int(min(np.floor(where[b] * (n - k + 1)), n - k))
        assert k == max(1, min(n, int(np.rint(share[b] * n))))
        assert torch.equal(cropped[b, :k], x[b, start:start + k]) and not cropped[b, k:].any()
        assert mask[b].sum() == k
        want = x[b].numpy().copy()
        if n >= 2 and k != n:
            want[:n] = Resample(n)(x[b, start:start + k].numpy())
        np.testing.assert_array_equal(stretched[b].numpy(), want)


@pytest.mark.parametrize("view", [True, False])
def test_the_batched_swap_of_the_gpu_path_agrees_with_each_sequence_swapped_alone(data_root,
                                                                                view):
    """PersonSwap.swap_batch (what a GPU run uses) against the numpy swap of each sequence, on
    real SBU sequences of different lengths (run here on the CPU: the same torch operations);
    equal to float32 precision. Padding stays zero."""
    settings = SBUPreprocess(view_normalize=view)
    data = load_dataset("sbu", data_root, preprocess=settings)
    swap = PersonSwap(settings.build(), 15)
    rows = list(range(0, 282, 9))
    n = max(len(data[i]) for i in rows)
    x = torch.zeros(len(rows), n + 3, 30, 3)
    lengths = torch.tensor([len(data[i]) for i in rows])
    for b, i in enumerate(rows):
        x[b, : len(data[i])] = torch.as_tensor(np.asarray(data[i]))
    got = swap.swap_batch(x, lengths)
    for b, i in enumerate(rows):
        want = swap(np.asarray(data[i]))
        np.testing.assert_allclose(got[b, : lengths[b]].numpy(), want, atol=2e-6, rtol=0)
        assert not got[b, lengths[b]:].any()


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(
    not torch.cuda.is_available(), reason="needs a CUDA GPU"))])
def test_the_batched_swap_puts_ntu_pairs_in_the_new_person_1s_frame_and_leaves_one_person(
        device):
    settings = NTUPreprocess(scale_by_spine=True)
    swap = PersonSwap(settings.build(), 25)
    pair = settings.build()(_ntu_pair(7))
    alone = pair.copy()
    alone[:, 25:] = 0.0
    x = torch.zeros(2, 9, 50, 3)
    x[0, :7], x[1, :7] = torch.as_tensor(pair), torch.as_tensor(alone)
    got = swap.swap_batch(x.to(device), torch.tensor([7, 7])).cpu()
    np.testing.assert_allclose(got[0, :7].numpy(), swap(pair), atol=2e-6, rtol=0)
    assert torch.equal(got[1], x[1])  # nobody to put first: as it was
    with pytest.raises(ValueError, match=r"\(B, T, 50, 3\)"):
        swap.swap_batch(x[:, :, :30], torch.tensor([7, 7]))
