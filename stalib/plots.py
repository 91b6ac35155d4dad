"""Figures of skeletons and attention, for any data: a skeleton frame, its attention, the
alpha heatmap and beta curves of Figs. 5 and 6, CSTA-CNN's coupled map, class counts and
sequence lengths.

Each function takes arrays, never a model, and returns a :class:`matplotlib.figure.Figure`
drawn on the Agg canvas (no pyplot state, no window). Functions that draw into one panel also
take ``ax=None``; given an axes they draw there and return its figure.

Joints are flattened over persons: joint ``p * J + j`` is joint ``j`` of person ``p``, and
``layout`` is a :class:`stalib.data.skeletons.Layout` or its name (``sbu``, ``utkinect``,
``ntu``/``ntu60``), or None for joints without a skeleton (your own data). The number of
persons is read off the number of joints ``K``.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from stalib.data.skeletons import Layout, get_layout

PERSON_COLORS = ("#1f77b4", "#2ca02c", "#9467bd", "#8c564b")
TOP_COLOR = "red"
#: width (inches) of a figure that fills the book's text column (about 680 px at a 1280 px
#: window): drawn at this width, a 9 pt label shows at about 13 px, read without zoom
COLUMN_WIDTH_IN = 6.5


def new_figure(figsize: tuple[float, float]) -> Figure:
    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _axes(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    if ax is not None:
        return ax.figure, ax
    fig = new_figure(figsize)
    return fig, fig.add_subplot()


def _as_frame(frame, name: str = "frame") -> np.ndarray:
    frame = np.asarray(frame, dtype=float)
    if frame.ndim != 2 or frame.shape[1] < 2:
        raise ValueError(f"{name} must be (K, 3) joint positions, got shape {frame.shape}")
    return frame


def _present(frame: np.ndarray, layout: Layout) -> list[int]:
    """Persons whose joints are not all zero (absent persons are stored as zeros)."""
    j = layout.joints_per_person
    persons = layout.persons_in(len(frame))
    return [p for p in range(persons) if np.any(frame[p * j:(p + 1) * j] != 0)] or [0]


def _upright(ax: Axes, frame: np.ndarray, layout: Layout, persons: list[int]) -> None:
    """Draw with the head above the feet, whatever the sign of the data's vertical axis."""
    j = layout.joints_per_person
    p = persons[0]
    head = frame[p * j + layout.head, 1]
    feet = np.mean([frame[p * j + f, 1] for f in layout.feet])
    if head < feet:
        ax.invert_yaxis()


def _draw_bones(ax: Axes, frame: np.ndarray, layout: Layout, persons: list[int],
                colors: Sequence[str] | None = None, alpha: float = 1.0) -> None:
    j = layout.joints_per_person
    for p in persons:
        color = (colors or PERSON_COLORS)[p % len(colors or PERSON_COLORS)]
        segments = [[frame[p * j + a, :2], frame[p * j + b, :2]] for a, b in layout.bones]
        lines = LineCollection(segments, colors=color, linewidths=2.0, alpha=alpha,
                               gid=f"bones-person{p + 1}")
        ax.add_collection(lines)


def _skeleton_axes(ax: Axes, frame: np.ndarray) -> None:
    ax.set_aspect("equal", adjustable="datalim")
    ax.autoscale_view()
    ax.set_xticks([])
    ax.set_yticks([])
    for side in ax.spines.values():
        side.set_visible(False)


def plot_skeleton(frame, layout: Layout | str | None, ax: Axes | None = None,
                  label_joints: bool = False, title: str | None = None) -> Figure:
    """One frame ``(K, 3)``: the bones of each person present (x right, y up) and the joints
    (``layout`` None, data of no known layout: the joints only)."""
    frame = _as_frame(frame)
    fig, ax = _axes(ax, (4, 4))
    if layout is None:  # your own data (npz): joints only, no bones to draw
        ax.scatter(frame[:, 0], frame[:, 1], s=12, color="black", zorder=3, gid="joints")
        _skeleton_axes(ax, frame)
        if title:
            ax.set_title(title)
        return fig
    layout = get_layout(layout)
    persons = _present(frame, layout)
    _draw_bones(ax, frame, layout, persons)
    j = layout.joints_per_person
    idx = np.concatenate([np.arange(p * j, (p + 1) * j) for p in persons])
    ax.scatter(frame[idx, 0], frame[idx, 1], s=12, color="black", zorder=3, gid="joints")
    if label_joints:
        names = layout.names(layout.persons_in(len(frame)))
        for k in idx:
            ax.annotate(names[k], frame[k, :2], fontsize=9, xytext=(3, 3),
                        textcoords="offset points")
    _skeleton_axes(ax, frame)
    _upright(ax, frame, layout, persons)
    if title:
        ax.set_title(title)
    return fig


