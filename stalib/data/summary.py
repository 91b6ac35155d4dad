"""A plain-text summary of a :class:`SkeletonSet` (``stalib data summary``)."""

from __future__ import annotations

import numpy as np

from stalib.data.core import SkeletonSet
from stalib.data.splits import Split

#: Splits listed one per line up to this many; beyond, only their size range is shown.
MAX_SPLIT_LINES = 12


def summarize(data: SkeletonSet) -> dict[str, object]:
    """The summary figures of ``data`` as a dict (keys in display order)."""
    lengths = data.lengths
    return {
        "dataset": data.name,
        "sequences": len(data),
        "classes": data.num_classes,
        "groups": len(np.unique(data.groups)),
        "frames min": int(lengths.min()),
        "frames mean": round(float(lengths.mean()), 1),
        "frames max": int(lengths.max()),
        "total frames": int(lengths.sum()),
        "joints (K)": data.num_joints,
        "persons": data.persons,
        "joints per person": data.joints_per_person,
    }


def one_frame_note(data: SkeletonSet) -> list[str]:
    """A line naming the sequences of one frame, if any (NW-UCLA's release has two): they are
    kept, and every model reads them as a still pose (a resampling repeats the frame)."""
    ones = data.names[data.lengths == 1].tolist()
    if not ones:
        return []
    shown = ", ".join(ones[:5]) + (f" and {len(ones) - 5} more" if len(ones) > 5 else "")
    return [f"{len(ones)} sequence(s) of one frame, kept (a still pose to every model): {shown}"]


def _table(
    rows: list[tuple[str, ...]], header: tuple[str, ...] | None = None, numbers_right: bool = True
) -> list[str]:
    """Aligned columns; with ``numbers_right``, numeric cells are right-aligned."""
    allrows = ([header] if header else []) + rows
    widths = [max(len(r[i]) for r in allrows) for i in range(len(allrows[0]))]

    def fmt(r: tuple[str, ...]) -> str:
        cells = [c.rjust(w) if numbers_right and i and c.replace(".", "").isdigit() else c.ljust(w)
                 for i, (c, w) in enumerate(zip(r, widths, strict=True))]
        return "  ".join(cells).rstrip()

    out = [fmt(r) for r in allrows]
    if header:
        out.insert(1, "  ".join("-" * w for w in widths))
    return out


def format_summary(
    data: SkeletonSet,
    *,
    per_class: bool = False,
    splits: list[Split] | None = None,
    protocol: str | None = None,
) -> str:
    """The summary table; with ``per_class`` the sequences per class, with ``splits`` the
    train/test sizes of each split of ``protocol``."""
    lines = _table([(k, str(v)) for k, v in summarize(data).items()], numbers_right=False)
    lines += one_frame_note(data)
    if per_class:
        counts = np.bincount(data.labels, minlength=data.num_classes)
        lines += ["", *_table(
            [(str(i), name, str(c)) for i, (name, c) in enumerate(zip(data.class_names, counts,
                                                                        strict=True))],
            header=("label", "class", "sequences"),
        )]
    if splits is not None:
        lines += ["", f"protocol {protocol}: {len(splits)} split(s)"]
        if len(splits) <= MAX_SPLIT_LINES:
            lines += _table(
                [(s.name, str(len(s.train)), str(len(s.test))) for s in splits],
                header=("split", "train", "test"),
            )
        else:
            tr = [len(s.train) for s in splits]
            te = [len(s.test) for s in splits]
            lines += [f"train {min(tr)}..{max(tr)} sequences, test {min(te)}..{max(te)} "
                      f"sequences per split (first: {splits[0].name}, last: {splits[-1].name})"]
    return "\n".join(lines)
