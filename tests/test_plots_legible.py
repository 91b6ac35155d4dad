"""The report's figures read at the width of the page: drawn as wide as the text column, one
panel a row, no text below 9 pt, no label drawn over another or under a marker."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from matplotlib.text import Text

from stalib.data.skeletons import SBU
from stalib.report import FIG7_MODELS, plots, summarise

RNG = np.random.default_rng(3)


def _texts(fig, gid=None):
    fig.canvas.draw()
    texts = [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()
             and (gid is None or t.get_gid() == gid)]
    renderer = fig.canvas.get_renderer()
    return texts, renderer


def _overlapping(texts, renderer):
    # Text's own extent: an Annotation's would include its leader line
    boxes = [(t.get_text(), Text.get_window_extent(t, renderer)) for t in texts]
    return [(a, b) for (a, ba), (b, bb) in itertools.combinations(boxes, 2) if ba.overlaps(bb)]


def _fig7_runs():
    rows = []
    for dataset, protocol in (("sbu", "5fold"), ("utkinect", "xsub"), ("ntu60", "xsub")):
        for i, model in enumerate(FIG7_MODELS):
            for fold in range(1, 4):
                for configuration in ("paper", "l1-off", "l1-off-aug"):
                    rows.append(dict(dataset=dataset, protocol=protocol, model=model, fold=fold,
                                     seed=0, configuration=configuration,
                                     accuracy=0.5 + 0.05 * i + 0.01 * fold))
    return pd.DataFrame(rows)


def test_fig7_one_panel_a_row_at_column_width_labels_clear_of_markers():
    literature = pd.DataFrame([dict(table="Table 1", dataset="sbu", protocol="5-fold",
                                    method="STA-LSTM", accuracy=0.5 + 0.25 + 0.02 + 0.005,
                                    source="Song et al. 2017")])
    literature["accuracy"] = 100 * literature["accuracy"]  # right on top of STA-LSTM's bar
    fig = plots.plot_ablation(summarise(_fig7_runs()), literature)
    assert fig.get_figwidth() == pytest.approx(plots.COLUMN_WIDTH_IN)
    lefts = {round(ax.get_position().x0, 3) for ax in fig.axes}
    assert len(fig.axes) == 3 and len(lefts) == 1  # stacked, not side by side
    texts, renderer = _texts(fig)
    assert min(t.get_fontsize() for t in texts) >= 9
    values = [t for t in texts if t.get_gid() == "bar-value"]
    assert len(values) == 3 * 6 * 3
    assert _overlapping([t for t in texts if t.get_gid() != "bar-value"], renderer) == []
    assert _overlapping(values, renderer) == []
    # no value label under the paper's marker
    from matplotlib.transforms import Bbox

    [paper] = [c for c in fig.findobj() if c.get_gid() == "paper"]
    (x, y), = paper.axes.transData.transform(paper.get_offsets())
    r = 10 * fig.dpi / 72  # the diamond's half size and more, in pixels
    marker = Bbox([[x - r, y - r], [x + r, y + r]])
    assert not [t.get_text() for t in values
                if Text.get_window_extent(t, renderer).overlaps(marker)]
    # the model names of a panel do not run into each other
    for ax in fig.axes:
        ticks = [t for t in ax.get_xticklabels() if t.get_text()]
        assert _overlapping(ticks, renderer) == []


def test_fig7_legend_of_many_configurations_stays_within_the_figure():
    """Seven configurations (the committed results had as many): each panel's legend wraps instead
    of widening the saved figure past its axes (the page would shrink the whole chart), and lists
    the configurations of its own panel only, clear of the panel's title."""
    runs = _fig7_runs()
    runs = pd.concat([runs] + [runs[runs["configuration"] == "paper"].assign(configuration=f"v{i}")
                               for i in range(4)])
    fig = plots.plot_ablation(summarise(runs), pd.DataFrame(
        columns=["table", "dataset", "protocol", "method", "accuracy", "source"]))
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes:
        legend = ax.get_legend().get_window_extent(renderer)
        assert legend.width <= fig.bbox.width
        assert legend.x0 >= 0 and legend.x1 <= fig.bbox.x1
        assert not legend.overlaps(ax.title.get_window_extent(renderer))
        shown = {t.get_text() for t in ax.get_legend().get_texts()}
        drawn = {b.get_label() for b in ax.containers} - {"_nolegend_"}  # error bars
        assert shown == drawn


