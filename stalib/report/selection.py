"""The rule that chooses each model family's configuration, written before its runs.

A configuration chosen on SBU's five tiny validation folds overfits SBU: ``r1-view-gain`` lifted
STA-LSTM there and lowered the LSTM on UTKinect. So a family's configuration is chosen on the
inner-validation folds of two datasets together, and must hold on both (the catalogue's ``[rule]``
and ``[families]``, :mod:`stalib.catalogue`):

* **SBU**: each test fold k trained without fold k+1, evaluated on fold k+1 (5 runs a seed).
* **UTKinect cross-subject**: its training subjects, each held out in turn (5 runs a seed; the
  test subjects are never seen: :func:`stalib.experiment.validation_folds`).

**The rule** (:func:`choose`). For each candidate of a family (its ``candidates``, in order of added
steps, simplest first), its score is the mean over the two datasets of the mean over the family's
probe models of their mean validation accuracy over seeds 0 and 1 (every fold of both). A candidate
is scored only when all its runs are recorded. The highest score wins, except that a simpler
candidate within :data:`MARGIN` points of it wins instead: one validation fold of SBU is 12
sequences, and a step must earn its place. The chosen configuration is then run once on the test
folds of both datasets, for every model of the family; test folds never choose.

Written down at commit time before the new candidates' validation runs (the git history of this file
is the record). Not before every run: the first candidate of each family (``r1-view-gain-swap``,
``r1-view-rot-l2``) had SBU validation and test rows from earlier, and ``-t16`` and ``-mm`` were
added after ``r1-view-rot-l2``'s test rows were known; neither won.
"""

from __future__ import annotations

import pandas as pd

from stalib.catalogue import RULE_DATASETS, RULE_MARGIN, RULE_SEEDS, RULED, Family
from stalib.report.tables import DATASET_SHORT, MODEL_LABELS

#: The families the rule chooses for.
FAMILIES = RULED
#: The datasets a choice must hold on, with their protocol (the catalogue's rule).
DATASETS = RULE_DATASETS
#: Seeds of every validation run.
SEEDS = RULE_SEEDS
#: Points of validation accuracy a more complex candidate must win by.
MARGIN = RULE_MARGIN
__all__ = ["DATASETS", "FAMILIES", "MARGIN", "SEEDS", "Family", "choose", "scores"]


def runs_needed(dataset: str) -> int:
    """Validation runs of one probe model and candidate on ``dataset``: 5 folds per seed."""
    return 5 * len(SEEDS)


def scores(family: Family, validation: dict[str, pd.DataFrame | None]) -> pd.DataFrame:
    """Per candidate, probe model and dataset: validation runs recorded, their mean accuracy
    (percent); and per candidate its score (None until every run is recorded). ``validation``: each
    dataset's validation rows (:func:`stalib.report.tables.load_cv` of ``validation.csv``)."""
    out = []
    for candidate in family.candidates:
        for dataset, protocol in DATASETS.items():
            df = validation.get(dataset)
            for model in family.probes:
                runs = pd.DataFrame() if df is None else df[
                    (df["configuration"] == candidate) & (df["model"] == model)
                    & df["protocol"].astype(str).str.startswith(protocol + ":val")
                    & df["seed"].astype(int).isin(SEEDS)]
                out.append({"candidate": candidate, "dataset": dataset, "model": model,
                            "runs": len(runs), "needed": runs_needed(dataset),
                            "accuracy": 100 * runs["accuracy"].mean() if len(runs) else None})
    table = pd.DataFrame(out)
    whole = table.groupby("candidate", sort=False)["runs"].sum() == table.groupby(
        "candidate", sort=False)["needed"].sum()
    per_dataset = table.groupby(["candidate", "dataset"], sort=False)["accuracy"].mean()
    score = per_dataset.groupby(level=0, sort=False).mean()
    table["score"] = [score[c] if whole[c] else None for c in table["candidate"]]
    return table


def choose(family: Family, validation: dict[str, pd.DataFrame | None]) -> str | None:
    """The family's configuration by the rule (see the module), or None while a candidate's runs are
    missing."""
    table = scores(family, validation)
    per = table.drop_duplicates("candidate").set_index("candidate")["score"]
    if per.isna().any():
        return None
    best = per.max()
    return next(c for c in family.candidates if per[c] >= best - MARGIN)


def by_dataset(val: pd.DataFrame | None) -> dict[str, pd.DataFrame | None]:
    """Every dataset's validation rows (``val``: those of all datasets) split per dataset of
    :data:`DATASETS`, as :func:`scores` and :func:`choose` take them."""
    return {d: None if val is None else val[val["dataset"] == d] for d in DATASETS}


def format_scores(val: pd.DataFrame | None) -> pd.DataFrame:
    """Every family's candidates as a display table: per dataset, each probe model's mean validation
    accuracy in the family's order (or its runs recorded of those needed), then the score and the
    rule's choice. ``val``: every dataset's validation rows
    (:func:`stalib.report.results_files.load_all_validation`)."""
    rows = by_dataset(val)
    out = []
    for name, family in FAMILIES.items():
        table = scores(family, rows)
        choice = choose(family, rows)
        probes = ", ".join(MODEL_LABELS.get(m, m) for m in family.probes)
        for candidate, g in table.groupby("candidate", sort=False):
            row = {"Family (probes)": f"{name} ({probes})", "Candidate": candidate}
            for dataset, d in g.groupby("dataset", sort=False):
                row[f"{DATASET_SHORT.get(dataset, dataset)} {DATASETS[dataset]}"] = " · ".join(
                    f"{r['accuracy']:.2f}" if r["runs"] == r["needed"] else
                    f"{r['runs']}/{r['needed']} runs" for _, r in d.iterrows())
            score = g["score"].iloc[0]
            row["Score"] = "—" if score is None or pd.isna(score) else f"{score:.2f}"
            row["Chosen"] = "yes" if candidate == choice else ""
            out.append(row)
    return pd.DataFrame(out)
