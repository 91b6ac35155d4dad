"""Display for the book: names and labels, tables and notes formatted as the pages show them, and
the IPython objects of a page (``show_table``, ``show_markdown``, ``show_plot``). Report layer,
formatting only: it takes the DataFrames of :mod:`stalib.report.summaries`.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Sequence

import numpy as np
import pandas as pd
from IPython.display import HTML, Image, Markdown

from stalib.config import PAPER_CONFIGURATION
from stalib.report.reproduce import get_job
from stalib.report.results_files import results_root
from stalib.report.summaries import DATASET_SHORT, MODEL_LABELS, protocol_label
from stalib.results import KEY


def format_choice(choice: pd.DataFrame) -> pd.DataFrame:
    """:func:`validation_choice` as a display table (two decimals, ``yes`` on the chosen)."""
    return pd.DataFrame({
        "Dataset": [DATASET_SHORT.get(d, d) for d in choice["dataset"]],
        "Configuration": list(choice["configuration"]),
        "Models averaged": list(choice["models"]),
        "Mean validation accuracy (%)": [f"{m:.2f}" for m in choice["mean"]],
        "Chosen": ["yes" if c else "" for c in choice["chosen"]],
    })


def format_paired(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`paired` for display (the p-value column only when some row has one)."""
    ref = MODEL_LABELS.get(table["reference"].iloc[0], "reference") if len(table) else ""
    shown = pd.DataFrame({
        "Dataset": [DATASET_SHORT.get(d, d) for d in table["dataset"]],
        "Protocol": [protocol_label(d, p) for d, p in zip(table["dataset"], table["protocol"],
                                                          strict=True)],
        "Model": [f"{label} ({v})" for label, v in zip(table["label"], table["configuration"],
                                                          strict=True)],
        "Reference": [f"{MODEL_LABELS.get(r, r)} ({v})" for r, v in
                      zip(table["reference"], table["reference_configuration"], strict=True)],
        "Common runs": table["runs"],
        "Model (%)": [_fmt(x) for x in table["mean"]],
        f"{ref} (%)": [_fmt(x) for x in table["reference_mean"]],
        # the std of differences of 0/100 outcomes says nothing: McNemar's test stands for it
        "Paired difference (pp)": [
            _fmt(d, "+.2f") + ("" if np.isnan(sd) or not np.isnan(p) else f" ± {_fmt(sd)}")
            for d, sd, p in zip(table["diff"], table["diff_std"], table["p_value"],
                                strict=True)],
        "Runs won": [f"{w} of {n}" for w, n in zip(table["wins"], table["runs"], strict=True)],
    })
    if table["p_value"].notna().any():
        shown["Won / lost (sequences)"] = [
            f"{w} / {lost}" if not np.isnan(p) else "—"
            for w, lost, p in zip(table["wins"], table["losses"], table["p_value"], strict=True)]
        shown["McNemar exact p"] = [_fmt(p, ".3f") for p in table["p_value"]]
    return shown


def _fmt(x: float, spec: str = ".2f") -> str:
    return "—" if x is None or (isinstance(x, float) and np.isnan(x)) else format(x, spec)


def format_comparison(table: pd.DataFrame, dataset_column: bool = True) -> pd.DataFrame:
    """Strings for display: ``Ours (%)`` as ``mean ± std``, ``Paper (%)``, ``Difference``."""
    rows = []
    for _, r in table.iterrows():
        ours = _fmt(r["mean"])
        if not np.isnan(r.get("ci_low", np.nan)):  # one sequence per run: pooled, with its CI
            ours += (f" ({int(r['correct'])} of {int(r['sequences'])}; 95 % CI "
                     f"{r['ci_low']:.1f}–{r['ci_high']:.1f})")
        elif not np.isnan(r["std"]):
            ours += f" ± {_fmt(r['std'])}"
        row = {
            "Dataset": DATASET_SHORT.get(r["dataset"], r["dataset"]),
            "Protocol": protocol_label(r["dataset"], r["protocol"]),
            "Configuration": r.get("configuration", PAPER_CONFIGURATION),
            "Model": r["label"],
            "Ours (%)": ours,
            "Runs (folds × seeds)": f"{r['runs']} ({r['folds']} × {r['seeds']})"
            + ("" if r.get("whole", True) else ", running"),
        }
        if "paper" in table.columns:
            row["Paper (%)"] = _fmt(r["paper"])
            row["Difference (pp)"] = _fmt(r["diff"], "+.2f")
        if not dataset_column:
            del row["Dataset"]
        rows.append(row)
    return pd.DataFrame(rows)


