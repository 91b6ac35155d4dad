"""Algorithm 1 of the paper, written once as data: a schedule is a list of :class:`Stage`.

Each stage says which of the three subnetworks is present and whether it is trained or frozen,
how deep the main LSTM is, and for how many iterations (``N1`` or ``N2``) it runs. Here too: the
optimiser and the learning rate within a stage (:func:`make_optimizer`), and how a stage sets up
a model (:func:`apply_stage`). The trainer (:mod:`stalib.train`) walks the list.

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
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import torch

from stalib.config import TrainConfig
from stalib.errors import ConfigError
from stalib.models.sta_lstm import PARTS

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
    v = PARTS.get(model_name)
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
        raise ConfigError(f"`epochs` counts the iterations of a one-stage schedule; {cfg.model} "
                          f"runs {len(stages)} stages under `schedule` {cfg.schedule}: use "
                          "`schedule` joint, or `n1`/`n2`")
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
