"""Every plot builds a figure with the expected artists, from arrays only."""

from __future__ import annotations

import matplotlib.colors as mcolors
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from stalib.data.skeletons import NTU, SBU, UTKINECT
from stalib.report import plots, summarise

RNG = np.random.default_rng(0)


def _frame(layout, persons):
    """A standing skeleton per person: y grows upwards, person p shifted along x."""
    j = layout.joints_per_person
    frame = RNG.normal(0, 0.05, size=(persons * j, 3))
    for p in range(persons):
        frame[p * j:(p + 1) * j, 0] += 2.0 * p
        frame[p * j + layout.head, 1] = 1.8
        for f in layout.feet:
            frame[p * j + f, 1] = 0.0
    return frame


def _by_gid(fig: Figure, gid: str):
    found = [a for a in fig.findobj() if a.get_gid() == gid]
    assert found, f"no artist with gid {gid!r}"
    return found


def _png(fig: Figure, tmp_path, name="fig.png"):
    path = tmp_path / name
    fig.savefig(path)
    assert path.stat().st_size > 1000


def test_skeleton_two_persons(tmp_path):
    fig = plots.plot_skeleton(_frame(SBU, 2), "sbu", label_joints=True)
    assert isinstance(fig, Figure)
    assert len(_by_gid(fig, "bones-person1")[0].get_segments()) == 14
    assert len(_by_gid(fig, "bones-person2")[0].get_segments()) == 14
    assert len(_by_gid(fig, "joints")[0].get_offsets()) == 30
    assert not fig.axes[0].yaxis_inverted()  # head (y=1.8) already above the feet
    _png(fig, tmp_path)


def test_skeleton_absent_person_and_image_coordinates():
    frame = _frame(NTU, 2)
    frame[25:] = 0.0  # second person absent
    frame[:, 1] *= -1  # y grows downwards (image coordinates)
    fig = plots.plot_skeleton(frame, "ntu60")
    assert len(_by_gid(fig, "joints")[0].get_offsets()) == 25
    assert not [a for a in fig.findobj() if a.get_gid() == "bones-person2"]
    assert fig.axes[0].yaxis_inverted()  # drawn upright


def test_skeleton_attention_marks_the_top_8_in_red(tmp_path):
    frame = _frame(SBU, 2)
    alpha = RNG.random(30)
    alpha /= alpha.sum()
    fig = plots.plot_skeleton_attention(frame, alpha, SBU)
    top = _by_gid(fig, "top-joints")[0]
    offsets = np.asarray(top.get_offsets())
    assert len(offsets) == 8
    assert all(np.allclose(c[:3], mcolors.to_rgb("red")) for c in top.get_edgecolors())
    expected = frame[np.argsort(-alpha)[:8], :2]
    assert sorted(map(tuple, offsets.round(6))) == sorted(map(tuple, expected.round(6)))
    sizes = _by_gid(fig, "attention")[0].get_sizes()
    assert len(sizes) == 30 and np.argmax(sizes) == np.argmax(alpha)
    _png(fig, tmp_path)


def test_skeleton_attention_checks_lengths():
    with pytest.raises(ValueError, match="30 joints"):
        plots.plot_skeleton_attention(_frame(SBU, 2), np.ones(29), SBU)
    with pytest.raises(ValueError, match="whole number"):
        plots.plot_skeleton(np.zeros((31, 3)), SBU)


def test_alpha_heatmap_shape_and_joint_names(tmp_path):
    alpha = RNG.random((40, 30))
    fig = plots.plot_alpha_heatmap(alpha, "sbu")
    image = _by_gid(fig, "alpha")[0]
    assert image.get_array().shape == (30, 40)  # joints x frames
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels == SBU.names()
    _png(fig, tmp_path)


def test_beta_and_diff(tmp_path):
    beta = np.cumsum(RNG.random(25))
    fig = plots.plot_beta(beta)
    line = _by_gid(fig, "beta")[0]
    assert np.allclose(line.get_ydata(), beta)
    assert np.allclose(line.get_xdata(), np.arange(1, 26))
    fig = plots.plot_beta_diff(beta)
    bars = _by_gid(fig, "beta-diff")
    assert np.allclose([p.get_height() for p in bars], np.diff(beta))
    assert bars[0].get_x() + bars[0].get_width() / 2 == pytest.approx(2.0)
    _png(fig, tmp_path)
    with pytest.raises(ValueError):
        plots.plot_beta(np.zeros((2, 2)))


