"""The catalogue: what the project's experiments are, written once, as data.

Everything here is plain data (no imports of the library): the readers, the report and the job
grid read it, so a dataset is named, placed and titled in one entry.

``DATASETS``: each dataset of the registry, in the report's order, with the folder of the data
root it is read from, its title and short name in the book, and the short name of its jobs
(``fig7-<job>``). The readers, protocols and preprocessing are code, registered by name in
:mod:`stalib.data.registry`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Dataset:
    """One dataset: ``name`` (``--dataset``), ``folder`` under the data root, ``title`` and
    ``short`` in the book, ``job`` in job names, ``chose`` whether its validation folds chose a
    configuration (False: it runs the chosen ones unchanged, out of sample)."""

    name: str
    folder: str
    title: str
    short: str
    job: str
    chose: bool = True


DATASETS: tuple[Dataset, ...] = (
    Dataset("sbu", "SBU", "SBU Kinect Interaction", "SBU", "sbu"),
    Dataset("utkinect", "UTKinect", "UTKinect-Action3D", "UTKinect", "utkinect"),
    Dataset("nwucla", "NW-UCLA", "Northwestern-UCLA", "NW-UCLA", "nwucla", chose=False),
    Dataset("utdmhad", "UTD-MHAD", "UTD-MHAD", "UTD-MHAD", "utdmhad", chose=False),
    Dataset("ntu60", "NTU", "NTU RGB+D (60 classes)", "NTU RGB+D", "ntu"),
)


def folders() -> dict[str, str]:
    """``{name: folder}`` of every dataset, in the report's order."""
    return {d.name: d.folder for d in DATASETS}


def titles() -> dict[str, str]:
    return {d.name: d.title for d in DATASETS}


def shorts() -> dict[str, str]:
    return {d.name: d.short for d in DATASETS}


def job_names() -> dict[str, str]:
    return {d.name: d.job for d in DATASETS}


def out_of_sample() -> tuple[str, ...]:
    """The datasets that chose nothing."""
    return tuple(d.name for d in DATASETS if not d.chose)
