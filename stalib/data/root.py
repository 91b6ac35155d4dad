"""The data root: ``--data-root DIR`` or the environment variable ``STALIB_DATA``.

It is a folder holding ``SBU/``, ``UTKinect/``, ``NW-UCLA/``, ``UTD-MHAD/`` and ``NTU/`` (any may
be absent). Datasets are
never part of the project (licences); the README says where to download each.
"""

from __future__ import annotations

import os
from pathlib import Path

from stalib.errors import DataRootError

ENV_VAR = "STALIB_DATA"


def resolve_data_root(data_root: str | os.PathLike | None = None) -> Path:
    """The data root folder: ``data_root`` if given, else ``$STALIB_DATA``; it must exist."""
    if data_root is None:
        data_root = os.environ.get(ENV_VAR)
        if not data_root:
            raise DataRootError(
                f"no data root: pass `data_root` DIR or set {ENV_VAR} to a folder holding "
                "dataset folders such as SBU/ or NW-UCLA/ (see README, 'Data')"
            )
    root = Path(data_root).expanduser()
    if not root.is_dir():
        raise DataRootError(f"data root {root} is not a folder (from `data_root` or {ENV_VAR}); "
                            "it should hold dataset folders such as SBU/ or NW-UCLA/ (see README, "
                            "'Data')")
    return root


def dataset_dir(root: Path, folder: str) -> Path:
    """``root/folder``, which must exist, e.g. ``dataset_dir(root, "SBU")``."""
    path = root / folder
    if not path.is_dir():
        raise DataRootError(f"dataset folder {path} not found under the data root {root}; put "
                            f"the dataset in {folder}/ there (README, 'Data', says where to "
                            "download it) or pass another `data_root`")
    return path