def _runs():
    rows = []
    for model, base in [("lstm", 0.80), ("sa-lstm", 0.84), ("sta-lstm", 0.90)]:
        for fold in range(1, 6):
            for seed in (0, 1):
                rows.append(dict(dataset="sbu", protocol="5fold", model=model, fold=fold,
                                 seed=seed, accuracy=base + 0.01 * fold))
    for model, base in [("lstm", 0.6), ("sta-lstm", 0.7)]:
        rows.append(dict(dataset="ntu60", protocol="cs", model=model, fold=1, seed=0,
                         accuracy=base))
    return pd.DataFrame(rows)


def test_ablation_bars_and_paper_marker(tmp_path):
    summary = summarise(_runs())
    literature = pd.DataFrame([
        dict(table="Table 1", dataset="sbu", protocol="5-fold", method="STA-LSTM",
             accuracy=91.51, source="Song et al. 2017"),
        dict(table="Table 2", dataset="ntu60", protocol="cs", method="STA-LSTM",
             accuracy=73.4, source="Song et al. 2017"),
    ])
    fig = plots.plot_ablation(summary, literature)
    assert len(fig.axes) == 2
    bars = _by_gid(fig, "ours-paper")
    per_axes = {ax: [b for b in bars if b.axes is ax] for ax in fig.axes}
    assert sorted(len(b) for b in per_axes.values()) == [2, 3]
    sbu_bars = [b for b in per_axes.values() if len(b) == 3][0]
    assert [p.get_height() for p in sbu_bars] == pytest.approx(
        list(summary[summary.dataset == "sbu"]["mean"]))
    paper = _by_gid(fig, "paper")
    assert sorted(float(p.get_offsets()[0][1]) for p in paper) == [73.4, 91.51]
    _png(fig, tmp_path)
    fig = plots.plot_ablation(summary)  # without literature: no markers
    assert not [a for a in fig.findobj() if a.get_gid() == "paper"]
    with pytest.raises(ValueError):
        plots.plot_ablation(summary.iloc[:0])


def test_ablation_bars_start_at_zero():
    runs = _runs()
    runs.loc[(runs.dataset == "sbu") & (runs.model == "lstm"), "accuracy"] = 0.30
    fig = plots.plot_ablation(summarise(runs))
    for ax in fig.axes:  # a bar's height is its accuracy: no axis starting near 15 %
        assert ax.get_ylim() == (0.0, 100.0)


def test_every_configuration_of_the_ablation_has_its_own_colour():
    """Seven configurations once drew two of them in the same grey."""
    from matplotlib.colors import to_hex

    runs = _runs()
    names = ["paper", "l1-off", "l1-off-aug", "r1-view", "r1-view-gain", "r1-view-gain-swap",
             "sbu-settings"]
    summary = summarise(pd.concat([runs.assign(configuration=n) for n in names], ignore_index=True))
    fig = plots.plot_ablation(summary)
    colours = {n: {to_hex(b.get_facecolor()) for b in _by_gid(fig, f"ours-{n}")}
               for n in names}
    assert all(len(c) == 1 for c in colours.values())
    assert len({c.pop() for c in colours.values()}) == len(names)


def test_ablation_puts_configurations_side_by_side(tmp_path):
    runs = _runs()
    other = runs[runs.dataset == "sbu"].assign(configuration="l1-off",
                                               accuracy=lambda d: d.accuracy / 2)
    summary = summarise(pd.concat([runs.assign(configuration="paper"), other], ignore_index=True))
    fig = plots.plot_ablation(summary)
    sbu = [ax for ax in fig.axes if "SBU" in ax.get_title()][0]
    paper = [b for b in _by_gid(fig, "ours-paper") if b.axes is sbu]
    off = [b for b in _by_gid(fig, "ours-l1-off") if b.axes is sbu]
    assert len(paper) == len(off) == 3
    # each model's two bars sit either side of its tick, the paper's settings on the left
    for a, b, tick in zip(paper, off, sbu.get_xticks(), strict=True):
        assert a.get_x() + a.get_width() <= tick + 1e-9 <= b.get_x() + 1e-9
        assert b.get_height() == pytest.approx(a.get_height() / 2)
    _png(fig, tmp_path)


