"""Classify skeleton files with a trained model (``stalib predict``) and draw its attention.

The file is read with the reader of the dataset the model was trained on and prepared as the
model's training sequences were (the dataset's settings changed by the run's
``TrainConfig.preprocess``, the configuration's resampling included: one function,
:meth:`stalib.data.transforms._Settings.prepare`, for both):

* ``sbu``: one ``skeleton_pos.txt``;
* ``utkinect``: one ``joints_sSS_eEE.txt`` (the whole recording is one sequence);
* ``nwucla``: one ``.json``; ``utdmhad``: one ``.mat``;
* ``ntu60``: one ``.skeleton`` file;
* ``npz:...``: an ``.npz`` in stalib's format (every sequence in it is classified; its labels,
  when it has the model's classes, give the accuracy and the commonest confusions).

A long recording (a raw UTKinect file holds ten actions) is one sequence to the model: with
``window`` (and ``stride``) it is classified window by window, each window prepared from its own
raw rows as a training sequence is (its first frame gives the origin and the view), and
consecutive windows of the same top class are printed as one segment, in the file's own frame
numbers (UTKinect's frame-number column, SBU's frame index; rows elsewhere). With labels (a
UTKinect recording's ``actionLabel.txt`` beside it, an npz's ``labels``) the share of windows
right is printed too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from stalib import plots
from stalib.data.npz import load_npz
from stalib.data.ntu import load_skeleton
from stalib.data.nwucla import read_nwucla_file
from stalib.data.registry import dataset_kind, preprocess_settings
from stalib.data.sbu import read_sbu_first_frame
from stalib.data.utdmhad import read_utdmhad_file
from stalib.data.utkinect import DEFAULT_LABEL_FILE, parse_label_file, read_joints_file
from stalib.errors import ConfigError, FormatError, StalibError
from stalib.experiment import load_model
from stalib.outputs import check_file, check_model_file, plot_suffixes
from stalib.train import resolve_device


@dataclass
class Recording:
    """One sequence of a file as read, before preprocessing: ``raw`` ``(T, K, 3)``,
    ``frame_numbers`` ``(T,)`` (the file's own frame numbers where its format has them: UTKinect's
    frame-number column, SBU's frame index; else row numbers from 0) and ``numbered``, which of
    the two they are."""

    name: str
    raw: np.ndarray
    frame_numbers: np.ndarray
    numbered: bool


def _rows(name: str, raw: np.ndarray) -> Recording:
    return Recording(name, raw, np.arange(len(raw)), False)


def read_raw(path: str | Path, dataset: str) -> list[Recording]:
    """The sequences of ``path`` read as ``dataset`` files are, before preprocessing."""
    path = Path(path)
    if not path.is_file():
        what = "a folder; give one skeleton file" if path.is_dir() else "no such file"
        raise StalibError(f"{path}: {what}")
    kind = dataset_kind(dataset)
    if kind == "sbu":
        first, raw = read_sbu_first_frame(path)
        return [Recording(path.name, raw, first + np.arange(len(raw)), True)]
    if kind == "utkinect":
        numbers, joints = read_joints_file(path)
        return [Recording(path.name, joints, numbers, True)]
    if kind == "nwucla":
        return [_rows(path.name, read_nwucla_file(path)[1])]
    if kind == "utdmhad":
        return [_rows(path.name, read_utdmhad_file(path))]
    if kind == "ntu60":
        return [_rows(path.name, load_skeleton(path)[0])]

    data = load_npz(path)
    return [_rows(str(data.names[i]), np.array(data[i])) for i in range(len(data))]


def read_for_model(path: str | Path, dataset: str, preprocess: Mapping[str, Any] | None = None,
                   ) -> list[tuple[str, np.ndarray]]:
    """``[(name, (T, K, 3) sequence)]`` read from ``path`` as ``dataset`` data and prepared as
    the model's training sequences were (the dataset's settings changed by ``preprocess``:
    :meth:`~stalib.data.transforms._Settings.prepare`, resampling included)."""
    settings = preprocess_settings(dataset, preprocess)
    return [(r.name, settings.prepare(r.raw, path)) for r in read_raw(path, dataset)]


def window_truth(path: str | Path, dataset: str, recording: Recording, index: int,
                 spans: list[tuple[int, int]], class_names: list[str],
                 npz_truth: list[int] | None) -> list[int | None] | None:
    """The true class of each window (None: in no labelled segment), or None when the file has
    no labels: an npz's label of the sequence; for a UTKinect recording, the segment of the
    ``actionLabel.txt`` beside it that holds the window's middle frame number (a window in two
    overlapping segments, or in none, is unlabelled)."""
    if npz_truth is not None:
        return [npz_truth[index]] * len(spans)
    if dataset_kind(dataset) != "utkinect":
        return None

    label_path = Path(path).parent / DEFAULT_LABEL_FILE
    match = re.fullmatch(r"joints_(s\d\d_e\d\d)\.txt", Path(path).name)
    if match is None or not label_path.is_file():
        return None
    entries = parse_label_file(label_path).get(match.group(1), {})
    out: list[int | None] = []
    for a, b in spans:
        mid = recording.frame_numbers[(a + b - 1) // 2]
        hits = [seg.action for seg in entries.values()
                if seg is not None and seg.start <= mid <= seg.end]
        out.append(class_names.index(hits[0]) if len(hits) == 1 and hits[0] in class_names
                   else None)
    return out


def npz_labels(path: str | Path, class_names: list[str]) -> list[int] | None:
    """The labels of an ``.npz`` file when its classes are the model's (same names, or labels
    within the model's classes when the file names none), else None."""
    data = load_npz(path)
    if list(data.class_names) == list(class_names) or (
            data.class_names == [str(c) for c in range(len(data.class_names))]
            and len(data.class_names) <= len(class_names)):
        return [int(x) for x in data.labels]
    return None


