"""The catalogue: what the project's experiments are, written once, as data.

``stalib/catalogue.toml`` holds it; this module reads it into plain frozen records and imports
nothing of the library, so every layer may read it: the CLI and :mod:`stalib.config`
(configurations), the readers' registry (datasets), the notebooks' job grid
(:mod:`stalib.report.reproduce`: families and grids), the rule and the verdict (families, claims,
levels).

* :data:`DATASETS`: each dataset, in the report's order (readers and protocols are code,
  registered by name in :mod:`stalib.data.registry`).
* :data:`CONFIGURATIONS`: each named configuration, its parent, its settings and one line of why;
  :func:`settings` resolves a configuration through its parents.
* :data:`FAMILIES`: models that share a configuration, the candidates among which the rule of
  :mod:`stalib.report.selection` chooses, and its **recorded** choice.
* :data:`GRIDS`: the test grids run beside the paper's settings; :data:`CLAIMS` and
  :data:`LEVELS`: what the verdict measures.

Adding a dataset or a configuration is one entry here plus its code (README, "Adding a dataset").
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

#: The catalogue file beside this module, or ``$STALIB_CATALOGUE`` (a copy with your entries).
PATH = Path(os.environ.get("STALIB_CATALOGUE") or Path(__file__).with_name("catalogue.toml"))


@dataclass(frozen=True)
class Dataset:
    """One dataset: ``name`` (``--dataset``), ``folder`` under the data root, ``title`` and
    ``short`` in the book, ``job`` in job names, ``chose`` whether its validation folds chose a
    configuration (False: it runs the chosen ones unchanged, out of sample), ``persons`` per
    sequence, ``joints`` per person and ``classes`` (the shapes of its models), ``protocols``
    and ``seeds`` of its test grids (None: the catalogue's test seeds), ``pooled`` the protocol
    on which it enters the pooled verdict (None: it does not)."""

    name: str
    folder: str
    title: str
    short: str
    job: str
    chose: bool = True
    persons: int = 1
    joints: int = 0
    classes: int = 0
    protocols: tuple[str, ...] = ()
    seeds: tuple[int, ...] | None = None
    pooled: str | None = None


@dataclass(frozen=True)
class Configuration:
    """A named configuration: the TrainConfig fields it sets (``settings``) on top of its
    ``parent``'s, ``what`` it is, where it was ``chosen``, and its ``label`` in the book's main
    pages ("tuned configuration (Fig. 7 models)"; empty: its name)."""

    name: str
    settings: dict
    what: str
    chosen: str
    parent: str | None = None
    label: str = ""


@dataclass(frozen=True)
class Family:
    """Models that share a configuration: ``probes`` run on validation folds, ``models`` on the test
    folds at the chosen one; ``candidates`` (configurations) in order of added steps, simplest
    first; ``recorded``: the choice, recorded when it was made; ``ruled``: made by the two-dataset
    rule (else on SBU's validation folds alone, before it)."""

    probes: tuple[str, ...]
    models: tuple[str, ...]
    candidates: tuple[str, ...]
    recorded: str = ""
    name: str = ""
    title: str = ""
    ruled: bool = True


@dataclass(frozen=True)
class Grid:
    """A family's test grids of one dataset at ``configurations``; a CSTA grid's ``beside``: per
    configuration, the Fig. 7 configuration whose STA-LSTM it is compared with and drawn beside."""

    family: str
    dataset: str
    configurations: tuple[str, ...]
    beside: tuple[str, ...] = ()


@dataclass(frozen=True)
class Claim:
    """One claim. ``kind``: ``comparison`` (``model`` beats ``reference``) or ``target``
    (``model`` reaches ``value`` percent) on ``dataset`` (``protocol`` None: its standard one).
    ``pooled``: a comparison measured on every dataset and pooled; ``ablation``: ours, shown
    beside, not a claim of a paper; ``stated_gain``: the gain the paper states for these data
    (None: a gain without a size)."""

    text: str
    source: str
    dataset: str
    kind: str
    model: str
    reference: str | None = None
    value: float | None = None
    protocol: str | None = None
    quote: str = ""
    note: str = ""
    pooled: bool = False
    ablation: bool = False
    stated_gain: float | None = None

    @property
    def title(self) -> str:
        """The claim with what the paper adds: "SA-LSTM beats the LSTM (the paper: ...)"."""
        return f"{self.text} ({self.note})" if self.note else self.text

    @property
    def family(self) -> str:
        """The family whose recorded configuration both models run at."""
        return family_of(self.model)


@dataclass(frozen=True)
class Level:
    """Where ``models`` must stand on ``dataset``/``protocol`` before a negative verdict is
    trusted: ``level`` percent, or None for the linear floor's mean there; ``best``: only the
    best of them, else each. Fixed before the runs that test it (``why``)."""

    text: str
    dataset: str
    protocol: str
    models: tuple[str, ...]
    level: float | None = None
    best: bool = False
    why: str = ""


def _load(path: Path = PATH) -> dict:
    with open(path, "rb") as f:
        return tomllib.load(f)


_DATA = _load()

DATASETS: tuple[Dataset, ...] = tuple(
    Dataset(**{**d, "protocols": tuple(d.get("protocols", ())),
               "seeds": tuple(d["seeds"]) if "seeds" in d else None})
    for d in _DATA["datasets"])
CONFIGURATIONS: dict[str, Configuration] = {
    name: Configuration(name=name, **r) for name, r in _DATA["configurations"].items()}
FAMILIES: dict[str, Family] = {
    name: Family(name=name, title=f["title"], models=tuple(f["models"]),
                 probes=tuple(f["probes"]), candidates=tuple(f["candidates"]),
                 recorded=f["recorded"], ruled=f.get("ruled", True))
    for name, f in _DATA["families"].items()}
#: The families whose configuration the two-dataset rule chose.
RULED: dict[str, Family] = {name: f for name, f in FAMILIES.items() if f.ruled}
GRIDS: tuple[Grid, ...] = tuple(
    Grid(g["family"], g["dataset"], tuple(g["configurations"]), tuple(g.get("beside", ())))
    for g in _DATA["grids"])
CLAIMS: tuple[Claim, ...] = tuple(Claim(**c) for c in _DATA["claims"])


def _level(entry: dict) -> Level:
    entry = dict(entry)
    models = tuple(entry.pop("models", ())) + tuple(
        m for f in entry.pop("families", ()) for m in FAMILIES[f].models)
    return Level(models=models, **entry)


LEVELS: tuple[Level, ...] = tuple(_level(e) for e in _DATA["levels"])

#: The datasets and protocols every pooled comparison is measured on, in the report's order.
POOLED_ON: tuple[tuple[str, str], ...] = tuple((d.name, d.pooled) for d in DATASETS if d.pooled)
#: The seeds of every test grid that speaks for a claim.
TEST_SEEDS: tuple[int, ...] = tuple(_DATA["test"]["seeds"])

#: The rule of :mod:`stalib.report.selection`: ``{dataset: protocol}`` whose validation folds
#: choose together, the seeds of every validation run, and the margin (points) a more complex
#: candidate must win by.
RULE_DATASETS: dict[str, str] = dict(_DATA["rule"]["datasets"])
RULE_SEEDS: tuple[int, ...] = tuple(_DATA["rule"]["seeds"])
RULE_MARGIN: float = float(_DATA["rule"]["margin"])

#: The six models of the paper's Fig. 7 and the four of the CSTA ablation.
FIG7_MODELS: tuple[str, ...] = FAMILIES["fig7"].models
CSTA_MODELS: tuple[str, ...] = FAMILIES["csta"].models


def family_of(model: str) -> str:
    """The family of ``model`` (a model in no family is its own)."""
    return next((f.name for f in FAMILIES.values() if model in f.models), model)


def recorded(model: str) -> str | None:
    """The recorded configuration of ``model``'s family (None: a model in no family)."""
    family = FAMILIES.get(family_of(model))
    return None if family is None else family.recorded


def settings(name: str) -> dict:
    """Configuration ``name``'s TrainConfig fields, its parents' first (a fresh copy each call; a
    nested dict such as ``preprocess`` is replaced whole, not merged)."""
    configuration = CONFIGURATIONS[name]
    base = settings(configuration.parent) if configuration.parent else {}
    out = {**base, **configuration.settings}
    return {k: (dict(v) if isinstance(v, dict) else v) for k, v in out.items()}


#: The names of the settings that are no configuration, as the book's main pages say them.
_DEFAULT_LABELS = {"paper": "paper's settings", "sbu-settings": "paper's SBU settings",
                   "custom": "unnamed settings"}


def label(configuration: str) -> str:
    """The name a reader meets for the configuration ``configuration`` (a results row's label): its
    configuration's ``label``, "paper's settings" for ``paper``, else ``configuration`` itself."""
    named = CONFIGURATIONS.get(configuration)
    if named is not None and named.label:
        return named.label
    return _DEFAULT_LABELS.get(configuration, configuration)


def dataset(name: str) -> Dataset:
    """The catalogue's entry of the dataset ``name``."""
    return next(d for d in DATASETS if d.name == name)


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


def one_person() -> tuple[str, ...]:
    """The datasets of one person per sequence (a configuration's person swap is dropped there)."""
    return tuple(d.name for d in DATASETS if d.persons == 1)


def grids(family: str, dataset: str) -> Grid | None:
    """The test grids of ``family`` on ``dataset`` (None: none beside the paper's)."""
    return next((g for g in GRIDS if (g.family, g.dataset) == (family, dataset)), None)
