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
# # Where the errors are: test accuracy per class
#
# Each row of `<dataset>/cv.csv` that keeps `test_correct` says which of its fold's test
# sequences the model got right, in the fold's test order. This notebook reads the data only to
# know the class of each of those sequences, and writes the accuracy per class of every model
# and configuration, over all such runs, to `<dataset>/per_class.csv` (percent). It trains nothing;
# the training parameters below are not used here.

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
from IPython.display import display

from stalib import report
from stalib.experiment import load_data
from stalib.report import grid, reproduce

# torch's CPU threads; the folders as paths
results_dir, results_root, runs_root = grid.setup_notebook(threads, results_dir, results_root,
                                                           runs_root)

# %%
data = load_data(dataset, data_root)
rows = grid.recorded_rows(dataset, results_dir, results_root)
table = report.per_class(rows, grid.test_labels(dataset, data, protocols))
path = results_dir / dataset / reproduce.PER_CLASS
path.parent.mkdir(parents=True, exist_ok=True)
table.to_csv(path, index=False, float_format="%.4f")
print(f"{len(table)} model(s) and configuration(s) with test_correct in their rows -> {path.name}")
display(table)