def windows(length: int, window: int, stride: int) -> list[tuple[int, int]]:
    """``[(start, end)]`` of the windows of ``window`` frames every ``stride`` frames over a
    sequence of ``length`` frames, the last one ending at the last frame (a sequence no longer
    than the window is one window)."""
    if length <= window:
        return [(0, length)]
    starts = list(range(0, length - window + 1, stride))
    if starts[-1] + window < length:
        starts.append(length - window)
    return [(a, a + window) for a in starts]


def segments(spans: list[tuple[int, int]], classes: list[int], probs: list[float]
             ) -> list[tuple[int, int, int, float]]:
    """Consecutive windows of one top class merged: ``[(first frame, last frame + 1, class,
    mean probability of the class over its windows)]``."""
    out: list[list] = []
    for (a, b), c, pr in zip(spans, classes, probs, strict=True):
        if out and out[-1][2] == c:
            out[-1][1] = b
            out[-1][3].append(pr)
        else:
            out.append([a, b, c, [pr]])
    return [(a, b, c, float(np.mean(ps))) for a, b, c, ps in out]


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
                 device: str = "cpu", window: int | None = None, stride: int | None = None,
                 index: int = 0) -> int:
    """Print the ``top`` classes of every sequence in ``file`` (window by window with
    ``window``); on an npz with the model's classes its accuracy and commonest confusions;
    optionally draw the attention of sequence ``index``."""
    if top < 1:
        raise ConfigError(f"`top` must be >= 1, got {top}")
    if window is not None and window < 2:
        raise ConfigError(f"`window` must be >= 2 frames, got {window}")
    if stride is not None and (window is None or stride < 1):
        raise ConfigError("`stride` needs `window`, and must be >= 1")
    if plot:  # before any work: a bad --plot fails now, not after the prediction is printed
        check_file(plot, "--plot", plot_suffixes())
    check_model_file(checkpoint)

    device = str(resolve_device(device))  # a missing CUDA is said so, not blamed on the model
    model, meta = load_model(checkpoint, device=device)
    settings = preprocess_settings(meta["dataset"], meta.get("train_config", {}).get("preprocess"))
    recordings = read_raw(file, meta["dataset"])
    if not 0 <= index < len(recordings):
        raise ConfigError(f"`index` {index}: {file} holds {len(recordings)} sequence(s), "
                          f"numbered 0..{len(recordings) - 1}")
    names = meta["class_names"]
    truth = (npz_labels(file, names) if str(file).endswith(".npz") else None)
    predicted = []
    for i, rec in enumerate(recordings):
        if rec.raw.shape[1] != meta["num_joints"]:
            raise FormatError(file, f"{rec.raw.shape[1]} joints per frame, the model expects "
                              f"{meta['num_joints']}")
        seq = settings.prepare(rec.raw, file)
        prob, alpha, beta = classify(model, seq, device)
        order = np.argsort(-prob)[:top]
        predicted.append(int(order[0]))
        label = f", true class {names[truth[i]]}" if truth is not None else ""
        print(f"{rec.name} ({len(rec.raw)} frames{label}), model {meta['model']} trained on "
              f"{meta['dataset']}:")
        for rank, c in enumerate(order, 1):
            print(f"  {rank}. {names[c]:<24s} {100 * prob[c]:6.2f}%")
        if window is not None and len(rec.raw) > window:
            step = stride or max(1, window // 2)
            spans = windows(len(rec.raw), window, step)
            _by_window(model, rec, settings, file, spans, window, step, device, names,
                       window_truth(file, meta["dataset"], rec, i, spans, names, truth))
        if plot and i == index:
            _plot(plot, seq, alpha, beta, meta, rec.name, names[order[0]],
                  names[truth[i]] if truth is not None else None)
    if truth is not None:
        _print_accuracy(truth, predicted, names)
    return 0


def _by_window(model, rec: Recording, settings, file, spans: list[tuple[int, int]],
               window: int, stride: int, device: str, names: list[str],
               truth: list[int | None] | None) -> None:
    """Classify ``rec`` over ``spans`` (its windows: :func:`windows`), each window prepared from its
    own raw frames as a training sequence is (its own first frame gives the origin and the view; the
    configuration's resampling applies), and print the segments of one top class in the file's frame
    numbers (rows where it has none); with ``truth`` (one per span), the accuracy over the labelled
    windows."""
    tops, probs = [], []
    for a, b in spans:
        p_win, _, _ = classify(model, settings.prepare(rec.raw[a:b], file), device)
        tops.append(int(np.argmax(p_win)))
        probs.append(float(p_win.max()))
    unit = "frames" if rec.numbered else "rows"
    print(f"  by window ({window} rows, every {stride}; {unit} as numbered in the file):")
    numbers = rec.frame_numbers
    for a, b, c, pr in segments(spans, tops, probs):
        print(f"    {unit} {numbers[a]}-{numbers[b - 1]}: {names[c]:<24s} {100 * pr:6.2f}%")
    if truth is not None:
        pairs = [(t, p) for t, p in zip(truth, tops, strict=True) if t is not None]
        if pairs:
            right = sum(t == p for t, p in pairs)
            share = 100 * right / len(pairs)
            print(f"  windows right: {right} of {len(pairs)} labelled ({share:.2f} %; "
                  f"{len(spans) - len(pairs)} window(s) in no single labelled segment)")


def _print_accuracy(truth: list[int], predicted: list[int], names: list[str]) -> None:
    """``accuracy: K of N (x %)`` and the three commonest confusions."""
    right = sum(t == p for t, p in zip(truth, predicted, strict=True))
    print(f"accuracy: {right} of {len(truth)} ({100 * right / len(truth):.2f} %)")
    wrong: dict[tuple[int, int], int] = {}
    for t, p in zip(truth, predicted, strict=True):
        if t != p:
            wrong[(t, p)] = wrong.get((t, p), 0) + 1
    worst = sorted(wrong.items(), key=lambda kv: -kv[1])[:3]
    if worst:
        print("commonest confusions: " + "; ".join(
            f"{names[t]} taken for {names[p]} ({n}x)" for (t, p), n in worst))


def _plot(out: str, seq, alpha, beta, meta: dict, name: str, predicted: str,
          true: str | None) -> None:
    import matplotlib

    matplotlib.use("Agg")

    layout = None if meta["dataset"].startswith("npz:") else meta["dataset"]
    if alpha is None and beta is None:
        raise ConfigError(f"`plot`: model {meta['model']} has no attention to draw")
    title = f"{name}: predicted {predicted}" + (f" (true: {true})" if true is not None else "")
    fig = plots.plot_attention_summary(seq, alpha, beta, layout, title=title)
    fig.savefig(out, dpi=120)
    drawn = " and ".join(n for n, v in (("alpha", alpha), ("beta", beta)) if v is not None)
    print(f"attention ({drawn}) drawn to {out}")
