# ---
# jupyter:
#   jupytext:
#     notebook_metadata_filter: -jupytext.text_representation.jupytext_version
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # A dataset as our loader reads it
#
# Class counts, sequence lengths, one skeleton per class (the middle frame of its first
# sequence) and the train/test sizes of each protocol, written to `<dataset>/data.json` and
# `figures/data-<dataset>-*.png`. The training parameters below are not used here.

# %% tags=["parameters"]
# Parameters: papermill (`stalib reproduce`) replaces these; the job values are in
# stalib/report/reproduce.py. Folders left None are this checkout's results/ (or
# $STALIB_RESULTS) and runs/, however the notebook is started. List parameters from the
# command line need papermill's -y: papermill NB OUT -y '{"seeds": [0, 1]}'.
dataset = 'sbu'
models = []
protocols = ['5fold']
seeds = [0]  # a list, or {protocol: list}
folds = 'all'  # "all", a list of 1-based folds, an int n (the first n), or {protocol: ...}
n1 = 1000  # Algorithm 1, N1
n2 = 500  # Algorithm 1, N2
options = {}  # more TrainConfig fields, e.g. {"configuration": "l1-off", "lambda3": 0.0}
model_overrides = {}  # per model, e.g. {"sta-lstm": {"alpha_gain": "joints"}}
threads = None  # torch CPU threads (None: torch's default)
data_root = None  # the folder holding SBU/, UTKinect/, NTU/ (None: $STALIB_DATA)
results_dir = None  # where this notebook WRITES (under stalib reproduce: a staging copy)
results_root = None  # the results folder, to READ what other jobs wrote
runs_root = None  # run folders: <runs_root>/<dataset>/<protocol>/<model>/fold<f>-seed<s>
quick = False  # stalib reproduce --quick (the job's quick parameters are already applied)
retrain = False  # stalib reproduce --retrain: train every run again and replace its row

# %%
# this checkout's stalib first, however the notebook was started (JupyterLab, papermill,
# jupyter execute): the nearest folder at or above the working directory that holds it
import sys
from pathlib import Path

sys.path[:0] = [str(p) for p in [Path.cwd(), *Path.cwd().parents]
                if (p / "stalib" / "__init__.py").is_file()][:1]

# %%
import json

import numpy as np
import pandas as pd
from IPython.display import display

from stalib.data.registry import get_splits
from stalib.data.root import resolve_data_root
from stalib.data.summary import summarize
from stalib.experiment import dataset_key, load_data
from stalib.report import grid, plots

# torch's CPU threads; the folders as paths
results_dir, results_root, runs_root = grid.setup_notebook(threads, results_dir, results_root,
                                                           runs_root)

# %%
data = load_data(dataset, data_root)
info = summarize(data)
counts = np.bincount(data.labels, minlength=data.num_classes)
info["sequences per class"] = {c: int(n) for c, n in zip(data.class_names, counts, strict=True)}
info["protocols"] = {}
for protocol in protocols:
    splits = get_splits(dataset, data, protocol)
    info["protocols"][protocol] = {
        "splits": len(splits),
        "train": [int(min(len(s.train) for s in splits)), int(max(len(s.train) for s in splits))],
        "test": [int(min(len(s.test) for s in splits)), int(max(len(s.test) for s in splits))],
    }
# a path-safe name for every file written (npz:/a/b/mine.npz -> npz-mine), and messages with
# paths relative to the data root (an npz needs none)
key = dataset_key(dataset)
root = ("" if dataset.startswith("npz:") else
        str(resolve_data_root(data_root)).rstrip("/") + "/")
info["skipped inputs"] = [m.replace(root, "") if root else m for m in data.skipped]
path = results_dir / key / "data.json"
path.parent.mkdir(parents=True, exist_ok=True)
path.write_text(json.dumps(info, indent=1) + "\n")
pd.Series({k: v for k, v in info.items() if not isinstance(v, (dict, list))})

# %%
display(grid.save_figure(plots.plot_class_counts(data.labels, data.class_names),
                         results_dir / f"figures/data-{key}-classes.png"))
display(grid.save_figure(plots.plot_length_hist(data.lengths),
                         results_dir / f"figures/data-{key}-lengths.png"))

# %%
first = [int(np.flatnonzero(data.labels == c)[0]) for c in range(data.num_classes)
         if np.any(data.labels == c)]
middle = [data[i][len(data[i]) // 2] for i in first]
titles = [data.class_names[data.labels[i]] for i in first]
layout = None if dataset.startswith("npz:") else dataset  # an npz's joints have no known bones
fig = plots.plot_skeleton_grid(middle, titles, layout, ncols=4 if len(first) <= 12 else 8)
display(grid.save_figure(fig, results_dir / f"figures/data-{key}-skeletons.png"))
