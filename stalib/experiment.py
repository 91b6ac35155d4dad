"""One experiment = one model trained on one fold with one seed, and its results record.

This is the glue the CLI (``stalib train``, ``stalib cv``) and the notebooks call: it loads the
dataset through :mod:`stalib.data`, builds the model and its loss, runs the schedule of
:mod:`stalib.train`, saves the final model and metrics into the run folder and appends a row to
``results/<dataset>/cv.csv``.

Run folder layout (``out``)::

    checkpoint.pt   training state (model, optimizer, stage position, random generators)
    model.pt        the final model with what is needed to rebuild it (see :func:`load_model`)
    metrics.json    accuracy, iterations, wall time, loss history, the configuration
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from stalib import determinism
from stalib.checkpoint import atomic_torch_save, write_json_atomic
from stalib.config import TrainConfig, fit_to_data
from stalib.data.core import SkeletonSet
from stalib.data.npz import content_sha256
from stalib.data.registry import (
    get_splits,
    load_dataset,
    preprocess_changes,
    preprocess_settings,
    standard_protocol,
)
from stalib.errors import ConfigError, StalibError
from stalib.loss import LossConfig, sta_loss
from stalib.models import build_model, check_model_name
from stalib.models.sta_lstm import PARTS
from stalib.results import (
    RESULTS_FILES,
    RunRecord,
    append_record,
    encode_correct,
    has_record,
    package_versions,
    params_json,
    read_records,
    run_commit,
    utc_now,
)
from stalib.train import train_run


def dataset_key(name: str) -> str:
    """The name a dataset's results are filed under (``npz:path/to/x.npz`` -> ``npz-x``)."""
    return f"npz-{Path(name[4:]).stem}" if name.startswith("npz:") else name


def protocol_of(cfg: TrainConfig) -> str:
    """The run's protocol: its own, or the dataset's standard one (for an npz: from its arrays,
    :func:`stalib.data.registry.default_protocol`)."""
    # data the registry does not know (a SkeletonSet given to train_run): 5-fold by group
    return cfg.protocol or standard_protocol(cfg.dataset) or "5fold"


def record_protocol(cfg: TrainConfig, protocol: str | None = None) -> str:
    """The protocol a results row names: ``5fold``, or ``5fold:val2`` for an inner-validation
    run (``--val-fold 2``); ``protocol``: the run's, when already resolved (:class:`Run`)."""
    return (protocol or protocol_of(cfg)) + ("" if cfg.val_fold is None else f":val{cfg.val_fold}")


def record_key(cfg: TrainConfig, protocol: str | None = None) -> tuple:
    """The key of ``cfg``'s results row, :data:`stalib.results.KEY`: ``(dataset, protocol,
    configuration, model, fold, seed)``."""
    return (dataset_key(cfg.dataset), record_protocol(cfg, protocol), cfg.configuration_name,
            cfg.model, cfg.fold, cfg.seed)


def results_file(results_dir: str | Path, cfg: TrainConfig) -> Path:
    """``<results>/<dataset>/cv.csv``, or ``validation.csv`` for an inner-validation run."""
    test, validation = RESULTS_FILES
    return Path(results_dir) / dataset_key(cfg.dataset) / (test if cfg.val_fold is None
                                                           else validation)


def dataset_identity(cfg: TrainConfig) -> dict:
    """What identifies a run's data beyond its name: for an ``npz:`` dataset (filed by its
    file's stem, :func:`dataset_key`) the sha256 of the file's content as stored
    (:func:`stalib.data.npz.content_sha256`: before preprocessing and ``--skip-bad``, which are
    settings of the run, recorded as such), ``{"data_sha256": ...}``; else nothing."""
    if not cfg.dataset.startswith("npz:"):
        return {}

    path = Path(cfg.dataset[4:]).expanduser()
    if not path.is_file():  # data handed over in memory (run_experiment(data=...)): no file
        return {}
    return {"data_sha256": content_sha256(path)}


