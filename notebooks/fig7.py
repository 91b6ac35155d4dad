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
# # Fig. 7: the ablation of STA-LSTM
#
# Song et al. (AAAI 2017), Fig. 7: the plain LSTM, SA-LSTM and TA-LSTM (spatial or temporal
# attention only) with and without the regularisers of equation (7), and STA-LSTM. This notebook
# trains every (model, protocol, seed, fold) of its grid whose row is not yet in
# `<results>/<dataset>/cv.csv` (each run appends its row), then shows the mean ± std accuracy
# per model over folds and seeds beside the paper's value where the text gives one, and saves the
# figure `figure` under the results folder.

# %% tags=["parameters"]
# Parameters: papermill (`stalib reproduce`) replaces these; the job values are in
# stalib/report/reproduce.py. Folders left None are this checkout's results/ (or
# $STALIB_RESULTS) and runs/, however the notebook is started. List parameters from the
# command line need papermill's -y: papermill NB OUT -y '{"seeds": [0, 1]}'.
dataset = 'sbu'
models = ['lstm', 'sa-lstm-noreg', 'sa-lstm', 'ta-lstm-noreg', 'ta-lstm', 'sta-lstm']
protocols = ['5fold']
seeds = [0, 1, 2]  # a list, or {protocol: list}
folds = 'all'  # "all", a list of 1-based folds, an int n (the first n), or {protocol: ...}
n1 = 1000  # Algorithm 1, N1
n2 = 500  # Algorithm 1, N2
figure = None  # under the results folder; None: named from the parameters (see below)
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
from stalib.report import grid, plots

# torch's CPU threads; the folders as paths
by_hand = results_dir is None  # run by hand: a figure it names itself goes to figures/yours/
results_dir, results_root, runs_root = grid.setup_notebook(threads, results_dir, results_root,
                                                           runs_root)
# `figure` None: named from the parameters, never over a figure of the report when run by hand
figure = grid.figure_path(figure, "fig7", dataset, options, results_dir, by_hand)
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
CAPTION = f"Fig. 7 on {report.DATASETS.get(dataset, dataset)}: accuracy (%)"
rows = grid.recorded(runs, results_dir, results_root)
assert len(rows) == len(runs), f"{len(runs) - len(rows)} run(s) of the grid have no row"
summary = report.summarise(rows)
table = report.compare(summary, literature)
display(report.show_table(report.format_comparison(table), caption=CAPTION))
display(report.show_markdown(report.comparison_sources(table)))

# %%
gain = report.gains(summary)
if len(gain):
    display(report.show_table(gain.assign(gain=gain["gain"].round(2)),
                              caption="Mean minus the LSTM's mean (percentage points)"))

# %%
display(grid.save_figure(plots.plot_ablation(summary, literature), figure))
