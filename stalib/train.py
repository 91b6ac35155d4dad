"""Training: Algorithm 1 of the paper, written once as data, run by one trainer.

A schedule is a list of :class:`Stage`. Each stage says which of the three subnetworks is
present and whether it is trained or frozen, how deep the main LSTM is, and for how many
iterations (``N1`` or ``N2``) it runs. :func:`train_run` walks the list with Adam (a fresh
optimizer per stage, over the parameters that stage trains), checkpoints atomically every
``checkpoint_every`` iterations and at the end of each stage, and can resume from a checkpoint.

Algorithm 1 (section 4.3), our reading
--------------------------------------
Step 1 initialises every parameter from a Gaussian (done by the model's constructor).

==== ============================================== ======== ======== ====== ====== =====
step what                                           spatial  temporal main   layers iters
==== ============================================== ======== ======== ====== ====== =====
2    pre-train temporal attention with a 1-layer     off      train    train  1      N1
     main LSTM (spatial weights fixed as ones)
3    fix TA; grow main to 3 layers, train it         off      frozen   train  3      N1
4    fine-tune TA and main                           off      train    train  3      N2
5    pre-train spatial attention: main LSTM anew     train    off      train  1 new  N1
     with 1 layer (temporal weights fixed as ones)
6    fix SA; grow main to 3 layers, train it         frozen   off      train  3      N1
7    fine-tune SA and main                           train    off      train  3      N2
8    fix SA (step 7) and TA (step 4), fine-tune main frozen   frozen   train  3      N1
9    jointly fine-tune the whole network             train    train    train  3      N2
==== ============================================== ======== ======== ====== ====== =====

The paper gives no iteration count for steps 2 and 5; we use N1. "Increasing its number of LSTM
layers to three" keeps the trained first layer and the output layer ``W_z`` and stacks two freshly
initialised layers between them (``model.set_main_layers(3)``). Step 5 says the main network has
"only one LSTM layer" again, so it starts a new one-layer main network (``model.reset_main(1)``);
step 8 then fine-tunes the main network of step 7 with both attention subnetworks frozen.

The single-attention models of Fig. 7 run the part of the schedule that builds their attention
(TA-LSTM: steps 2-4; SA-LSTM: steps 5-7) and the plain LSTM runs the same shape of schedule with no
attention, so every model grows its main network the same way.

Devices and processes
---------------------
``--device cuda`` trains on the GPU, optionally under bfloat16 autocast (``--bf16``); batches are
then padded and pinned by a background thread one step ahead (:class:`Loader`) and copied with
``non_blocking=True``. Each iteration synchronises with the device once (loss, finiteness of loss
and gradients, correct count in one transfer). Under ``torchrun`` the run is data-parallel
(:mod:`stalib.distributed`): every rank trains on its slice of each global batch through
``DistributedDataParallel``, rewrapped at every stage because the trained parameters change.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from stalib.config import TrainConfig
from stalib.data.augment import Augment, PersonSwap
from stalib.data.batching import Batch, pad_batch
from stalib.data.core import SkeletonSet
from stalib.data.registry import preprocess_settings
from stalib.distributed import DistInfo, all_sum, broadcast, current, shard
from stalib.errors import ConfigError, StalibError
from stalib.results import code_commit

Mode = Literal["off", "train", "frozen"]


@dataclass(frozen=True)
class Stage:
    """One stage of a training schedule (a step of Algorithm 1)."""

    step: int  # the step number of Algorithm 1 (0 for stages outside it)
    name: str
    spatial: Mode  # spatial attention subnetwork
    temporal: Mode  # temporal attention subnetwork
    main: Mode  # main network (for CNN models: the backbone)
    iterations: Literal["N1", "N2", "N"]  # N = N1 + N2 (single-stage schedules)
    main_layers: int | None = None  # depth of the main LSTM during this stage
    reset_main: bool = False  # start a new main network before the stage

    def num_iterations(self, cfg: TrainConfig) -> int:
        return {"N1": cfg.n1, "N2": cfg.n2, "N": cfg.n1 + cfg.n2}[self.iterations]


# fmt: off
ALGORITHM_1: tuple[Stage, ...] = (
    Stage(2, "pre-train temporal attention (1-layer main)", "off", "train", "train", "N1", 1, True),
    Stage(3, "fix TA, grow main to 3 layers", "off", "frozen", "train", "N1", 3),
    Stage(4, "fine-tune TA and main", "off", "train", "train", "N2", 3),
    Stage(5, "pre-train spatial attention (new main)", "train", "off", "train", "N1", 1, True),
    Stage(6, "fix SA, grow main to 3 layers", "frozen", "off", "train", "N1", 3),
    Stage(7, "fine-tune SA and main", "train", "off", "train", "N2", 3),
    Stage(8, "fix SA and TA, fine-tune main", "frozen", "frozen", "train", "N1", 3),
    Stage(9, "jointly fine-tune the whole network", "train", "train", "train", "N2", 3),
)

LSTM_SCHEDULE: tuple[Stage, ...] = (
    Stage(0, "train 1-layer main LSTM", "off", "off", "train", "N1", 1, True),
    Stage(0, "grow main to 3 layers, train", "off", "off", "train", "N1", 3),
    Stage(0, "fine-tune main", "off", "off", "train", "N2", 3),
)

END_TO_END: tuple[Stage, ...] = (
    Stage(0, "train end to end", "train", "train", "train", "N"),
)
# fmt: on

#: Which schedule each model name follows (see Fig. 7 and the CSTA-CNN ablation).
SCHEDULES: dict[str, tuple[Stage, ...]] = {
    "lstm": LSTM_SCHEDULE,
    "ta-lstm-noreg": ALGORITHM_1[0:3],
    "ta-lstm": ALGORITHM_1[0:3],
    "sa-lstm-noreg": ALGORITHM_1[3:6],
    "sa-lstm": ALGORITHM_1[3:6],
    "sta-lstm": ALGORITHM_1,
    "hcn": END_TO_END,
    "hcn-joint": END_TO_END,
    "hcn-frame": END_TO_END,
    "csta-cnn": END_TO_END,
    "linear": END_TO_END,
}


def joint_schedule(model_name: str) -> tuple[Stage, ...]:
    """``--schedule joint``: one stage that trains every subnetwork the model has, together, for
    ``N = N1 + N2`` iterations (or ``--epochs``); the main network keeps its built depth (3)."""
    from stalib.models.sta_lstm import VARIANTS

    v = VARIANTS.get(model_name)
    if v is None:
        return END_TO_END
    on = {True: "train", False: "off"}
    return (Stage(0, "train jointly", on[v.spatial], on[v.temporal], "train", "N"),)


def schedule_for(model_name: str, kind: str = "staged") -> tuple[Stage, ...]:
    """The stages of ``model_name``: its own schedule (:data:`SCHEDULES`) or the joint one."""
    return SCHEDULES[model_name] if kind == "staged" else joint_schedule(model_name)


def schedule_of(cfg: TrainConfig) -> tuple[Stage, ...]:
    """The stages of run ``cfg``; ``--epochs`` needs a one-stage schedule."""
    stages = schedule_for(cfg.model, cfg.schedule)
    if cfg.epochs is not None and len(stages) > 1:
        raise ConfigError(f"--epochs counts the iterations of a one-stage schedule; {cfg.model} "
                          f"runs {len(stages)} stages under --schedule {cfg.schedule}: use "
                          "--schedule joint, or --n1/--n2")
    return stages


def stage_iterations(stage: Stage, cfg: TrainConfig, n_train: int) -> int:
    """Iterations of ``stage``: N1, N2 or N1 + N2, or with ``--epochs`` ``epochs`` passes over the
    ``n_train`` training sequences in batches of ``--batch-size`` (the last one may be short)."""
    if cfg.epochs is not None:
        return cfg.epochs * math.ceil(n_train / cfg.effective_batch_size)
    return stage.num_iterations(cfg)


def lr_factor(cfg: TrainConfig, n_iter: int) -> Callable[[int], float]:
    """The factor of the learning rate at iteration ``it`` (0-based) of an ``n_iter`` stage.

    A linear warm-up over the first ``warmup * n_iter`` iterations, then ``constant`` (1),
    ``cosine`` (from 1 down towards 0 at the stage's end) or ``step`` (0.1 from half way, 0.01
    from three quarters).
    """
    warm = int(round(cfg.warmup * n_iter))

    def factor(it: int) -> float:
        if it < warm:
            return (it + 1) / warm
        progress = (it - warm) / max(1, n_iter - warm)
        if cfg.lr_schedule == "cosine":
            return 0.5 * (1.0 + math.cos(math.pi * progress))
        if cfg.lr_schedule == "step":
            return 0.1 ** (int(progress >= 0.5) + int(progress >= 0.75))
        return 1.0

    return factor


def make_optimizer(params: list[torch.nn.Parameter], cfg: TrainConfig, n_iter: int):
    """Adam at ``--lr`` (with ``--weight-decay`` > 0: AdamW, decoupled, or Adam's L2 term on the
    gradient, :data:`stalib.config.WEIGHT_DECAY_MODES`) and, unless the rate is constant, a
    ``LambdaLR`` scheduler of :func:`lr_factor` (stepped after every iteration)."""
    if cfg.weight_decay > 0 and cfg.weight_decay_mode == "l2":
        opt = torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    elif cfg.weight_decay > 0:
        opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    else:
        opt = torch.optim.Adam(params, lr=cfg.lr)
    sched = None
    if cfg.lr_schedule != "constant" or cfg.warmup > 0:
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_factor(cfg, n_iter))
    return opt, sched


# ---------------------------------------------------------------------------- stages on models
GROUPS = ("main", "spatial", "temporal")


def parameter_groups(model: torch.nn.Module) -> dict[str, list[torch.nn.Parameter]]:
    """The model's parameters split into the three subnetworks (every parameter in one group).

    A model without attention subnetworks of its own (e.g. the CNN backbones) is all "main".
    """
    if not hasattr(model, "spatial_parameters"):
        return {"main": list(model.parameters()), "spatial": [], "temporal": []}
    return {g: list(getattr(model, f"{g}_parameters")()) for g in GROUPS}


def apply_stage(model: torch.nn.Module, stage: Stage) -> list[torch.nn.Parameter]:
    """Configure ``model`` for ``stage``; return the parameters the stage trains.

    Switches each attention subnetwork on or off, grows or restarts the main network, and sets
    ``requires_grad`` so that exactly the trained groups receive gradients.
    """
    if stage.main_layers is not None:
        if stage.reset_main:
            model.reset_main(stage.main_layers)
        else:
            model.set_main_layers(stage.main_layers)
    if hasattr(type(model), "spatial_enabled"):  # models whose attention can be switched off
        model.spatial_enabled = stage.spatial != "off"
        model.temporal_enabled = stage.temporal != "off"
    return set_trainable(model, stage)


def set_trainable(model: torch.nn.Module, stage: Stage) -> list[torch.nn.Parameter]:
    """Set ``requires_grad`` so that exactly the groups ``stage`` trains receive gradients;
    return their parameters (the architecture is left as it is)."""
    trained: list[torch.nn.Parameter] = []
    for group, params in parameter_groups(model).items():
        mode = getattr(stage, group)
        for p in params:
            p.requires_grad_(mode == "train")
            if mode == "train":
                trained.append(p)
    return trained


# ---------------------------------------------------------------------------- batches
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
                f"--augment-swap: sequence {data.names[int(i)]} of {data.name} is not in the "
                f"frame its preprocessing ({cfg.dataset}, --preprocess {cfg.preprocess or {}}) "
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
                import concurrent.futures as cf

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


# ---------------------------------------------------------------------------- helpers
class NumericalError(StalibError):
    """A NaN or inf loss or gradient: training stopped, the last good checkpoint is kept."""


def resolve_device(name: str) -> torch.device:
    """The torch device of ``--device name`` (``auto``: CUDA when there is one, else the CPU);
    a CUDA device this torch or machine cannot give is one line (a StalibError), before any
    work, not a traceback from the first tensor moved there."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        why = (f"this torch ({torch.__version__}) is built without CUDA"
               if torch.version.cuda is None else "no CUDA device is visible on this machine")
        raise StalibError(f"--device {name}: {why}; use --device cpu (or auto)")
    return torch.device(name)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def rng_states() -> dict:
    state = {
        "python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_states(state: dict) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def atomic_torch_save(obj, path: Path) -> None:
    """Write ``obj`` to ``path`` via a temporary file and a rename (never a half-written file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


@torch.no_grad()
def predict(
    model: torch.nn.Module, data: SkeletonSet, indices: np.ndarray, device: torch.device,
    batch_size: int = 64,
) -> np.ndarray:
    """Class scores ``(len(indices), C)`` of the model in eval mode."""
    was_training = model.training
    model.eval()
    out = []
    for start in range(0, len(indices), batch_size):
        batch = pad_batch(data, indices[start : start + batch_size]).to(device)
        out.append(model(batch.x, batch.mask).logits.float().cpu())
    model.train(was_training)
    return torch.cat(out).numpy() if out else np.zeros((0, data.num_classes), dtype=np.float32)


def correct(model, data: SkeletonSet, indices: np.ndarray, device: torch.device) -> np.ndarray:
    """``(len(indices),)`` bool: whether the model's top class is each sequence's label."""
    indices = np.asarray(indices)
    return predict(model, data, indices, device).argmax(1) == data.labels[indices]


def accuracy(model, data: SkeletonSet, indices: np.ndarray, device: torch.device) -> float:
    if len(indices) == 0:
        return float("nan")
    return float(correct(model, data, indices, device).mean())


def _accuracy(model, data: SkeletonSet, indices: np.ndarray, device: torch.device,
              info: DistInfo) -> float:
    """:func:`accuracy`, each rank evaluating every ``world``-th sequence."""
    if not info.enabled:
        return accuracy(model, data, indices, device)
    if len(indices) == 0:
        return float("nan")
    mine = np.asarray(indices)[info.rank :: info.world]
    correct = 0.0
    if len(mine):
        scores = predict(model, data, mine, device)
        correct = float((scores.argmax(1) == data.labels[mine]).sum())
    return all_sum([correct], device)[0] / len(indices)


# ---------------------------------------------------------------------------- the trainer
@dataclass
class RunResult:
    accuracy: float  # test accuracy of the final model
    train_accuracy: float
    iterations: int  # optimisation steps done in total
    wall_time_s: float  # training + evaluation time of this process (resumed runs: summed)
    device: str
    history: list[dict] = field(default_factory=list)  # per-log-interval losses
    test_correct: np.ndarray | None = None  # (n_test,) bool in test order; None under DDP
    # the commits whose code trained the run (stalib.results.code_commit of this process, and
    # of the processes that wrote the checkpoints it resumed)
    trained_by: list[str] = field(default_factory=list)


LossFn = Callable[[torch.nn.Module, object, Batch], dict]


def train_run(
    cfg: TrainConfig,
    model: torch.nn.Module,
    loss_fn: LossFn,
    data: SkeletonSet,
    train_idx: np.ndarray,
    test_idx: np.ndarray,
    checkpoint: Path | None = None,
    resume: bool = False,
    progress: bool = True,
    log_every: int = 50,
    stop_after: int | None = None,
    prefetch: bool | None = None,
    watch: np.ndarray | None = None,
) -> RunResult:
    """Train ``model`` by its schedule on ``train_idx`` and measure accuracy on ``test_idx``.

    ``loss_fn(model, output, batch)`` returns a dict of loss terms with the key ``total``.
    With ``resume=True`` and an existing ``checkpoint``, training continues from it (same batches,
    same random numbers). ``stop_after`` ends the process after that many iterations in total
    (used by tests to simulate a crash at a checkpoint boundary). ``prefetch`` prepares the next
    batch in a background thread (default: on CUDA only; it changes no number).

    Inside a process group (``torchrun``, see :mod:`stalib.distributed`) each rank trains on its
    slice of every global batch through ``DistributedDataParallel``; only rank 0 writes the
    checkpoint, and every rank returns the same result.

    ``watch`` (one process only): sequences whose accuracy each log entry of ``history`` records
    as ``watch_accuracy``, in eval mode between two steps. It reads the model and changes no
    number of the run. For diagnostics only (:mod:`stalib.tools.epoch_pick`): a run's result is
    always its final model.
    """
    trainer = Trainer(cfg, model, loss_fn, data, train_idx, checkpoint, progress, log_every,
                      stop_after)
    if watch is not None:
        if trainer.info.enabled:
            raise StalibError("watch= runs in one process only, not under torchrun")
        trainer.watch = np.asarray(watch)
    if resume:
        trainer.restore()
    trainer.run(prefetch)
    return trainer.result(test_idx)


class Trainer:
    """The runner of a schedule: a loop over stages (:meth:`run`), one optimisation step
    (:meth:`step`), logging (:meth:`log`), checkpoints (:meth:`save`, :meth:`restore`) and the
    final evaluation (:meth:`result`). :func:`train_run` is the way to call it."""

    def __init__(self, cfg: TrainConfig, model: torch.nn.Module, loss_fn: LossFn,
                 data: SkeletonSet, train_idx: np.ndarray, checkpoint: Path | None,
                 progress: bool, log_every: int, stop_after: int | None):
        self.info = info = current()
        device = resolve_device(cfg.device)
        if info.enabled and device.type == "cuda":
            device = torch.device("cuda", info.local_rank)
        self.cfg, self.model, self.loss_fn, self.data = cfg, model, loss_fn, data
        self.device = device
        self.train_idx, self.checkpoint = np.asarray(train_idx), checkpoint
        self.log_every, self.stop_after = log_every, stop_after
        self.progress = progress and info.is_main
        seed_everything(cfg.seed)
        self.stages = schedule_of(cfg)
        augment = cfg.augmentation()
        self.stream = BatchStream(data, train_idx, cfg.effective_batch_size, cfg.seed, info.rank,
                                  info.world, augment,
                                  person_swap(cfg, data, train_idx) if augment.swap else None,
                                  device=device)
        if info.enabled and cfg.effective_batch_size < info.world:
            raise StalibError(f"--batch-size {cfg.effective_batch_size} is smaller than the "
                              f"{info.world} processes: each needs at least one sequence")
        model.to(device)
        # where the run stands: next stage and iteration in it, steps done, time, logged losses
        self.stage_i, self.iteration, self.done_iters, self.elapsed = 0, 0, 0, 0.0
        self.history: list[dict] = []
        self.watch: np.ndarray | None = None  # sequences evaluated at each log (train_run)
        self.resumed_state: dict | None = None  # optimizer (and scheduler) of a resumed stage
        self.trained_by = [code_commit()]  # and those of the checkpoints resumed (restore)
        self.loader: Loader | None = None
        self.t0 = time.perf_counter()
        self.autocast = (torch.autocast("cuda", dtype=torch.bfloat16)
                         if cfg.bf16 and device.type == "cuda" else contextlib.nullcontext())

    # ------------------------------------------------------------------ checkpoints
    def restore(self) -> None:
        """Continue from ``checkpoint`` if there is one (rank 0 reads it, every rank resumes)."""
        ckpt = None
        if self.checkpoint is not None and self.info.is_main and self.checkpoint.exists():
            try:
                ckpt = torch.load(self.checkpoint, map_location="cpu", weights_only=False)
                ckpt["config"], ckpt["stage"], ckpt["iteration"]  # noqa: B018 (must be present)
            except Exception as err:
                raise StalibError(f"{self.checkpoint}: not a readable checkpoint "
                                  f"({err.__class__.__name__}); remove it or use --force to "
                                  "start again") from None
        if self.info.enabled:
            ckpt = broadcast(ckpt)
        if ckpt is None:
            return
        if not self.cfg.same_run(ckpt["config"]):
            raise StalibError(f"{self.checkpoint}: checkpoint was made with another "
                              "configuration; use a new --out folder or drop --resume")
        self.stage_i, self.iteration = ckpt["stage"], ckpt["iteration"]
        self.done_iters, self.elapsed = ckpt["done_iters"], ckpt["elapsed"]
        self.history = ckpt["history"]
        # checkpoints written before commits were kept say nothing: "unknown" marks them
        self.trained_by = sorted(set(ckpt.get("trained_by", ["unknown"])) | {code_commit()})
        # Rebuild the architecture the checkpoint was taken in, then load its weights. A
        # checkpoint at a stage boundary (iteration 0) holds the weights at the end of the
        # previous stage; the next stage then starts as it would have without the interruption.
        mid_stage = self.iteration > 0
        for stage in self.stages[: self.stage_i + int(mid_stage)]:
            apply_stage(self.model, stage)
        self.model.load_state_dict(ckpt["model"])
        self.model.to(self.device)
        self.stream.load_state_dict(ckpt["stream"])
        set_rng_states(ckpt["rng"])
        if mid_stage:
            self.resumed_state = {"optimizer": ckpt["optimizer"],
                                  "scheduler": ckpt.get("scheduler")}

    def save(self, opt, sched) -> None:
        """Write the training state atomically (rank 0 only)."""
        if self.checkpoint is None or not self.info.is_main:
            return
        atomic_torch_save({
            "config": self.cfg.to_dict(), "stage": self.stage_i, "iteration": self.iteration,
            "done_iters": self.done_iters,
            "elapsed": self.elapsed + (time.perf_counter() - self.t0), "history": self.history,
            "model": self.model.state_dict(), "optimizer": opt.state_dict(),
            "scheduler": None if sched is None else sched.state_dict(),
            "stream": self.loader.state_dict(), "rng": rng_states(),
            "trained_by": self.trained_by,
        }, self.checkpoint)

    # ------------------------------------------------------------------ the loop
    def run(self, prefetch: bool | None = None) -> None:
        """Every stage from where the run stands; each ends with a checkpoint."""
        self.loader = Loader(self.stream, self.device,
                             prefetch=self.device.type == "cuda" if prefetch is None
                             else prefetch)
        self.t0 = time.perf_counter()
        self.model.train()
        try:
            while self.stage_i < len(self.stages):
                self.run_stage(self.stages[self.stage_i])
        finally:
            self.loader.close()
        self.elapsed += time.perf_counter() - self.t0

    def run_stage(self, stage: Stage) -> None:
        """One stage: configure the model, a fresh optimizer, then its iterations."""
        cfg, model = self.cfg, self.model
        state, self.resumed_state = self.resumed_state, None
        if state is None:
            params = apply_stage(model, stage)
            self.iteration = 0
        else:  # resumed inside this stage: the architecture is rebuilt, set what trains
            params = set_trainable(model, stage)
        model.to(self.device)
        net = _wrap(model, self.device, self.info)  # new DDP wrapper: the trained set changed
        n_iter = stage_iterations(stage, cfg, len(self.train_idx))
        opt, sched = make_optimizer(params, cfg, n_iter)
        if self.iteration >= n_iter:  # an empty stage (N1 or N2 = 0): nothing to do
            self.stage_i, self.iteration = self.stage_i + 1, 0
            return
        if state is not None:
            opt.load_state_dict(state["optimizer"])
            if sched is not None and state["scheduler"] is not None:
                sched.load_state_dict(state["scheduler"])
        from tqdm.auto import tqdm

        # a bar on a terminal only; redirected to a file (a log) a line per stage instead, not
        # the bar's frames joined by carriage returns
        desc = f"step {stage.step}: {stage.name}" if stage.step else stage.name
        on_terminal = sys.stderr.isatty()
        bar = tqdm(total=n_iter, initial=self.iteration, leave=False, desc=desc,
                   disable=not (self.progress and on_terminal))
        entry = None
        self.window = [0.0, 0.0, 0.0]  # loss, correct, seen since the last log entry
        while True:
            terms, diag = self.step(net, opt, params, stage, n_iter)
            if sched is not None:
                sched.step()
            self.iteration += 1
            self.done_iters += 1
            bar.update(1)
            last = self.iteration == n_iter
            if self.iteration % self.log_every == 0 or last:
                entry = self.log(stage, terms, diag)
                bar.set_postfix(loss=f"{entry['loss']:.3f}", acc=f"{entry['train_batch_acc']:.2f}")
            if last:  # at the end of a stage, store the position as "start of the next stage"
                self.stage_i, self.iteration = self.stage_i + 1, 0
                self.save(opt, sched)
            elif self.iteration % cfg.checkpoint_every == 0:
                self.save(opt, sched)
            if self.stop_after is not None and self.done_iters >= self.stop_after:
                bar.close()
                raise SystemExit(f"stop_after={self.stop_after} reached (test hook)")
            if last:
                break
        bar.close()
        if self.progress and not on_terminal and entry is not None:
            print(f"{desc}: {n_iter} iterations, loss {entry['loss']:.3f}, training batch "
                  f"accuracy {entry['train_batch_acc']:.2f}", file=sys.stderr, flush=True)

    def step(self, net, opt, params: list[torch.nn.Parameter], stage: Stage,
             n_iter: int) -> tuple[dict, dict]:
        """One optimisation step on the next batch; returns the loss terms and, on logging
        iterations, diagnostics of that step (:func:`step_diagnostics`)."""
        info = self.info
        batch, weight = self.loader.next()
        with self.autocast:
            out = net(batch.x, batch.mask)
            terms = self.loss_fn(self.model, out, batch)
        loss = terms["total"]
        opt.zero_grad(set_to_none=True)
        (loss * weight if info.enabled else loss).backward()
        # one host-device synchronisation per step: loss, finiteness, correct count
        grads = [p.grad for p in params if p.grad is not None]
        grads_ok = (torch.stack([torch.isfinite(g).all() for g in grads]).all()
                    if grads else torch.ones((), dtype=torch.bool, device=self.device))
        correct = (out.logits.argmax(1) == batch.labels).sum()
        loss_value, finite_grads, n_correct = torch.stack(
            [loss.detach().float(), grads_ok.float(), correct.float()]).tolist()
        if not math.isfinite(loss_value) or not finite_grads:
            what = (f"non-finite loss ({loss_value})" if not math.isfinite(loss_value)
                    else "non-finite gradient")
            kept = (f"last good checkpoint kept at {self.checkpoint}"
                    if self.checkpoint is not None and self.checkpoint.exists()
                    else "no checkpoint had been written yet")
            raise NumericalError(f"{what} at stage {self.stage_i + 1}/{len(self.stages)} "
                                 f"({stage.name}), iteration {self.iteration + 1}; {kept}")
        logging = (self.iteration + 1) % self.log_every == 0 or self.iteration + 1 == n_iter
        diag = step_diagnostics(self.model, out, batch) if logging else {}
        if self.cfg.grad_clip is not None:
            torch.nn.utils.clip_grad_norm_(params, self.cfg.grad_clip)
        opt.step()
        share = weight / info.world  # this rank's part of the global batch
        self.window[0] += loss_value * share if info.enabled else loss_value
        self.window[1] += n_correct if weight > 0 else 0.0
        self.window[2] += len(batch) if weight > 0 else 0
        terms = {k: float(v) * (share if info.enabled else 1.0)
                 for k, v in terms.items() if k != "total"} if logging else {}
        return terms, diag

    def log(self, stage: Stage, terms: dict, diag: dict) -> dict:
        """Append the mean loss and training-batch accuracy since the last entry, the last
        step's loss terms and diagnostics, to ``history`` (summed over ranks under DDP)."""
        run_loss, run_correct, run_seen = self.window
        extra = dict(terms)
        if self.info.enabled:
            summed = all_sum([run_loss, run_correct, run_seen, *extra.values()], self.device)
            run_loss, run_correct, run_seen = summed[:3]
            extra = dict(zip(extra, summed[3:], strict=True))
        entry = {"stage": self.stage_i + 1, "step": stage.step, "iteration": self.iteration,
                 "loss": run_loss / max(1, ((self.iteration - 1) % self.log_every) + 1),
                 "train_batch_acc": run_correct / max(1, run_seen)}
        entry.update(extra)
        entry.update(diag)
        if self.watch is not None:
            entry["watch_accuracy"] = accuracy(self.model, self.data, self.watch, self.device)
        self.history.append(entry)
        self.window = [0.0, 0.0, 0.0]
        return entry

    # ------------------------------------------------------------------ the result
    def result(self, test_idx: np.ndarray) -> RunResult:
        """Accuracy of the final model on the test and the training sequences (once, at the
        end: the paper reports the final model, there is no early stopping)."""
        if len(test_idx) == 0:
            raise StalibError("the test split is empty")
        test_correct = None
        if self.info.enabled:
            test_acc = _accuracy(self.model, self.data, test_idx, self.device, self.info)
        else:  # one process: keep which test sequence was right, for paired tests
            test_correct = correct(self.model, self.data, test_idx, self.device)
            test_acc = float(test_correct.mean())
        train_acc = _accuracy(self.model, self.data, self.train_idx, self.device, self.info)
        where = str(self.device) if not self.info.enabled else (
            f"{self.device.type} x{self.info.world} (DDP {self.info.backend or 'gloo'})")
        return RunResult(test_acc, train_acc, self.done_iters, self.elapsed, where, self.history,
                         test_correct, list(self.trained_by))


@torch.no_grad()
def step_diagnostics(model: torch.nn.Module, out, batch: Batch) -> dict:
    """What tells why attention helps or hurts, from one training step (after the backward):

    * ``grad_<group>``: the L2 norm of the gradient reaching each subnetwork (main, spatial,
      temporal; before clipping), for the groups that have gradients;
    * ``alpha_entropy``: where alpha is a distribution over the K joints (STA-LSTM, eq. 3), the
      mean over real frames of its entropy divided by log K (1: equal weights, 0: one joint);
    * ``beta_min``, ``beta_mean``, ``beta_max``: the range of beta over real frames.
    """
    diag = {}
    for group, params in parameter_groups(model).items():
        grads = [p.grad.detach().float() for p in params
                 if p.requires_grad and p.grad is not None]  # frozen: a stale grad may stay
        if grads:
            diag[f"grad_{group}"] = float(torch.linalg.vector_norm(
                torch.stack([torch.linalg.vector_norm(g) for g in grads])))
    real = batch.mask
    alpha = getattr(out, "alpha", None)
    if alpha is not None and alpha.shape[-1] > 1 and torch.allclose(
            alpha.detach().float()[real].sum(-1), torch.ones(()), atol=1e-3):  # a softmax, eq. 3
        a = alpha.detach().float().clamp_min(1e-12)
        ent = -(a * a.log()).sum(-1) / math.log(a.shape[-1])
        diag["alpha_entropy"] = float(ent[real].mean())
    beta = getattr(out, "beta", None)
    if beta is not None:
        b = beta.detach().float()[real]
        diag.update(beta_min=float(b.min()), beta_mean=float(b.mean()), beta_max=float(b.max()))
    return diag


def _wrap(model: torch.nn.Module, device: torch.device, info: DistInfo) -> torch.nn.Module:
    """``model`` itself for one process; a ``DistributedDataParallel`` wrapper in a group.

    DDP registers the parameters that require gradients when it is built and broadcasts rank 0's
    weights, so it is rebuilt at every stage of the schedule (new layers, other frozen groups).
    Every trained parameter is used in the forward pass, so ``find_unused_parameters`` is off.
    """
    if not info.enabled:
        return model
    from torch.nn.parallel import DistributedDataParallel

    ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=ids, find_unused_parameters=False)


def write_json_atomic(obj, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2, default=str))
    os.replace(tmp, path)