def test_fig5a_names_close_joints_without_overlap():
    frame = RNG.normal(0, 0.05, size=(30, 3))
    frame[15:, 0] += 1.0
    frame[20, :2] = frame[23, :2] + 0.001  # P2's two hands on one spot (as in Fig. 5(a))
    alpha = np.full(30, 0.1)
    alpha[[20, 23, 15, 16, 0, 1, 2, 3]] = 1.0
    fig = plots.plot_skeleton_attention(frame, alpha, SBU)
    texts, renderer = _texts(fig, "joint-label")
    names = [t.get_text() for t in texts]
    assert len(names) == 8 and "P2 left hand" in names and "P2 right hand" in names
    assert _overlapping(texts, renderer) == []
    assert min(t.get_fontsize() for t in texts) >= 8


def test_coupled_map_one_map_a_row_with_readable_joint_names():
    alpha = RNG.random((20, 30))
    fig = plots.plot_coupled_map(alpha, alpha, SBU)
    assert fig.get_figwidth() == pytest.approx(plots.COLUMN_WIDTH_IN)
    maps = [ax for ax in fig.axes if ax.get_ylabel() == "joint"]
    assert len({round(ax.get_position().x0, 3) for ax in maps}) == 1  # one above the other
    texts, renderer = _texts(fig)
    ticks = [t for ax in maps for t in ax.get_yticklabels() if t.get_text()]
    assert len(ticks) == 60 and min(t.get_fontsize() for t in ticks) >= 8
    assert all(_overlapping(ax.get_yticklabels(), renderer) == [] for ax in maps)


def test_predict_figure_draws_alpha_and_beta_and_names_the_frame():
    seq = RNG.normal(size=(12, 30, 3))
    alpha = RNG.random((12, 30))
    alpha[7, 4] = 5.0  # frame 8 has the most focused attention ...
    beta = np.linspace(0.0, 0.1, 12)
    beta[7:] += 1.0  # ... and beta rises most into frame 8: Fig. 5a's rule shows frame 8
    fig = plots.plot_attention_summary(seq, alpha, beta, "sbu", title="t")
    titles = [ax.get_title() for ax in fig.axes]
    assert any("frame 8 of 12, where Δβ peaks" in t for t in titles)
    assert any("Temporal attention" in t for t in titles)
    [line] = [a for a in fig.findobj() if a.get_gid() == "alpha-frame"]
    assert line.get_xdata()[0] == 8
    only_beta = plots.plot_attention_summary(seq, None, RNG.random(12), None)
    assert len(only_beta.axes) == 1
    heatmap = plots.plot_attention_summary(seq, alpha, None, None)
    assert "frame 8 of 12" in heatmap.axes[0].get_title()


def test_no_text_of_a_figure_is_under_9_pt():
    """Every figure of the book, drawn at the column's width, writes nothing smaller than 9 pt
    (issue 34): the skeletons, attention maps, data figures and the per-class map."""
    from pathlib import Path

    from stalib import plots as lib
    from stalib.report import pooled
    from stalib.results_folder import load_all_cv

    results = Path(__file__).resolve().parents[1] / "results"

    frame = RNG.normal(size=(30, 3))
    alpha = RNG.dirichlet(np.ones(30), size=12)
    beta = RNG.random(12)
    per = pd.DataFrame([dict(dataset="sbu", protocol="5fold", configuration="paper", model=m,
                             label=m, runs=5, **{f"class {c}": 100 * RNG.random()
                                                 for c in range(8)}) for m in FIG7_MODELS])
    figures = {
        "skeleton": lib.plot_skeleton(frame, SBU, label_joints=True),
        "skeleton attention": lib.plot_skeleton_attention(frame, alpha[0], SBU),
        "alpha heatmap": lib.plot_alpha_heatmap(alpha, SBU),
        "beta": lib.plot_beta(beta), "beta diff": lib.plot_beta_diff(beta),
        "class counts": lib.plot_class_counts(RNG.integers(0, 27, 200),
                                              [str(c) for c in range(27)]),
        "lengths": lib.plot_length_hist(RNG.integers(10, 90, 200)),
        "coupled": lib.plot_coupled_map(alpha, alpha, SBU),
        "summary": lib.plot_attention_summary(RNG.normal(size=(12, 30, 3)), alpha, beta, SBU),
        "per class": plots.plot_per_class(per),
        "pooled": plots.plot_pooled(pooled.pooled_verdict(load_all_cv(results))),
    }
    small = {name: sorted({t.get_fontsize() for t in _texts(fig)[0] if t.get_fontsize() < 9})
             for name, fig in figures.items()}
    assert {k: v for k, v in small.items() if v} == {}
