"""The pooled verdict: each comparison claim measured on four datasets and pooled.

Report layer: reads the committed test rows and never trains. For every comparison claim of
the papers (:data:`COMPARISONS`, each with the sentence it comes from) and each dataset of
:data:`POOLED_ON`, the paired difference of the two models at their family's recorded choice of
configuration (:func:`choice`, recorded when the rule chose on SBU's and UTKinect's validation
folds; NW-UCLA and UTD-MHAD chose nothing), with its 95 % interval:

* SBU (5 test folds x 3 seeds): per-fold differences, Student t with the Nadeau-Bengio
  correction for the overlap of the folds' training sets (:func:`stats.corrected_fold_interval`);
* one-split datasets (3 seeds each): the per-sequence differences, bootstrapped over sequences
  and seeds (:func:`stats.paired_bootstrap`).

Then a random-effects pooled estimate over the datasets whose runs are whole
(:func:`stats.random_effects`) and one of :data:`LABELS` (defined once, here). Beside each
dataset, the smallest gain its design detects with 80 % power (:func:`stats.detectable_gain`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from stalib.report import stats
from stalib.results import decode_correct

#: The datasets and protocols every comparison is measured on, in the report's order.
POOLED_ON: tuple[tuple[str, str], ...] = (
    ("sbu", "5fold"), ("utkinect", "xsub"), ("nwucla", "xview"), ("utdmhad", "xsub"))
#: Seeds of every test grid that speaks.
SEEDS = (0, 1, 2)

REPRODUCED, CONTRADICTED, INCONCLUSIVE, NOT_TESTABLE = (
    "reproduced", "contradicted", "inconclusive", "not testable here")
#: The four labels of a claim, defined once (the report prints these sentences).
LABELS: dict[str, str] = {
    REPRODUCED: "the pooled 95 % interval lies wholly on the claimed side of zero",
    CONTRADICTED: "the pooled 95 % interval excludes the gain the paper states (for a claim "
                  "of a gain without a size on these data: every gain, so the reference leads)",
    INCONCLUSIVE: "neither: the interval holds zero and the claimed gain; the data cannot tell",
    NOT_TESTABLE: "the claim needs data that is not here (full NTU RGB+D)",
}

STA = "Song et al., AAAI 2017"
CSTA = "Wang 2019, arXiv 1909.10214 (public summary)"


@dataclass(frozen=True)
class Comparison:
    """A claim that ``model`` beats ``reference``, in the words of ``source`` (``quote``).
    ``family``: the family (:data:`stalib.report.selection.FAMILIES`) whose recorded choice of
    configuration both models run at. ``stated_gain``: the gain in points the paper states for
    these data, None when it states a gain without a size here (then "contradicted" means the
    data exclude any gain). ``ablation``: our ablation, shown beside, not a claim of the paper."""

    text: str
    source: str
    quote: str
    model: str
    reference: str
    family: str
    stated_gain: float | None = None
    ablation: bool = False


_FIG7 = ("Fig. 7 shows the performance comparisons on the SBU, NTU (Cross-Subject), NTU "
         "(Cross-View) datasets.")
COMPARISONS: tuple[Comparison, ...] = (
    Comparison("SA-LSTM beats the LSTM", f"{STA}, Sec. 5.3", "the introduction of the spatial "
               "attention module (SA-LSTM) and the temporal attention module (TA-LSTM) brings up "
               "to 5.1% and 6.4% accuracy improvement, respectively", "sa-lstm", "lstm", "fig7"),
    Comparison("TA-LSTM beats the LSTM", f"{STA}, Sec. 5.3", "the introduction of the spatial "
               "attention module (SA-LSTM) and the temporal attention module (TA-LSTM) brings up "
               "to 5.1% and 6.4% accuracy improvement, respectively", "ta-lstm", "lstm", "fig7"),
    Comparison("the spatial regulariser helps SA-LSTM", f"{STA}, Sec. 5.3", "the second and the "
               "third items for regularizations [...] We can see they improve the performance of "
               "both spatial attention model and temporal attention model", "sa-lstm",
               "sa-lstm-noreg", "fig7"),
    Comparison("the temporal regulariser helps TA-LSTM", f"{STA}, Sec. 5.3", "the second and the "
               "third items for regularizations [...] We can see they improve the performance of "
               "both spatial attention model and temporal attention model", "ta-lstm",
               "ta-lstm-noreg", "fig7"),
    Comparison("STA-LSTM beats the LSTM", f"{STA}, Sec. 5.3", "The best performance is achieved "
               "by combining both modules (STA-LSTM).", "sta-lstm", "lstm", "fig7"),
    Comparison("STA-LSTM beats SA-LSTM", f"{STA}, Sec. 5.3", "The best performance is achieved "
               "by combining both modules (STA-LSTM).", "sta-lstm", "sa-lstm", "fig7"),
    Comparison("STA-LSTM beats TA-LSTM", f"{STA}, Sec. 5.3", "The best performance is achieved "
               "by combining both modules (STA-LSTM).", "sta-lstm", "ta-lstm", "fig7"),
    Comparison("the coupled attention improves its HCN backbone (CSTA-CNN beats HCN)",
               f"{CSTA}, abstract", "our CSTA mechanisms can be easily plugged into existing "
               "hierarchical CNN models (CSTA-CNN) to realize their function", "csta-cnn", "hcn",
               "csta"),
    Comparison("joint weights alone on HCN (our ablation)", "our ablation of the summary's "
               "two subnetworks", "we first learn two sets of weights for different joints and "
               "frames through two subnetworks respectively", "hcn-joint", "hcn", "csta",
               ablation=True),
    Comparison("frame weights alone on HCN (our ablation)", "our ablation of the summary's "
               "two subnetworks", "we first learn two sets of weights for different joints and "
               "frames through two subnetworks respectively", "hcn-frame", "hcn", "csta",
               ablation=True),
)


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
        # (SA-LSTM and its unregularised form on UTKinect): no spread to weigh it by; it is
        # pooled with the standard error of one sequence's difference, the smallest this
        # design can show, and said so
        n = int(both["n_test"].astype(int).sum() / len(SEEDS))
        out.update(se=100.0 / n)
        method += "; identical predictions, pooled at the standard error of one sequence"
    out.update(runs=int(len(both)), method=method,
               detectable=stats.detectable_gain(out["se"], out["df"]))
    return out


def label(comparison: Comparison, pooled: dict | None) -> str:
    """One of :data:`LABELS` for ``comparison`` given its ``pooled`` estimate."""
    if pooled is None:
        return NOT_TESTABLE
    if pooled["low"] > 0:
        return REPRODUCED
    if pooled["high"] < (comparison.stated_gain or 0.0):
        return CONTRADICTED
    return INCONCLUSIVE


def measure(comparison: Comparison, test: pd.DataFrame | None,
            variant: str) -> dict:
    """Per dataset of :data:`POOLED_ON` the effect (:func:`dataset_effect`, None where a grid
    is not whole), the pooled estimate over those measured (None for none) and the label."""
    per = {}
    for dataset, protocol in POOLED_ON:
        rows = pd.DataFrame() if test is None else test[
            (test["dataset"] == dataset) & (test["protocol"].astype(str) == protocol)
            & (test["variant"] == variant)]
        per[dataset] = None if rows.empty else dataset_effect(
            rows, comparison.model, comparison.reference)
    have = [e for e in per.values() if e is not None]
    pooled = stats.random_effects([e["diff"] for e in have], [e["se"] for e in have]) \
        if have else None
    return {"per_dataset": per, "pooled": pooled, "label": label(comparison, pooled),
            "variant": variant}


def choice(family: str) -> str:
    """The configuration ``family`` runs at: the two-dataset rule's recorded choice
    (:attr:`stalib.report.selection.Family.recorded`)."""
    from stalib.report.selection import FAMILIES

    return FAMILIES[family].recorded


def pooled_verdict(test: pd.DataFrame | None) -> list[dict]:
    """:func:`measure` of every comparison of :data:`COMPARISONS` at its family's recorded
    choice (:func:`choice`)."""
    return [{"comparison": c, **measure(c, test, choice(c.family))} for c in COMPARISONS]


def _cell(effect: dict | None) -> str:
    if effect is None:
        return "—"
    return f"{effect['diff']:+.2f}<br><small>[{effect['low']:+.2f}, {effect['high']:+.2f}]</small>"


def pooled_table(results: list[dict]) -> str:
    """The intro's claims table in Markdown: per comparison the paired difference on each
    dataset (points, 95 % interval; "—" while its grid is not whole), the pooled estimate with
    the number of datasets and I², and the label; a last row gives, per dataset, the range of
    the gains its design detects with 80 % power."""
    from stalib.report.tables import DATASET_SHORT

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
        lines.append(f"| {c.text} | " + " | ".join(cells) + f" | {pool} | "
                     + (f"{word} (ablation)" if c.ablation else f"**{word}**") + " |")
    detects = []
    for dataset, _ in POOLED_ON:
        found = [r["per_dataset"][dataset]["detectable"] for r in results
                 if r["per_dataset"][dataset] is not None]
        detects.append("—" if not found else f"{min(found):.1f}–{max(found):.1f}")
    lines.append("| *detects, 80 % power (points)* | " + " | ".join(detects) + " | | |")
    return "\n".join(lines)


#: The linear floor's configuration (chosen on SBU's validation folds).
LINEAR_VARIANT = "r1-view-lr1e-2"
#: Levels a standard model must reach on data that chose nothing, fixed before its runs (issue
#: 32): ``(dataset, protocol, what, level, why)``, ``what`` a model or ``best`` (the best of the
#: six Fig. 7 models); and every deep model must reach the linear floor.
LEVELS: tuple[tuple[str, str, str, float, str], ...] = (
    ("nwucla", "xview", "lstm", 85.0, "fixed before the runs"),
    ("nwucla", "xview", "best", 89.2, "Ensemble TS-LSTM, Lee et al. 2017; secondary"),
    ("utdmhad", "xsub", "lstm", 85.8, "JTM, Wang et al. 2016; not verified here"),
    ("utdmhad", "xsub", "best", 88.1, "JDM, Li et al. 2017; not verified here"),
)


def mean_accuracy(test: pd.DataFrame | None, dataset: str, protocol: str, variant: str,
                  model: str) -> float | None:
    """Mean test accuracy (percent) of ``model`` at ``variant``, None unless every seed of
    :data:`SEEDS` is there on every fold."""
    if test is None or test.empty:
        return None
    rows = test[(test["dataset"] == dataset) & (test["protocol"].astype(str) == protocol)
                & (test["variant"] == variant) & (test["model"] == model)
                & test["seed"].astype(int).isin(SEEDS)]
    folds = set(test[(test["dataset"] == dataset)
                     & (test["protocol"].astype(str) == protocol)]["fold"].astype(int))
    if rows.empty or len(rows) != len(folds) * len(SEEDS):
        return None
    return float(100.0 * rows["accuracy"].astype(float).mean())


def level_table(test: pd.DataFrame | None) -> pd.DataFrame:
    """Each level of :data:`LEVELS` with ours and by how much it is missed (columns ``Dataset,
    Model, Level, Ours, Met``); the linear floor: :func:`floor_sentence`."""
    from stalib.report.selection import FAMILIES
    from stalib.report.tables import DATASET_SHORT, MODEL_LABELS

    fig7 = choice("fig7")
    out = []

    def add(dataset, what, level, ours, why):
        met = ("—" if ours is None or level is None else "met" if ours >= level
               else f"missed by {level - ours:.2f}")
        out.append({"Dataset": DATASET_SHORT.get(dataset, dataset), "Model": what,
                    "Level": "—" if level is None else f"{level:.2f} ({why})",
                    "Ours": "runs missing" if ours is None else f"{ours:.2f}", "Met": met})

    for dataset, protocol, what, level, why in LEVELS:
        if what == "best":
            means = {m: mean_accuracy(test, dataset, protocol, fig7, m)
                     for m in FAMILIES["fig7"].models}
            ours = None if any(v is None for v in means.values()) else max(means.values())
            best = None if ours is None else max(means, key=means.get)
            label = "best Fig. 7 model" + (f" ({MODEL_LABELS.get(best, best)})" if best else "")
        else:
            ours, label = mean_accuracy(test, dataset, protocol, fig7, what), \
                MODEL_LABELS.get(what, what)
        add(dataset, label, level, ours, why)
    return pd.DataFrame(out, columns=["Dataset", "Model", "Level", "Ours", "Met"])


def baselines_sentence(test: pd.DataFrame | None) -> str:
    """The baselines beside the paper's STA-LSTM on SBU: the plain LSTM and HCN at their
    families' choices and the linear floor, with STA-LSTM itself (mean over folds and seeds)."""
    from stalib.report.tables import MODEL_LABELS, load_literature

    lit = load_literature()
    paper = lit[(lit["dataset"] == "sbu") & (lit["method"] == "STA-LSTM")]["accuracy"]
    parts = []
    for model, variant in (("lstm", choice("fig7")), ("linear", LINEAR_VARIANT),
                           ("hcn", choice("csta")), ("sta-lstm", choice("fig7"))):
        ours = mean_accuracy(test, "sbu", "5fold", variant, model)
        if ours is not None:
            name = "the linear floor" if model == "linear" else MODEL_LABELS.get(model, model)
            parts.append(f"{name} {ours:.2f} %")
    if not parts:
        return "No SBU test grid is whole yet."
    said = f" (the paper's STA-LSTM: {float(paper.iloc[0]):.2f} %, literature)" if len(
        paper) else ""
    return "On SBU (5 folds x 3 seeds): " + ", ".join(parts) + said + "."


