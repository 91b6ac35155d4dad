"""Shared fixtures: the real data root, and writers of small synthetic / corrupt dataset files.

Real datasets are never copied into the repository: tests read them through the data root
(``$STALIB_DATA``, else ``../shared/data`` beside the repository) and write their own small
files under ``tmp_path``.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

# The portable deterministic mode in this process and every process it starts (the CLI in a
# subprocess, notebook kernels), as the stalib command runs: set before numpy and torch load
# (a test that writes a results row in this process needs it; one thread also keeps the tiny
# models fast on a busy machine). Had a plugin loaded them first, say so: the mode's tests fail.
if "torch" not in sys.modules and "numpy" not in sys.modules:
    from stalib.determinism import enable

    enable()

import numpy as np  # noqa: E402
import pytest  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
NO_DATA = "no data root: set STALIB_DATA to the folder holding SBU/, UTKinect/ and NTU-samples/"


def _missing(message: str) -> None:
    """A missing data root fails in CI (env var CI set) and skips locally."""
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def data_root() -> Path:
    """The real data root: ``$STALIB_DATA``, else ``../shared/data`` relative to the repo."""
    env = os.environ.get("STALIB_DATA")
    root = Path(env) if env else REPO.parent / "shared" / "data"
    if not root.is_dir():
        _missing(f"{NO_DATA} (looked at {root})")
    return root


@pytest.fixture(scope="session")
def ntu_samples_root(data_root: Path, tmp_path_factory) -> Path:
    """A temporary data root whose ``NTU/`` holds copies of the 5 real NTU sample files."""
    samples = data_root / "NTU-samples"
    files = sorted(samples.glob("*.skeleton"))
    if not files:
        _missing(f"{NO_DATA} (no .skeleton files in {samples})")
    root = tmp_path_factory.mktemp("ntu-samples-root")
    (root / "NTU").mkdir()
    for f in files:
        shutil.copy(f, root / "NTU" / f.name)
    return root


@pytest.fixture(scope="session")
def sbu_data(data_root):
    """The real SBU set with the default (paper) preprocessing, loaded once."""
    from stalib.data.registry import load_dataset

    return load_dataset("sbu", data_root)


@pytest.fixture(scope="session")
def utkinect_data(data_root):
    """The real UTKinect set (actionLabel.txt, default preprocessing), loaded once."""
    from stalib.data.registry import load_dataset

    return load_dataset("utkinect", data_root)


# --------------------------------------------------------------------------- synthetic SBU
def sbu_rows(num_frames: int, first: int = 1, seed: int = 0) -> list[str]:
    """Valid SBU rows: frame index + 90 coordinates (x, y in [0, 1], z around 2 m)."""
    rng = np.random.default_rng(seed)
    coords = rng.uniform(0.2, 0.8, size=(num_frames, 30, 3))
    coords[..., 2] += 1.5
    return [",".join([str(first + t)] + [f"{v:.5f}" for v in coords[t].ravel()])
            for t in range(num_frames)]


@pytest.fixture
def fake_sbu(tmp_path: Path):
    """``make(spec) -> data root``: an SBU tree ``{set: {class: n_sequences}}`` of valid files.

    Returns the data root (``tmp_path/root``); the files are ``root/SBU/set/class/00k/...``.
    """

    def make(spec: dict[str, dict[str, int]] | None = None, frames: int = 12) -> Path:
        spec = spec or {"s01s02": {"01": 2, "03": 1}, "s03s04": {"02": 1, "08": 1}}
        root = tmp_path / "root"
        for set_name, classes in spec.items():
            for cls, n in classes.items():
                for k in range(n):
                    d = root / "SBU" / set_name / cls / f"{k + 1:03d}"
                    d.mkdir(parents=True)
                    rows = sbu_rows(frames, first=10 * k + 1, seed=k + int(cls))
                    (d / "skeleton_pos.txt").write_text("\n".join(rows) + "\n")
        return root

    return make


# --------------------------------------------------------------------------- synthetic UTKinect
UTK_ACTIONS = ("walk", "sitDown", "standUp", "pickUp", "carry",
               "throw", "push", "pull", "waveHands", "clapHands")


def utk_rows(frame_numbers: list[int], seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    out = []
    for f in frame_numbers:
        xyz = rng.normal(0.0, 0.3, size=60) + np.tile([0.0, 0.0, 2.5], 20)
        out.append(f"{f}  " + "  ".join(f"{v:.6f}" for v in xyz))
    return out


def utk_label_block(recording: str, start: int = 10, step: int = 10) -> list[str]:
    """Label lines for one recording: action ``i`` spans ``start + i*step .. + step - 2``."""
    lines = [recording]
    for i, action in enumerate(UTK_ACTIONS):
        s = start + i * step
        lines.append(f"{action}: {s} {s + step - 2}")
    return lines


@pytest.fixture
def fake_utkinect(tmp_path: Path):
    """``make(recordings, labels=None) -> data root`` with ``root/UTKinect/`` written.

    Each recording gets frame numbers 10, 12, ..., 118 (with one repeated frame number); the
    label file defaults to :func:`utk_label_block` for each recording, and ``labels`` (a list of
    lines) replaces it.
    """

    def make(recordings=("s01_e01", "s02_e01"), labels: list[str] | None = None,
             label_name: str = "actionLabel.txt") -> Path:
        folder = tmp_path / "root" / "UTKinect"
        folder.mkdir(parents=True, exist_ok=True)
        numbers = list(range(10, 120, 2))
        numbers.insert(5, numbers[4])  # a repeated frame number, as in the real files
        for i, rec in enumerate(recordings):
            (folder / f"joints_{rec}.txt").write_text("\n".join(utk_rows(numbers, i)) + "\n")
        if labels is None:
            labels = [line for rec in recordings for line in utk_label_block(rec)]
        (folder / label_name).write_text("\n".join(labels) + "\n")
        return folder.parent

    return make


# --------------------------------------------------------------------------- synthetic NTU
def ntu_body(seed: int, num_frames: int, motion: float = 0.05) -> np.ndarray:
    """``(num_frames, 25, 3)`` joints of a plausible upright body that moves by ``motion``."""
    rng = np.random.default_rng(seed)
    base = np.zeros((25, 3))
    base[:, 2] = 3.0
    base[[0, 1, 20, 2, 3], 1] = [0.0, 0.3, 0.55, 0.65, 0.8]  # spine base .. head
    base[4] = [0.2, 0.5, 3.0]  # left shoulder
    base[8] = [-0.2, 0.5, 3.0]  # right shoulder
    others = [j for j in range(25) if j not in (0, 1, 20, 2, 3, 4, 8)]
    base[others] += rng.uniform(-0.3, 0.3, size=(len(others), 3))
    wobble = motion * rng.standard_normal((num_frames, 25, 3))
    return base[None] + wobble


@pytest.fixture
def write_skeleton():
    """``write(path, frames, newline)``: a valid ``.skeleton`` file; ``frames[f]`` is a list of
    ``(body_id, (25, 3) joints)``."""
    from stalib.data.ntu import format_skeleton

    def write(path: Path, frames, newline: str = "\r\n") -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(format_skeleton(frames, newline=newline).encode("ascii"))
        return path

    return write


def three_body_frames(num_frames: int = 20) -> list[list[tuple[str, np.ndarray]]]:
    """Frames of a file with 3 bodies: a still one first, then two moving ones, the second
    appearing at frame 3; frames 0 and 10 have no body at all."""
    still = ntu_body(1, num_frames, motion=0.0)
    mover_a = ntu_body(2, num_frames, motion=0.05)
    mover_b = ntu_body(3, num_frames, motion=0.08)
    frames = []
    for t in range(num_frames):
        bodies = []
        if t not in (0, 10):
            bodies.append(("72057594037900001", still[t]))
            bodies.append(("72057594037900002", mover_a[t]))
            if t >= 3:
                bodies.append(("72057594037900003", mover_b[t]))
        frames.append(bodies)
    return frames


@pytest.fixture(scope="session")
def synth():
    """The plain generator functions above, for tests that build files by hand."""
    from types import SimpleNamespace

    return SimpleNamespace(
        sbu_rows=sbu_rows, utk_rows=utk_rows, utk_label_block=utk_label_block,
        ntu_body=ntu_body, three_body_frames=three_body_frames, utk_actions=UTK_ACTIONS,
    )


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Every test starts with one torch thread (a test may change it: `stalib cv` in this
    process sets its own)."""
    import torch

    torch.set_num_threads(1)


@pytest.fixture
def one_thread():
    """One torch thread in this process (restored after): the machine is shared, and the small
    models of the tests are fastest that way."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
