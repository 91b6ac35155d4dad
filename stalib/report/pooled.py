"""The pooled verdict: each comparison claim measured on four datasets and pooled.

Report layer: reads the committed test rows and never trains. For every comparison claim of
the papers (:data:`COMPARISONS`, each with the sentence it comes from) and each dataset of
:data:`POOLED_ON`, the paired difference of the two models at their family's recorded choice of
configuration (the catalogue's, recorded when the rule chose on SBU's and UTKinect's validation
folds; NW-UCLA and UTD-MHAD chose nothing), with its 95 % interval:

* SBU (5 test folds x 3 seeds): per-fold differences, Student t with the Nadeau-Bengio
  correction for the overlap of the folds' training sets (:func:`stats.corrected_fold_interval`);
* one-split datasets (3 seeds each): the per-sequence differences, bootstrapped over sequences
  and seeds (:func:`stats.paired_bootstrap`).

Then a random-effects pooled estimate over the datasets whose runs are whole
(:func:`stats.random_effects`) and one of the labels (:data:`stalib.report.verdict.LABELS`). Beside
each dataset, the smallest gain its design detects with 80 % power (:func:`stats.detectable_gain`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from stalib import catalogue, stats
from stalib.catalogue import POOLED_ON, Claim
from stalib.models import build_model
from stalib.report.tables import DATASET_SHORT, MODEL_LABELS, load_all_cv, load_literature
from stalib.report.verdict import (
    CLAIMS,
    CONTRADICTED,
    INCONCLUSIVE,
    LABELS,
    NOT_TESTABLE,
    REPRODUCED,
    model_mean,
    recorded_choices,
    verdict_of,
)
from stalib.results import decode_correct

__all__ = ["CONTRADICTED", "INCONCLUSIVE", "LABELS", "NOT_TESTABLE", "POOLED_ON", "REPRODUCED"]
#: Seeds of every test grid that speaks.
SEEDS = catalogue.TEST_SEEDS
#: The comparison claims measured on every dataset and pooled (the catalogue's ``pooled``).
COMPARISONS: tuple[Claim, ...] = tuple(c for c in catalogue.CLAIMS if c.pooled)


def _seed_rows(rows: pd.DataFrame, model: str) -> pd.DataFrame:
    return rows[(rows["model"] == model) & rows["seed"].astype(int).isin(SEEDS)]


def dataset_effect(rows: pd.DataFrame, model: str, reference: str) -> dict | None:
    """``model`` minus ``reference`` on one dataset and protocol (``rows``: its test rows at one
    configuration), or None until both grids are whole (every fold with every seed of
    :data:`SEEDS`). Keys of :func:`stats.corrected_fold_interval` plus ``runs``, ``method``
    and ``detectable`` (the gain detectable with 80 % power)."""
    a, b = _seed_rows(rows, model), _seed_rows(rows, reference)
    key = ["fold", "seed"]
    both = a.merge(b, on=key, suffixes=("", "_ref"))
    folds = set(rows["fold"].astype(int))
    expected = len(folds) * len(SEEDS)
    if len(both) != expected or len(a) != expected or len(b) != expected:
        return None
    if len(folds) > 1:
        per_fold = (100.0 * (both["accuracy"].astype(float) - both["accuracy_ref"].astype(float))
                    ).groupby(both["fold"]).mean()
        ratio = float((both["n_test"].astype(float) / both["n_train"].astype(float)).mean())
        out = stats.corrected_fold_interval(per_fold.to_numpy(), ratio)
        method = f"{len(folds)} folds, t with the Nadeau-Bengio correction"
    else:
        both = both.sort_values("seed")
        right_a = [decode_correct(t) for t in both["test_correct"]]
        right_b = [decode_correct(t) for t in both["test_correct_ref"]]
        if any(r is None for r in right_a + right_b):
            return None
        out = stats.paired_bootstrap(np.array(right_a), np.array(right_b))
        method = f"{len(right_a[0])} sequences x {len(SEEDS)} seeds, paired bootstrap"
    if not out["se"] > 0:  # the two models got every test sequence alike, on every seed
        # (SA-LSTM and its unregularised form on UTKinect): no spread to weigh it by; it is pooled
        # with the standard error of one sequence's difference, the smallest this design can show,
        # and said so
        n = int(both["n_test"].astype(int).sum() / len(SEEDS))
        out.update(se=100.0 / n)
        method += "; identical predictions, pooled at the standard error of one sequence"
    out.update(runs=int(len(both)), method=method,
               detectable=stats.detectable_gain(out["se"], out["df"]))
    return out


def label(comparison: Claim, pooled: dict | None) -> str:
    """One of :data:`LABELS` for ``comparison`` given its ``pooled`` estimate."""
    if pooled is None:
        return NOT_TESTABLE
    if pooled["low"] > 0:
        return REPRODUCED
    if pooled["high"] < (comparison.stated_gain or 0.0):
        return CONTRADICTED
    return INCONCLUSIVE


def measure(comparison: Claim, test: pd.DataFrame | None,
            configuration: str) -> dict:
    """Per dataset of :data:`POOLED_ON` the effect (:func:`dataset_effect`, None where a grid is not
    whole), the pooled estimate over those measured (None for none) and the label."""
    per = {}
    for dataset, protocol in POOLED_ON:
        rows = pd.DataFrame() if test is None else test[
            (test["dataset"] == dataset) & (test["protocol"].astype(str) == protocol)
            & (test["configuration"] == configuration)]
        per[dataset] = None if rows.empty else dataset_effect(
            rows, comparison.model, comparison.reference)
    have = [e for e in per.values() if e is not None]
    pooled = stats.random_effects([e["diff"] for e in have], [e["se"] for e in have]) \
        if have else None
    return {"per_dataset": per, "pooled": pooled, "label": label(comparison, pooled),
            "configuration": configuration}


def pooled_verdict(test: pd.DataFrame | None) -> list[dict]:
    """:func:`measure` of every comparison of :data:`COMPARISONS` at its family's recorded choice
    (:func:`stalib.report.verdict.recorded_choices`)."""
    choices = recorded_choices()
    return [{"comparison": c, **measure(c, test, choices[c.family])} for c in COMPARISONS]


def _cell(effect: dict | None) -> str:
    if effect is None:
        return "—"
    return f"{effect['diff']:+.2f}<br><small>[{effect['low']:+.2f}, {effect['high']:+.2f}]</small>"


#: Where the one command that reruns each claim, and its cost, is given (a MyST label of the
#: discussion page).
RERUN_LABEL = "rerun-one-claim"


def pooled_table(results: list[dict]) -> str:
    """The intro's claims table in Markdown: per comparison the paired difference on each dataset
    (points, 95 % interval; "—" while its grid is not whole), the pooled estimate with the number of
    datasets and I², and the label, and a link to the command that reruns it (:data:`RERUN_LABEL`);
    a last row gives, per dataset, the range of the gains its design detects with 80 % power."""
    head = ["Claim", *[DATASET_SHORT.get(d, d) for d, _ in POOLED_ON], "Pooled [95 %]", "Label"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for r in results:
        c, pooled = r["comparison"], r["pooled"]
        cells = [_cell(r["per_dataset"][d]) for d, _ in POOLED_ON]
        if pooled is None:
            pool, word = "—", NOT_TESTABLE
        else:
            pool = (f"**{pooled['diff']:+.2f}**<br><small>[{pooled['low']:+.2f}, "
                    f"{pooled['high']:+.2f}]<br>I² {100 * pooled['i2']:.0f} %</small>")
            word = r["label"]
        name = f"{c.text} (our ablation)" if c.ablation else c.text
        lines.append(f"| {name} <small>({{ref}}`rerun <{RERUN_LABEL}>`)</small> | "
                     + " | ".join(cells) + f" | {pool} | "
                     + (f"{word} (ablation)" if c.ablation else f"**{word}**") + " |")
    detects = []
    for dataset, _ in POOLED_ON:
        found = [r["per_dataset"][dataset]["detectable"] for r in results
                 if r["per_dataset"][dataset] is not None]
        detects.append("—" if not found else f"{min(found):.1f}–{max(found):.1f}")
    lines.append("| *detects, 80 % power (points)* | " + " | ".join(detects) + " | | |")
    return "\n".join(lines)


def baselines_sentence(test: pd.DataFrame | None) -> str:
    """The baselines beside the paper's STA-LSTM on SBU: the plain LSTM and HCN at their families'
    choices and the linear floor, with STA-LSTM itself (mean over folds and seeds)."""
    lit = load_literature()
    paper = lit[(lit["dataset"] == "sbu") & (lit["method"] == "STA-LSTM")]["accuracy"]
    parts = []
    for model in ("lstm", "linear", "hcn", "sta-lstm"):
        ours = model_mean(test, "sbu", "5fold", model)
        if ours is not None:
            name = "the linear floor" if model == "linear" else MODEL_LABELS.get(model, model)
            parts.append(f"{name} {ours:.2f} %")
    if not parts:
        return "No SBU test grid is whole yet."
    said = f" (the paper's STA-LSTM: {float(paper.iloc[0]):.2f} %, literature)" if len(
        paper) else ""
    return "On SBU (5 folds x 3 seeds): " + ", ".join(parts) + said + "."


def floor_sentence(test: pd.DataFrame | None) -> str:
    """The deep models, at their families' choices, that stay under the linear floor of their data
    (its mean accuracy), per dataset; or that none does."""
    parts, checked = [], []
    for dataset, protocol in POOLED_ON:
        floor = model_mean(test, dataset, protocol, "linear")
        if floor is None:
            continue
        checked.append(DATASET_SHORT.get(dataset, dataset))
        under = []
        for family in ("fig7", "csta"):
            for model in catalogue.FAMILIES[family].models:
                ours = model_mean(test, dataset, protocol, model)
                if ours is not None and ours < floor:
                    under.append(f"{MODEL_LABELS.get(model, model)} {ours:.2f}")
        if under:
            parts.append(f"{DATASET_SHORT.get(dataset, dataset)} (floor {floor:.2f} %): "
                         + ", ".join(under))
    if not checked:
        return ""
    if not parts:
        return f"Every deep model reaches the linear floor of its data ({', '.join(checked)})."
    return ("**Under the linear floor of their data:** " + "; ".join(parts) + ".")


#: A run whose final training accuracy is under this (percent) did not train.
UNTRAINED = 50.0


def fit_sentence(test: pd.DataFrame | None) -> str:
    """The pipeline check of a missed level, from the rows: how well the runs at the families'
    choices fitted their training sets on the datasets that chose nothing (an underfit run points at
    the configuration; a fitted one at generalisation across subjects or views), and every run that
    did not train at all (under :data:`UNTRAINED` % on its own training set)."""
    if test is None or "train_accuracy" not in test.columns:
        return ""
    configurations = {recorded_choices()[f] for f in ("fig7", "csta")}
    parts, failed = [], []
    for dataset, protocol in POOLED_ON[2:]:
        rows = test[(test["dataset"] == dataset) & test["configuration"].isin(configurations)
                    & (test["protocol"].astype(str) == protocol)]
        if rows.empty:
            continue
        fit = 100 * rows["train_accuracy"].astype(float)
        ok = rows[fit >= UNTRAINED]
        failed += [f"{MODEL_LABELS.get(r['model'], r['model'])} seed {r['seed']} on "
                   f"{DATASET_SHORT.get(dataset, dataset)} ({100 * float(r['train_accuracy']):.1f} "
                   f"% on its training set)" for _, r in rows[fit < UNTRAINED].iterrows()]
        if not ok.empty:
            lo, hi = 100 * ok["train_accuracy"].astype(float).agg(["min", "max"])
            parts.append(f"{DATASET_SHORT.get(dataset, dataset)}: training accuracy "
                         f"{lo:.1f}-{hi:.1f} % over {len(ok)} runs")
    if not parts and not failed:
        return ""
    text = "**The pipeline check.** " + "; ".join(parts) + "."
    if parts and not failed:
        text += (" Every run fits its training set: where a level is missed, the gap is "
                 "generalisation to new subjects or a new view, not an optimiser that stopped "
                 "short.")
    if failed:
        text += (" **Did not train** (under " + f"{UNTRAINED:.0f}" + " % on its own training "
                 "set): " + "; ".join(failed) + ". Such a row is kept as recorded and counts in "
                 "every mean.")
    return text + (" The joint orders, the view axes and the one-frame sequences are tested on "
                   "generated files (`tests/test_data_nwucla.py`, `tests/test_data_utdmhad.py`).")


def details_table(results: list[dict]) -> pd.DataFrame:
    """Per claim and dataset: how the difference was judged (method and runs), the standard error
    and the gain detectable with 80 % power; per claim the pool's tau², I² and Cochran's Q p."""
    out = []
    for r in results:
        pooled = r["pooled"]
        for dataset, _ in POOLED_ON:
            e = r["per_dataset"][dataset]
            if e is None:
                continue
            out.append({"Claim": r["comparison"].text,
                        "Dataset": DATASET_SHORT.get(dataset, dataset), "Judged by": e["method"],
                        "SE (points)": f"{e['se']:.2f}", "Detects": f"{e['detectable']:.1f}"})
        if pooled is not None:
            out.append({"Claim": r["comparison"].text, "Dataset": "pooled",
                        "Judged by": f"{pooled['k']} datasets, tau² {pooled['tau2']:.2f}, "
                                     f"I² {100 * pooled['i2']:.0f} %, Q p "
                                     + ("—" if pooled["q_p"] != pooled["q_p"]
                                        else f"{pooled['q_p']:.2f}"),
                        "SE (points)": f"{pooled['se']:.2f}", "Detects": "—"})
    return pd.DataFrame(out, columns=["Claim", "Dataset", "Judged by", "SE (points)",
                                      "Detects"])


def compute_table(test: pd.DataFrame | None) -> pd.DataFrame:
    """The compute budget of the committed test rows: per dataset the runs and their CPU hours (the
    sum of their wall times; one thread a run)."""
    out = []
    for dataset, _ in POOLED_ON:
        rows = pd.DataFrame() if test is None else test[test["dataset"] == dataset]
        if not rows.empty:
            out.append({"Dataset": DATASET_SHORT.get(dataset, dataset), "Test runs": len(rows),
                        "CPU hours": f"{rows['wall_time_s'].astype(float).sum() / 3600:.1f}"})
    return pd.DataFrame(out, columns=["Dataset", "Test runs", "CPU hours"])


def parameters_table(models=("linear", "lstm", "sta-lstm", "hcn", "csta-cnn")) -> pd.DataFrame:
    """Trainable parameters (thousands) of each model on each pooled dataset's skeleton (its joints
    of every person) and classes."""
    out = []
    for m in models:
        row = {"Model": MODEL_LABELS.get(m, m)}
        for dataset, _ in POOLED_ON:
            d = catalogue.dataset(dataset)
            model = build_model(m, d.joints * d.persons, d.classes, d.persons)
            n = sum(p.numel() for p in model.parameters())
            row[DATASET_SHORT.get(dataset, dataset)] = f"{n / 1e3:.0f} k"
        out.append(row)
    return pd.DataFrame(out)


def rerun_table(results: list[dict], test: pd.DataFrame | None) -> pd.DataFrame:
    """Per comparison claim: the one command that reruns its runs on every dataset (the jobs of its
    family's chosen configuration; ``--retrain`` trains them again) and what they cost, the recorded
    wall times of the two models' runs summed (CPU hours, one thread a run; on two cores about
    half)."""
    out = []
    for r in results:
        c, configuration = r["comparison"], r["configuration"]
        notebook = "fig7" if c.family == "fig7" else "csta"
        rows = pd.DataFrame() if test is None else test[
            test["model"].isin([c.model, c.reference]) & (test["configuration"] == configuration)
            & test["dataset"].isin([d for d, _ in POOLED_ON])]
        hours = 0.0 if rows.empty else rows["wall_time_s"].astype(float).sum() / 3600
        out.append({"Claim": c.text,
                    "Command": f"stalib reproduce --retrain --only '{notebook}-*-{configuration}'",
                    "CPU hours": f"{hours:.1f}"})
    return pd.DataFrame(out, columns=["Claim", "Command", "CPU hours"])


def regulariser_sentence(test: pd.DataFrame | None) -> str:
    """How much the regularisers of eq. (7) change the network at the chosen configuration: per
    dataset, in how many paired runs SA-LSTM (TA-LSTM) and its unregularised form predict every test
    sequence alike."""
    if test is None or "test_correct" not in test.columns:
        return ""
    configuration = recorded_choices()["fig7"]
    parts = []
    for model in ("sa-lstm", "ta-lstm"):
        per = []
        for dataset, protocol in POOLED_ON:
            rows = test[(test["dataset"] == dataset) & (test["configuration"] == configuration)
                        & (test["protocol"].astype(str) == protocol)]
            a, b = rows[rows["model"] == model], rows[rows["model"] == f"{model}-noreg"]
            both = a.merge(b, on=["fold", "seed"], suffixes=("", "_ref"))
            if both.empty:
                continue
            same = sum(decode_correct(x) == decode_correct(y)
                       for x, y in zip(both["test_correct"], both["test_correct_ref"],
                                       strict=True))
            per.append(f"{DATASET_SHORT.get(dataset, dataset)} {same} of {len(both)}")
        if per:
            name = "SA-LSTM" if model == "sa-lstm" else "TA-LSTM"
            parts.append(f"{name} and its unregularised form predict every test sequence alike "
                         f"in {', '.join(per)} paired runs")
    if not parts:
        return ""
    return ("**How much the regularisers of eq. (7) change the network at the paper's "
            "lambdas:** " + "; ".join(parts) + ". The regulariser claims are judged on these "
            "runs; a "
            "stronger lambda, chosen on validation folds, is a question this report leaves "
            "open.")


def attention_sentence(results: list[dict]) -> str:
    """Each attention model against the plain LSTM, pooled: its estimate, interval and label; then
    the smallest gain each dataset can detect for those claims."""
    over_lstm = [r for r in results if r["comparison"].reference == "lstm"]
    said = [f"{MODEL_LABELS.get(r['comparison'].model, r['comparison'].model)} "
            f"{r['pooled']['diff']:+.2f} points [{r['pooled']['low']:+.2f}, "
            f"{r['pooled']['high']:+.2f}] ({r['label']})" for r in over_lstm if r["pooled"]]
    if not said:
        return ""
    detects = []
    for dataset, _ in POOLED_ON:
        found = [r["per_dataset"][dataset]["detectable"] for r in over_lstm
                 if r["per_dataset"][dataset] is not None]
        if found:
            detects.append(f"{DATASET_SHORT.get(dataset, dataset)} {min(found):.1f}")
    return ("**Attention over the plain LSTM, pooled over the datasets:** " + "; ".join(said)
            + ". The smallest gain over the LSTM each dataset detects with 80 % power: "
            + ", ".join(f"{d} points" for d in detects) + ".")


def verdict_sentence(results: list[dict]) -> str:
    """The pooled verdict in one sentence: how many of the papers' comparison claims each label has,
    and over how many datasets (our ablations are not counted)."""
    claims = [r for r in results if not r["comparison"].ablation]
    counts = {w: sum(r["label"] == w for r in claims) for w in LABELS}
    have = sorted({d for r in claims for d, e in r["per_dataset"].items() if e is not None},
                  key=[d for d, _ in POOLED_ON].index)
    where = ", ".join(DATASET_SHORT.get(d, d) for d in have) or "no dataset yet"
    said = "; ".join(f"{n} {w}" for w, n in counts.items() if n)
    return (f"**Of the {len(claims)} comparison claims of the two papers, pooled over the "
            f"datasets whose grids are whole ({where}): {said}.**")


def labels_text() -> str:
    """The four labels and their definitions, as a Markdown list."""
    return "\n".join(f"- **{k}**: {v}." for k, v in LABELS.items())


#: The verdict's numbers as committed beside the rows (``stalib verdict --write``); a test
#: recomputes them from the rows, so a refactor that changes a number fails.
SNAPSHOT = "verdict.csv"
SNAPSHOT_COLUMNS = ["table", "claim", "dataset", "protocol", "configuration", "runs", "measure",
                    "value", "low", "high", "label"]


def snapshot(root=None) -> pd.DataFrame:
    """Every number the verdict speaks: per claim of :data:`stalib.report.verdict.CLAIMS` its
    measurement (``table`` "claims"), and per pooled comparison each dataset's paired difference and
    the pool (``table`` "pooled"). ``measure``: ``difference`` (points, a comparison) or
    ``accuracy`` (percent, a target), ``value`` with its 95 % interval."""
    test = load_all_cv(root)
    claims = verdict_of(test)
    out = [{"table": "claims", "claim": r["claim"], "dataset": r["dataset"],
            "protocol": r["protocol"], "configuration": r["configuration"] or "",
            "runs": int(r["runs"]),
            "measure": "accuracy" if c.kind == "target" else "difference",
            "value": r["ours"] if c.kind == "target" else r["diff"], "low": r["ci_low"],
            "high": r["ci_high"], "label": r["verdict"]}
           for c, (_, r) in zip(CLAIMS, claims.iterrows(), strict=True)]
    for r in pooled_verdict(test):
        c = r["comparison"]
        for (dataset, protocol), e in zip(POOLED_ON, r["per_dataset"].values(), strict=True):
            if e is not None:
                out.append({"table": "pooled", "claim": c.title, "dataset": dataset,
                            "protocol": protocol, "configuration": r["configuration"],
                            "runs": e["runs"],
                            "measure": "difference", "value": e["diff"], "low": e["low"],
                            "high": e["high"], "label": ""})
        if r["pooled"] is not None:
            p = r["pooled"]
            out.append({"table": "pooled", "claim": c.title, "dataset": "pooled",
                        "protocol": "", "configuration": r["configuration"], "runs": p["k"],
                        "measure": "difference", "value": p["diff"], "low": p["low"],
                        "high": p["high"], "label": r["label"]})
    return pd.DataFrame(out, columns=SNAPSHOT_COLUMNS)