def test_a_panel_with_one_configuration_centres_its_bars_on_the_ticks():
    runs = _runs()
    sbu = runs[runs.dataset == "sbu"]
    summary = summarise(pd.concat([sbu.assign(configuration="paper"),
                                   sbu.assign(configuration="l1-off"),
                                   runs[runs.dataset != "sbu"].assign(
                                       configuration="sbu-settings")],
                                  ignore_index=True))
    fig = plots.plot_ablation(summary)
    alone = [ax for ax in fig.axes if ax.get_title() and "SBU" not in ax.get_title()][0]
    bars = [b for b in _by_gid(fig, "ours-sbu-settings") if b.axes is alone]
    assert bars
    for b, tick in zip(bars, alone.get_xticks(), strict=False):
        assert b.get_x() + b.get_width() / 2 == pytest.approx(tick)  # no empty slots beside it


def test_class_counts_and_lengths(tmp_path):
    labels = np.array([0, 0, 1, 2, 2, 2])
    fig = plots.plot_class_counts(labels, ["a", "b", "c", "d"])
    heights = [p.get_height() for p in _by_gid(fig, "class-counts")]
    assert heights == [2, 1, 3, 0]
    _png(fig, tmp_path)
    fig = plots.plot_length_hist([10, 20, 20, 30], bins=3)
    patches = [a for a in fig.axes[0].patches]
    assert sum(p.get_height() for p in patches) == 4
    _png(fig, tmp_path, "len.png")


def test_coupled_map_side_by_side(tmp_path):
    coupled = RNG.random((32, 20))
    alpha = RNG.random((50, 20))
    fig = plots.plot_coupled_map(coupled, alpha, UTKINECT)
    assert _by_gid(fig, "coupled")[0].get_array().shape == (20, 32)
    assert _by_gid(fig, "alpha")[0].get_array().shape == (20, 50)
    images_axes = [ax for ax in fig.axes if ax.images]
    assert len(images_axes) == 2
    _png(fig, tmp_path)


def test_draws_into_given_axes():
    fig = Figure()
    ax = fig.add_subplot()
    assert plots.plot_beta(np.ones(5), ax=ax) is fig


def test_skeleton_grid_one_panel_per_frame(tmp_path):
    frames = [_frame(SBU, 2) for _ in range(5)]
    titles = [f"class {i}" for i in range(5)]
    fig = plots.plot_skeleton_grid(frames, titles, "sbu", ncols=4, title="one per class")
    shown = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in shown] == titles
    assert len(fig.axes) == 8  # 2 rows of 4, the 3 spare panels hidden
    _png(fig, tmp_path)
    with pytest.raises(ValueError, match="2 frames for 1 titles"):
        plots.plot_skeleton_grid(frames[:2], titles[:1], "sbu")


def test_ablation_draws_a_loso_panel_with_its_interval(tmp_path):
    from stalib.report import wilson_interval

    runs = _runs()
    loso = pd.DataFrame([dict(dataset="utkinect", protocol="loso", model="lstm", fold=f,
                              seed=0, accuracy=float(f > 4), n_test=1) for f in range(1, 21)])
    fig = plots.plot_ablation(summarise(pd.concat([runs, loso], ignore_index=True)))
    ax = [a for a in fig.axes if "UTKinect" in a.get_title()][0]
    # one kind of error bar in every panel (the caption says which), one legend per panel
    assert not any("±" in a.get_title() or "CI" in a.get_title() for a in fig.axes)
    for a in fig.axes:
        if a.get_title():
            assert [t.get_text() for t in a.get_legend().get_texts()] == ["ours"]
    # its error bar spans the Wilson interval, not mean ± std of the 0/1 outcomes
    low, high = wilson_interval(16, 20)
    segments = [seg for c in ax.collections for seg in c.get_segments()]
    spans = sorted(tuple(sorted((seg[0][1], seg[1][1]))) for seg in segments if len(seg) == 2)
    assert any(a == pytest.approx(low) and b == pytest.approx(high) for a, b in spans)
    _png(fig, tmp_path)


