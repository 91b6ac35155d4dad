"""Display of ``stalib bench`` files for the performance page: the step-time table, the
sentence saying where and how it was measured, and an NTU rehearsal's tables. Formats only
(the files are read by :func:`stalib.tools.bench.read_json`, the ratios computed by
:func:`stalib.tools.bench.bench_frame`)."""

from __future__ import annotations

import pandas as pd

from stalib.tools.bench import bench_frame


def step_table(doc: dict, shapes: tuple[str, ...] | None = None) -> pd.DataFrame:
    """One row per device, precision, shape and model of a bench file's step timings: the step
    time, sequences per second, the ratio to the plain LSTM and, on the CPU, the process CPU
    time (``shapes``: only those, e.g. ``("ntu",)``)."""
    df = bench_frame(doc)
    if shapes is not None:
        df = df[df["shape"].isin(shapes)]
    return pd.DataFrame({
        "Device": [f"{d} ({p})" for d, p in zip(df["device"], df["precision"], strict=True)],
        "Shape": df["shape_label"],
        "B x T x K": [f"{b} x {t} x {k}" for b, t, k in zip(df["batch"], df["frames"],
                                                          df["joints"], strict=True)],
        "Model": df["model_label"],
        "Step (ms)": [f"{v:.1f}" for v in df["step_ms"]],
        "Sequences/s": [f"{v:.1f}" for v in df["seq_per_s"]],
        "x LSTM": [f"{v:.2f}" for v in df["x_lstm"]],
        "CPU time (ms)": ["—" if v != v else f"{v:.1f}" for v in df["cpu_ms"]],
        "x LSTM (CPU time)": ["—" if v != v else f"{v:.2f}" for v in df["x_lstm_cpu"]],
    }).reset_index(drop=True)


def measured_where(doc: dict) -> str:
    """When, at which commit and on which machine a bench file was measured, with its load."""
    m = doc["machine"]
    return (f"Measured {doc['timestamp']} at commit `{doc['git_commit']}`"
            f"{' in quick mode' if doc['quick'] else ''}: {m['cpu']} "
            f"({m['cpu_count']} CPUs, torch {m['torch']} with {m['torch_threads']} thread(s))"
            + "".join(f", {d}: {name}" for d, name in m["devices"].items() if d != "cpu")
            + f"; load average (1, 5, 15 min) {doc['load_average_start']} at the start, "
            f"{doc['load_average_end']} at the end.")


def rehearsal_tables(doc: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """An NTU rehearsal (:mod:`stalib.tools.rehearsal`) as two display tables: the data path
    (files, cache build, peak memory, and the full dataset at that pace), and per run its
    training pace and the full cross-subject epoch it implies."""
    c, full = doc["cache"], doc["full"]
    path = pd.DataFrame({
        "Step": ["generated files", "cache build (fresh process)", "the full NTU RGB+D 60"],
        "Files": [doc["files"], doc["files"], full["files"]],
        "Size (MB)": [f"{doc['bytes'] / 1e6:.0f}", "", f"{full['bytes'] / 1e6:.0f} (scaled)"],
        "Time (s)": [f"{doc['write_s']:.1f}", f"{c['build_s']:.1f}",
                     f"{full['cache_build_s']:.0f} (cache, scaled)"],
        "Files/s": ["", f"{c['files_per_s']}", ""],
        "Peak RSS (MB)": ["", f"{c['peak_rss_mb']}", ""],
    })
    runs = pd.DataFrame(doc["runs"])
    runs = pd.DataFrame({
        "Model": runs["model"], "Protocol": runs["protocol"], "Device": runs["device"],
        "Training / test sequences": [f"{a} / {b}" for a, b in zip(runs["n_train"],
                                                                    runs["n_test"],
                                                                    strict=True)],
        "Run (s)": [f"{v:.1f}" for v in runs["wall_s"]],
        "Sequences/s": [f"{v:.1f}" for v in runs["seq_per_s"]],
        "Full xsub epoch (min)": [f"{v / 60:.1f}" for v in runs["full_epoch_s"]],
    })
    return path, runs
