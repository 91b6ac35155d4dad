"""README's "Adding a configuration" and "Adding a dataset", done: one entry in a copy of the
catalogue (``$STALIB_CATALOGUE``) plus, for a dataset, its code; the CLI, the configuration, the
readers' registry and the job grid then know it, with nothing else edited."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np

from stalib import catalogue

CONFIGURATION = '''
[configurations.r1-view-lr5e-3]
parent = "r1-view"
settings = { lr = 0.005 }
what = "r1-view at learning rate 5e-3"
chosen = "a made-up configuration of the test"
'''

DATASET = '''
[[datasets]]
name = "toy"
folder = "Toy"
title = "A toy dataset"
short = "Toy"
job = "toy"
persons = 1
joints = 20
classes = 2
protocols = ["xsub"]
'''

#: The code a new dataset brings: a reader of its files, its protocol and its preprocessing,
#: registered by name (in the library: its module in stalib/data and three lines of registry.py).
CODE = '''
import numpy as np
from stalib.data import registry, splits
from stalib.data.core import SkeletonSet
from stalib.data.transforms import UTKinectPreprocess

def read_toy(folder, strict=True, transform=None):
    seqs, labels, groups, names = [], [], [], []
    for path in sorted(folder.glob("*.npy")):
        subject, label = path.stem.split("_")
        seqs.append(np.load(path)); labels.append(int(label)); groups.append(subject)
        names.append(path.stem)
    return SkeletonSet.from_sequences(seqs, labels, groups, names, ["a", "b"], 1, 20,
                                      name="toy")

registry._READERS["toy"] = read_toy
registry.PROTOCOLS["toy"] = {"xsub": splits.odd_subjects_train}
registry._PREPROCESS["toy"] = UTKinectPreprocess
'''


def _run(tmp_path: Path, entries: str, script: str, *args: str) -> str:
    copy = tmp_path / "catalogue.toml"
    copy.write_text(catalogue.PATH.read_text() + entries)
    env = dict(os.environ, STALIB_CATALOGUE=str(copy), STALIB_DATA=str(tmp_path / "data"))
    cmd = [sys.executable, "-c", textwrap.dedent(script), *args]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def test_a_configuration_is_one_catalogue_entry(tmp_path):
    out = _run(tmp_path, CONFIGURATION, '''
        from stalib import cli
        from stalib.config import TrainConfig
        cfg = TrainConfig.named("r1-view-lr5e-3", "utkinect", "lstm")
        print(cfg.lr, cfg.schedule, cfg.epochs, cfg.configuration_name, cfg.preprocess)
        cli.main(["configs"])
    ''')
    first = out.splitlines()[0]
    assert first == "0.005 joint 150 r1-view-lr5e-3 {'view_normalize': True}"
    assert "r1-view-lr5e-3\n  r1-view at learning rate 5e-3; a made-up configuration" in out
    assert "--lr 0.005" in out


def test_a_dataset_is_one_catalogue_entry_plus_its_code(tmp_path):
    rng = np.random.default_rng(0)
    folder = tmp_path / "data" / "Toy"
    folder.mkdir(parents=True)
    for subject in (1, 2, 3, 4):
        for label in (0, 1):
            np.save(folder / f"s{subject}_{label}.npy",
                                     rng.normal(size=(12, 20, 3)).astype("float32"))
    out = _run(tmp_path, DATASET, CODE + '''
from stalib.data import registry
from stalib.report import reproduce
data = registry.load_dataset("toy", protocol="xsub")
split = registry.get_splits("toy", data, "xsub")[0]
print(len(data), len(split.train), len(split.test), registry.FOLDERS["toy"])
print(" ".join(j.name for j in reproduce.JOBS if "toy" in j.name))
''')
    sizes, jobs = out.splitlines()[:2]
    assert sizes == "8 4 4 Toy"  # subjects 1 and 3 train, 2 and 4 test
    assert jobs.split() == ["data-toy", "fig7-toy", "csta-toy", "errors-toy"]