def floor_sentence(test: pd.DataFrame | None) -> str:
    """The deep models, at their families' choices, that stay under the linear floor of their
    data (its mean accuracy), per dataset; or that none does."""
    from stalib.report.selection import FAMILIES
    from stalib.report.tables import DATASET_SHORT, MODEL_LABELS

    parts, checked = [], []
    for dataset, protocol in POOLED_ON:
        floor = mean_accuracy(test, dataset, protocol, LINEAR_VARIANT, "linear")
        if floor is None:
            continue
        checked.append(DATASET_SHORT.get(dataset, dataset))
        under = []
        for family in ("fig7", "csta"):
            variant = choice(family)
            for model in FAMILIES[family].models:
                ours = mean_accuracy(test, dataset, protocol, variant, model)
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
    choices fitted their training sets on the datasets that chose nothing (an underfit run
    points at the recipe; a fitted one at generalisation across subjects or views), and every
    run that did not train at all (under :data:`UNTRAINED` % on its own training set)."""
    from stalib.report.tables import DATASET_SHORT, MODEL_LABELS

    if test is None or "train_accuracy" not in test.columns:
        return ""
    variants = {choice("fig7"), choice("csta")}
    parts, failed = [], []
    for dataset, protocol in POOLED_ON[2:]:
        rows = test[(test["dataset"] == dataset) & test["variant"].isin(variants)
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
    """Per claim and dataset: how the difference was judged (method and runs), the standard
    error and the gain detectable with 80 % power; per claim the pool's tau², I² and Cochran's
    Q p."""
    from stalib.report.tables import DATASET_SHORT

    out = []
    for r in results:
        pooled = r["pooled"]
        for dataset, _ in POOLED_ON:
            e = r["per_dataset"][dataset]
            if e is None:
                continue
            out.append({"Claim": r["comparison"].text.split(" (")[0],
                        "Dataset": DATASET_SHORT.get(dataset, dataset), "Judged by": e["method"],
                        "SE (points)": f"{e['se']:.2f}", "Detects": f"{e['detectable']:.1f}"})
        if pooled is not None:
            out.append({"Claim": r["comparison"].text.split(" (")[0], "Dataset": "pooled",
                        "Judged by": f"{pooled['k']} datasets, tau² {pooled['tau2']:.2f}, "
                                     f"I² {100 * pooled['i2']:.0f} %, Q p "
                                     + ("—" if pooled["q_p"] != pooled["q_p"]
                                        else f"{pooled['q_p']:.2f}"),
                        "SE (points)": f"{pooled['se']:.2f}", "Detects": "—"})
    return pd.DataFrame(out, columns=["Claim", "Dataset", "Judged by", "SE (points)",
                                      "Detects"])


#: Joints (all persons), persons and classes of each dataset: the shapes of its models.
SHAPES = {"sbu": (30, 2, 8), "utkinect": (20, 1, 10), "nwucla": (20, 1, 10),
          "utdmhad": (20, 1, 27)}


def compute_table(test: pd.DataFrame | None) -> pd.DataFrame:
    """The compute budget of the committed test rows: per dataset the runs and their CPU hours
    (the sum of their wall times; one thread a run)."""
    from stalib.report.tables import DATASET_SHORT

    out = []
    for dataset, _ in POOLED_ON:
        rows = pd.DataFrame() if test is None else test[test["dataset"] == dataset]
        if not rows.empty:
            out.append({"Dataset": DATASET_SHORT.get(dataset, dataset), "Test runs": len(rows),
                        "CPU hours": f"{rows['wall_time_s'].astype(float).sum() / 3600:.1f}"})
    return pd.DataFrame(out, columns=["Dataset", "Test runs", "CPU hours"])


def parameters_table(models=("linear", "lstm", "sta-lstm", "hcn", "csta-cnn")) -> pd.DataFrame:
    """Trainable parameters (thousands) of each model on each dataset's skeleton and classes."""
    from stalib.models import build_model
    from stalib.report.tables import DATASET_SHORT, MODEL_LABELS

    out = []
    for m in models:
        row = {"Model": MODEL_LABELS.get(m, m)}
        for dataset, (k, persons, classes) in SHAPES.items():
            n = sum(p.numel() for p in build_model(m, k, classes, persons).parameters())
            row[DATASET_SHORT.get(dataset, dataset)] = f"{n / 1e3:.0f} k"
        out.append(row)
    return pd.DataFrame(out)


