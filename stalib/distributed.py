"""Data-parallel training: ``torchrun --nproc_per_node N -m stalib train ...``.

torchrun starts ``N`` copies of ``stalib train`` and tells each its place through environment
variables (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``, ``MASTER_PORT``).
:func:`init` joins the process group they describe (backend ``nccl`` when training on CUDA,
``gloo`` on CPU); without those variables it does nothing and training is a plain single process.

How the work is split (see :func:`stalib.train.train_run`):

* Every rank draws the same *global* batch of ``--batch-size`` sequences (the batch stream is
  seeded identically) and keeps its contiguous slice (:func:`shard`). The model is wrapped in
  ``DistributedDataParallel``, which averages the gradients over the ranks.
* Each rank's loss is weighted by ``n_rank * world / n_global`` before the backward pass, so that
  DDP's average is exactly the gradient of the global batch mean, also when the batch does not
  split evenly (the last batch of an epoch). A rank whose slice is empty (a global batch smaller
  than the number of ranks) runs one sequence with weight 0, so that it still joins the gradient
  exchange.
* Algorithm 1 changes the model between stages (layers added, subnetworks frozen), so the model
  is wrapped anew at the start of each stage, over the parameters that stage trains.
* Only rank 0 writes checkpoints, the run folder and the results row; on ``--resume`` rank 0
  reads the checkpoint and sends it to the others.
* Dropout draws different random masks on each rank (and on one process with the whole batch),
  so a distributed run equals a single-process run only with ``--set dropout=0``; with dropout it
  is an equally valid run with other masks.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch

from stalib.errors import ConfigError, StalibError


@dataclass(frozen=True)
class DistInfo:
    """This process's place among the training processes (one process: rank 0 of 1)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0
    backend: str | None = None

    @property
    def enabled(self) -> bool:
        return self.world > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"environment variable {name}={value!r} is not an integer") from None


def env_info() -> DistInfo:
    """What torchrun's environment variables say (defaults: a single process)."""
    rank, world = _env_int("RANK", 0), _env_int("WORLD_SIZE", 1)
    local = _env_int("LOCAL_RANK", rank)
    if world < 1 or not 0 <= rank < world:
        raise ConfigError(f"RANK={rank}, WORLD_SIZE={world}: expected 0 <= RANK < WORLD_SIZE")
    return DistInfo(rank, world, local)


def wants_cuda(device: str) -> bool:
    return device.startswith("cuda") or (device == "auto" and torch.cuda.is_available())


def init(device: str = "auto") -> DistInfo:
    """Join the process group that torchrun set up; a no-op (rank 0 of 1) without torchrun.

    ``device`` is the ``--device`` option: CUDA training uses the ``nccl`` backend and the GPU
    ``LOCAL_RANK``; CPU training uses ``gloo``.
    """
    info = env_info()
    if not info.enabled:
        return info
    if not torch.distributed.is_available():
        raise StalibError("WORLD_SIZE > 1 but this torch build has no torch.distributed")
    dist = torch.distributed
    if dist.is_initialized():
        return current()
    cuda = wants_cuda(device)
    if cuda:
        if not torch.cuda.is_available():
            raise StalibError(f"`device` {device}: CUDA is not available on this machine")
        if info.local_rank >= torch.cuda.device_count():
            raise StalibError(f"LOCAL_RANK {info.local_rank}: only {torch.cuda.device_count()} "
                              "GPU(s) here; use --nproc_per_node <= the number of GPUs")
        torch.cuda.set_device(info.local_rank)
    backend = "nccl" if cuda else "gloo"
    dist.init_process_group(backend=backend, init_method="env://", rank=info.rank,
                            world_size=info.world)
    return DistInfo(info.rank, info.world, info.local_rank, backend)


def current() -> DistInfo:
    """The process group this process belongs to, if any (else rank 0 of 1)."""
    dist = torch.distributed
    if not (dist.is_available() and dist.is_initialized()):
        return DistInfo()
    return DistInfo(dist.get_rank(), dist.get_world_size(), _env_int("LOCAL_RANK", 0),
                    dist.get_backend())


def shutdown() -> None:
    dist = torch.distributed
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def shard(indices: np.ndarray, rank: int, world: int) -> tuple[np.ndarray, float]:
    """This rank's contiguous slice of a global batch and the weight of its loss.

    The weight ``n_rank * world / n_global`` makes the average over ranks of the weighted
    per-rank batch means equal the mean over the global batch. An empty slice becomes the
    batch's first sequence with weight 0 (the rank must still take part in the backward pass).
    """
    indices = np.asarray(indices)
    if world == 1:
        return indices, 1.0
    n = len(indices)
    if n == 0:
        raise ValueError("shard: empty global batch")
    local = np.array_split(indices, world)[rank]
    if len(local) == 0:
        return indices[:1], 0.0
    return local, len(local) * world / n


def all_sum(values: list[float], device: torch.device) -> list[float]:
    """Element-wise sum of ``values`` over all ranks (float64; the values themselves alone)."""
    dist = torch.distributed
    if not (dist.is_available() and dist.is_initialized()):
        return list(values)
    t = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t.tolist()


def broadcast(obj, device: torch.device | None = None):
    """Rank 0's ``obj`` on every rank (pickled; e.g. a checkpoint dict of CPU tensors)."""
    dist = torch.distributed
    if not (dist.is_available() and dist.is_initialized()):
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0, device=device)
    return box[0]
