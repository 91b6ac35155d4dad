"""Training: one trainer runs a schedule (Algorithm 1 of the paper, written once as data in
:mod:`stalib.schedule`).

A schedule is a list of :class:`~stalib.schedule.Stage`. :func:`train_run` walks the list
with Adam (a fresh optimizer per stage, over the parameters that stage trains), checkpoints
atomically every ``checkpoint_every`` iterations and at the end of each stage, and can resume
from a checkpoint. Batches come from :mod:`stalib.data.stream`, accuracy from
:mod:`stalib.evaluate`, random states and files from :mod:`stalib.checkpoint`.

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
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.nn.parallel import DistributedDataParallel

from stalib.checkpoint import atomic_torch_save, rng_states, seed_everything, set_rng_states
from stalib.config import TrainConfig
from stalib.data.batching import Batch
from stalib.data.core import SkeletonSet
from stalib.data.stream import BatchStream, Loader, person_swap
from stalib.distributed import DistInfo, all_sum, broadcast, current
from stalib.errors import StalibError
from stalib.evaluate import accuracy, accuracy_across_ranks, correct
from stalib.results import code_commit
from stalib.schedule import (
    Stage,
    apply_stage,
    make_optimizer,
    parameter_groups,
    schedule_of,
    set_trainable,
    stage_iterations,
)


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
        raise StalibError(f"`device` {name}: {why}; use `device` cpu (or auto)")
    return torch.device(name)


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
            raise StalibError(f"`batch_size` {cfg.effective_batch_size} is smaller than the "
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
                                  f"({err.__class__.__name__}); remove it or use `force` to "
                                  "start again") from None
        if self.info.enabled:
            ckpt = broadcast(ckpt)
        if ckpt is None:
            return
        if not self.cfg.same_run(ckpt["config"]):
            raise StalibError(f"{self.checkpoint}: checkpoint was made with another "
                              "configuration; use a new `out` folder or drop `resume`")
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

        # a bar on a terminal only; redirected to a file (a log) a line per stage instead, not
        # the bar's frames joined by carriage returns
        desc = f"step {stage.step}: {stage.name}" if stage.step else stage.name
        on_terminal = sys.stderr.isatty()
        # here, not at the top: in a Jupyter kernel without ipywidgets tqdm.auto warns when it
        # is imported, and every page of the book that imports the library would show it
        from tqdm.auto import tqdm

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
            test_acc = accuracy_across_ranks(self.model, self.data, test_idx, self.device,
                                             self.info)
        else:  # one process: keep which test sequence was right, for paired tests
            test_correct = correct(self.model, self.data, test_idx, self.device)
            test_acc = float(test_correct.mean())
        train_acc = accuracy_across_ranks(self.model, self.data, self.train_idx, self.device,
                                          self.info)
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

    ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=ids, find_unused_parameters=False)
