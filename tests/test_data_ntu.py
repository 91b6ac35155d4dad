"""NTU RGB+D: file names, both parsers, body selection, the memmap cache, and bad input."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import stalib.data.ntu as ntu
from stalib.data.ntu import (
    NTU_CLASSES,
    default_cache_dir,
    load_ntu,
    load_skeleton,
    parse_ntu_name,
    parse_skeleton,
    parse_skeleton_reference,
    read_ntu,
    select_bodies,
)
from stalib.data.transforms import NTUPreprocess, view_rotation
from stalib.errors import DataRootError, FormatError

SAMPLES = {  # name: (frames, label, bodies)
    "S001C001P001R001A011": (82, 10, 1),
    "S001C003P008R002A058": (70, 57, 2),
    "S002C001P003R001A003": (100, 2, 1),
    "S003C001P015R001A034": (71, 33, 1),
    "S004C002P003R001A017": (124, 16, 1),
}


def test_class_names():
    assert len(NTU_CLASSES) == 60 and len(set(NTU_CLASSES)) == 60
    assert NTU_CLASSES[0] == "drink water" and NTU_CLASSES[57] == "handshaking"
    assert NTU_CLASSES[59] == "walking apart from each other"


def test_parse_name():
    meta = parse_ntu_name("x/S017C003P020R002A060.skeleton")
    assert meta == {"setup": 17, "camera": 3, "performer": 20, "replication": 2, "action": 60}
    for bad in ["S001C001P001R001A061.skeleton", "S001C001P001R001A000.skeleton",
                "S001C001P001R001.skeleton", "s001c001p001r001a001.skeleton",
                "S001C001P001R001A001.txt", "S001C000P001R001A001.skeleton"]:
        with pytest.raises(FormatError, match="bad NTU file name"):
            parse_ntu_name(bad)


# --------------------------------------------------------------------------- real samples
def test_samples_parsers_agree(ntu_samples_root):
    for path in sorted((ntu_samples_root / "NTU").glob("*.skeleton")):
        fast, ref = parse_skeleton(path), parse_skeleton_reference(path)
        assert fast.same_as(ref), path.name
        frames, _, bodies = SAMPLES[path.stem]
        assert fast.num_frames == frames
        assert len(set(fast.body_ids)) == bodies
        assert all(len(b) == 17 for b in fast.body_ids)  # body ids beyond float precision


def test_samples_read(ntu_samples_root):
    data = read_ntu(ntu_samples_root / "NTU", transform=None)
    assert len(data) == 5 and data.name == "ntu60"
    assert data.names.tolist() == sorted(SAMPLES)
    assert data.lengths.tolist() == [SAMPLES[n][0] for n in sorted(SAMPLES)]
    assert data.labels.tolist() == [SAMPLES[n][1] for n in sorted(SAMPLES)]
    assert data.groups.tolist() == ["P001", "P008", "P003", "P015", "P003"]
    assert data.attrs["camera"].tolist() == [1, 3, 1, 1, 2]
    assert data.attrs["setup"].tolist() == [1, 1, 2, 3, 4]
    assert data.attrs["replication"].tolist() == [1, 2, 1, 1, 1]
    assert data.attrs["bodies"].tolist() == [1, 2, 1, 1, 1]
    assert data.attrs["dropped_frames"].tolist() == [0, 0, 0, 0, 0]
    assert (data.num_joints, data.persons, data.joints_per_person) == (50, 2, 25)
    for i, name in enumerate(data.names):
        second = data[i][:, 25:]
        assert (np.abs(second).sum() > 0) == (SAMPLES[name][2] == 2)  # zeros when 1 body
    # raw camera coordinates: depth of a few metres
    assert 2.0 < data[0][:, :25, 2].mean() < 5.0
    # the first joint line of the first file
    np.testing.assert_allclose(data[0][0, 0], [0.2058097, 0.1920515, 3.810989], rtol=1e-6)


def test_samples_view_normalised(ntu_samples_root):
    data = read_ntu(ntu_samples_root / "NTU", transform=NTUPreprocess().build())
    for i in range(len(data)):
        seq = data[i]
        np.testing.assert_allclose(seq[0, 1], 0.0, atol=1e-6)  # spine mid of frame 0
        np.testing.assert_allclose(view_rotation(seq[0]), np.eye(3), atol=1e-5)
        shoulders = seq[0, 4] - seq[0, 8]
        assert shoulders[0] > 0 and abs(shoulders[1]) < 1e-5 and abs(shoulders[2]) < 1e-5
    two = int(np.flatnonzero(data.names == "S001C003P008R002A058")[0])
    assert np.abs(data[two][:, 25:]).sum() > 0
    single = int(np.flatnonzero(data.names == "S001C001P001R001A011")[0])
    assert np.all(data[single][:, 25:] == 0)  # absent person 2 stays zero


# --------------------------------------------------------------------------- synthetic files
def test_body_selection_three_bodies(tmp_path, write_skeleton, synth):
    frames = synth.three_body_frames(20)
    path = write_skeleton(tmp_path / "S001C002P003R001A050.skeleton", frames)
    raw = parse_skeleton(path)
    assert raw.same_as(parse_skeleton_reference(path))
    assert raw.num_frames == 20 and len(raw.body_ids) == 18 * 2 + 16
    seq, info = select_bodies(raw, path)
    assert info == {"bodies": 3, "dropped_frames": 2}  # frames 0 and 10 have no body
    assert seq.shape == (18, 50, 3)
    mover_a = synth.ntu_body(2, 20, motion=0.05)
    mover_b = synth.ntu_body(3, 20, motion=0.08)
    kept = [t for t in range(20) if t not in (0, 10)]
    # the still body (first in every frame) is dropped; person 1 = the mover seen first
    np.testing.assert_allclose(seq[:, :25], mover_a[kept], atol=1e-5)
    # person 2 appears at frame 3: zeros before, then its joints
    assert np.all(seq[:2, 25:] == 0)
    np.testing.assert_allclose(seq[2:, 25:], mover_b[kept[2:]], atol=1e-5)


def test_body_selection_ties_and_single_body(tmp_path, write_skeleton, synth):
    still = [synth.ntu_body(k, 5, motion=0.0) for k in range(3)]
    frames = [[("30", still[2][t]), ("10", still[0][t]), ("20", still[1][t])] for t in range(5)]
    path = write_skeleton(tmp_path / "S001C001P001R001A001.skeleton", frames)
    seq, info = load_skeleton(path)
    assert info["bodies"] == 3
    # all motions are 0: the first two in order of appearance ("30", then "10") are kept
    np.testing.assert_allclose(seq[:, :25], still[2], atol=1e-5)
    np.testing.assert_allclose(seq[:, 25:], still[0], atol=1e-5)
    one = write_skeleton(tmp_path / "S001C001P001R001A002.skeleton",
                         [[("7", still[1][t])] for t in range(5)])
    seq, info = load_skeleton(one)
    assert info == {**parse_ntu_name(one), "bodies": 1, "dropped_frames": 0}
    assert np.all(seq[:, 25:] == 0)


def test_no_body_at_all(tmp_path, write_skeleton):
    path = write_skeleton(tmp_path / "S001C001P001R001A001.skeleton", [[], [], []])
    with pytest.raises(FormatError, match="no body tracked in any of the 3 frames"):
        load_skeleton(path)


def test_lf_and_crlf_agree(tmp_path, write_skeleton, synth):
    frames = synth.three_body_frames(6)
    a = parse_skeleton(write_skeleton(tmp_path / "a.skeleton", frames, "\r\n"))
    b = parse_skeleton(write_skeleton(tmp_path / "b.skeleton", frames, "\n"))
    assert a.same_as(b)


def _valid_lines(tmp_path, write_skeleton, synth) -> tuple[Path, list[str]]:
    frames = [[("1", synth.ntu_body(0, 3)[t])] for t in range(3)]
    path = write_skeleton(tmp_path / "S001C001P001R001A001.skeleton", frames, "\n")
    return path, path.read_text().splitlines()


# line 1: frame count; 2: body count; 3: info; 4: joint count; 5..29: joints; 30: frame 2 ...
CORRUPT = {
    "truncated": (lambda ls: ls[:40], r":41: file ends early: expected joint 9 of body 1 of "
                                      r"frame 2"),
    "non-numeric value": (lambda ls: ls[:6] + [ls[6].replace(ls[6].split()[4], "abc", 1)]
                          + ls[7:], r":7: joint 3 of body 1 of frame 1: value 5 is not a number"),
    "too few values": (lambda ls: ls[:6] + [" ".join(ls[6].split()[:11])] + ls[7:],
                       r":7: joint 3 of body 1 of frame 1: expected 12 values, got 11"),
    "24 joints": (lambda ls: ls[:3] + ["24"] + ls[4:28] + ls[29:],
                  r":4: body 1 of frame 1 has 24 joints, expected 25"),
    "zero frames": (lambda ls: ["0"], r":1: zero frames"),
    "empty file": (lambda ls: [], r":1: file ends early: expected the frame count"),
    "NaN position": (lambda ls: ls[:9] + [ls[9].replace(ls[9].split()[1], "nan", 1)] + ls[10:],
                     r":10: joint 6 of body 1 of frame 1: x y z must be finite"),
    "trailing content": (lambda ls: ls + ["1"], r":86: unexpected content after the last of 3"),
    "info line too short": (lambda ls: ls[:2] + [" ".join(ls[2].split()[:9])] + ls[3:],
                            r":3: info line of body 1 of frame 1: expected 10 values, got 9"),
    "fractional body count": (lambda ls: ls[:1] + ["1.0"] + ls[2:],
                              r":2: expected the body count of frame 1 of 3 \(one whole number\)"),
    "blank line inside": (lambda ls: ls[:10] + [""] + ls[10:], r":11: empty line"),
    "frame count too big": (lambda ls: ["4"] + ls[1:], r":86: file ends early: expected the "
                                                       r"body count of frame 4 of 4"),
    "two joint lines on one": (lambda ls: ls[:5] + [ls[5] + " " + ls[6]] + ls[7:] + ["0"],
                               r":6: joint 2 of body 1 of frame 1: expected 12 values, got 24"),
}


@pytest.mark.parametrize("case", list(CORRUPT))
def test_corrupt_files_both_parsers(tmp_path, write_skeleton, synth, case):
    path, lines = _valid_lines(tmp_path, write_skeleton, synth)
    edit, pattern = CORRUPT[case]
    new = edit(lines)
    path.write_text("\n".join(new) + "\n" if new else "")
    with pytest.raises(FormatError, match=pattern) as ref:
        parse_skeleton_reference(path)
    with pytest.raises(FormatError) as fast:
        parse_skeleton(path)
    assert str(fast.value) == str(ref.value)
    assert ref.value.path == path


def test_duplicate_body_in_frame(tmp_path, write_skeleton, synth):
    body = synth.ntu_body(0, 2)
    path = write_skeleton(tmp_path / "S001C001P001R001A001.skeleton",
                          [[("5", body[0])], [("5", body[1]), ("5", body[0])]])
    for parser in (parse_skeleton, parse_skeleton_reference):
        with pytest.raises(FormatError, match="body id 5 appears twice in frame 2"):
            parser(path)


def test_binary_file(tmp_path):
    path = tmp_path / "S001C001P001R001A001.skeleton"
    path.write_bytes(b"3\r\n\xff\xfe")
    with pytest.raises(FormatError, match="not a text file"):
        parse_skeleton(path)


# --------------------------------------------------------------------------- folder + cache
def _synthetic_folder(folder: Path, write_skeleton, synth, n: int = 4) -> list[Path]:
    paths = []
    for k in range(n):
        frames = synth.three_body_frames(8 + k) if k % 2 else \
            [[("1", synth.ntu_body(k, 6 + k)[t])] for t in range(6 + k)]
        paths.append(write_skeleton(
            folder / f"S001C00{1 + k % 3}P00{1 + k}R001A00{1 + k}.skeleton", frames))
    return paths


def test_cache_on_samples(ntu_samples_root, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    data = load_ntu(ntu_samples_root / "NTU", cache_dir=cache, workers=1, progress=False)
    assert isinstance(data.frames, np.memmap)
    ref = read_ntu(ntu_samples_root / "NTU", transform=NTUPreprocess().build())
    np.testing.assert_array_equal(np.asarray(data.frames), ref.frames)
    assert data.offsets.tolist() == ref.offsets.tolist()
    assert data.names.tolist() == ref.names.tolist()
    assert data.groups.tolist() == ref.groups.tolist()
    for key in ref.attrs:
        assert data.attrs[key].tolist() == ref.attrs[key].tolist()
    (key_dir,) = cache.iterdir()
    assert sorted(p.name for p in key_dir.iterdir())[-1] == "index.npz"
    assert len(list(key_dir.iterdir())) == 2  # frames file + index, no temporary left

    def no_build(*args, **kwargs):
        raise AssertionError("the cache should have been reused")

    with monkeypatch.context() as m:
        m.setattr(ntu, "_build_cache", no_build)
        again = load_ntu(ntu_samples_root / "NTU", cache_dir=cache)
        np.testing.assert_array_equal(np.asarray(again.frames), np.asarray(data.frames))
    raw = load_ntu(ntu_samples_root / "NTU", cache_dir=cache, preprocess=None, workers=1)
    assert len(list(cache.iterdir())) == 2  # other settings: their own cache
    np.testing.assert_array_equal(
        np.asarray(raw.frames), read_ntu(ntu_samples_root / "NTU").frames)


def test_cache_rebuilt_when_files_change(tmp_path, write_skeleton, synth, monkeypatch):
    folder = tmp_path / "NTU"
    paths = _synthetic_folder(folder, write_skeleton, synth)
    cache = tmp_path / "cache"
    first = load_ntu(folder, cache_dir=cache, workers=1)
    assert len(first) == 4
    built = []
    real_build = ntu._build_cache
    monkeypatch.setattr(ntu, "_build_cache", lambda *a, **k: built.append(1) or real_build(*a, **k))
    load_ntu(folder, cache_dir=cache, workers=1)
    assert built == []
    st = paths[0].stat()
    os.utime(paths[0], ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # touched
    load_ntu(folder, cache_dir=cache, workers=1)
    assert built == [1]
    write_skeleton(folder / "sub" / "S009C001P009R001A009.skeleton",
                   [[("1", synth.ntu_body(9, 4)[t])] for t in range(4)])
    grown = load_ntu(folder, cache_dir=cache, workers=1)
    assert built == [1, 1] and len(grown) == 5
    (key_dir,) = cache.iterdir()
    assert len(list(key_dir.glob("frames-*.f32"))) == 1  # stale frames files removed
    load_ntu(folder, cache_dir=cache, workers=1, rebuild=True)
    assert len(built) == 3


def test_cache_with_worker_processes(tmp_path, write_skeleton, synth):
    folder = tmp_path / "NTU"
    _synthetic_folder(folder, write_skeleton, synth, n=5)
    one = load_ntu(folder, cache_dir=tmp_path / "c1", workers=1)
    two = load_ntu(folder, cache_dir=tmp_path / "c2", workers=2)
    np.testing.assert_array_equal(np.asarray(one.frames), np.asarray(two.frames))
    assert one.names.tolist() == two.names.tolist()
    assert one.attrs["dropped_frames"].tolist() == two.attrs["dropped_frames"].tolist()


def test_cache_bad_files(tmp_path, write_skeleton, synth, monkeypatch):
    folder = tmp_path / "NTU"
    _synthetic_folder(folder, write_skeleton, synth)
    bad = folder / "S001C001P001R001A070.skeleton"
    write_skeleton(bad, [[("1", synth.ntu_body(0, 2)[t])] for t in range(2)])
    empty = write_skeleton(folder / "S001C001P002R001A002.skeleton", [[], []])
    cache = tmp_path / "cache"
    with pytest.raises(FormatError, match="bad NTU file name: action A070"):
        load_ntu(folder, cache_dir=cache, workers=1)
    monkeypatch.setattr(ntu, "_build_cache", lambda *a, **k: pytest.fail("rebuilt"))
    data = load_ntu(folder, cache_dir=cache, strict=False)  # the same cache, now lenient
    assert len(data) == 4
    assert len(data.skipped) == 2
    assert any(str(empty) in s and "no body tracked" in s for s in data.skipped)
    assert any(str(bad) in s for s in data.skipped)


def test_folder_errors(tmp_path, write_skeleton, synth):
    (tmp_path / "NTU").mkdir()
    with pytest.raises(DataRootError, match="no .skeleton files"):
        read_ntu(tmp_path / "NTU")
    body = [[("1", synth.ntu_body(0, 2)[t])] for t in range(2)]
    write_skeleton(tmp_path / "NTU" / "a" / "S001C001P001R001A001.skeleton", body)
    write_skeleton(tmp_path / "NTU" / "b" / "S001C001P001R001A001.skeleton", body)
    with pytest.raises(FormatError, match="same file name"):
        read_ntu(tmp_path / "NTU")


def test_default_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("STALIB_CACHE", str(tmp_path))
    assert default_cache_dir() == tmp_path / "ntu60"
    monkeypatch.delenv("STALIB_CACHE")
    assert default_cache_dir() == Path.home() / ".cache" / "stalib" / "ntu60"


def test_cache_folder_not_creatable(ntu_samples_root, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(DataRootError, match="cannot create the NTU cache folder"):
        load_ntu(ntu_samples_root / "NTU", cache_dir=blocker, workers=1)