def comparison_sources(table: pd.DataFrame) -> str:
    """Markdown naming the source of every paper value in a :func:`compare` table."""
    seen: dict[str, list[str]] = {}
    for _, r in table.iterrows():
        source = r.get("paper_source", "")
        if source:
            where = (f"{r['label']} ({DATASET_SHORT.get(r['dataset'], r['dataset'])}, "
                     f"{protocol_label(r['dataset'], r['protocol'])})")
            places = seen.setdefault(source, [])
            if where not in places:  # one per model and protocol, whatever the configurations
                places.append(where)
    if not seen:
        return "The papers' text gives no value for these models (literature: none)."
    lines = [f"- {', '.join(where)}: {source}" for source, where in seen.items()]
    return "Paper values (literature, `results/literature.csv`):\n\n" + "\n".join(lines)


def rerun_provenance(recorded: pd.DataFrame, reruns: pd.DataFrame) -> str:
    """When, on which CPU and at which commit the rerun runs were recorded, and when and where they
    were rerun: one sentence for the table of :func:`rerun_agreement`."""
    key = [*KEY, "determinism"]
    rows = recorded.merge(reruns[key], on=key)

    def cpus(df: pd.DataFrame) -> list[str]:
        return sorted({str(json.loads(v).get("cpu", "?")) if str(v).startswith("{") else "?"
                       for v in df["versions"]})

    def where(df: pd.DataFrame) -> str:
        days = sorted({str(t)[:10] for t in df["timestamp"]})
        commits = sorted({str(c)[:7] for c in df["git_commit"]})
        span = days[0] if len(days) == 1 else f"{days[0]} to {days[-1]}"
        return f"{span} on {'; '.join(cpus(df))}, commit {', '.join(commits)}"

    text = f"Recorded {where(rows)}; rerun {where(reruns)}."
    if set(cpus(reruns)) <= set(cpus(rows)):
        text += (" The same CPU model recorded and reran them: this checks the mode across "
                 "sessions, days and commits, not across CPU models.")
    return text


def missing_note(what: str, command: str, why: str | None = None) -> str:
    """The Markdown a page shows instead of a table or figure whose results file is absent."""
    why = why or "it has not been run yet"
    return f"**{what}: no result here** — {why}. To produce it, run `{command}`."


def ntu_missing_note(what: str, job: str | None = None, command: str | None = None) -> str:
    """The note for NTU results, which need the (large, licensed) dataset."""
    return missing_note(
        what,
        command or f"stalib reproduce --only {job}",
        why="NTU RGB+D was not available where these results were made; the command needs a "
        "data root (`--data-root DIR` or `STALIB_DATA`) holding `NTU/`",
    )


def jobs_note(what: str, jobs: Sequence[str]) -> str:
    """The note for results that the named jobs of :mod:`stalib.report.reproduce` produce."""
    command = "stalib reproduce " + " ".join(f"--only {name}" for name in jobs)
    if any("NTU" in get_job(name).requires for name in jobs):
        return ntu_missing_note(what, command=command)
    return missing_note(what, command)


def show_markdown(text: str):
    return Markdown(text)


def show_table(df: pd.DataFrame, kind: str = "ours", caption: str | None = None):
    """An HTML table; ``kind`` is ``ours`` (measured here) or ``literature`` (quoted)."""
    html = df.to_html(index=False, border=0, escape=True, na_rep="—", justify="left",
                      classes=["stalib-table", f"stalib-{kind}"])
    if caption:
        html = html.replace(">", f"><caption>{_escape(caption)}</caption>", 1)
    # a table wider than the text column scrolls inside this box, never cut at the right
    return HTML(f'<div class="stalib-scroll">{html}</div>')


def show_plot(fig, dpi: int = 200):
    """A matplotlib figure as an embedded PNG (works without pyplot or an inline backend)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    return Image(data=buf.getvalue(), format="png")


def show_figure(rel: str, job: str, root: str | os.PathLike | None = None):
    """The PNG ``<results>/rel`` if it exists, else the note naming the job that makes it."""
    path = results_root(root) / rel
    if path.is_file():
        return Image(filename=str(path))
    return show_markdown(jobs_note(f"`{rel}`", [job]))


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
