"""The performance page's display of bench files (stalib.report.bench_display), on the
committed GPU measurement and a made-up file."""

from __future__ import annotations

from pathlib import Path

from stalib.tools import bench, bench_display

H200 = Path(__file__).resolve().parents[1] / "book" / "external" / "bench-h200-16c2f3a.json"


def test_the_gpu_file_shows_its_ntu_rows_with_ratios_to_the_lstm():
    doc = bench.read_json(H200, bench.KIND)
    table = bench_display.step_table(doc, shapes=("ntu",))
    assert set(table["Shape"]) == {"NTU"} and len(table) == 12
    lstm = table[(table["Device"] == "cuda (fp32)") & (table["Model"] == "LSTM (3 layers)")]
    assert lstm["x LSTM"].tolist() == ["1.00"] and lstm["CPU time (ms)"].tolist() == ["—"]
    text = bench_display.measured_where(doc)
    assert "16c2f3a" in text and "NVIDIA H200" in text and "16 CPUs" in text


def test_a_rehearsal_shows_its_data_path_and_each_runs_pace():
    doc = {"files": 100, "bytes": 2e7, "write_s": 1.5,
           "cache": {"build_s": 2.0, "files_per_s": 50.0, "peak_rss_mb": 40.0},
           "full": {"files": 56_880, "bytes": 1.1e10, "cache_build_s": 1138.0},
           "runs": [{"model": "sta-lstm", "protocol": "xsub", "device": "cpu", "n_train": 50,
                     "n_test": 50, "wall_s": 5.0, "seq_per_s": 10.0, "full_epoch_s": 4032.0}]}
    path, runs = bench_display.rehearsal_tables(doc)
    assert path["Files"].tolist() == [100, 100, 56_880]
    assert path["Peak RSS (MB)"].tolist()[1] == "40.0"
    assert runs.iloc[0]["Full xsub epoch (min)"] == "67.2"
