"""The trainer's device path: background batch prefetching (same run, same checkpoints), and
CUDA with pinned memory and bf16 autocast (skipped without a GPU)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_train import small_cfg, toy_set

from stalib.data.stream import BatchStream, Loader
from stalib.errors import StalibError
from stalib.experiment import make_loss
from stalib.models import build_model
from stalib.train import resolve_device, train_run

NO_CUDA = "no CUDA device here (CI has none): the GPU path is exercised where one is present"
cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason=NO_CUDA)


def _train(cfg, data, **kw):
    torch.manual_seed(cfg.seed)
    model = build_model(cfg.model, data.num_joints, data.num_classes, **cfg.model_overrides)
    idx = np.arange(len(data))
    res = train_run(cfg, model, make_loss(cfg), data, idx, idx, progress=False, **kw)
    return model, res


def test_prefetch_changes_no_number_and_resumes_the_same(tmp_path):
    data = toy_set()
    cfg = small_cfg()
    ref, ref_res = _train(cfg, data, prefetch=False)
    pre, pre_res = _train(cfg, data, prefetch=True)
    for k, v in ref.state_dict().items():
        assert torch.equal(v, pre.state_dict()[k]), k
    assert pre_res.history == ref_res.history
    ckpt = tmp_path / "p.pt"
    with pytest.raises(SystemExit):
        _train(cfg, data, prefetch=True, checkpoint=ckpt, stop_after=7)  # mid-stage
    resumed, _ = _train(cfg, data, prefetch=True, checkpoint=ckpt, resume=True)
    for k, v in ref.state_dict().items():
        assert torch.equal(v, resumed.state_dict()[k]), k


def test_loader_state_is_the_position_after_the_batches_taken():
    data = toy_set(n=11)
    idx = np.arange(len(data))
    plain = Loader(BatchStream(data, idx, 4, 0), torch.device("cpu"))
    ahead = Loader(BatchStream(data, idx, 4, 0), torch.device("cpu"), prefetch=True)
    try:
        for _ in range(5):
            a, wa = plain.next()
            b, wb = ahead.next()
            assert torch.equal(a.index, b.index) and wa == wb == 1.0
            sa, sb = plain.state_dict(), ahead.state_dict()
            assert sa["pos"] == sb["pos"] and np.array_equal(sa["order"], sb["order"])
            assert sa["rng"] == sb["rng"]
    finally:
        ahead.close()
    assert ahead.wait_s > 0


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_requested_without_cuda_is_a_clear_error():
    with pytest.raises(StalibError, match=r"`device` cuda: (this torch .* is built without CUDA|"
                                          r"no CUDA device is visible); use `device` cpu"):
        resolve_device("cuda")


@cuda
def test_loader_pins_and_copies_to_cuda():
    data = toy_set()
    loader = Loader(BatchStream(data, np.arange(len(data)), 4, 0), torch.device("cuda"),
                    prefetch=True)
    try:
        assert loader.pin
        batch, _ = loader.next()
        assert batch.x.is_cuda and batch.mask.is_cuda and batch.labels.is_cuda
    finally:
        loader.close()


@cuda
@pytest.mark.parametrize("bf16", [False, True])
def test_training_on_cuda_matches_cpu(bf16):
    data = toy_set()
    cpu_model, cpu_res = _train(small_cfg(device="cpu", model_overrides={
        "hidden": 8, "spatial_hidden": 8, "dropout": 0.0}), data)
    cfg = small_cfg(device="cuda", bf16=bf16, model_overrides={
        "hidden": 8, "spatial_hidden": 8, "dropout": 0.0})
    model, res = _train(cfg, data)
    assert res.device.startswith("cuda") and res.iterations == cpu_res.iterations
    assert next(model.parameters()).is_cuda
    tol = 5e-2 if bf16 else 1e-4
    for k, v in cpu_model.state_dict().items():
        torch.testing.assert_close(model.state_dict()[k].cpu(), v, atol=tol, rtol=tol, msg=k)


@cuda
@pytest.mark.parametrize("prefetch", [False, True])
def test_an_augmented_batch_is_augmented_on_the_gpu_as_on_the_cpu(prefetch):
    """Rotation, scale and crop run on the training device: the batches of a CUDA run are the
    CPU run's (the same draws; the rotation's product may round otherwise in the last bits)."""
    from stalib.data.augment import Augment

    data = toy_set()
    aug = Augment(rotation=30.0, scale=0.1, crop=0.5, crop_resize=True)
    idx = np.arange(len(data))
    cpu = Loader(BatchStream(data, idx, 4, 0, augment=aug), torch.device("cpu"))
    gpu = Loader(BatchStream(data, idx, 4, 0, augment=aug, device="cuda"),
                 torch.device("cuda"), prefetch=prefetch)
    try:
        for _ in range(4):
            a, _ = cpu.next()
            b, _ = gpu.next()
            assert b.x.is_cuda and torch.equal(a.index, b.index.cpu())
            torch.testing.assert_close(b.x.cpu(), a.x, atol=1e-6, rtol=1e-6)
            assert torch.equal(a.mask, b.mask.cpu()) and torch.equal(a.lengths, b.lengths.cpu())
    finally:
        gpu.close()
