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
# # Attention of STA-LSTM: Figs. 5 and 6
#
# Song et al. (AAAI 2017), Figs. 5 and 6, for a TEST sequence of the class `action` (the paper:
# "kicking" on SBU) of a fold, drawn from the STA-LSTM trained on that fold (the finished run of
# the Fig. 7 grid when there is one: `<runs_root>/sbu/5fold/sta-lstm/fold1-seed0`; else it is
# trained there). Fig. 5(a) shows the skeletons at the frame where $\Delta\beta_t$ peaks, a
# circle per joint sized by $\alpha$ and the 8 largest in red; Fig. 6 $\alpha$ for every joint
# and frame; Fig. 5(b) $\beta_t$ and 5(c) $\Delta\beta_t = \beta_t - \beta_{t-1}$. The
# arrays are saved in `attention/<dataset>-<action>.json` for the report to quote (with
# `-<configuration>` after the dataset in every file name when `options["configuration"]` names one).

# %% tags=["parameters"]
# Parameters: papermill (`stalib reproduce`) replaces these; the job values are in
# stalib/report/reproduce.py. Folders left None are this checkout's results/ (or
# $STALIB_RESULTS) and runs/, however the notebook is started. List parameters from the
# command line need papermill's -y: papermill NB OUT -y '{"seeds": [0, 1]}'.
dataset = 'sbu'
models = ['sta-lstm']
protocols = ['5fold']
seeds = [0]  # a list, or {protocol: list}
folds = [1]  # "all", a list of 1-based folds, an int n (the first n), or {protocol: ...}
n1 = 1000  # Algorithm 1, N1
n2 = 500  # Algorithm 1, N2
action = "kicking"  # the class of the sequence
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

from stalib.data.skeletons import get_layout
from stalib.experiment import fold_indices, load_data_for, trained_model
from stalib.attention import recorded_attention
from stalib.report import grid, plots

# torch's CPU threads; the folders as paths
results_dir, results_root, runs_root = grid.setup_notebook(threads, results_dir, results_root,
                                                           runs_root)

# %%
model_name, protocol, fold, seed = models[0], protocols[0], folds[0], seeds[0]
tag = dataset + (f"-{options['configuration']}" if options.get("configuration") else "")  # file names
cfg = grid.make_config(dataset, model_name, protocol, fold, seed, n1, n2, options, model_overrides)
out = grid.run_folder(runs_root, dataset, protocol, model_name, fold, seed, cfg.configuration_name)
data = load_data_for(cfg, data_root)  # preprocessed as the run was
_, test = fold_indices(cfg, data)
# without the run folder (a fresh clone), what this job recorded: the figures are drawn again,
# the run is not trained again (--retrain does)
recorded = None if retrain else recorded_attention(
    results_root / "attention" / f"{tag}-{action}.json", cfg, out, data)
if recorded is None:
    model, meta = trained_model(cfg, out, data_root)
    att = grid.attention_of(model, data, grid.pick_sequence(data, test, action, model=model))
else:
    att, meta = recorded
    print(f"{out}/model.pt is not here: the attention recorded by this job is drawn again")
index = att.index
assert index in set(test.tolist())  # a test sequence of this fold, never seen in training
alpha, beta, frames = att.alpha, att.beta, att.frames
names = get_layout(dataset).names(data.persons)
shown = plots.shown_frame(alpha, beta)  # 0-based: where Δβ peaks (Fig. 5a's rule)
lift = grid.foot_lift(frames, dataset)
print(f"{out}: {protocol} fold {fold} seed {seed}; test sequence {att.name} "
      f"({data.class_names[att.label]}), {len(beta)} frames, predicted "
      f"{data.class_names[att.predicted]}; Δβ peaks at frame {shown + 1}, a foot is highest "
      f"at frame {int(np.argmax(lift)) + 1}")

# %% [markdown]
# ## Fig. 5(a): spatial attention at the frame where Δβ peaks

# %%
fig = plots.plot_skeleton_attention(
    frames[shown], alpha[shown], dataset, top=8,
    title=f"'{data.class_names[att.label]}', frame {shown + 1} of {len(beta)}: α (circle area)")
display(grid.save_figure(fig, results_dir / f"figures/attention-{tag}-fig5a.png"))

# %% [markdown]
# ## Fig. 6: α for every joint and frame

# %%
display(grid.save_figure(plots.plot_alpha_heatmap(alpha, dataset),
                         results_dir / f"figures/attention-{tag}-fig6.png"))

# %% [markdown]
# ## Fig. 5(b) and 5(c): β and Δβ

# %%
display(grid.save_figure(plots.plot_beta(beta), results_dir / f"figures/attention-{tag}-fig5b.png"))
display(grid.save_figure(plots.plot_beta_diff(beta),
                         results_dir / f"figures/attention-{tag}-fig5c.png"))

# %%
record = {
    "dataset": dataset, "action": data.class_names[att.label], "protocol": protocol,
    "fold": fold, "seed": seed, "model": model_name, "configuration": cfg.configuration_name,
    "quick": quick,
    "train_config": meta["train_config"], "run_folder": str(out.relative_to(runs_root)),
    "sequence": att.name, "index": att.index, "frames": len(beta), "joints": names,
    "predicted": data.class_names[att.predicted], "correct": att.correct,
    "frame_shown": shown + 1, "frame_shown_rule": "largest delta beta (1-based frame)",
    "top_joints_at_frame_shown": grid.top_joints(alpha[shown], names, 8),
    "top_joints_mean_over_frames": grid.top_joints(alpha.mean(axis=0), names, 8),
    "delta_beta_peak_frame": shown + 1,
    "foot_highest_frame": int(np.argmax(lift)) + 1,
    "alpha": np.round(alpha, 6).tolist(), "beta": np.round(beta, 6).tolist(),
}
path = results_dir / "attention" / f"{tag}-{action}.json"
path.parent.mkdir(parents=True, exist_ok=True)
path.write_text(json.dumps(record, indent=1) + "\n")
pd.DataFrame(record["top_joints_at_frame_shown"])
