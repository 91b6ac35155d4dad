"""load_dataset / get_splits: names, protocols, preprocessing switches, options."""

from __future__ import annotations

import numpy as np
import pytest

from stalib.data.npz import save_npz
from stalib.data.registry import (
    DATASETS,
    dataset_kind,
    default_preprocess,
    default_protocol,
    get_splits,
    load_dataset,
    protocols,
)
from stalib.data.transforms import (
    NpzPreprocess,
    NTUPreprocess,
    SBUPreprocess,
    UTKinectPreprocess,
)
from stalib.errors import ConfigError, DataRootError


def test_unknown_dataset_lists_valid_names():
    with pytest.raises(ConfigError, match=r"unknown dataset 'kinetics'; valid names: sbu, "
                                          r"utkinect, nwucla, utdmhad, ntu60, npz:PATH"):
        load_dataset("kinetics")
    with pytest.raises(ConfigError):
        dataset_kind("npz:")
    assert DATASETS == ("sbu", "utkinect", "nwucla", "utdmhad", "ntu60", "npz:PATH")
    assert dataset_kind("SBU") == "sbu" and dataset_kind("npz:a/b.npz") == "npz"


def test_protocol_names_and_defaults():
    assert protocols("sbu") == ["5fold"]
    assert protocols("ntu60") == ["xsub", "xview"]
    assert protocols("utkinect") == ["xsub", "loso"]
    assert default_protocol("sbu") == "5fold" and default_protocol("ntu60") == "xsub"
    assert default_protocol("npz:x.npz") == "5fold"
    assert isinstance(default_preprocess("ntu60"), NTUPreprocess)


def test_unknown_protocol(sbu_data, data_root):
    with pytest.raises(ConfigError, match=r"unknown protocol 'xview' for sbu; valid: 5fold"):
        get_splits("sbu", sbu_data, "xview")
    with pytest.raises(ConfigError, match="unknown protocol"):
        load_dataset("sbu", data_root, protocol="loso")


def test_get_splits_defaults(sbu_data, utkinect_data):
    assert len(get_splits("sbu", sbu_data)) == 5
    assert len(get_splits("utkinect", utkinect_data)) == 1
    assert len(get_splits("utkinect", utkinect_data, "loso")) == 199


def test_preprocess_switch(data_root, sbu_data):
    raw = load_dataset("sbu", data_root, preprocess=False)
    assert raw.frames[..., 2].min() > 0.5  # depth in metres, not centred
    assert not np.allclose(raw.frames, sbu_data.frames)
    no_smooth = load_dataset("sbu", data_root, preprocess=SBUPreprocess(smooth=None))
    manual = raw.map_frames(SBUPreprocess(smooth=None).build())
    np.testing.assert_allclose(no_smooth.frames, manual.frames, atol=1e-6)
    with pytest.raises(ConfigError, match="must be a SBUPreprocess"):
        load_dataset("sbu", data_root, preprocess=UTKinectPreprocess())


def test_options_belong_to_their_dataset(data_root):
    with pytest.raises(ConfigError, match="label_file is a UTKinect option"):
        load_dataset("sbu", data_root, label_file="actionLabel.txt")


def test_data_root_errors(tmp_path, monkeypatch):
    monkeypatch.delenv("STALIB_DATA", raising=False)
    with pytest.raises(DataRootError, match="no data root"):
        load_dataset("sbu")
    with pytest.raises(DataRootError, match="SBU not found"):
        load_dataset("sbu", tmp_path)
    monkeypatch.setenv("STALIB_DATA", str(tmp_path / "nowhere"))
    with pytest.raises(DataRootError, match="not a folder"):
        load_dataset("utkinect")


def test_ntu60_through_registry(ntu_samples_root, tmp_path):
    data = load_dataset("ntu60", ntu_samples_root, cache_dir=tmp_path / "cache", workers=1)
    assert len(data) == 5 and isinstance(data.frames, np.memmap)
    assert [len(s.test) for s in get_splits("ntu60", data, "xview")] == [3]
    assert [len(s.test) for s in get_splits("ntu60", data)] == [2]


def test_npz_through_registry(tmp_path, sbu_data):
    sub = sbu_data.subset(range(0, 282, 10))
    path = save_npz(sub, tmp_path / "sbu_part.npz")
    data = load_dataset(f"npz:{path}")
    np.testing.assert_array_equal(data.frames, sub.frames)
    splits = get_splits(f"npz:{path}", data)  # group 5-fold over the SBU sets
    assert len(splits) == 5
    assert sorted(np.concatenate([s.test for s in splits]).tolist()) == list(range(len(sub)))
    assert len(get_splits(f"npz:{path}", data, "loso")) == len(sub)
    with pytest.raises(ConfigError, match="no 'split' array"):
        get_splits(f"npz:{path}", data, "provided")
    centred = load_dataset(f"npz:{path}", preprocess=NpzPreprocess(centre_joint=0))
    np.testing.assert_allclose(centred[0][0, 0], 0, atol=1e-6)
