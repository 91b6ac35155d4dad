"""Typed configuration of a training run. Defaults are the paper's settings (section 5.1).

``TrainConfig`` holds everything that decides a run's numbers; it is recorded (as JSON) beside
every result, so a row of ``results/*/cv.csv`` says exactly how it was made.

**Configurations.** A results row is filed under a *configuration*, the name of the settings that
made it, so that runs with other settings (chosen on inner validation folds, say) sit beside the
paper's without mixing with them. A run with the paper's settings is configuration ``paper``;
any other is ``custom`` unless named with ``configuration=`` (``--config NAME``). The paper gives
settings for SBU and NTU only: a run of other data (UTKinect, ``npz:``) with the defaults takes the
paper's SBU settings and is filed as ``sbu-settings``, never as ``paper``. ``paper`` cannot name a
run whose settings differ from the paper's, and :mod:`stalib.results` refuses a row whose settings
differ from those of the rows already filed under its configuration.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import re
from dataclasses import dataclass, field

from stalib import catalogue
from stalib.data.augment import Augment
from stalib.data.registry import preprocess_changes, standard_protocol
from stalib.errors import ConfigError
from stalib.loss import LossConfig
from stalib.models.sta_lstm import PARTS

#: Algorithm 1's iteration counts, "e.g. N1 = 1000, N2 = 500".
PAPER_N1 = 1000
PAPER_N2 = 500

#: The largest seed: torch.manual_seed and numpy take 0..2**63-1 everywhere.
MAX_SEED = 2**63 - 1

#: The largest learning rate: Adam's first step is 10 x lr, and beyond ~3e37 it no longer fits
#: a float32 (torch then raises "value cannot be converted to type float without overflow").
MAX_LR = 1e30


#: Batch sizes of section 5.1: "8 and 256" for SBU and NTU.
PAPER_BATCH = {"sbu": 8, "ntu60": 256}

#: Training configurations beside Algorithm 1 (see :mod:`stalib.train`): ``staged`` is the model's
#: own schedule (Algorithm 1 or its part for the Fig. 7 models, one end-to-end stage for the CNNs),
#: ``joint`` one stage that trains every subnetwork of the model together.
SCHEDULE_KINDS = ("staged", "joint")
#: Learning-rate schedules within a stage (``torch.optim.lr_scheduler.LambdaLR`` factors).
LR_SCHEDULES = ("constant", "cosine", "step")
#: Readings of the L1 term of eq. (7): the paper's sum over all weights, or their mean.
L1_READINGS = ("sum", "mean")
#: How ``weight_decay`` acts: ``decoupled`` (AdamW: each step shrinks the weights by lr x
#: weight_decay, 1e-7 at 1e-3 x 1e-4, next to nothing) or ``l2`` (Adam with weight_decay x w added
#: to the gradient, an L2 penalty of weight_decay / 2 x ||w||^2, then normalised by Adam like any
#: gradient: what ``torch.optim.Adam(weight_decay=...)`` does, and the reading of many public
#: skeleton reimplementations).
WEIGHT_DECAY_MODES = ("decoupled", "l2")

#: The configuration of a run with the paper's settings, and of an unnamed run with other settings.
PAPER_CONFIGURATION = "paper"
CUSTOM_CONFIGURATION = "custom"
#: The datasets the paper gives settings for (section 5.1: SBU and NTU).
PAPER_DATASETS = ("sbu", "ntu60")
#: The configuration of a run with every default on another dataset (UTKinect, your npz): the paper
#: gives no settings for it, so its defaults are the paper's *SBU* settings (batch 8, the SBU
#: lambdas of eq. 7, Algorithm 1 with N1 = 1000, N2 = 500), and it is filed under this name, not as
#: "paper".
SBU_SETTINGS_CONFIGURATION = "sbu-settings"
DEFAULT_CONFIGURATIONS = (PAPER_CONFIGURATION, SBU_SETTINGS_CONFIGURATION)


def default_configuration(dataset: str) -> str:
    """The configuration of a run of ``dataset`` with every default: ``paper`` where the paper gives
    the settings (SBU, NTU), else ``sbu-settings``."""
    return PAPER_CONFIGURATION if dataset in PAPER_DATASETS else SBU_SETTINGS_CONFIGURATION


#: Named configurations: the :class:`TrainConfig` fields each sets beside the
#: paper's settings, resolved through their parents, as the catalogue (``stalib/catalogue.toml``)
#: writes them once. ``stalib train/cv --config NAME`` applies one and files the runs under NAME,
#: ``stalib configs`` lists them, :meth:`TrainConfig.named` builds one in Python. The committed rows
#: of each are these settings (``tests/test_results_integrity.py``).
CONFIGURATIONS: dict[str, dict] = {
    name: catalogue.settings(name) for name in catalogue.CONFIGURATIONS}
#: Per configuration: what it is, and where it was chosen (inner-validation folds only).
CONFIGURATION_NOTES: dict[str, tuple[str, str]] = {
    name: (r.what, r.chosen) for name, r in catalogue.CONFIGURATIONS.items()}


#: Datasets of one person per sequence, where a configuration's person swap is dropped.
ONE_PERSON = catalogue.one_person()


def settings_for(name: str, dataset: str) -> dict:
    """The :class:`TrainConfig` fields of configuration ``name`` for ``dataset`` (a copy). npz data
    has no ``view_normalize`` setting: its view normalisation is ``view_axes``, which only the
    user can name, so a view configuration there keeps ``preprocess`` for the user to fill (see
    :func:`check_configuration`). On one-person data (:data:`ONE_PERSON`) a configuration's person
    swap is dropped: the same configuration runs on SBU and UTKinect."""
    if name not in CONFIGURATIONS:
        raise ConfigError(f"`configuration` {name!r}: expected one of {', '.join(CONFIGURATIONS)}")
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in CONFIGURATIONS[name].items()}
    if dataset.startswith("npz:") and "preprocess" in out:
        out["preprocess"] = {k: v for k, v in out["preprocess"].items()
                             if k != "view_normalize"}
    if dataset in ONE_PERSON:  # the person swap is nothing to one person: not a setting there
        out.pop("augment_swap", None)
    return out


def fit_to_data(cfg: TrainConfig, persons: int) -> TrainConfig:
    """``cfg`` for data of ``persons`` persons per sequence. A named configuration's person swap is
    nothing to one-person data, so there it is dropped, as :func:`settings_for` drops it on the
    datasets known to be one-person (:data:`ONE_PERSON`); that is how a configuration chosen on SBU
    and UTKinect runs on your one-person ``npz:`` data. A swap asked for by a flag (filed under
    another name than the named configuration's) stays, and the augmentation refuses it with a
    one-line error."""
    named = CONFIGURATIONS.get(cfg.configuration, {})
    if persons == 1 and cfg.augment_swap and named.get("augment_swap"):
        return dataclasses.replace(cfg, augment_swap=False)
    return cfg


def check_configuration(name: str, cfg: TrainConfig,
                        hint: str = "file it under a `configuration` name of its own") -> None:
    """``cfg``, started from the named configuration ``name``, is that configuration, or is filed
    under a name of its own: a setting that differs from ``name``'s must not file its runs under
    ``name`` (``hint``: what the error tells the user to do). On npz data a view configuration
    needs ``preprocess`` ``view_axes=[...]``."""
    wants_view = CONFIGURATIONS[name].get("preprocess", {}).get("view_normalize")
    if wants_view and cfg.dataset.startswith("npz:") and not cfg.preprocess.get("view_axes"):
        raise ConfigError(f"`configuration` {name} normalises the view: on npz data name the "
                          "axes with `preprocess` view_axes=[R,L,S0,S1] (right and left "
                          "shoulder, spine from, spine to), or use the configuration r1")
    pure = TrainConfig(dataset=cfg.dataset, model=cfg.model, **{
        **settings_for(name, cfg.dataset),
        **({"preprocess": cfg.preprocess} if cfg.dataset.startswith("npz:") else {})})
    mine, theirs = cfg.deviations(), pure.deviations()
    if cfg.configuration == name and mine != theirs:
        diff = ", ".join(f"{k}={mine.get(k)!r}" for k in sorted(set(mine) | set(theirs))
                         if mine.get(k) != theirs.get(k))
        raise ConfigError(f"`configuration` {name}: this run changes its settings ({diff}); "
                          + hint)


#: Fields that stalib 0.1.0 named otherwise, old -> new: a run's results label was its ``variant``.
#: Read in checkpoints and results files written by it.
RENAMED = {"variant": "configuration"}

_CONFIGURATION_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,39}")
#: Fields that do not change what a run computes or that place it in a grid: not "settings".
_NOT_SETTINGS = ("dataset", "model", "protocol", "fold", "val_fold", "seed", "device",
                 "checkpoint_every", "configuration")


@dataclass
class TrainConfig:
    """One training run: a model on one fold of one dataset with one seed."""

    dataset: str = "sbu"
    model: str = "sta-lstm"
    protocol: str | None = None  # None: the dataset's standard protocol
    fold: int = 1  # 1-based fold of the protocol
    val_fold: int | None = None  # inner validation: test on this fold, train on the others
    seed: int = 0
    n1: int = PAPER_N1  # Algorithm 1, N1
    n2: int = PAPER_N2  # Algorithm 1, N2
    batch_size: int | None = None  # None: PAPER_BATCH for the dataset, else 8
    lr: float = 1e-3  # Adam; the paper gives no rate, 1e-3 is Adam's own default
    lambda1: float | None = None  # eq. (7); None: the paper's value for the dataset
    lambda2: float | None = None
    lambda3: float | None = None
    grad_clip: float | None = None  # max gradient norm; the paper does not clip
    # --- training configuration beyond Algorithm 1 (defaults: the paper's, i.e. none of it) ---
    schedule: str = "staged"  # staged (the model's schedule: Algorithm 1) | joint (one stage)
    epochs: int | None = None  # one-stage schedules: epochs x ceil(n_train / batch) iterations
    lr_schedule: str = "constant"  # within each stage: constant | cosine | step (x0.1 at 1/2, 3/4)
    warmup: float = 0.0  # share of each stage's iterations with a linear warm-up of the rate
    weight_decay: float = 0.0  # weight decay when > 0 (see weight_decay_mode); the paper has none
    weight_decay_mode: str = "decoupled"  # decoupled (AdamW) | l2 (Adam's L2 on the gradient)
    l1_reading: str = "sum"  # eq. (7) 4th term: lambda3 * sum |w| (paper) or lambda3 * mean |w|
    device: str = "auto"  # auto | cpu | cuda
    bf16: bool = False  # bfloat16 autocast on CUDA
    checkpoint_every: int = 250  # iterations between checkpoints (and one per stage)
    model_overrides: dict = field(default_factory=dict)  # e.g. {"hidden": 100, "dropout": 0.5}
    augment_rotation: float = 0.0  # training batches turned by up to this many degrees about y
    augment_scale: float = 0.0  # and scaled by a factor in [1 - s, 1 + s] (stalib.data.augment)
    augment_crop: float = 0.0  # and cropped in time to a share in [1 - c, 1] of the frames
    augment_swap: bool = False  # and, for two-person data, persons swapped with probability 1/2
    # the crop's window stretched back to the sequence's length (crop-resize in time), not
    # shortened: with augment_crop, and the resample setting, every sequence keeps its frames
    augment_crop_resize: bool = False
    # the dataset's preprocessing, the fields that differ from its paper settings (the
    # *Preprocess dataclasses of stalib.data.transforms), e.g. {"smooth": None}; {}: the paper's
    preprocess: dict = field(default_factory=dict)
    # bad input files skipped, each named in the run's record, instead of stopping at the first
    # (stalib.data.registry.load_dataset's strict=False): the data is then not the whole dataset
    skip_bad: bool = False
    configuration: str | None = None  # results label; None: "paper" or "custom" (see the module)

    def __post_init__(self) -> None:
        self._check_place()
        self._check_numbers()
        self._check_choices()
        self._check_configuration()

    def _check_place(self) -> None:
        """The seed, the iteration counts and the protocol (one spelling: None is standard)."""
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or not (
                0 <= self.seed <= MAX_SEED):
            raise ConfigError(f"`seed`: a seed must be a whole number in 0..2**63-1 "
                              f"(numpy and torch refuse others), got {self.seed!r}")
        for name in ("n1", "n2"):
            if getattr(self, name) < 0:
                raise ConfigError(f"`{name}` must be >= 0, got {getattr(self, name)}")
        if self.n1 == 0 and self.n2 == 0 and self.epochs is None:
            raise ConfigError("`n1` 0 `n2` 0 trains 0 iterations: the model would be saved "
                              "untrained; give `n1` or `n2` > 0 (or `epochs`)")
        if self.protocol is not None:
            if self.protocol == standard_protocol(self.dataset):
                self.protocol = None  # one spelling per run: None is the standard protocol

    def _check_numbers(self) -> None:
        """Folds, batch size, rate, loss weights and clipping: in range."""
        if self.fold < 1:
            raise ConfigError(f"`fold` must be >= 1, got {self.fold}")
        # (a validation fold that is the test fold is refused where the splits are known,
        # stalib.experiment.fold_indices; on a one-split protocol val folds number its subjects)
        if self.val_fold is not None and self.val_fold < 1:
            raise ConfigError(f"`val_fold` must be >= 1, got {self.val_fold}")
        if self.batch_size is not None and self.batch_size < 1:
            raise ConfigError(f"`batch_size` must be >= 1, got {self.batch_size}")
        if not (math.isfinite(self.lr) and 0 < self.lr <= MAX_LR):
            raise ConfigError(f"`lr` must be a finite number > 0 and <= {MAX_LR:g} (larger "
                              f"steps overflow float32 in Adam), got {self.lr}")
        for name in ("lambda1", "lambda2", "lambda3"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value >= 0):
                raise ConfigError(f"`{name}` must be >= 0 (eq. 7 weights), got {value}")
        if self.grad_clip is not None and not (
                math.isfinite(self.grad_clip) and self.grad_clip > 0):
            raise ConfigError(f"`grad_clip` must be a finite number > 0 (the largest gradient "
                              f"norm; leave it out for no clipping), got {self.grad_clip}")

    def _check_choices(self) -> None:
        """The named choices, warm-up, decay, device, checkpoints, augmentation, preprocessing."""
        for name, value, choices in (("schedule", self.schedule, SCHEDULE_KINDS),
                                     ("lr_schedule", self.lr_schedule, LR_SCHEDULES),
                                     ("l1_reading", self.l1_reading, L1_READINGS),
                                     ("weight_decay_mode", self.weight_decay_mode,
                                      WEIGHT_DECAY_MODES)):
            if value not in choices:
                raise ConfigError(f"`{name}` must be one of {', '.join(choices)}, got {value!r}")
        if self.epochs is not None and (isinstance(self.epochs, bool) or not isinstance(
                self.epochs, int) or self.epochs < 1):
            raise ConfigError(f"`epochs` must be a whole number >= 1 (leave it out for N1/N2 "
                              f"iterations), got {self.epochs!r}")
        if not (math.isfinite(self.warmup) and 0.0 <= self.warmup < 1.0):
            raise ConfigError(f"`warmup` must be a share of a stage's iterations in [0, 1), got "
                              f"{self.warmup}")
        if not (math.isfinite(self.weight_decay) and self.weight_decay >= 0):
            raise ConfigError(f"`weight_decay` must be a finite number >= 0, got "
                              f"{self.weight_decay}")
        if self.weight_decay_mode != "decoupled" and self.weight_decay == 0:
            raise ConfigError(f"`weight_decay_mode` {self.weight_decay_mode} needs "
                              "`weight_decay` > 0 (without it there is no decay to apply)")
        if self.device not in ("auto", "cpu", "cuda") and not self.device.startswith("cuda:"):
            raise ConfigError(f"`device` must be auto, cpu or cuda, got {self.device!r}")
        if self.checkpoint_every < 1:
            raise ConfigError(f"`checkpoint_every` must be >= 1, got {self.checkpoint_every}")
        self.augmentation()  # checks the ranges
        if not isinstance(self.preprocess, dict):
            raise ConfigError(f"`preprocess` must be a dict of preprocessing settings, got "
                              f"{type(self.preprocess).__name__}")
        if self.preprocess:  # (a run of data the registry does not know, e.g. a SkeletonSet
            # handed to train_run, needs none) checks the fields and keeps one spelling: only
            # what differs from the dataset's paper settings
            self.preprocess = preprocess_changes(self.dataset, self.preprocess)

    def _check_configuration(self) -> None:
        """The configuration's name, and that a default configuration names the default settings."""
        if self.configuration is not None:
            name = self.configuration
            if not isinstance(name, str) or not _CONFIGURATION_NAME.fullmatch(name):
                raise ConfigError(f"`configuration` {name!r}: expected 1-40 lower-case letters, "
                                  "digits, '.', '_' or '-', starting with a letter or digit "
                                  "(e.g. l1-off)")
            default = default_configuration(self.dataset)
            if self.configuration in DEFAULT_CONFIGURATIONS and self.configuration != default:
                raise ConfigError(
                    f"`configuration` {self.configuration}: runs of {self.dataset} with the "
                    f"default settings are filed as {default!r} (the paper gives settings "
                    f"for {' and '.join(PAPER_DATASETS)} only; other data takes its SBU ones)")
            deviations = self.deviations() if self.configuration in DEFAULT_CONFIGURATIONS else {}
            if deviations:
                diff = ", ".join(f"{k}={v!r}" for k, v in deviations.items())
                raise ConfigError(f"`configuration` {self.configuration}: this run differs from "
                                  f"the defaults ({diff}); name it with another `configuration`")

    def deviations(self) -> dict:
        """The settings of this run that differ from the paper's, ``{field: value}``.

        Settings are every field but the run's place (dataset, model, protocol, fold, seed,
        val_fold), the device and checkpointing. ``None`` (the paper's value) and the paper's value
        written out are the same setting. ``l1_reading`` is a setting of the models that have eq.
        (7)'s L1 term (the LSTM family) only: it cannot change a CNN's or the linear model's run, so
        their rows of one configuration agree whichever reading they recorded.
        """
        paper = TrainConfig(dataset=self.dataset, model=self.model)
        lam = LossConfig.ntu() if self.dataset.startswith("ntu") else LossConfig.sbu()
        out = {}
        for f in dataclasses.fields(self):
            if f.name in _NOT_SETTINGS or (f.name == "l1_reading" and self.model not in PARTS):
                continue
            mine, theirs = getattr(self, f.name), getattr(paper, f.name)
            if f.name == "batch_size":
                mine, theirs = self.effective_batch_size, paper.effective_batch_size
            elif f.name.startswith("lambda"):
                mine = getattr(lam, f.name) if mine is None else mine
                theirs = getattr(lam, f.name)
            if mine != theirs:
                out[f.name] = mine
        return out

    def settings_hash(self) -> str:
        """8 hex digits of the sha256 of :meth:`deviations` (the settings that differ from the
        paper's): runs of one unnamed configuration share it, runs of two do not, so their run
        folders (``<model>@custom-<hash>``) never meet."""
        blob = json.dumps(self.deviations(), sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:8]

    def augmentation(self):
        """The :class:`stalib.data.augment.Augment` of this run's training batches."""
        return Augment(self.augment_rotation, self.augment_scale, self.augment_crop,
                       self.augment_swap, self.augment_crop_resize)

    @property
    def configuration_name(self) -> str:
        """The configuration its results are filed under: ``configuration``, else custom, or with
        every default :func:`default_configuration` (paper, or sbu-settings for data the paper
        lacks)."""
        if self.configuration is not None:
            return self.configuration
        return CUSTOM_CONFIGURATION if self.deviations() else default_configuration(self.dataset)

    @property
    def effective_batch_size(self) -> int:
        if self.batch_size is not None:
            return self.batch_size
        return PAPER_BATCH.get(self.dataset, 8)

    def same_run(self, saved: dict) -> bool:
        """Whether ``saved`` (a ``to_dict()`` written earlier, perhaps by an older version that
        lacked some fields, which then had their defaults) describes this configuration."""
        try:
            return TrainConfig.from_dict(saved) == self
        except (ConfigError, TypeError):
            return False

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def named(cls, name: str, dataset: str = "sbu", model: str = "sta-lstm",
                    **place) -> TrainConfig:
        """The named configuration ``name`` (:data:`CONFIGURATIONS`) of ``model`` on ``dataset``,
        filed under its name; ``place`` sets what places a run without changing its settings (fold,
        seed, val_fold, protocol, device, checkpoint_every). A setting that changes the
        configuration would file it under a name that is not its own: refused (build the
        configuration with ``TrainConfig(...)`` and a ``configuration`` name of its own instead)."""
        changed = sorted(set(place) - set(_NOT_SETTINGS) | ({"configuration"} & set(place)))
        if changed:
            raise ConfigError(f"TrainConfig.named({name!r}): {', '.join(changed)} would "
                              "change the named configuration; build TrainConfig(...) with a "
                              "configuration name of its own")
        cfg = cls(dataset=dataset, model=model, configuration=name,
                  **settings_for(name, dataset), **place)
        check_configuration(name, cfg)
        return cfg

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        """The configuration ``d`` (:meth:`to_dict`), also as an older stalib wrote it: its fields
        of other names (:data:`RENAMED`) under today's."""
        d = {RENAMED.get(k, k): v for k, v in d.items()}
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ConfigError(f"unknown TrainConfig fields: {sorted(unknown)}")
        return cls(**d)
