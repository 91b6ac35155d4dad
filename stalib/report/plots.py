"""Figures of the report: the ablation bars (Fig. 7), the verdict and the pool, per-class accuracy.
The figures of skeletons and attention are the library's (:mod:`stalib.plots`), named here for the
notebooks and the book (``plots.plot_skeleton``...).

Each function takes the data frames of :mod:`stalib.report` and returns a
:class:`matplotlib.figure.Figure` drawn on the Agg canvas (no pyplot state, no window).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib import patheffects
from matplotlib.figure import Figure

from stalib import catalogue
from stalib.plots import (
    COLUMN_WIDTH_IN,
    new_figure,
    plot_alpha_heatmap,
    plot_attention_summary,
    plot_beta,
    plot_beta_diff,
    plot_class_counts,
    plot_coupled_map,
    plot_length_hist,
    plot_skeleton,
    plot_skeleton_attention,
    plot_skeleton_grid,
    shown_frame,
)
from stalib.report.pooled import POOLED_ON
from stalib.report.tables import DATASET_SHORT, DATASETS, MODEL_LABELS, compare, protocol_label
from stalib.stats import wilson_interval

__all__ = ["COLUMN_WIDTH_IN", "plot_ablation", "plot_alpha_heatmap", "plot_attention_summary",
           "plot_beta", "plot_beta_diff", "plot_claims", "plot_class_counts",
           "plot_coupled_map", "plot_length_hist", "plot_per_class", "plot_pooled",
           "sequence_interval",
           "plot_skeleton", "plot_skeleton_attention", "plot_skeleton_grid", "shown_frame"]


#: Okabe and Ito's colour-blind-safe palette (less its black, the paper's marker): one distinct
#: colour per configuration of a bar chart.
CONFIGURATION_COLORS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#999999",
                  "#F0E442")  # yellow last: the white value inside a bar reads badly on it


def plot_ablation(summary: pd.DataFrame, literature: pd.DataFrame | None = None) -> Figure:
    """Fig. 7: mean accuracy (%) per model, one panel per dataset and protocol, one panel a row so
    that the chart reads at the width of a page. One kind of error bar throughout: the Wilson 95 %
    interval of the accuracy over the test sequences (:func:`sequence_interval`; none where the rows
    do not count their test sequences). Each panel has the legend of the configurations it draws,
    and each bar's value is written inside it, at its foot, where no error bar or marker can cover
    it.

    ``summary`` is :func:`stalib.report.summarise` output. Several configurations (``paper`` and,
    say, a validated one) give side-by-side bars per model, the paper's settings first. Where
    ``literature`` gives the paper's number for a model (the text states only STA-LSTM's), a black
    diamond marks it.
    """
    if summary is None or summary.empty:
        raise ValueError("plot_ablation needs at least one summarised model")
    if "configuration" not in summary.columns:
        summary = summary.assign(configuration="paper")
    table = compare(summary, literature) if literature is not None else summary.assign(
        paper=np.nan)
    configurations = list(dict.fromkeys(table["configuration"]))
    if len(configurations) > len(CONFIGURATION_COLORS):
        raise ValueError(f"plot_ablation draws at most {len(CONFIGURATION_COLORS)} "
                         f"configurations in distinct colours, got {len(configurations)}")
    colors = dict(zip(configurations, CONFIGURATION_COLORS, strict=False))
    groups = list(table.groupby(["dataset", "protocol"], sort=False))
    fig = new_figure((COLUMN_WIDTH_IN, 3.3 * len(groups) + 0.6))
    axes = fig.subplots(len(groups), 1, squeeze=False, sharey=True)[:, 0]
    for ax, ((dataset, protocol), g) in zip(axes, groups, strict=True):
        models = list(dict.fromkeys(g["model"]))
        # slots: this panel's only
        here = [v for v in configurations if (g["configuration"] == v).any()]
        width = 0.8 / max(len(here), 3)  # a lone bar no wider than one of three
        for j, configuration in enumerate(here):
            v = g[g["configuration"] == configuration]
            x = np.array([models.index(m) for m in v["model"]]) + (j - (len(here) - 1) / 2) \
                * width
            err = sequence_interval(v)
            label = ("ours" if len(configurations) == 1
                     else f"ours, {catalogue.label(configuration)}")
            ax.bar(x, v["mean"], yerr=err, capsize=3, color=colors.get(configuration, "tab:gray"),
                   alpha=0.85, width=0.9 * width, gid=f"ours-{configuration}", label=label)
            for xi, mean in zip(x, v["mean"], strict=True):
                # above the error bar (zorder), outlined in the bar's colour: a short bar's lower
                # whisker may cross its value
                ax.annotate(f"{mean:.1f}", (xi, 0.03), xycoords=("data", "axes fraction"),
                            ha="center", va="bottom", rotation=90, fontsize=9, color="white",
                            fontweight="bold", gid="bar-value", zorder=5,
                            path_effects=[patheffects.withStroke(
                                linewidth=2.5, foreground=colors.get(configuration, "tab:gray"))])
        paper = g.drop_duplicates("model").set_index("model")["paper"].reindex(models)
        paper = paper.to_numpy(dtype=float)
        has = ~np.isnan(paper)
        if has.any():
            ax.scatter(np.arange(len(models))[has], paper[has], marker="D", s=40,
                       color="black", zorder=5, gid="paper", label="paper (text)")
        ax.set_xlim(-0.6, max(len(models), 2) - 0.4)
        ax.set_xticks(np.arange(len(models)))
        # "SA-LSTM (w/o reg.)" on two lines: the labels of six models fit side by side
        ax.set_xticklabels([MODEL_LABELS.get(m, m).replace(" (", "\n(") for m in models],
                           fontsize=9)
        ax.set_ylabel("accuracy (%)", fontsize=9)
        ax.tick_params(axis="y", labelsize=9)
        name = DATASETS.get(dataset, dataset)
        # this panel's series only, just above its bars (at most three a row: it stays inside the
        # figure), and the panel's title above its legend
        entries = len(ax.get_legend_handles_labels()[1])
        ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=min(entries, 3),
                  fontsize=9, frameon=False, borderaxespad=0.2)
        ax.set_title(f"{name}, {protocol_label(dataset, protocol)}", fontsize=10,
                     pad=6 + 17 * -(-entries // 3))
    axes[0].set_ylim(0.0, 100.0)  # from 0: a bar's height is its accuracy
    return fig


def sequence_interval(summary: pd.DataFrame) -> np.ndarray:
    """``(2, rows)`` distances below and above each mean: the Wilson 95 % interval of the mean
    accuracy over the test sequences of one seed (``sequences / seeds``), the sampling error of a
    test set of that size; 0 where the rows do not count their sequences."""
    mean = summary["mean"].to_numpy(dtype=float)
    n = (summary["sequences"].astype(float) / summary["seeds"].astype(float)).to_numpy()
    low, high = mean.copy(), mean.copy()
    for i, (m, k) in enumerate(zip(mean, n, strict=True)):
        if np.isfinite(k) and k >= 1:
            low[i], high[i] = wilson_interval(int(round(m / 100.0 * k)), int(round(k)))
    return np.vstack([np.maximum(mean - low, 0.0), np.maximum(high - mean, 0.0)])


def plot_claims(table: pd.DataFrame, claims: Sequence) -> Figure:
    """The verdict as a figure: one row per claim with a measurement, ours with its 95 % interval (a
    dot and a bar) beside what the paper claims (a black diamond). Top, the comparisons as paired
    gains in points, against 0 (no gain); below, the targets in percent.

    ``table`` is :func:`stalib.report.verdict.verdict`, ``claims`` its ``CLAIMS`` (same order).
    Claims without runs (full NTU RGB+D) are left out; a row without an interval (one fold, or
    leave-one-sequence-out) shows its dot alone."""
    rows = [(c, r) for c, (_, r) in zip(claims, table.iterrows(), strict=True)
            if isinstance(r["configuration"], str)]
    if not rows:
        raise ValueError("plot_claims needs at least one claim with a measurement")
    kinds = [k for k in ("comparison", "target") if any(c.kind == k for c, _ in rows)]
    groups = [[(c, r) for c, r in rows if c.kind == k] for k in kinds]
    fig = new_figure((COLUMN_WIDTH_IN, 0.28 * len(rows) + 1.2 * len(kinds) + 0.4))
    axes = fig.subplots(len(kinds), 1, squeeze=False,
                        gridspec_kw={"height_ratios": [len(g) + 1.5 for g in groups]})[:, 0]
    for ax, kind, group in zip(axes, kinds, groups, strict=True):
        y = np.arange(len(group))[::-1]
        for yi, (c, r) in zip(y, group, strict=True):
            value = r["diff"] if kind == "comparison" else r["ours"]
            colour = LABEL_COLOURS.get(r["verdict"], LABEL_COLOURS["inconclusive"])
            if not np.isnan(r["ci_low"]):
                ax.plot([r["ci_low"], r["ci_high"]], [yi, yi], color=colour, linewidth=2,
                        gid="interval")
            ax.plot([value], [yi], "o", color=colour, gid="ours")
            if kind == "target":
                ax.plot([c.value], [yi], "D", color="black", markersize=5, gid="paper")
        if kind == "comparison":
            ax.axvline(0.0, color="black", linewidth=0.8)
            ax.set_title("Claimed gains: ours, paired (points), with the 95 % interval; "
                         "0 is no gain", fontsize=9)
        else:
            ax.set_title("Claimed accuracies: ours (%) with the 95 % interval; "
                         "black diamond: the paper", fontsize=9)
        ax.set_yticks(y)
        ax.set_yticklabels([_short_claim(c) for c, _ in group], fontsize=9)
        ax.tick_params(axis="x", labelsize=9)
        ax.set_xlabel("paired difference, points" if kind == "comparison" else "accuracy, %",
                      fontsize=9)
        ax.set_ylim(-0.7, len(group) - 0.3)
        ax.grid(axis="x", linewidth=0.3)
    fig.suptitle("Each claim: green, reproduced; vermilion, contradicted; grey, inconclusive",
                 fontsize=9)
    return fig


#: The colour of each of the four labels (Okabe-Ito: green, vermilion, grey), in every figure.
LABEL_COLOURS = {"reproduced": "#009E73", "contradicted": "#D55E00", "inconclusive": "#777777",
                 "not testable here": "#BBBBBB"}
#: A marker per dataset of the pooled verdict.
DATASET_MARKERS = {"sbu": "s", "utkinect": "^", "nwucla": "v", "utdmhad": "P"}


def plot_pooled(results: Sequence[dict]) -> Figure:
    """The pooled verdict as a forest plot: per comparison claim (model vs. its reference), each
    dataset's paired difference (its marker, hollow) and the pooled estimate (a dot) with its 95 %
    interval, coloured by the claim's label. ``results``:
    :func:`stalib.report.pooled.pooled_verdict`."""
    rows = [r for r in results if r["pooled"] is not None]
    if not rows:
        raise ValueError("plot_pooled needs at least one claim with a pooled estimate")
    fig = new_figure((COLUMN_WIDTH_IN, 0.5 * len(rows) + 1.6))
    ax = fig.subplots()
    y = np.arange(len(rows))[::-1]
    for yi, r in zip(y, rows, strict=True):
        colour = LABEL_COLOURS[r["label"]]
        pooled = r["pooled"]
        ax.plot([pooled["low"], pooled["high"]], [yi, yi], color=colour, linewidth=3,
                gid="pooled-interval")
        ax.plot([pooled["diff"]], [yi], "o", color=colour, markersize=8, gid="pooled")
        for dataset, _ in POOLED_ON:
            e = r["per_dataset"].get(dataset)
            if e is not None:
                ax.plot([e["diff"]], [yi + 0.25], DATASET_MARKERS[dataset], markersize=7,
                        markerfacecolor="none", color="black", gid=f"dataset-{dataset}")
    ax.axvline(0.0, color="black", linewidth=0.8)
    ax.set_yticks(y)
    names = [f"{MODEL_LABELS.get(r['comparison'].model, r['comparison'].model)} vs. "
             f"{MODEL_LABELS.get(r['comparison'].reference, r['comparison'].reference)}"
             for r in rows]
    ax.set_yticklabels(names, fontsize=11)
    ax.tick_params(axis="x", labelsize=11)
    ax.set_xlabel("paired difference, accuracy points", fontsize=11)
    ax.set_ylim(-0.7, len(rows) - 0.2)
    ax.grid(axis="x", linewidth=0.3)
    handles = [ax.plot([], [], DATASET_MARKERS[d], markerfacecolor="none", color="black",
                       markersize=7, label=DATASET_SHORT.get(d, d))[0] for d, _ in POOLED_ON]
    handles += [ax.plot([], [], "o", color=c, markersize=8, label=f"pooled: {w}")[0]
                for w, c in LABEL_COLOURS.items() if any(r["label"] == w for r in rows)]
    ax.legend(handles=handles, fontsize=10, frameon=False, loc="upper center",
              bbox_to_anchor=(0.5, -0.12), ncol=3)
    return fig


def _short_claim(claim) -> str:
    """A claim's label for :func:`plot_claims`: its text without the parenthesis, and its data where
    the text does not name it."""
    text = claim.text.split(" (")[0].replace(" on UTKinect leave-one-sequence-out",
                                             " on UTKinect LOSO")
    where = DATASET_SHORT.get(claim.dataset, claim.dataset)
    return text if where in text else f"{text} ({where})"


def plot_per_class(per: pd.DataFrame) -> Figure:
    """Test accuracy per class as a heat-map: one row per model, configuration (and protocol where
    several), one column per class, the percentage written in each cell.

    ``per`` is :func:`stalib.report.tables.per_class` output (``results/<dataset>/
    per_class.csv``)."""
    meta = ("dataset", "protocol", "configuration", "model", "label", "runs")
    classes = [c for c in per.columns if c not in meta]
    if per.empty or not classes:
        raise ValueError("plot_per_class needs per-class rows")
    several = per["protocol"].nunique() > 1
    names = [f"{r['label']} ({r['configuration']}" + (f", {r['protocol']})" if several else ")")
             for _, r in per.iterrows()]
    values = per[classes].astype(float).to_numpy()
    fig = new_figure((COLUMN_WIDTH_IN, 0.3 * len(per) + 2.2))
    ax = fig.subplots()
    image = ax.imshow(values, aspect="auto", cmap="viridis", vmin=0.0, vmax=100.0,
                      gid="per-class")
    if len(classes) <= 12:  # a cell wide enough for its value at 9 pt; else the colour says it
        for i, j in np.ndindex(values.shape):
            if not np.isnan(values[i, j]):
                ax.text(j, i, f"{values[i, j]:.0f}", ha="center", va="center", fontsize=9,
                        color="white" if values[i, j] < 60 else "black")
    ax.set_xticks(np.arange(len(classes)))
    ax.set_xticklabels(classes, rotation=90 if len(classes) > 12 else 45,
                       ha="center" if len(classes) > 12 else "right", fontsize=9)
    ax.set_yticks(np.arange(len(names)))
    ax.set_yticklabels(names, fontsize=9)
    fig.colorbar(image, ax=ax, label="test accuracy (%)", shrink=0.8)
    return fig
