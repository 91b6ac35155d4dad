"""Issue 36: ``predict --window`` prepares each window as a training sequence is prepared, and
reports it in the file's own frame numbers with its accuracy against the labelled segments."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import numpy as np
from conftest import UTK_ACTIONS

from stalib.config import TrainConfig
from stalib.experiment import run_experiment

ROWS = 12  # rows per action segment
FIRST, STEP = 100, 2  # frame number of row r: FIRST + STEP * r (the real files have gaps too)


def _recording(seed: int) -> np.ndarray:
    """``(10 * ROWS, 20, 3)``: the ten actions one after the other, action c a walk of the whole
    body in direction 36 c degrees (about the vertical), starting where the last one ended: the
    body drifts far from where the recording began."""
    shape = np.random.default_rng(0).normal(0.0, 0.2, (20, 3)) + [0.0, 0.0, 2.5]
    rng = np.random.default_rng(seed)
    pos, out = np.zeros(3), []
    for c in range(10):
        step = 0.06 * np.array([np.cos(np.pi * c / 5), 0.0, np.sin(np.pi * c / 5)])
        for _ in range(ROWS):
            out.append(shape + pos + rng.normal(0.0, 0.002, (20, 3)))
            pos = pos + step
    return np.asarray(out)


def _utkinect_root(tmp_path: Path) -> Path:
    folder = tmp_path / "root" / "UTKinect"
    folder.mkdir(parents=True)
    labels = []
    for subject in range(1, 5):
        for run in (1, 2):
            rec = f"s{subject:02d}_e{run:02d}"
            joints = _recording(10 * subject + run)
            lines = [f"{FIRST + STEP * r}  " + "  ".join(f"{v:.6f}" for v in frame.ravel())
                     for r, frame in enumerate(joints)]
            (folder / f"joints_{rec}.txt").write_text("\n".join(lines) + "\n")
            labels.append(rec)
            for c, action in enumerate(UTK_ACTIONS):
                start = FIRST + STEP * ROWS * c
                labels.append(f"{action}: {start} {start + STEP * (ROWS - 1)}")
    (folder / "actionLabel.txt").write_text("\n".join(labels) + "\n")
    return folder.parent


def test_a_recording_is_labelled_segment_by_segment(tmp_path):
    from stalib.data.registry import get_splits, load_dataset
    from stalib.predict import classify, predict_file

    root = _utkinect_root(tmp_path)
    cfg = TrainConfig(dataset="utkinect", model="linear", schedule="joint", epochs=80,
                      batch_size=8, lr=0.05, device="cpu")
    exp = run_experiment(cfg, tmp_path / "run", data_root=root, progress=False)
    # the model labels the test subjects' segments, cut as the reader cuts them, all right
    data = load_dataset("utkinect", root)
    (split,) = get_splits("utkinect", data)
    for i in split.test:
        prob, _, _ = classify(exp.model, np.asarray(data[i]))
        assert int(np.argmax(prob)) == data.labels[i], data.names[i]
    # and a whole recording of a test subject, window by window, segment by segment
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        predict_file(exp.out / "model.pt", root / "UTKinect" / "joints_s02_e01.txt", top=1,
                     window=ROWS, stride=ROWS)
    text = out.getvalue()
    assert "windows right: 10 of 10 labelled (100.00 %" in text, text
    # in the file's own frame numbers: the first segment's window spans frames 100-122
    assert re.search(r"frames 100-122: walk", text), text
    assert "(12 rows, every 12; frames as numbered in the file)" in text