def plot_skeleton_grid(frames: Sequence, titles: Sequence[str], layout: Layout | str | None,
                       ncols: int = 4, title: str | None = None) -> Figure:
    """One skeleton frame per panel (e.g. one per class), ``titles[i]`` above panel ``i``."""
    frames = [_as_frame(f) for f in frames]
    if len(frames) != len(titles) or not frames:
        raise ValueError(f"{len(frames)} frames for {len(titles)} titles")
    ncols = max(1, min(ncols, len(frames)))
    nrows = -(-len(frames) // ncols)
    side = COLUMN_WIDTH_IN / max(ncols, 3)  # as wide as the text column (or narrower)
    fig = new_figure((side * ncols, (side + 0.2) * nrows))
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()

    for ax, frame, name in zip(axes, frames, titles, strict=False):
        plot_skeleton(frame, layout, ax=ax)
        ax.set_title("\n".join(textwrap.wrap(name, 14)) or name, fontsize=9)  # no overlaps
    for ax in axes[len(frames):]:
        ax.set_visible(False)
    if title:
        fig.suptitle(title)
    return fig


def _side_labels(ax: Axes, points: np.ndarray, labels: Sequence[str]) -> None:
    """Name ``points`` (n, 2) in two columns beside the axes, each joined to its point by a thin
    line: joints left of the middle on the left, the others on the right, each column in the
    points' top-to-bottom order and evenly spaced, so no two labels overlap however close the
    joints are (two hands of one person, say)."""
    if len(points) == 0:
        return
    middle = float(np.mean(ax.get_xlim()))
    flip = ax.yaxis_inverted()
    for left in (True, False):
        side = [i for i in range(len(points)) if (points[i, 0] < middle) == left]
        side.sort(key=lambda i: points[i, 1], reverse=not flip)  # top of the drawing first
        for rank, i in enumerate(side):
            y = 0.95 - 0.9 * (rank + 0.5) / max(len(side), 1)
            ax.annotate(labels[i], points[i], xytext=(-0.02 if left else 1.02, y),
                        textcoords="axes fraction", ha="right" if left else "left",
                        va="center", fontsize=9, color=TOP_COLOR, annotation_clip=False,
                        arrowprops={"arrowstyle": "-", "color": TOP_COLOR, "linewidth": 0.5,
                                    "alpha": 0.6, "shrinkA": 1, "shrinkB": 3},
                        gid="joint-label")


def plot_skeleton_attention(frame, alpha, layout: Layout | str, top: int = 8,
                            ax: Axes | None = None, title: str | None = None) -> Figure:
    """Fig. 5(a): the skeleton(s) of one frame with the spatial attention of each joint.

    Every joint gets a grey circle whose area is proportional to ``alpha``; the ``top`` joints
    with the largest attention are drawn as red circles (the paper marks 8) and named.
    """
    frame = _as_frame(frame)
    alpha = np.asarray(alpha, dtype=float).reshape(-1)
    if alpha.shape[0] != frame.shape[0]:
        raise ValueError(f"alpha has {alpha.shape[0]} weights for {frame.shape[0]} joints")
    layout = get_layout(layout)
    fig, ax = _axes(ax, (5, 5))
    persons = _present(frame, layout)
    j = layout.joints_per_person
    _draw_bones(ax, frame, layout, persons, colors=("0.6",), alpha=0.8)
    idx = np.concatenate([np.arange(p * j, (p + 1) * j) for p in persons])
    scale = 600.0 / max(float(alpha[idx].max()), 1e-12)
    sizes = np.clip(alpha[idx], 0, None) * scale
    ax.scatter(frame[idx, 0], frame[idx, 1], s=sizes, facecolors="none", edgecolors="0.5",
               linewidths=0.8, zorder=3, gid="attention")
    ax.scatter(frame[idx, 0], frame[idx, 1], s=6, color="black", zorder=4, gid="joints")
    top = min(top, len(idx))
    best = idx[np.argsort(-alpha[idx], kind="stable")[:top]]
    ax.scatter(frame[best, 0], frame[best, 1], s=alpha[best] * scale, facecolors="none",
               edgecolors=TOP_COLOR, linewidths=2.0, zorder=5, gid="top-joints",
               label=rf"{top} largest $\alpha$")
    names = layout.names(layout.persons_in(len(frame)))
    _skeleton_axes(ax, frame)
    _upright(ax, frame, layout, persons)
    _side_labels(ax, frame[best, :2], [names[k] for k in best])
    ax.legend(loc="lower right", fontsize=9, frameon=False)
    ax.set_title(title or r"Spatial attention $\alpha$ (circle area)")
    return fig


def shown_frame(alpha, beta) -> int:
    """The frame (0-based) whose spatial attention Fig. 5(a) draws, one rule for the book and
    ``stalib predict --plot``: where the temporal attention rises most, the peak of
    ``beta_t - beta_{t-1}`` (the paper reads it at the moment of the action); without temporal
    attention (``beta`` None), the frame with the largest joint weight."""
    if beta is not None:
        beta = _as_vector(beta)
        return int(np.argmax(np.diff(beta))) + 1 if len(beta) > 1 else 0
    return int(np.argmax(_as_matrix(alpha, "alpha").max(axis=1)))


def plot_attention_summary(seq, alpha, beta, layout: Layout | str | None,
                           title: str | None = None) -> Figure:
    """What ``stalib predict --plot`` draws: spatial attention ``alpha`` (T, K) and temporal
    attention ``beta`` (T,) of one sequence ``seq`` (T, K, 3), one panel a row.

    With a skeleton ``layout`` the alpha panel is Fig. 5(a) at the frame of :func:`shown_frame`
    (where Δβ peaks), named in its title (1-based, of T); without one it is the joints x frames
    heatmap. The beta panel marks that frame. Either may be None (a model with one kind of
    attention): its panel is left out.
    """
    if alpha is None and beta is None:
        raise ValueError("nothing to draw: no alpha and no beta")
    seq = np.asarray(seq, dtype=float)
    alpha = None if alpha is None else _as_matrix(alpha, "alpha")
    beta = None if beta is None else _as_vector(beta)
    frame = shown_frame(alpha, beta) if alpha is not None else None
    skeleton = alpha is not None and layout is not None
    heights = []
    if alpha is not None:
        heights.append(5.0 if skeleton else max(3.0, 0.16 * alpha.shape[1] + 1.0))
    if beta is not None:
        heights.append(2.6)
    fig = new_figure((COLUMN_WIDTH_IN, sum(heights) + 0.6))
    axes = fig.subplots(len(heights), 1, squeeze=False, height_ratios=heights)[:, 0]
    row = 0
    if alpha is not None:
        name = (f"frame {frame + 1} of {len(alpha)}, where Δβ peaks" if beta is not None
                else f"frame {frame + 1} of {len(alpha)}, the one with the largest weight")
        if skeleton:
            plot_skeleton_attention(seq[frame], alpha[frame], layout, ax=axes[0],
                                    title=rf"Spatial attention $\alpha$ at {name}")
        else:
            plot_alpha_heatmap(alpha, None, ax=axes[0],
                               title=rf"Spatial attention $\alpha$ ({name}: marked)")
            axes[0].axvline(frame + 1, color=TOP_COLOR, linestyle="--", linewidth=1.2,
                            gid="alpha-frame-heatmap")
        row = 1
    if beta is not None:
        ax = axes[row]
        plot_beta(beta, ax=ax)
        if frame is not None and frame < beta.size:
            ax.axvline(frame + 1, color=TOP_COLOR, linestyle="--", linewidth=1,
                       label=f"frame {frame + 1}", gid="alpha-frame")
            ax.legend(fontsize=9, frameon=False)
    if title:
        fig.suptitle(title)
    return fig


def _joint_ticks(ax: Axes, num_joints: int, layout: Layout | str | None) -> None:
    if layout is None:
        return
    layout = get_layout(layout)
    names = layout.names(layout.persons_in(num_joints))
    ax.set_yticks(np.arange(num_joints))
    ax.set_yticklabels(names, fontsize=9)


def _heatmap(ax: Axes, values: np.ndarray, layout, label: str, gid: str) -> None:
    """``values`` (T, K) as an image with joints down and frames across."""
    t, k = values.shape
    image = ax.imshow(values.T, aspect="auto", origin="upper", cmap="viridis",
                      interpolation="nearest", extent=(0.5, t + 0.5, k - 0.5, -0.5))
    image.set_gid(gid)
    ax.set_xlabel("frame")
    ax.set_ylabel("joint")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # frames and joints are whole
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    _joint_ticks(ax, k, layout)
    ax.figure.colorbar(image, ax=ax, label=label, shrink=0.9)


def _as_matrix(values, name: str) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    if values.ndim != 2:
        raise ValueError(f"{name} must be (T, K), got shape {values.shape}")
    return values


def plot_alpha_heatmap(alpha, layout: Layout | str | None, ax: Axes | None = None,
                       title: str | None = None) -> Figure:
    """Fig. 6: spatial attention ``alpha`` (T, K) as a joints x frames heatmap with joint names."""
    alpha = _as_matrix(alpha, "alpha")
    height = max(3.0, 0.16 * alpha.shape[1] + 1.0)
    fig, ax = _axes(ax, (COLUMN_WIDTH_IN, height))
    _heatmap(ax, alpha, layout, r"$\alpha$", "alpha")
    ax.set_title(title or r"Spatial attention $\alpha$ per joint and frame")
    return fig


def _as_vector(beta) -> np.ndarray:
    beta = np.asarray(beta, dtype=float)
    if beta.ndim != 1 or beta.size == 0:
        raise ValueError(f"beta must be (T,), got shape {beta.shape}")
    return beta


def plot_beta(beta, ax: Axes | None = None, title: str | None = None) -> Figure:
    """Fig. 5(b): temporal attention ``beta_t`` against the frame index ``t`` (1-based)."""
    beta = _as_vector(beta)
    fig, ax = _axes(ax, (6, 2.5))
    t = np.arange(1, beta.size + 1)
    ax.plot(t, beta, color="tab:blue", marker=".", gid="beta")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("frame t")
    ax.set_ylabel(r"$\beta_t$")
    ax.set_title(title or r"Temporal attention $\beta_t$")
    ax.set_xlim(0.5, beta.size + 0.5)
    return fig


def plot_beta_diff(beta, ax: Axes | None = None, title: str | None = None) -> Figure:
    """Fig. 5(c): the differentiated weights ``Δβ_t = β_t - β_{t-1}`` for ``t = 2..T``."""
    beta = _as_vector(beta)
    fig, ax = _axes(ax, (6, 2.5))
    diff = np.diff(beta)
    t = np.arange(2, beta.size + 1)
    colors = np.where(diff >= 0, "tab:red", "tab:gray")
    ax.bar(t, diff, color=colors, width=0.9, gid="beta-diff")
    ax.axhline(0.0, color="black", linewidth=0.6)
    ax.set_xlabel("frame t")
    ax.set_ylabel(r"$\Delta\beta_t$")
    ax.set_title(title or r"Differentiated temporal attention "
                 r"$\Delta\beta_t = \beta_t - \beta_{t-1}$")
    ax.set_xlim(0.5, beta.size + 0.5)
    return fig


def plot_class_counts(labels, class_names: Sequence[str] | None = None,
                      ax: Axes | None = None, title: str | None = None) -> Figure:
    """Number of sequences per class (``labels``: integer class per sequence)."""
    labels = np.asarray(labels, dtype=int)
    n = len(class_names) if class_names is not None else int(labels.max()) + 1
    counts = np.bincount(labels, minlength=n)
    names = list(class_names) if class_names is not None else [str(i) for i in range(n)]
    fig, ax = _axes(ax, (max(COLUMN_WIDTH_IN, 0.12 * n), 3.5 + (1.5 if n > 20 else 0.0)))
    ax.bar(np.arange(n), counts, color="tab:blue", gid="class-counts")
    ax.set_xticks(np.arange(n))
    ax.set_xticklabels(names, rotation=90 if n > 20 else 30, ha="center" if n > 20 else "right",
                       fontsize=9)
    ax.set_ylabel("sequences")
    ax.set_title(title or f"Sequences per class ({len(labels)} in all)")
    return fig


def plot_length_hist(lengths, bins: int = 30, ax: Axes | None = None,
                     title: str | None = None) -> Figure:
    """Histogram of sequence lengths (frames), with the median marked."""
    lengths = np.asarray(lengths, dtype=float).reshape(-1)
    fig, ax = _axes(ax, (5, 3))
    ax.hist(lengths, bins=bins, color="tab:blue", gid="lengths")
    median = float(np.median(lengths))
    ax.axvline(median, color="black", linestyle="--", linewidth=1, label=f"median {median:g}")
    ax.set_xlabel("frames per sequence")
    ax.set_ylabel("sequences")
    ax.legend(fontsize=9)
    ax.set_title(title or "Sequence lengths")
    return fig


def plot_coupled_map(coupled, alpha, layout: Layout | str | None = None,
                     title: str | None = None) -> Figure:
    """CSTA-CNN's coupled map (T, K) above STA-LSTM's spatial attention α (T', K)."""
    coupled = _as_matrix(coupled, "coupled map")
    alpha = _as_matrix(alpha, "alpha")
    k = max(coupled.shape[1], alpha.shape[1])
    # one map a row, each as wide as the text column: the joint names read at page width
    fig = new_figure((COLUMN_WIDTH_IN, 2 * max(3.0, 0.16 * k + 1.0) + 0.5))
    left, right = fig.subplots(2, 1)
    _heatmap(left, coupled, layout, "weight", "coupled")
    left.set_title("CSTA-CNN: coupled frame × joint map")
    _heatmap(right, alpha, layout, r"$\alpha$", "alpha")
    right.set_title(r"STA-LSTM: spatial attention $\alpha$")
    if title:
        fig.suptitle(title)
    return fig