def check_dataset_identity(results_csv: Path, cfg: TrainConfig, identity: dict) -> None:
    """Refuse to file ``cfg``'s run in ``results_csv`` when that file holds runs of another
    ``npz:`` dataset of the same file name (other content; ``identity``:
    :func:`dataset_identity` of the run's data): ``a/x.npz`` and ``b/x.npz`` both file under
    ``npz-x``, and a ``--resume`` would take one's rows for the other's."""
    mine = identity.get("data_sha256")
    if mine is None:
        return

    for i, row in enumerate(read_records(results_csv), 2):
        try:
            theirs = json.loads(row["params"])
        except json.JSONDecodeError:
            continue
        if theirs.get("data_sha256", mine) != mine:
            other = str(theirs.get("train", {}).get("dataset", "?"))[4:]
            raise StalibError(
                f"{cfg.dataset[4:]}: its content (sha256 {mine[:12]}) is not that of {other} "
                f"(sha256 {theirs['data_sha256'][:12]}), whose runs {results_csv} holds (line "
                f"{i}) under the same name npz-{Path(cfg.dataset[4:]).stem}; the file changed "
                "since, or two files share a name: rename one, or use another `results` folder")


def loss_config(cfg: TrainConfig) -> LossConfig:
    """Eq. (7) weights: the paper's NTU values for NTU, its SBU values otherwise, then overrides."""
    base = LossConfig.ntu() if cfg.dataset.startswith("ntu") else LossConfig.sbu()
    return LossConfig(
        cfg.lambda1 if cfg.lambda1 is not None else base.lambda1,
        cfg.lambda2 if cfg.lambda2 is not None else base.lambda2,
        cfg.lambda3 if cfg.lambda3 is not None else base.lambda3,
        cfg.l1_reading,
    )


def make_loss(cfg: TrainConfig):
    """``loss_fn(model, out, batch) -> dict`` for the trainer.

    The Fig. 7 models: eq. (7) with the model's regularizers. CNN models:
    cross-entropy plus the model's own attention regularizer when it has one (documented in
    :mod:`stalib.models.csta`).
    """
    if cfg.model in PARTS:
        lc, v = loss_config(cfg), PARTS[cfg.model]

        def loss_fn(model, out, batch):
            terms = sta_loss(out, batch.labels, batch.mask, lc, model.weight_matrices(),
                             use_alpha_reg=v.use_alpha_reg, use_beta_reg=v.use_beta_reg)
            return {"total": terms.total, "ce": terms.ce.detach(), "alpha_reg":
                    terms.alpha_reg.detach(), "beta_reg": terms.beta_reg.detach(),
                    "l1": terms.l1.detach()}

        return loss_fn

    def cnn_loss(model, out, batch):
        ce = F.cross_entropy(out.logits, batch.labels)
        reg = model.attention_regularizer() if hasattr(model, "attention_regularizer") else None
        total = ce if reg is None else ce + reg
        terms = {"total": total, "ce": ce.detach()}
        if reg is not None:
            terms["att_reg"] = reg.detach()
        return terms

    return cnn_loss


@lru_cache(maxsize=4)
def _load(name: str, data_root: str | None, preprocess: str, strict: bool) -> SkeletonSet:
    return load_dataset(name, data_root, strict=strict,
                        preprocess=preprocess_settings(name, json.loads(preprocess)))


def load_data(name: str, data_root: str | Path | None,
              preprocess: Mapping[str, Any] | None = None, skip_bad: bool = False
              ) -> SkeletonSet:
    """The dataset, loaded once per process (``stalib cv`` trains many folds on it), with its
    paper preprocessing changed by ``preprocess`` (a run's ``TrainConfig.preprocess``; any
    spelling of the same setting shares one load); ``skip_bad``: bad files skipped (listed in
    ``SkeletonSet.skipped``) instead of an error at the first."""
    changes = preprocess_changes(name, preprocess) if preprocess else {}
    return _load(name, None if data_root is None else str(data_root),
                 json.dumps(changes, sort_keys=True), not skip_bad)


def load_data_for(cfg: TrainConfig, data_root: str | Path | None) -> SkeletonSet:
    """The dataset of run ``cfg``, preprocessed as that run is."""
    return load_data(cfg.dataset, data_root, cfg.preprocess, cfg.skip_bad)


