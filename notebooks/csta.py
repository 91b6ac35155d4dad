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
# # CSTA-CNN: the coupled spatial-temporal attention on HCN
#
# Wang (2019): joint weights and frame weights from two subnetworks, multiplied into a
# frames × joints map that re-weights the input of an HCN backbone (our reading of the summary,
# see `stalib.models.csta`). The ablation: HCN alone, joint weights only, frame weights only,
# coupled. This notebook trains the runs of its grid whose row is not yet in
# `<results>/<dataset>/cv.csv` (the same file as the Fig. 7 runs), compares each model with
# STA-LSTM on the folds and seeds both have, and draws the coupled map of CSTA-CNN for one test
# sequence beside STA-LSTM's spatial attention α for the same sequence.

# %% tags=["parameters"]
# Parameters: papermill (`stalib reproduce`) replaces these; the job values are in
# stalib/report/reproduce.py. Folders left None are this checkout's results/ (or
# $STALIB_RESULTS) and runs/, however the notebook is started. List parameters from the
# command line need papermill's -y: papermill NB OUT -y '{"seeds": [0, 1]}'.
dataset = 'sbu'
models = ['hcn', 'hcn-joint', 'hcn-frame', 'csta-cnn']
protocols = ['5fold']
seeds = [0, 1, 2]  # a list, or {protocol: list}
folds = 'all'  # "all", a list of 1-based folds, an int n (the first n), or {protocol: ...}
n1 = 1000  # Algorithm 1, N1
n2 = 500  # Algorithm 1, N2
action = "kicking"  # class of the sequence drawn (None: the first test sequence's)
figure = None  # under the results folder; None: named from the parameters (see below)
reference_options = {}  # TrainConfig fields of the STA-LSTM compared with and drawn
# beside (e.g. a validated Fig. 7 configuration; {}: the paper's)
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
import pandas as pd
from IPython.display import display

from stalib import report
from stalib.config import DEFAULT_CONFIGURATIONS
from stalib.experiment import fold_indices, load_data_for, trained_model
from stalib.report import grid, plots, reproduce

# torch's CPU threads; the folders as paths
by_hand = results_dir is None  # run by hand: a figure it names itself goes to figures/yours/
results_dir, results_root, runs_root = grid.setup_notebook(threads, results_dir, results_root,
                                                           runs_root)
# `figure` None: named from the parameters, never over a figure of the report when run by hand
figure = grid.figure_path(figure, "csta", dataset, options, results_dir, by_hand)
literature = report.load_literature()

# %%
runs = grid.plan_grid(dataset, models, protocols, seeds, folds, n1, n2, runs_root,
                      data_root=data_root, options=options, model_overrides=model_overrides)
print(f"{len(runs)} run(s): {', '.join(models)} on {dataset} ({', '.join(protocols)}); "
      f"run folders under {runs_root}")

# %%
# Runs whose row is in the results file already (here or in results_root) are skipped: this
# continues a grid that `stalib cv` or an earlier run of this notebook partly did.
done = grid.run_grid(runs, results_dir, data_root=data_root, done_in=[results_root],
                     force=retrain)
done.groupby(["model", "protocol", "status"], sort=False).size().unstack(fill_value=0)

# %% [markdown]
# ## Accuracy per model (mean ± std over folds and seeds)

# %%
CAPTION = f"CSTA ablation on {report.DATASETS.get(dataset, dataset)}: accuracy (%)"
rows = grid.recorded(runs, results_dir, results_root)
assert len(rows) == len(runs), f"{len(runs) - len(rows)} run(s) of the grid have no row"
summary = report.summarise(rows)
table = report.compare(summary, literature)
display(report.show_table(report.format_comparison(table), caption=CAPTION))
display(report.show_markdown(report.comparison_sources(table)))

# %% [markdown]
# ## Against STA-LSTM on the same folds and seeds

# %%
# STA-LSTM of the settings reference_options: its configuration names its rows and run folders
reference_configuration = grid.make_config(dataset, "sta-lstm", protocols[0], 1, 0, n1, n2,
                                     reference_options, model_overrides).configuration_name
every = grid.recorded_rows(dataset, results_dir, results_root)
both = None if every is None else pd.concat(
    [rows, every[(every["model"] == "sta-lstm") & (every["configuration"] == reference_configuration)
                 & every["protocol"].isin(rows["protocol"])]])
pairs = report.paired(both, models, reference="sta-lstm", reference_configuration=reference_configuration)
if pairs.empty:
    job = f"fig7-{reproduce.SHORT.get(dataset, dataset)}" + (
        "" if reference_configuration in DEFAULT_CONFIGURATIONS else f"-{reference_configuration}")
    display(report.show_markdown(report.jobs_note("STA-LSTM on the same folds", [job])))
else:
    display(report.show_table(report.format_paired(pairs),
                              caption=f"Against STA-LSTM ({reference_configuration}), paired by "
                                      "protocol, fold and seed (percent)"))

# %% [markdown]
# ## Coupled map of CSTA-CNN beside STA-LSTM's α (one test sequence)

# %%
# the first run of the grid (first protocol, seed and fold)
protocol, fold, seed = runs[0].key[1], runs[0].cfg.fold, runs[0].cfg.seed
pair, seen = {}, {}  # each model, and the data as that model's run preprocessed it
for name, settings in (("csta-cnn", options), ("sta-lstm", reference_options)):
    cfg = grid.make_config(dataset, name, protocol, fold, seed, n1, n2, settings, model_overrides)
    out = grid.run_folder(runs_root, dataset, protocol, name, fold, seed, cfg.configuration_name)
    pair[name], _ = trained_model(cfg, out, data_root)  # the grid's run when finished
    seen[name] = load_data_for(cfg, data_root)
data = seen["csta-cnn"]
_, test = fold_indices(cfg, data)
index = grid.pick_sequence(data, test, action, model=pair["csta-cnn"])
csta_att = grid.attention_of(pair["csta-cnn"], data, index)
sta_att = grid.attention_of(pair["sta-lstm"], seen["sta-lstm"], index)
label = data.class_names[csta_att.label]
print(f"{protocol} fold {fold} seed {seed}: test sequence {csta_att.name} ({label}), "
      f"{len(csta_att.frames)} frames; CSTA-CNN says {data.class_names[csta_att.predicted]}, "
      f"STA-LSTM says {data.class_names[sta_att.predicted]}")
fig = plots.plot_coupled_map(csta_att.alpha, sta_att.alpha, layout=dataset,
                             title=f"{report.DATASETS.get(dataset, dataset)}: '{label}', "
                                   f"{csta_att.name} ({protocol} fold {fold}, seed {seed})")
display(grid.save_figure(fig, figure))
