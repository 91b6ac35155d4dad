"""Training batches: an endless, resumable stream of shuffled (and augmented) batches of a
:class:`~stalib.data.core.SkeletonSet` (:class:`BatchStream`), and its loader onto a device,
optionally one batch ahead in a background thread (:class:`Loader`)."""

from __future__ import annotations

import concurrent.futures as cf
import time
from typing import TYPE_CHECKING

import numpy as np
import torch

from stalib.data.augment import Augment, PersonSwap
from stalib.data.batching import Batch, pad_batch
from stalib.data.core import SkeletonSet
from stalib.data.registry import preprocess_settings
from stalib.distributed import shard
from stalib.errors import ConfigError

if TYPE_CHECKING:  # the run's settings are read, never built, here
    from stalib.config import TrainConfig


def person_swap(cfg: TrainConfig, data: SkeletonSet, indices: np.ndarray,
                checked: int = 8) -> PersonSwap | None:
    """The :class:`~stalib.data.augment.PersonSwap` of ``cfg``'s preprocessing (its dataset and
    ``preprocess`` settings) for ``data``, which must have been loaded with it: the frame steps
    must leave its first ``checked`` two-person sequences of ``indices`` where they are, else
    ConfigError (a swap would put the new person 1 in a frame the data is not in). None for
    one-person data (:class:`~stalib.data.augment.Augment` refuses the swap there)."""
    if data.persons != 2:
        return None
    swap = PersonSwap(preprocess_settings(cfg.dataset, cfg.preprocess).build(),
                      data.joints_per_person)
    seen = 0
    for i in np.asarray(indices):
        seq = np.asarray(data[int(i)])
        if not swap.has_two_persons(seq):
            continue
        if not np.allclose(swap.reframe(seq), seq, atol=1e-4):
            raise ConfigError(
                f"`augment_swap`: sequence {data.names[int(i)]} of {data.name} is not in the "
                f"frame its preprocessing ({cfg.dataset}, `preprocess` {cfg.preprocess or {}}) "
                "gives; load the data with the run's preprocessing settings")
        seen += 1
        if seen == checked:
            break
    return swap


class BatchStream:
    """An endless stream of shuffled training batches whose position can be saved and restored.

    Each epoch is a fresh permutation of the training indices drawn from its own NumPy generator,
    so a resumed run sees exactly the batches an uninterrupted run would have seen. Under
    data-parallel training (``world > 1``) every rank draws the same global batch of
    ``batch_size`` sequences and :meth:`next` returns this rank's slice of it; ``weight`` is then
    the weight of this rank's loss (see :func:`stalib.distributed.shard`; 1 for one process).
    With an active ``augment`` (:mod:`stalib.data.augment`) each global batch's sequences are
    turned, scaled, cropped and swapped by draws from the same generator, after its indices;
    a person swap needs ``reframe``, the :class:`~stalib.data.augment.PersonSwap` of the data's
    preprocessing (:func:`person_swap`). An augmented batch is moved to ``device`` before it
    is augmented, so that on a GPU the augmentation runs there (:class:`Augment`).
    """

    def __init__(self, data: SkeletonSet, indices: np.ndarray, batch_size: int, seed: int,
                 rank: int = 0, world: int = 1, augment: Augment | None = None,
                 reframe: PersonSwap | None = None, device: torch.device | str = "cpu"):
        self.data, self.indices, self.batch_size = data, np.asarray(indices), batch_size
        self.device = torch.device(device)
        self.rank, self.world = rank, world
        self.augment = augment if augment is not None and augment.active else None
        self.reframe = reframe
        self.rng = np.random.default_rng(seed)
        self.order: np.ndarray = np.empty(0, dtype=np.int64)
        self.pos = 0
        self.weight = 1.0

    def next_indices(self) -> np.ndarray:
        """The next global batch (positions in ``data``)."""
        if self.pos >= len(self.order):
            self.order, self.pos = self.rng.permutation(self.indices), 0
        chunk = self.order[self.pos : self.pos + self.batch_size]
        self.pos += len(chunk)
        return chunk

    def next(self) -> Batch:
        chunk = self.next_indices()
        local, self.weight = shard(chunk, self.rank, self.world)
        batch = pad_batch(self.data, local)
        if self.augment is not None:
            # on a GPU the batch goes there first: rotation, scale and crop run batched on it
            batch = batch.to(self.device)
            mine, _ = shard(np.arange(len(chunk)), self.rank, self.world)
            batch = self.augment(batch, self.rng, len(chunk), mine, self.data.persons,
                                 self.reframe)
        return batch

    def state_dict(self) -> dict:
        return {"rng": self.rng.bit_generator.state, "order": self.order.copy(), "pos": self.pos}

    def load_state_dict(self, state: dict) -> None:
        self.rng.bit_generator.state = state["rng"]
        self.order, self.pos = np.asarray(state["order"]), int(state["pos"])


def pin_batch(batch: Batch) -> Batch:
    """The batch in page-locked memory, so that ``batch.to(cuda, non_blocking=True)`` overlaps."""
    return Batch(*(t.pin_memory() for t in
                   (batch.x, batch.mask, batch.lengths, batch.labels, batch.index)))


class Loader:
    """Batches of a :class:`BatchStream` on ``device``: ``next() -> (batch, loss weight)``.

    With ``prefetch`` a background thread pads (and, for CUDA, pins) the next batch while the
    current one trains; :meth:`state_dict` is still the position after the batches *taken*, so
    checkpoints and resume are the same with and without it. On CUDA, batches are copied from
    pinned memory with ``non_blocking=True``.
    """

    def __init__(self, stream: BatchStream, device: torch.device, prefetch: bool = False):
        self.stream, self.device = stream, device
        self.pin = device.type == "cuda" and torch.cuda.is_available()
        self.prefetch = prefetch
        self._pool = None
        self._pending = None
        self.wait_s = 0.0  # time spent waiting for batches (padding, or waiting for the thread)

    def _fetch(self):
        state = self.stream.state_dict()
        batch = self.stream.next()
        if self.pin and batch.x.device.type == "cpu":  # an augmented batch is there already
            batch = pin_batch(batch)
        return state, batch, self.stream.weight

    def next(self) -> tuple[Batch, float]:
        t0 = time.perf_counter()
        if not self.prefetch:
            _, batch, weight = self._fetch()
        else:
            if self._pool is None:
                self._pool = cf.ThreadPoolExecutor(1, thread_name_prefix="stalib-batches")
                self._pending = self._pool.submit(self._fetch)
            _, batch, weight = self._pending.result()
            self._pending = self._pool.submit(self._fetch)
        batch = batch.to(self.device, non_blocking=self.pin)
        self.wait_s += time.perf_counter() - t0
        return batch, weight

    def state_dict(self) -> dict:
        if self._pending is not None:
            return self._pending.result()[0]  # the position before the batch fetched ahead
        return self.stream.state_dict()

    def close(self) -> None:
        if self._pool is not None:
            if self._pending is not None:
                self._pending.result()
            self._pool.shutdown()
            self._pool, self._pending = None, None