def rerun_table(results: list[dict], test: pd.DataFrame | None) -> pd.DataFrame:
    """Per comparison claim: the one command that reruns its runs on every dataset (the jobs of
    its family's chosen configuration; ``--retrain`` trains them again) and what they cost, the
    recorded wall times of the two models' runs summed (CPU hours, one thread a run; on two
    cores about half)."""
    out = []
    for r in results:
        c, variant = r["comparison"], r["variant"]
        notebook = "fig7" if c.family == "fig7" else "csta"
        rows = pd.DataFrame() if test is None else test[
            test["model"].isin([c.model, c.reference]) & (test["variant"] == variant)
            & test["dataset"].isin([d for d, _ in POOLED_ON])]
        hours = 0.0 if rows.empty else rows["wall_time_s"].astype(float).sum() / 3600
        out.append({"Claim": c.text.split(" (")[0],
                    "Command": f"stalib reproduce --retrain --only '{notebook}-*-{variant}'",
                    "CPU hours": f"{hours:.1f}"})
    return pd.DataFrame(out, columns=["Claim", "Command", "CPU hours"])


def regulariser_sentence(test: pd.DataFrame | None) -> str:
    """How much the regularisers of eq. (7) change the network at the chosen configuration:
    per dataset, in how many paired runs SA-LSTM (TA-LSTM) and its unregularised form predict
    every test sequence alike."""
    from stalib.report.tables import DATASET_SHORT

    if test is None or "test_correct" not in test.columns:
        return ""
    variant = choice("fig7")
    parts = []
    for model in ("sa-lstm", "ta-lstm"):
        per = []
        for dataset, protocol in POOLED_ON:
            rows = test[(test["dataset"] == dataset) & (test["variant"] == variant)
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
    """Each attention model against the plain LSTM, pooled: its estimate, interval and label;
    then the smallest gain each dataset can detect for those claims."""
    from stalib.report.tables import DATASET_SHORT, MODEL_LABELS

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
    """The pooled verdict in one sentence: how many of the papers' comparison claims each label
    has, and over how many datasets (our ablations are not counted)."""
    claims = [r for r in results if not r["comparison"].ablation]
    counts = {w: sum(r["label"] == w for r in claims) for w in LABELS}
    have = sorted({d for r in claims for d, e in r["per_dataset"].items() if e is not None},
                  key=[d for d, _ in POOLED_ON].index)
    from stalib.report.tables import DATASET_SHORT

    where = ", ".join(DATASET_SHORT.get(d, d) for d in have) or "no dataset yet"
    said = "; ".join(f"{n} {w}" for w, n in counts.items() if n)
    return (f"**Of the {len(claims)} comparison claims of the two papers, pooled over the "
            f"datasets whose grids are whole ({where}): {said}.**")


def labels_text() -> str:
    """The four labels and their definitions, as a Markdown list."""
    return "\n".join(f"- **{k}**: {v}." for k, v in LABELS.items())
