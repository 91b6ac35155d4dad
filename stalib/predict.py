"""Classify skeleton files with a trained model (``stalib predict``) and draw its attention.

The file is read with the reader of the dataset the model was trained on and preprocessed as
the model's training data was (the dataset's paper settings, changed by the run's
``TrainConfig.preprocess``):

* ``sbu``: one ``skeleton_pos.txt``;
* ``utkinect``: one ``joints_sSS_eEE.txt`` (the whole recording is one sequence);
* ``ntu60``: one ``.skeleton`` file;
* ``npz:...``: an ``.npz`` in stalib's format (every sequence in it is classified).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from stalib.data.core import apply_transform
from stalib.data.registry import dataset_kind, preprocess_settings
from stalib.errors import ConfigError, FormatError, StalibError


def read_for_model(path: str | Path, dataset: str, preprocess: Mapping[str, Any] | None = None,
                   ) -> list[tuple[str, np.ndarray]]:
    """``[(name, (T, K, 3) preprocessed sequence)]`` read from ``path`` as ``dataset`` data,
    preprocessed with the dataset's settings changed by ``preprocess``."""
    path = Path(path)
    if not path.is_file():
        what = "a folder; give one skeleton file" if path.is_dir() else "no such file"
        raise StalibError(f"{path}: {what}")
    kind = dataset_kind(dataset)
    transform = preprocess_settings(dataset, preprocess).build()
    if kind == "sbu":
        from stalib.data.sbu import read_sbu_file

        return [(path.name, apply_transform(transform, read_sbu_file(path), path))]
    if kind == "utkinect":
        from stalib.data.utkinect import read_joints_file

        _, joints = read_joints_file(path)
        return [(path.name, apply_transform(transform, joints, path))]
    if kind == "ntu60":
        from stalib.data.ntu import load_skeleton

        seq, _ = load_skeleton(path, transform=transform)
        return [(path.name, seq)]
    from stalib.data.npz import load_npz

    data = load_npz(path)
    return [(str(data.names[i]), apply_transform(transform, np.array(data[i]), path))
            for i in range(len(data))]


@torch.no_grad()
def classify(model: torch.nn.Module, seq: np.ndarray, device: str = "cpu"):
    """``(probabilities (C,), alpha (T, K) or None, beta (T,) or None)`` for one sequence."""
    x = torch.as_tensor(seq, dtype=torch.float32, device=device)[None]
    mask = torch.ones(x.shape[:2], dtype=torch.bool, device=device)
    out = model(x, mask)
    prob = torch.softmax(out.logits.float(), dim=1)[0].cpu().numpy()
    alpha = None if out.alpha is None else out.alpha[0].float().cpu().numpy()
    beta = None if out.beta is None else out.beta[0].float().cpu().numpy()
    return prob, alpha, beta


def predict_file(checkpoint: str | Path, file: str | Path, top: int = 5, plot: str | None = None,
                 device: str = "cpu") -> int:
    """Print the ``top`` classes of every sequence in ``file``; optionally draw the attention."""
    from stalib.experiment import load_model
    from stalib.outputs import check_file, check_model_file, plot_suffixes

    if top < 1:
        raise ConfigError(f"--top must be >= 1, got {top}")
    if plot:  # before any work: a bad --plot fails now, not after the prediction is printed
        check_file(plot, "--plot", plot_suffixes())
    check_model_file(checkpoint)
    model, meta = load_model(checkpoint, device=device)
    sequences = read_for_model(file, meta["dataset"],
                               meta.get("train_config", {}).get("preprocess"))
    for name, seq in sequences:
        if seq.shape[1] != meta["num_joints"]:
            raise FormatError(file, f"{seq.shape[1]} joints per frame, the model expects "
                              f"{meta['num_joints']}")
        prob, alpha, beta = classify(model, seq, device)
        order = np.argsort(-prob)[:top]
        print(f"{name} ({len(seq)} frames), model {meta['model']} trained on {meta['dataset']}:")
        for rank, c in enumerate(order, 1):
            print(f"  {rank}. {meta['class_names'][c]:<24s} {100 * prob[c]:6.2f}%")
        if plot:
            _plot(plot, seq, alpha, beta, meta, f"{name}: {meta['class_names'][order[0]]}")
            plot = None  # one figure: the first sequence
    return 0


def _plot(out: str, seq, alpha, beta, meta: dict, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from stalib.report import plots

    layout = meta["dataset"] if meta["dataset"] in ("sbu", "utkinect", "ntu60") else None
    if alpha is None and beta is None:
        raise ConfigError(f"--plot: model {meta['model']} has no attention to draw")
    fig = plots.plot_attention_summary(seq, alpha, beta, layout, title=title)
    fig.savefig(out, dpi=120)
    drawn = " and ".join(n for n, v in (("alpha", alpha), ("beta", beta)) if v is not None)
    print(f"attention ({drawn}) drawn to {out}")