def fold_indices(cfg: TrainConfig, data: SkeletonSet, protocol: str | None = None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """The training and test (or inner-validation) indices of ``cfg``'s fold of ``data``;
    ``protocol``: the run's, when already resolved."""
    protocol = protocol or protocol_of(cfg)
    splits = get_splits(cfg.dataset, data, protocol)
    if not 1 <= cfg.fold <= len(splits):
        raise ConfigError(
            f"`fold` {cfg.fold} is out of range: {cfg.dataset} {protocol} has "
            f"{len(splits)} fold(s), numbered 1..{len(splits)}"
        )
    split = splits[cfg.fold - 1]
    if cfg.val_fold is None:
        return np.asarray(split.train), np.asarray(split.test)
    # Inner validation for choosing settings without the test fold: train on the outer fold's
    # training part minus the validation fold's test part, evaluate on the latter.
    if len(splits) == 1:  # one fixed split (cross-subject): its training groups in turn
        groups = inner_groups(data, split)
        if not 1 <= cfg.val_fold <= len(groups):
            raise ConfigError(f"`val_fold` {cfg.val_fold} is out of range 1..{len(groups)} for "
                              f"{cfg.dataset} {protocol} (one per training group: "
                              f"{', '.join(groups)})")
        train = np.asarray(split.train)
        held = np.asarray(data.groups)[train] == groups[cfg.val_fold - 1]
        return train[~held], train[held]
    if not 1 <= cfg.val_fold <= len(splits):
        raise ConfigError(f"`val_fold` {cfg.val_fold} is out of range 1..{len(splits)} for "
                          f"{cfg.dataset} {protocol}")
    val = np.asarray(splits[cfg.val_fold - 1].test)
    if np.isin(val, split.test).any():
        raise ConfigError(f"`val_fold` {cfg.val_fold} overlaps the test part of `fold` "
                          f"{cfg.fold}: choose a validation fold other than the test fold")
    return np.setdiff1d(np.asarray(split.train), val), val


def inner_groups(data: SkeletonSet, split) -> list[str]:
    """The groups (subjects) of a fixed split's training part, sorted: the inner-validation
    folds of a one-split protocol (UTKinect cross-subject: its five training subjects), each
    held out in turn, so settings are chosen on the training subjects alone."""
    return sorted({str(g) for g in np.asarray(data.groups)[np.asarray(split.train)]})


def validation_folds(cfg: TrainConfig, data: SkeletonSet) -> list[tuple[int, int]]:
    """The (test fold, validation fold) pairs of ``stalib cv --validation`` for ``cfg``'s
    protocol: each fold k with fold k+1 (1 after the last) on a k-fold protocol; on a one-split
    protocol, its one fold with each training group in turn (:func:`inner_groups`)."""
    splits = get_splits(cfg.dataset, data, protocol_of(cfg))
    if len(splits) == 1:
        return [(1, j) for j in range(1, len(inner_groups(data, splits[0])) + 1)]
    return [(k, k % len(splits) + 1) for k in range(1, len(splits) + 1)]


def num_folds(cfg: TrainConfig, data: SkeletonSet) -> int:
    return len(get_splits(cfg.dataset, data, protocol_of(cfg)))


def checked_folds(cfg: TrainConfig, data: SkeletonSet, folds: list[int] | None) -> list[int]:
    """``folds`` (None: every fold of the protocol), each checked against the protocol's range
    before anything trains: a one-line ``--folds`` error names the first one outside it."""
    n = num_folds(cfg, data)
    for f in folds or []:
        if not 1 <= f <= n:
            raise ConfigError(f"`folds`: fold {f} out of range 1..{n} for {cfg.dataset} "
                              f"{protocol_of(cfg)}")
    return list(folds) if folds else list(range(1, n + 1))


def new_model(cfg: TrainConfig, data: SkeletonSet) -> torch.nn.Module:
    check_model_name(cfg.model)
    torch.manual_seed(cfg.seed)  # Algorithm 1 step 1: the Gaussian initialisation is seeded
    return build_model(cfg.model, data.num_joints, data.num_classes, data.persons,
                       **cfg.model_overrides)


@dataclass(frozen=True)
class Run:
    """One run resolved once, at its start, from its settings and its data: what the model,
    the trainer and the results row read, so that none of them goes back to the registry.
    :func:`resolve` makes it; :func:`run_experiment` trains it."""

    cfg: TrainConfig  # the settings, fitted to the data (:func:`stalib.config.fit_to_data`)
    data: SkeletonSet
    protocol: str  # the protocol's name (:func:`protocol_of`)
    train_idx: np.ndarray  # the fold's training sequences (:func:`fold_indices`)
    test_idx: np.ndarray  # its test (or inner-validation) sequences
    preprocessing: str  # what was applied to the data, in words
    identity: dict  # the content hash of an npz file (:func:`dataset_identity`), else {}

    @property
    def key(self) -> tuple:
        """The key of the run's results row (:func:`record_key`)."""
        return record_key(self.cfg, self.protocol)

    def settings(self, model: torch.nn.Module) -> dict:
        """The ``params`` of the run's results row: the settings and what they resolved to."""
        cfg = self.cfg
        return {"train": cfg.to_dict(), "protocol": self.protocol,
                "dataset_name": self.data.name, **self.identity,
                **({"skipped": list(self.data.skipped)} if cfg.skip_bad else {}),
                "preprocessing": self.preprocessing,
                "loss": asdict(loss_config(cfg))
                if cfg.model in PARTS else "cross-entropy (+ model attention regularizer)",
                "model_config": model_config(model)}


def resolve(cfg: TrainConfig, data_root: str | Path | None = None,
            data: SkeletonSet | None = None) -> Run:
    """``cfg`` resolved against its data (loaded from ``data_root`` unless given): the fold's
    indices, the protocol, the preprocessing and the data's identity, each worked out once."""
    data = data if data is not None else load_data_for(cfg, data_root)
    cfg = fit_to_data(cfg, data.persons)  # a configuration's person swap on one-person data
    protocol = protocol_of(cfg)
    train_idx, test_idx = fold_indices(cfg, data, protocol)
    return Run(cfg, data, protocol, train_idx, test_idx,
               preprocess_settings(cfg.dataset, cfg.preprocess).describe(),
               dataset_identity(cfg))


@dataclass
class Experiment:
    record: RunRecord
    model: torch.nn.Module
    out: Path


def run_experiment(
    cfg: TrainConfig,
    out: Path,
    data_root: str | Path | None = None,
    results_dir: Path | None = None,
    resume: bool = False,
    force: bool = False,
    progress: bool = True,
    data: SkeletonSet | None = None,
    stop_after: int | None = None,
    native: bool | None = None,
) -> Experiment:
    """Train ``cfg`` on its fold, save the run folder ``out`` and (optionally) a results row.

    A run that writes a row (``results_dir``) runs in the portable deterministic mode
    (:mod:`stalib.determinism`), checked before it trains: outside it the run is refused, unless
    ``native`` (the machine's own kernels and threads, which the row says; None: as the process
    was started, :func:`stalib.determinism.native_requested`)."""
    if native is None:
        native = determinism.native_requested()
    out = Path(out)
    run = resolve(cfg, data_root, data)
    cfg, data, key = run.cfg, run.data, run.key
    model = new_model(cfg, data)
    results_csv = None
    if results_dir is None:
        mode = determinism.current(cfg.device).text()
    else:
        mode = determinism.row_mode(cfg.device, native)
        results_csv = results_file(results_dir, cfg)
        check_dataset_identity(results_csv, cfg, run.identity)
        if has_record(results_csv, key, determinism.word(mode)) and not force:
            raise StalibError(f"{results_csv}: a result for {key} exists already "
                              f"({determinism.word(mode)} mode); use `force` to replace it")
    checkpoint = out / "checkpoint.pt"
    if checkpoint.exists() and not resume and not force:
        raise StalibError(f"{checkpoint} exists: pass `resume` to continue it or `force` to "
                          "start again")
    if force and not resume and checkpoint.exists():
        checkpoint.unlink()
    res = train_run(cfg, model, make_loss(cfg), data, run.train_idx, run.test_idx,
                    checkpoint=checkpoint, resume=resume, progress=progress, stop_after=stop_after)
    settings = run.settings(model)
    dataset, protocol, configuration, _, fold, seed = key
    record = RunRecord(
        dataset=dataset, model=cfg.model, fold=fold, protocol=protocol,
        configuration=configuration, seed=seed, accuracy=round(res.accuracy, 6),
        train_accuracy=round(res.train_accuracy, 6), n_test=len(run.test_idx),
        n_train=len(run.train_idx),
        iterations=res.iterations, wall_time_s=round(res.wall_time_s, 2), device=res.device,
        git_commit=run_commit(res.trained_by), timestamp=utc_now(),
        params=params_json(settings),
        versions=params_json(package_versions()),
        test_correct="" if res.test_correct is None else encode_correct(res.test_correct),
        determinism=mode,
    )
    save_model(out / "model.pt", cfg, model, data)
    write_json_atomic({**asdict(record), "params": settings, "history": res.history,
                       "trained_by": res.trained_by},
                      out / "metrics.json")
    if results_csv is not None:
        append_record(results_csv, record, replace=force)
    return Experiment(record, model, out)


def model_config(model: torch.nn.Module) -> dict:
    cfg = getattr(model, "config", None)
    return asdict(cfg) if cfg is not None else {}


def save_model(path: Path, cfg: TrainConfig, model: torch.nn.Module, data: SkeletonSet) -> None:
    """The final model and everything :func:`load_model` needs to rebuild it."""
    atomic_torch_save({
        "format": "stalib-model-1", "model": cfg.model, "train_config": cfg.to_dict(),
        "model_config": model_config(model),
        "main_layers": getattr(model, "main_layers", None),
        "num_joints": data.num_joints, "num_classes": data.num_classes,
        "persons": data.persons, "joints_per_person": data.joints_per_person,
        "class_names": list(data.class_names), "dataset": cfg.dataset, "dataset_name": data.name,
        "state_dict": model.state_dict(),
    }, path)


def load_model(path: str | Path, device: str = "cpu") -> tuple[torch.nn.Module, dict]:
    """Rebuild a model saved by :func:`save_model`; returns ``(model in eval mode, metadata)``."""
    path = Path(path)
    hint = "expected the model.pt that stalib train / cv write into the run folder (--out)"
    if not path.is_file():
        what = "not a file" if path.exists() else "no such file"
        raise StalibError(f"{path}: {what}; {hint}")
    try:
        # weights_only: a model file is data (dicts, lists, strings, tensors); never run code.
        # torch warns about odd pickle protocols of foreign files: the error below says it all.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            meta = torch.load(path, map_location=device, weights_only=True)
    except Exception as err:  # noqa: BLE001 - torch.load of foreign bytes raises anything
        # (UnpicklingError, RuntimeError, EOFError, OSError, even IndexError on some garbage)
        raise StalibError(f"{path}: not a readable stalib model file "
                          f"({err.__class__.__name__}); {hint}") from None
    if not isinstance(meta, dict) or meta.get("format") != "stalib-model-1":
        raise StalibError(f"{path}: not a stalib model file; {hint}")
    try:
        overrides = dict(meta["train_config"].get("model_overrides", {}))
        model = build_model(meta["model"], meta["num_joints"], meta["num_classes"],
                            meta["persons"], **overrides)
        if meta.get("main_layers") is not None:
            model.set_main_layers(meta["main_layers"])
        if hasattr(type(model), "spatial_enabled"):
            model.spatial_enabled = PARTS[meta["model"]].spatial
            model.temporal_enabled = PARTS[meta["model"]].temporal
        model.load_state_dict(meta["state_dict"])
    except (KeyError, TypeError, AttributeError, ValueError, RuntimeError) as err:
        raise StalibError(f"{path}: a damaged stalib model file ({err.__class__.__name__}: "
                          f"{str(err).splitlines()[0] if str(err) else ''}); {hint}") from None
    model.to(device).eval()
    return model, meta


def read_metrics(out: Path) -> dict:
    return json.loads((Path(out) / "metrics.json").read_text())


def trained_model(
    cfg: TrainConfig, out: Path, data_root: str | Path | None = None, progress: bool = False,
) -> tuple[torch.nn.Module, dict]:
    """The model of ``cfg`` from the run folder ``out``: loaded when a run with exactly this
    configuration finished there (e.g. by ``stalib cv``), trained there otherwise (resuming an
    interrupted run). No results row is written. Returns ``(model in eval mode, metadata)``."""
    out = Path(out)
    model_file = out / "model.pt"
    if model_file.exists():
        model, meta = load_model(model_file)
        if cfg.same_run(meta["train_config"]):
            return model, meta
        raise StalibError(f"{model_file} was trained with another configuration; "
                          "choose another run folder")
    run_experiment(cfg, out, data_root, results_dir=None, resume=True, progress=progress)
    return load_model(model_file)
