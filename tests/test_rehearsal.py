"""The NTU rehearsal (stalib.tools.rehearsal): names, generated files, and the whole path on a
small generated tree; samples are generated too (the real ones are not in the repository)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from stalib.cli import main
from stalib.data.ntu import NTU_JOINTS, format_skeleton, load_skeleton, parse_ntu_name
from stalib.tools import rehearsal


def _samples(folder, persons=(1, 2), frames=40):
    """Sample files in the NTU format: one per entry of ``persons``, walking skeletons."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    out = []
    for i, p in enumerate(persons):
        base = rng.normal(0, 0.3, (p, NTU_JOINTS, 3)) + np.array([0.0, 0.0, 3.0])
        walk = np.cumsum(rng.normal(0, 0.01, (frames, p, NTU_JOINTS, 3)), axis=0)
        path = folder / f"S001C001P001R001A{i + 1:03d}.skeleton"
        path.write_text(format_skeleton([[(100 + b, base[b] + walk[f, b]) for b in range(p)]
                                         for f in range(frames)]))
        out.append(path)
    return out


def test_names_are_distinct_valid_and_cover_both_protocols():
    names = rehearsal.names(600, seed=3)
    assert len(set(names)) == 600
    fields = [parse_ntu_name(n) for n in names]
    assert {f["camera"] for f in fields} == {1, 2, 3}
    assert len({f["performer"] for f in fields}) == 40
    assert {f["action"] for f in fields} == set(range(1, 61))
    assert rehearsal.names(600, seed=3) == names
    with pytest.raises(ValueError, match="1 to"):
        rehearsal.names(0)


def test_the_tree_holds_one_person_or_two_by_action_and_perturbed_lengths(tmp_path):
    samples = _samples(tmp_path / "real")
    files = rehearsal.write_tree(tmp_path / "NTU", samples, 80, seed=0)
    assert len(files) == 80
    lengths = set()
    for f in files:
        seq, meta = load_skeleton(f)
        assert meta["bodies"] == (2 if meta["action"] >= rehearsal.FIRST_MUTUAL else 1), f.name
        assert np.isfinite(seq).all()
        lengths.add(len(seq))
    assert min(lengths) >= 0.7 * 40 - 1 and max(lengths) <= 1.3 * 40 + 1 and len(lengths) > 5


def test_perturb_turns_about_the_vertical_and_scales_a_little():
    rng = np.random.default_rng(0)
    x = np.repeat(rng.normal(0, 0.3, (1, 1, NTU_JOINTS, 3)), 30, axis=0)  # one pose held
    y = rehearsal.perturb(x, 2, rng)
    assert y.shape[1:] == (2, NTU_JOINTS, 3) and 21 <= len(y) <= 39
    spread = np.ptp(y[:, 0, :, 1]) / np.ptp(x[:, 0, :, 1])  # heights: not turned, scaled
    assert 0.88 < spread < 1.12
    assert np.abs(y[:, 1] - y[:, 0] - [0.8, 0.0, 0.2]).max() > 0.1  # the second person turned


@pytest.mark.slow
def test_a_small_rehearsal_runs_the_whole_path_and_marks_its_rows(tmp_path):
    data = tmp_path / "data"
    _samples(data / rehearsal.SAMPLES)
    out = tmp_path / "out.json"
    assert main(["bench", "--ntu-rehearsal", "60", "--rehearsal-dir", str(tmp_path / "r"),
                 "--data-root", str(data), "--device", "cpu", "--models", "lstm",
                 "--config", "r1-view-gain-swap-t32", "--json", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert doc["kind"] == rehearsal.KIND and doc["files"] == 60
    assert doc["configuration"] == "rehearsal-r1-view-gain-swap-t32"
    assert {r["protocol"] for r in doc["runs"]} == {"xsub", "xview"}
    assert all(r["seq_per_s"] > 0 and r["full_epoch_s"] > 0 for r in doc["runs"])
    assert doc["cache"]["peak_rss_mb"] > 0 and doc["full"]["files"] == 56_880
    assert (tmp_path / "r" / "fig7-ntu-rehearsal.ipynb").is_file()
    rows = (tmp_path / "r" / "results" / "ntu60" / "cv.csv").read_text()
    assert "rehearsal-r1-view-gain-swap-t32" in rows
    # a second rehearsal never writes over the first tree
    assert main(["bench", "--ntu-rehearsal", "60", "--rehearsal-dir", str(tmp_path / "r"),
                 "--data-root", str(data), "--device", "cpu", "--models", "lstm"]) == 2


def test_bad_rehearsal_options_are_refused(capsys):
    assert main(["bench", "--ntu-rehearsal", "0"]) == 2
    assert "--ntu-rehearsal" in capsys.readouterr().err
    assert main(["bench", "--ntu-rehearsal", "10", "--grid"]) == 2
    assert main(["bench", "--ntu-rehearsal", "10", "--models", "hcn"]) == 2
    assert main(["bench", "--ntu-rehearsal", "10", "--config", "nope"]) == 2
