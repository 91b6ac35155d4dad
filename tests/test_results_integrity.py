"""Results records: every row says how it was made; concurrent writers never lose or break rows; a
duplicate key is refused unless replacing is asked for; a configuration holds one configuration."""

from __future__ import annotations

import csv
import dataclasses
import json
import re
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from stalib.config import TrainConfig
from stalib.errors import StalibError
from stalib.results import (
    COLUMNS,
    RunRecord,
    append_record,
    git_commit,
    merge_results,
    package_versions,
    read_records,
)

RESULTS = Path(__file__).resolve().parents[1] / "results"


def _toy():
    from stalib.data.core import SkeletonSet

    rng = np.random.default_rng(1)
    seqs = [rng.normal(size=(int(rng.integers(4, 8)), 6, 3)).astype(np.float32)
            for _ in range(20)]
    return SkeletonSet.from_sequences(seqs, [i % 2 for i in range(20)],
                                      [f"g{i % 5}" for i in range(20)],
                                      [f"s{i}" for i in range(20)], ["a", "b"], 1, 6, name="toy")


def test_a_row_of_run_experiment_says_how_it_was_made(tmp_path, one_thread):
    from stalib.experiment import run_experiment

    data = _toy()
    cfg = TrainConfig(dataset="npz:toy.npz", model="lstm", fold=2, seed=7, n1=2, n2=1,
                      batch_size=4, device="cpu", checkpoint_every=5,
                      model_overrides={"hidden": 4})
    before = datetime.now(UTC).replace(microsecond=0)
    run_experiment(cfg, tmp_path / "run", results_dir=tmp_path / "results", progress=False,
                   data=data)
    (row,) = read_records(tmp_path / "results" / "npz-toy" / "cv.csv")
    assert list(row) == COLUMNS
    params = json.loads(row["params"])
    assert params["train"] == cfg.to_dict()  # the full TrainConfig ...
    assert set(params["train"]) == {f.name for f in dataclasses.fields(TrainConfig)}
    assert TrainConfig.from_dict(params["train"]) == cfg  # ... enough to rebuild it
    assert params["protocol"] == row["protocol"] == "5fold"
    assert params["model_config"]["hidden"] == 4
    assert (row["dataset"], row["model"], row["fold"], row["seed"]) == ("npz-toy", "lstm", "2",
                                                                       "7")
    assert re.fullmatch(r"([0-9a-f]{40}(\+dirty)?|unknown)(\+mixed)?", row["git_commit"])
    assert row["git_commit"] == git_commit()
    assert json.loads(row["versions"]) == package_versions()
    assert {"python", "torch", "numpy", "stalib"} <= set(json.loads(row["versions"]))
    stamp = datetime.strptime(row["timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert before <= stamp <= datetime.now(UTC)
    assert 0.0 <= float(row["accuracy"]) <= 1.0 and 0.0 <= float(row["train_accuracy"]) <= 1.0
    assert int(row["n_train"]) + int(row["n_test"]) == len(data)
    assert int(row["iterations"]) == 2 + 2 + 1  # the LSTM schedule: N1, N1, N2
    assert row["device"] == "cpu" and float(row["wall_time_s"]) >= 0
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["params"] == params and metrics["seed"] == 7


def test_a_row_names_the_code_that_trained_it_and_marks_a_mix(monkeypatch):
    """code_commit is the commit when the process first asks (before its first run trains) and
    stays; run_commit marks +mixed when the checkout moved since, or a resumed checkpoint was
    written by other code."""
    import stalib.results as results

    now = {"commit": "a" * 40}
    monkeypatch.setattr(results, "git_commit", lambda path=None: now["commit"])
    monkeypatch.setattr(results, "_CODE_COMMIT", None)
    assert results.code_commit() == "a" * 40
    assert results.run_commit() == results.run_commit(["a" * 40]) == "a" * 40
    assert results.run_commit(["c" * 40, "a" * 40]) == "a" * 40 + results.MIXED
    now["commit"] = "b" * 40  # a checkout while the process runs
    assert results.code_commit() == "a" * 40
    assert results.run_commit() == "a" * 40 + results.MIXED


def record(seed: int, accuracy: float = 0.5, fold: int = 1, configuration: str = "paper",
           params: str | None = None) -> RunRecord:
    return RunRecord(
        dataset="sbu", protocol="5fold", configuration=configuration, model="lstm", fold=fold,
        seed=seed, accuracy=accuracy,
        train_accuracy=1.0, n_test=10, n_train=40, iterations=3, wall_time_s=1.5, device="cpu",
        git_commit="0" * 40, timestamp="2026-01-01T00:00:00Z",
        params=params or json.dumps({"note": 'commas, "quotes"\nand a newline', "seed": seed}),
        versions=json.dumps({"python": "3.11"}),
    )


WRITER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    sys.path.insert(0, {tests!r})
    from test_results_integrity import record
    from stalib.results import append_record
    path, first, go = Path(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
    Path(f"{{go}}-ready-{{first}}").touch()
    while not go.exists():
        time.sleep(0.005)
    for seed in range(first, first + 20):
        append_record(path, record(seed))
""")


def test_concurrent_writers_lose_nothing_and_readers_see_whole_files(tmp_path):
    path = tmp_path / "results" / "sbu" / "cv.csv"
    go = tmp_path / "go"
    script = WRITER.format(tests=str(Path(__file__).parent))
    procs = [subprocess.Popen([sys.executable, "-c", script, str(path), str(first), str(go)],
                              stderr=subprocess.PIPE, text=True) for first in (0, 1000)]
    deadline = time.monotonic() + 120
    while not all((tmp_path / f"go-ready-{first}").exists() for first in (0, 1000)):
        assert time.monotonic() < deadline and all(p.poll() is None for p in procs)
        time.sleep(0.01)
    go.touch()  # both writers start appending at once
    counts = []
    while any(p.poll() is None for p in procs):
        counts.append(len(read_records(path)))  # never a half-written file
    for p in procs:
        assert p.wait(timeout=120) == 0, p.stderr.read()
        p.stderr.close()
    assert counts == sorted(counts)  # rows only ever appear
    rows = read_records(path)
    assert len(rows) == 40
    assert sorted(int(r["seed"]) for r in rows) == [*range(20), *range(1000, 1020)]
    with open(path, newline="") as f:
        table = list(csv.reader(f))
    assert table[0] == COLUMNS and all(len(r) == len(COLUMNS) for r in table[1:])
    assert json.loads(rows[0]["params"])["note"] == 'commas, "quotes"\nand a newline'
    assert sorted(p.name for p in path.parent.iterdir()) == ["cv.csv"]  # no lock left behind


def test_a_duplicate_key_is_refused_unless_replacing(tmp_path):
    path = tmp_path / "cv.csv"
    append_record(path, record(0, accuracy=0.5))
    append_record(path, record(1, accuracy=0.6))
    before = path.read_bytes()
    with pytest.raises(StalibError, match="exists already .*; rerun with `force`"):
        append_record(path, record(0, accuracy=0.9))
    assert path.read_bytes() == before  # nothing changed
    append_record(path, record(0, accuracy=0.9, fold=2))  # another key: added
    append_record(path, record(0, accuracy=0.7), replace=True)
    rows = read_records(path)
    assert [(r["fold"], r["seed"], r["accuracy"]) for r in rows] == [
        ("1", "0", "0.7"), ("1", "1", "0.6"), ("2", "0", "0.9")]


def _params(**train) -> str:
    return json.dumps({"train": TrainConfig(dataset="sbu", model="lstm", **train).to_dict()},
                      sort_keys=True)


def test_a_configuration_holds_one_configuration(tmp_path):
    path = tmp_path / "cv.csv"
    append_record(path, record(0, params=_params(seed=0)))
    append_record(path, record(1, params=_params(seed=1, device="cpu")))  # same settings
    before = path.read_bytes()
    with pytest.raises(StalibError, match=r"configuration 'paper' of lstm .* other settings .*"
                                          r"lambda3=0.0.*another `configuration` name"):
        append_record(path, record(2, params=_params(seed=2, lambda3=0.0)))
    assert path.read_bytes() == before
    # filed under its own configuration it sits beside the paper's rows, same fold and seed
    append_record(path, record(0, configuration="l1-off",
                               params=_params(lambda3=0.0, configuration="l1-off")))
    rows = read_records(path)
    assert [(r["configuration"], r["seed"]) for r in rows] == [("l1-off", "0"), ("paper", "0"),
                                                         ("paper", "1")]


def test_files_written_before_configurations_are_read_with_their_configuration(tmp_path):
    path = tmp_path / "cv.csv"
    append_record(path, record(0, params=_params()))
    append_record(path, record(1, configuration="custom", params=_params(seed=1, n1=5)))
    old = [line.split(",", 3) for line in path.read_text().splitlines()]
    assert old[0][2] == "configuration"
    # drop the column: the layout of files made before it existed
    path.write_text("\n".join(",".join(f[:2] + f[3:]) for f in old) + "\n")
    assert "configuration" not in path.read_text().splitlines()[0]
    rows = read_records(path)
    assert [(r["seed"], r["configuration"]) for r in rows] == [("1", "custom"), ("0", "paper")]
    append_record(path, record(2, params=_params(seed=2)))  # rewritten with the column
    assert path.read_text().splitlines()[0].split(",")[2] == "configuration"
    assert [r["configuration"] for r in read_records(path)] == ["custom", "paper", "paper"]


def _as_stalib_0_1_0(path: Path) -> None:
    """Rewrite the results file ``path`` as stalib 0.1.0 wrote it: its column and the field of each
    row's recorded settings named ``variant``."""
    rows = list(csv.DictReader(path.open()))
    for row in rows:
        row["variant"] = row.pop("configuration")
        params = json.loads(row["params"])
        params["train"]["variant"] = params["train"].pop("configuration")
        row["params"] = json.dumps(params, sort_keys=True)
    names = [("variant" if c == "configuration" else c) for c in COLUMNS]
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=names, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def test_a_file_of_stalib_0_1_0_reads_and_merges_under_todays_names(tmp_path):
    path, dest = tmp_path / "old" / "sbu" / "cv.csv", tmp_path / "new" / "sbu" / "cv.csv"
    append_record(path, record(0, configuration="l1-off",
                               params=_params(lambda3=0.0, configuration="l1-off")))
    append_record(path, record(1, params=_params(seed=1)))
    today = read_records(path)
    _as_stalib_0_1_0(path)
    assert path.read_text().startswith("dataset,protocol,variant,")
    assert '""variant"": ""l1-off""' in path.read_text()
    assert read_records(path) == today  # read in today's names, params as written today
    ((_, _, added, there),) = merge_results([tmp_path / "old"], tmp_path / "new")
    assert (added, there) == (2, 0)
    assert read_records(dest) == today
    append_record(path, record(2, params=_params(seed=2)))  # rewritten in today's names
    assert path.read_text().startswith("dataset,protocol,configuration,")
    assert "variant" not in path.read_text()


def test_the_committed_results_use_todays_names():
    """The committed results files were converted when ``variant`` became ``configuration``: their
    header and every row's recorded settings say ``configuration``."""
    files = sorted(RESULTS.glob("**/*.csv"))
    assert len(files) >= 8
    for path in files:
        header = path.read_text().split("\n", 1)[0].split(",")
        assert "variant" not in header, path
        if "params" in header:
            for row in csv.DictReader(path.open()):
                train = json.loads(row["params"]).get("train", {})
                assert "variant" not in train, path


def test_validation_runs_go_to_their_own_file(tmp_path, one_thread):
    from stalib.experiment import run_experiment

    cfg = TrainConfig(dataset="npz:toy.npz", model="lstm", fold=1, val_fold=2, seed=0, n1=1,
                      n2=1, batch_size=4, device="cpu", model_overrides={"hidden": 4},
                      configuration="tiny")
    run_experiment(cfg, tmp_path / "run", results_dir=tmp_path / "results", progress=False,
                   data=_toy())
    assert not (tmp_path / "results" / "npz-toy" / "cv.csv").exists()
    (row,) = read_records(tmp_path / "results" / "npz-toy" / "validation.csv")
    assert (row["protocol"], row["configuration"], row["fold"]) == ("5fold:val2", "tiny", "1")


def test_a_column_this_version_does_not_know_is_never_dropped(tmp_path):
    """A file with a column written by a newer stalib: appending to it is refused, and the file
    is left as it was (an older checkout once dropped every row's test_correct this way)."""
    path = tmp_path / "cv.csv"
    rec = RunRecord(dataset="sbu", protocol="5fold", configuration="v", model="lstm", fold=1,
                    seed=0,
                    accuracy=0.5, train_accuracy=1.0, n_test=1, n_train=1, iterations=1,
                    wall_time_s=0.0, device="cpu", git_commit="x", timestamp="t", params="{}",
                    versions="{}")
    append_record(path, rec)
    text = path.read_text().splitlines()
    newer = [text[0] + ",from_the_future"] + [line + ",42" for line in text[1:]]
    path.write_text("\n".join(newer) + "\n")
    before = path.read_text()
    with pytest.raises(StalibError, match=r"cv\.csv: its rows have columns .*from_the_future"):
        append_record(path, dataclasses.replace(rec, fold=2))
    assert path.read_text() == before


def test_every_committed_row_of_a_configuration_has_the_configurations_settings():
    """A row filed under a configuration's name (``--config NAME``) was made with that
    configuration's settings, so ``stalib cv --config NAME --resume`` continues the committed grid
    rather than skipping runs of other settings under the same name (rows of ``r1-view`` of the LSTM
    family once read eq. (7)'s L1 term as a mean while the configuration did not)."""
    from stalib.config import CONFIGURATIONS, settings_for
    from stalib.results import settings_of_params

    root = Path(__file__).resolve().parents[1] / "results"
    checked = 0
    for path in sorted(root.glob("*/*.csv")):
        if path.name not in ("cv.csv", "validation.csv"):
            continue
        for i, row in enumerate(read_records(path), start=2):
            if row["configuration"] not in CONFIGURATIONS:
                continue
            dataset = json.loads(row["params"])["train"]["dataset"]
            want = TrainConfig(dataset=dataset, model=row["model"],
                               **settings_for(row["configuration"], dataset)).deviations()
            got = settings_of_params(row["params"], f"{path}, line {i}")
            assert got == want, f"{path}, line {i}: {row['model']} {row['configuration']}"
            checked += 1
    assert checked > 100  # the configurations' grids are committed


def test_pandas_reads_every_committed_test_correct_as_its_string():
    """pd.read_csv with its defaults: test_correct stays a string of one letter per test
    sequence (digits lost their leading zeros: 39 rows once)."""
    import pandas as pd

    from stalib.results import RESULTS_FILES

    results = Path(__file__).resolve().parents[1] / "results"
    files = [p for name in RESULTS_FILES for p in results.glob(f"*/{name}")]
    files += list((results / "reruns").glob("*.csv"))
    assert files
    for path in files:
        df = pd.read_csv(path)
        kept = df[df["test_correct"].notna()]
        assert len(kept) > 0, path
        assert kept["test_correct"].map(type).eq(str).all(), path
        assert (kept["test_correct"].str.len() == kept["n_test"]).all(), path
        assert kept["test_correct"].str.fullmatch("[cw]+").all(), path


def test_no_rehearsal_row_is_committed_as_a_result():
    """Rows of the NTU rehearsal (generated data, stalib.tools.rehearsal) are never results."""
    from stalib.tools.rehearsal import PREFIX

    root = Path(__file__).resolve().parents[1] / "results"
    files = sorted(root.rglob("*.csv"))
    assert files
    for path in files:
        text = path.read_text()
        assert f",{PREFIX}" not in text, f"{path}: a rehearsal row"


def test_each_folder_of_committed_json_holds_only_its_own_kind():
    """The diagnosis page reads every results/diagnosis/*.json as a training history, the
    verdict page every results/epoch-pick/*.json as an epoch-pick file: a file of another kind
    in either folder breaks the book's build (an epoch-pick file once did)."""
    from stalib.report import diagnosis
    from stalib.tools import epoch_pick

    results = Path(__file__).resolve().parents[1] / "results"
    for path in sorted((results / "diagnosis").glob("*.json")):
        diagnosis.load(path)
    picks = epoch_pick.load_all(results / "epoch-pick")
    assert all(doc["determinism"].startswith("portable") for doc in picks)
