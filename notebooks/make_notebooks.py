"""Write the experiment notebooks of this folder from the cell sources below.

    .venv/bin/python notebooks/make_notebooks.py           # (re)write the .ipynb files
    .venv/bin/python notebooks/make_notebooks.py --check   # exit 1 if one differs from here

The committed ``.ipynb`` files are what ``stalib reproduce`` runs (with papermill, kernel
``python3``); this script only keeps them readable in review and free of outputs. Each notebook
starts with a cell tagged ``parameters`` (papermill replaces its values; the values of every job
are in ``stalib/reproduce.py``). The notebooks hold no model or training code: they call stalib.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent

PARAMETERS = '''\
# Parameters: papermill (`stalib reproduce`) replaces these; the job values are in
# stalib/reproduce.py. Paths are relative to this folder when the notebook is run by hand.
dataset = {dataset!r}
models = {models!r}
protocols = {protocols!r}
seeds = {seeds!r}  # a list, or {{protocol: list}}
folds = {folds!r}  # "all", a list of 1-based folds, an int n (the first n), or {{protocol: ...}}
n1 = 1000  # Algorithm 1, N1
n2 = 500  # Algorithm 1, N2
{extra}options = {{}}  # more TrainConfig fields, e.g. {{"variant": "l1-off", "lambda3": 0.0}}
model_overrides = {{}}  # per model, e.g. {{"sta-lstm": {{"alpha_gain": "joints"}}}}
threads = None  # torch CPU threads (None: torch's default)
data_root = None  # the folder holding SBU/, UTKinect/, NTU/ (None: $STALIB_DATA)
results_dir = "../results"  # where this notebook WRITES (under stalib reproduce: a staging copy)
results_root = "../results"  # the results folder, to READ what other jobs wrote
runs_root = "../runs"  # run folders: <runs_root>/<dataset>/<protocol>/<model>/fold<f>-seed<s>
quick = False  # stalib reproduce --quick (the job's quick parameters are already applied)
retrain = False  # stalib reproduce --retrain: train every run again and replace its row
'''


def setup(imports: str) -> str:
    """The setup cell: imports (common ones, then ``imports``), threads, paths, ``save``."""
    stdlib = "import json\n" if "import json" in imports else ""
    stdlib += "import warnings\nfrom pathlib import Path\n"
    imports = imports.replace("import json\n", "").strip()
    return stdlib + "\n" + imports + "\n\n" + SETUP


SETUP = '''\
warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm without ipywidgets
if threads:
    torch.set_num_threads(int(threads))
results_dir, results_root, runs_root = Path(results_dir), Path(results_root), Path(runs_root)
literature = report.load_literature()


def save(fig, rel):
    """Write a figure under results_dir and show it."""
    path = results_dir / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    display(Image(filename=str(path)))
    return path
'''

GRID = '''\
runs = grid.plan_grid(dataset, models, protocols, seeds, folds, n1, n2, runs_root,
                      data_root=data_root, options=options, model_overrides=model_overrides)
print(f"{len(runs)} run(s): {', '.join(models)} on {dataset} ({', '.join(protocols)}); "
      f"run folders under {runs_root}")
'''

RUN = '''\
# Runs whose row is in the results file already (here or in results_root) are skipped: this
# continues a grid that `stalib cv` or an earlier run of this notebook partly did.
done = grid.run_grid(runs, results_dir, data_root=data_root, done_in=[results_root],
                     force=retrain)
done.groupby(["model", "protocol", "status"], sort=False).size().unstack(fill_value=0)
'''

TABLE = '''\
rows = grid.recorded(runs, results_dir, results_root)
assert len(rows) == len(runs), f"{len(runs) - len(rows)} run(s) of the grid have no row"
summary = report.summarise(rows)
table = report.compare(summary, literature)
display(report.show_table(report.format_comparison(table), caption=CAPTION))
display(report.show_markdown(report.comparison_sources(table)))
'''

FIG7 = [
    ("markdown", '''\
# Fig. 7: the ablation of STA-LSTM

Song et al. (AAAI 2017), Fig. 7: the plain LSTM, SA-LSTM and TA-LSTM (spatial or temporal
attention only) with and without the regularisers of equation (7), and STA-LSTM. This notebook
trains every (model, protocol, seed, fold) of its grid whose row is not yet in
`<results>/<dataset>/cv.csv` (each run appends its row), then shows the mean ± std accuracy
per model over folds and seeds beside the paper's value where the text gives one, and saves the
figure `figure` under the results folder.'''),
    ("parameters", PARAMETERS.format(
        dataset="sbu", extra="figure = \"figures/fig7-sbu.png\"  # where the bar chart goes\n",
        models=["lstm", "sa-lstm-noreg", "sa-lstm", "ta-lstm-noreg", "ta-lstm", "sta-lstm"],
        protocols=["5fold"], seeds=[0, 1, 2], folds="all")),
    ("code", setup('''
import torch
from IPython.display import Image, display

from stalib import grid, plots, report
''')),
    ("code", GRID),
    ("code", RUN),
    ("markdown", "## Accuracy per model (mean ± std over folds and seeds)"),
    ("code", 'CAPTION = f"Fig. 7 on {report.DATASETS.get(dataset, dataset)}: accuracy (%)"\n'
     + TABLE),
    ("code", '''\
gain = report.gains(summary)
if len(gain):
    display(report.show_table(gain.assign(gain=gain["gain"].round(2)),
                              caption="Mean minus the LSTM's mean (percentage points)"))
'''),
    ("code", '''\
save(plots.plot_ablation(summary, literature), figure);
'''),
]

CSTA = [
    ("markdown", '''\
# CSTA-CNN: the coupled spatial-temporal attention on HCN

Wang (2019): joint weights and frame weights from two subnetworks, multiplied into a
frames × joints map that re-weights the input of an HCN backbone (our reading of the summary,
see `stalib.models.csta`). The ablation: HCN alone, joint weights only, frame weights only,
coupled. This notebook trains the runs of its grid whose row is not yet in
`<results>/<dataset>/cv.csv` (the same file as the Fig. 7 runs), compares each model with
STA-LSTM on the folds and seeds both have, and draws the coupled map of CSTA-CNN for one test
sequence beside STA-LSTM's spatial attention α for the same sequence.'''),
    ("parameters", PARAMETERS.format(
        dataset="sbu", models=["hcn", "hcn-joint", "hcn-frame", "csta-cnn"],
        protocols=["5fold"], seeds=[0, 1, 2], folds="all",
        extra="action = \"kicking\"  # class of the sequence drawn (None: the first test "
              "sequence's)\n"
              "figure = \"figures/csta-sbu-coupled.png\"  # where the coupled map goes\n"
              "reference_options = {}  # TrainConfig fields of the STA-LSTM compared with "
              "and drawn\n# beside (e.g. a validated Fig. 7 variant; {}: the paper's)\n")),
    ("code", setup('''
import pandas as pd
import torch
from IPython.display import Image, display

from stalib import grid, plots, report, reproduce
from stalib.experiment import fold_indices, load_data_for, trained_model
''')),
    ("code", GRID),
    ("code", RUN),
    ("markdown", "## Accuracy per model (mean ± std over folds and seeds)"),
    ("code", 'CAPTION = f"CSTA ablation on {report.DATASETS.get(dataset, dataset)}: accuracy (%)"\n'
     + TABLE),
    ("markdown", "## Against STA-LSTM on the same folds and seeds"),
    ("code", '''\
# STA-LSTM of the settings reference_options: its variant names its rows and run folders
reference_variant = grid.make_config(dataset, "sta-lstm", protocols[0], 1, 0, n1, n2,
                                     reference_options, model_overrides).variant_name
every = grid.recorded_rows(dataset, results_dir, results_root)
both = None if every is None else pd.concat(
    [rows, every[(every["model"] == "sta-lstm") & (every["variant"] == reference_variant)
                 & every["protocol"].isin(rows["protocol"])]])
pairs = report.paired(both, models, reference="sta-lstm", reference_variant=reference_variant)
if pairs.empty:
    job = f"fig7-{reproduce.SHORT.get(dataset, dataset)}" + (
        "" if reference_variant == "paper" else f"-{reference_variant}")
    display(report.show_markdown(report.jobs_note("STA-LSTM on the same folds", [job])))
else:
    display(report.show_table(report.format_paired(pairs),
                              caption=f"Against STA-LSTM ({reference_variant}), paired by "
                                      "protocol, fold and seed (percent)"))
'''),
    ("markdown", "## Coupled map of CSTA-CNN beside STA-LSTM's α (one test sequence)"),
    ("code", '''\
# the first run of the grid (first protocol, seed and fold)
protocol, fold, seed = runs[0].key[1], runs[0].cfg.fold, runs[0].cfg.seed
pair, seen = {}, {}  # each model, and the data as that model's run preprocessed it
for name, settings in (("csta-cnn", options), ("sta-lstm", reference_options)):
    cfg = grid.make_config(dataset, name, protocol, fold, seed, n1, n2, settings, model_overrides)
    out = grid.run_folder(runs_root, dataset, protocol, name, fold, seed, cfg.variant_name)
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
save(fig, figure);
'''),
]

ATTENTION = [
    ("markdown", '''\
# Attention of STA-LSTM: Figs. 5 and 6

Song et al. (AAAI 2017), Figs. 5 and 6, for a TEST sequence of the class `action` (the paper:
"kicking" on SBU) of a fold, drawn from the STA-LSTM trained on that fold (the finished run of
the Fig. 7 grid when there is one: `<runs_root>/sbu/5fold/sta-lstm/fold1-seed0`; else it is
trained there). Fig. 5(a) shows the skeletons at the frame where $\\Delta\\beta_t$ peaks, a
circle per joint sized by $\\alpha$ and the 8 largest in red; Fig. 6 $\\alpha$ for every joint
and frame; Fig. 5(b) $\\beta_t$ and 5(c) $\\Delta\\beta_t = \\beta_t - \\beta_{t-1}$. The
arrays are saved in `attention/<dataset>-<action>.json` for the report to quote (with
`-<variant>` after the dataset in every file name when `options["variant"]` names one).'''),
    ("parameters", PARAMETERS.format(
        dataset="sbu", models=["sta-lstm"], protocols=["5fold"], seeds=[0], folds=[1],
        extra="action = \"kicking\"  # the class of the sequence\n")),
    ("code", setup('''
import json

import numpy as np
import pandas as pd
import torch
from IPython.display import Image, display

from stalib import grid, plots, report
from stalib.data.skeletons import get_layout
from stalib.experiment import fold_indices, load_data_for, trained_model
from stalib.recorded import recorded_attention
''')),
    ("code", '''\
model_name, protocol, fold, seed = models[0], protocols[0], folds[0], seeds[0]
tag = dataset + (f"-{options['variant']}" if options.get("variant") else "")  # file names
cfg = grid.make_config(dataset, model_name, protocol, fold, seed, n1, n2, options, model_overrides)
out = grid.run_folder(runs_root, dataset, protocol, model_name, fold, seed, cfg.variant_name)
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
dbeta = np.diff(beta)
shown = int(np.argmax(dbeta)) + 1 if len(beta) > 1 else 0  # 0-based frame of the largest Δβ
lift = grid.foot_lift(frames, dataset)
print(f"{out}: {protocol} fold {fold} seed {seed}; test sequence {att.name} "
      f"({data.class_names[att.label]}), {len(beta)} frames, predicted "
      f"{data.class_names[att.predicted]}; Δβ peaks at frame {shown + 1}, a foot is highest "
      f"at frame {int(np.argmax(lift)) + 1}")
'''),
    ("markdown", "## Fig. 5(a): spatial attention at the frame where Δβ peaks"),
    ("code", '''\
save(plots.plot_skeleton_attention(
    frames[shown], alpha[shown], dataset, top=8,
    title=f"'{data.class_names[att.label]}', frame {shown + 1} of {len(beta)}: α (circle area)"),
    f"figures/attention-{tag}-fig5a.png");
'''),
    ("markdown", "## Fig. 6: α for every joint and frame"),
    ("code", 'save(plots.plot_alpha_heatmap(alpha, dataset),\n'
     '     f"figures/attention-{tag}-fig6.png");\n'),
    ("markdown", "## Fig. 5(b) and 5(c): β and Δβ"),
    ("code", '''\
save(plots.plot_beta(beta), f"figures/attention-{tag}-fig5b.png")
save(plots.plot_beta_diff(beta), f"figures/attention-{tag}-fig5c.png");
'''),
    ("code", '''\
record = {
    "dataset": dataset, "action": data.class_names[att.label], "protocol": protocol,
    "fold": fold, "seed": seed, "model": model_name, "variant": cfg.variant_name,
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
path.write_text(json.dumps(record, indent=1) + "\\n")
pd.DataFrame(record["top_joints_at_frame_shown"])
'''),
]

DATA = [
    ("markdown", '''\
# A dataset as our loader reads it

Class counts, sequence lengths, one skeleton per class (the middle frame of its first
sequence) and the train/test sizes of each protocol, written to `<dataset>/data.json` and
`figures/data-<dataset>-*.png`. The training parameters below are not used here.'''),
    ("parameters", PARAMETERS.format(
        dataset="sbu", models=[], protocols=["5fold"], seeds=[0], folds="all", extra="")),
    ("code", setup('''
import json

import numpy as np
import pandas as pd
import torch
from IPython.display import Image, display

from stalib import plots, report
from stalib.data.registry import get_splits
from stalib.data.root import resolve_data_root
from stalib.data.summary import summarize
from stalib.experiment import load_data
''')),
    ("code", '''\
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
root = str(resolve_data_root(data_root)).rstrip("/") + "/"  # paths relative to the data root
info["skipped inputs"] = [m.replace(root, "") for m in data.skipped]
path = results_dir / dataset / "data.json"
path.parent.mkdir(parents=True, exist_ok=True)
path.write_text(json.dumps(info, indent=1) + "\\n")
pd.Series({k: v for k, v in info.items() if not isinstance(v, (dict, list))})
'''),
    ("code", '''\
save(plots.plot_class_counts(data.labels, data.class_names),
     f"figures/data-{dataset}-classes.png")
save(plots.plot_length_hist(data.lengths), f"figures/data-{dataset}-lengths.png");
'''),
    ("code", '''\
first = [int(np.flatnonzero(data.labels == c)[0]) for c in range(data.num_classes)
         if np.any(data.labels == c)]
middle = [data[i][len(data[i]) // 2] for i in first]
titles = [data.class_names[data.labels[i]] for i in first]
save(plots.plot_skeleton_grid(middle, titles, dataset, ncols=4 if len(first) <= 12 else 8),
     f"figures/data-{dataset}-skeletons.png");
'''),
]

NOTEBOOKS = {"fig7.ipynb": FIG7, "csta.ipynb": CSTA, "attention.ipynb": ATTENTION,
             "data.ipynb": DATA}


def build(cells) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    for i, (kind, source) in enumerate(cells):
        source = source.rstrip("\n")
        if kind == "markdown":
            cell = nbformat.v4.new_markdown_cell(source)
        else:
            cell = nbformat.v4.new_code_cell(source)
            if kind == "parameters":
                cell.metadata["tags"] = ["parameters"]
        cell["id"] = f"cell-{i}"
        nb.cells.append(cell)
    nbformat.validate(nb)
    return nb


def render(cells) -> str:
    return nbformat.writes(build(cells)) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if a notebook differs from this script")
    args = parser.parse_args(argv)
    stale = []
    for name, cells in NOTEBOOKS.items():
        path = HERE / name
        text = render(cells)
        if args.check:
            if not path.is_file() or path.read_text() != text:
                stale.append(name)
        else:
            path.write_text(text)
    if stale:
        print(f"out of date: {', '.join(stale)} (run notebooks/make_notebooks.py)",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