def test_the_claims_figure_has_one_row_per_measured_claim():
    from types import SimpleNamespace

    claims = [SimpleNamespace(text="A beats B", dataset="sbu", kind="comparison", value=None),
              SimpleNamespace(text="A reaches 91.5 % on SBU", dataset="sbu", kind="target",
                              value=91.5),
              SimpleNamespace(text="A reaches 73 % on NTU", dataset="ntu60", kind="target",
                              value=73.0)]
    nan = float("nan")
    table = pd.DataFrame([
        dict(configuration="v", diff=1.0, ours=90.0, ci_low=-0.5, ci_high=2.5,
             verdict="not reproduced"),
        dict(configuration="v", diff=-0.6, ours=90.9, ci_low=88.8, ci_high=93.0,
             verdict="reproduced"),
        dict(configuration=None, diff=nan, ours=nan, ci_low=nan, ci_high=nan,
             verdict="not testable here")])
    fig = plots.plot_claims(table, claims)
    assert len(_by_gid(fig, "ours")) == 2 and len(_by_gid(fig, "interval")) == 2
    assert [p.get_xdata()[0] for p in _by_gid(fig, "paper")] == [91.5]  # targets only
    with pytest.raises(ValueError):
        plots.plot_claims(table.iloc[2:], claims[2:])


def test_per_class_heat_map_has_a_cell_per_model_and_class():
    per = pd.DataFrame([
        dict(dataset="sbu", protocol="5fold", configuration="v", model=m, label=m, runs=15,
             kicking=80.0 + i, punching=float("nan") if i else 70.0)
        for i, m in enumerate(["lstm", "sta-lstm"])])
    fig = plots.plot_per_class(per)
    (image,) = _by_gid(fig, "per-class")
    assert image.get_array().shape == (2, 2)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts == ["80", "70", "81"]  # a class without runs stays blank
    with pytest.raises(ValueError):
        plots.plot_per_class(per.iloc[:0])


def test_one_frame_rule_for_fig5a_and_predict():
    """predict --plot once showed the frame of the largest alpha, the book's Fig. 5a the peak
    of beta_t - beta_(t-1): two rules."""
    alpha = np.full((5, 3), 1 / 3)
    alpha[0] = [0.9, 0.05, 0.05]  # the most focused frame is 0 ...
    beta = np.array([0.1, 0.1, 0.5, 0.6, 0.6])  # ... Δβ peaks at frame 2
    assert plots.shown_frame(alpha, beta) == 2
    assert plots.shown_frame(alpha, None) == 0  # no temporal attention: the largest weight
    fig = plots.plot_attention_summary(np.zeros((5, 3, 3)), alpha, beta, None)
    assert "frame 3 of 5, where Δβ peaks" in fig.axes[0].get_title()


def test_the_pooled_forest_plot_colours_each_claim_by_its_label():
    from stalib.report import plots, pooled

    c = pooled.COMPARISONS[0]
    effect = {"diff": 1.0, "low": -1.0, "high": 3.0, "se": 1.0, "df": None, "detectable": 2.8,
              "runs": 3, "method": "x"}
    results = [{"comparison": c, "per_dataset": {"sbu": effect, "utkinect": None,
                                                 "nwucla": effect, "utdmhad": None},
                "pooled": {"diff": 1.0, "low": 0.2, "high": 1.8, "k": 2, "i2": 0.0},
                "label": pooled.REPRODUCED}]
    fig = plots.plot_pooled(results)
    ax = fig.axes[0]
    dot = next(line for line in ax.lines if line.get_gid() == "pooled")
    assert dot.get_color() == plots.LABEL_COLOURS["reproduced"]
    assert sum(line.get_gid() == "dataset-sbu" for line in ax.lines) == 1
    assert ax.get_yticklabels()[0].get_text() == "SA-LSTM vs. LSTM"
    assert ax.get_xlabel()
