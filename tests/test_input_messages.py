"""Messages about bad input that say what is wrong, not something misleading or huge."""

from __future__ import annotations

import os

import numpy as np
import pytest

from stalib.errors import ConfigError, FormatError


def test_random_bytes_npz_is_not_called_pickled(tmp_path):
    from stalib.data.npz import load_npz

    path = tmp_path / "noise.npz"
    path.write_bytes(b"\x80" + os.urandom(300))  # \x80: what a pickle starts with
    with pytest.raises(FormatError) as err:
        load_npz(path)
    text = str(err.value)
    assert "not a readable .npz archive" in text and "numpy.savez" in text
    assert "pickle" not in text


def test_sbu_bare_carriage_return_is_reported_on_its_own_line(tmp_path, synth):
    from stalib.data.sbu import read_sbu_file

    rows = synth.sbu_rows(6)
    rows[2] = rows[2].replace(",", ",\r", 1)  # a stray \r inside line 3
    path = tmp_path / "skeleton_pos.txt"
    path.write_bytes(("\r\n".join(rows) + "\r\n").encode())  # CRLF endings are fine
    with pytest.raises(FormatError) as err:
        read_sbu_file(path)
    assert err.value.line == 3 and "carriage return" in str(err.value)
    rows[2] = rows[2].replace("\r", "")
    rows[4] = rows[4].rsplit(",", 1)[0]  # a short line 5 in a CRLF file: reported as line 5
    path.write_bytes(("\r\n".join(rows) + "\r\n").encode())
    with pytest.raises(FormatError) as err:
        read_sbu_file(path)
    assert err.value.line == 5
    (tmp_path / "ok.txt").write_bytes(("\r\n".join(synth.sbu_rows(6)) + "\r\n").encode())
    assert read_sbu_file(tmp_path / "ok.txt").shape == (6, 30, 3)


def test_bench_reads_ntu_where_train_does(tmp_path, write_skeleton, synth):
    from stalib.tools.bench import ntu_sample_files

    frames = [[("72057594037900001", synth.ntu_body(0, 3)[t])] for t in range(3)]
    write_skeleton(tmp_path / "NTU" / "nturgb+d_skeletons" / "S001C001P001R001A001.skeleton",
                   frames)
    write_skeleton(tmp_path / "NTU-samples" / "S002C001P001R001A001.skeleton", frames)
    assert [p.parent.name for p in ntu_sample_files(str(tmp_path))] == ["nturgb+d_skeletons"]
    only_samples = tmp_path / "other"
    (only_samples / "NTU-samples").mkdir(parents=True)
    (tmp_path / "NTU-samples" / "S002C001P001R001A001.skeleton").rename(
        only_samples / "NTU-samples" / "x.skeleton")
    assert [p.name for p in ntu_sample_files(str(only_samples))] == ["x.skeleton"]


def test_a_config_error_never_prints_a_whole_dataset():
    from stalib.data.core import SkeletonSet
    from stalib.data.registry import get_splits

    seqs = [np.zeros((50, 4, 3), np.float32) for _ in range(200)]
    data = SkeletonSet.from_sequences(seqs, [i % 2 for i in range(200)], ["g"] * 200,
                                      [f"s{i}" for i in range(200)], ["a", "b"], 1, 4,
                                      name="toy")
    assert repr(data) == "SkeletonSet('toy': 200 sequences, 2 classes, 10000 frames, 1 x 4 joints)"
    with pytest.raises(ConfigError) as err:
        get_splits(data, "5fold")  # arguments swapped
    assert len(str(err.value)) < 200 and "got a SkeletonSet" in str(err.value)
    with pytest.raises(ConfigError) as err:
        get_splits("x" * 5000, data)
    assert len(str(err.value)) < 200
