"""The verdict: every claim of the papers beside our best honest measurement, claim by claim.

Report layer: reads the committed results (``results/<dataset>/cv.csv`` for the test folds,
``validation.csv`` for the inner-validation runs) and never trains.

For each claim, **which of our runs speak for it** is decided on the validation folds only
(:func:`chosen_variants`). A model and its ablations form a family (:data:`VALIDATED_BY`:
STA-LSTM with the plain LSTM, SA-LSTM, TA-LSTM and their unregularised forms; HCN with its
attention variants and CSTA-CNN), and the models of a claim from one family speak at one
common variant (an ablation keeps one recipe and changes parts, as Fig. 7 does): the best on
the family root's validation runs, of at least two seeds, among the variants in which every
model of the claim has test runs on every fold with the same seeds. A grid still running thus
never speaks; the next-best validated recipe whose grids are whole speaks meanwhile, and the
claim says which grid it waits for. On UTKinect (kept out of development until the two-dataset
rule, which chose on its cross-subject validation folds too), the variants chosen on SBU's
validation folds speak (:data:`VALIDATED_ON`), less those that change nothing there
(:data:`NOT_APPLICABLE`: the person swap on one-person data). When there is no such variant, the
paper's settings (``paper``) speak for all of them, so a validated recipe is never set against
unvalidated settings. Where the two-dataset rule of :mod:`stalib.report.selection` has chosen a
family's configuration (on the validation folds of SBU and UTKinect cross-subject together), that
configuration speaks on both, once its test grids are whole, and the claims wait for it
(:func:`decided_variants`). The test-fold runs so chosen then give the measurement:

* a **comparison** ("A beats B by up to G points") is paired run by run (same fold and seed,
  :func:`stalib.report.paired`): the mean paired difference, the 95 % interval of the mean of
  the per-fold differences (Student t over the folds, the folds being the independent units),
  an exact sign-flip test over those folds and, where the rows keep which test sequence each
  model got right (``test_correct``), McNemar's exact test per seed over all test sequences
  (each sequence is tested once per seed). Leave-one-sequence-out runs test one sequence each:
  McNemar over the sequences (:func:`stalib.report.paired`'s ``p_value``).
* a **target** ("91.51 % on SBU") gives our mean over folds and seeds with the 95 % interval of
  the mean of the per-fold accuracies.

The word, one of the four labels of :data:`stalib.report.pooled.LABELS`: **reproduced** when
the measurement goes the claimed way and clears the claimed bar at the 5 % level (a comparison:
the interval of the difference lies above 0; a target: the interval reaches the paper's value);
**contradicted** when the interval excludes what the paper claims (a comparison: it lies below
0, the reference leads; a target: it ends below the paper's value); **inconclusive** when it does
neither; **not testable here** when the data (full NTU RGB+D) or the runs are missing.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from stalib.config import DEFAULT_VARIANTS
from stalib.determinism import PORTABLE, word
from stalib.report import tables as report
from stalib.report.modes import SAID
from stalib.report.pooled import CONTRADICTED, INCONCLUSIVE, NOT_TESTABLE, REPRODUCED
from stalib.report.reproduce import CSTA_MODELS, FIG7_MODELS
from stalib.report.stats import mcnemar_exact, sign_flip_p, t_interval
from stalib.results import decode_correct


@dataclass(frozen=True)
class Claim:
    """One claim of a paper. ``kind``: ``comparison`` (``model`` beats ``reference``) or
    ``target`` (``model`` reaches ``value`` percent)."""

    text: str
    source: str
    dataset: str
    kind: str
    model: str
    reference: str | None = None
    value: float | None = None
    protocol: str | None = None  # None: the dataset's standard protocol
    quote: str = ""  # the source's own words (or, for a table, where the value stands)


STA = "Song et al., AAAI 2017"
CSTA = "Wang 2019, arXiv 1909.10214 (public summary)"
_SA_TA = ("the introduction of the spatial attention module (SA-LSTM) and the temporal "
          "attention module (TA-LSTM) brings up to 5.1% and 6.4% accuracy improvement")
_REG = ("the second and the third items for regularizations [...] improve the performance of "
        "both spatial attention model and temporal attention model")
_BEST = "The best performance is achieved by combining both modules (STA-LSTM)."
_COUPLED = ("our CSTA mechanisms can be easily plugged into existing hierarchical CNN models "
            "(CSTA-CNN) to realize their function")
CLAIMS: tuple[Claim, ...] = (
    Claim("SA-LSTM beats the LSTM (the paper: by up to 5.1 points over its datasets)",
          f"{STA}, Sec. 5.3, Fig. 7", "sbu", "comparison", "sa-lstm", "lstm", quote=_SA_TA),
    Claim("TA-LSTM beats the LSTM (the paper: by up to 6.4 points over its datasets)",
          f"{STA}, Sec. 5.3, Fig. 7", "sbu", "comparison", "ta-lstm", "lstm", quote=_SA_TA),
    Claim("the spatial regulariser helps SA-LSTM", f"{STA}, Sec. 5.3, Fig. 7", "sbu",
          "comparison", "sa-lstm", "sa-lstm-noreg", quote=_REG),
    Claim("the temporal regulariser helps TA-LSTM", f"{STA}, Sec. 5.3, Fig. 7", "sbu",
          "comparison", "ta-lstm", "ta-lstm-noreg", quote=_REG),
    Claim("STA-LSTM beats the LSTM", f"{STA}, Sec. 5.3, Fig. 7", "sbu", "comparison",
          "sta-lstm", "lstm", quote=_BEST),
    Claim("STA-LSTM beats SA-LSTM", f"{STA}, Sec. 5.3, Fig. 7", "sbu", "comparison",
          "sta-lstm", "sa-lstm", quote=_BEST),
    Claim("STA-LSTM beats TA-LSTM", f"{STA}, Sec. 5.3, Fig. 7", "sbu", "comparison",
          "sta-lstm", "ta-lstm", quote=_BEST),
    Claim("STA-LSTM reaches 91.51 % on SBU (5-fold)", f"{STA}, Table 1", "sbu", "target",
          "sta-lstm", value=91.51, quote="Table 1, row STA-LSTM: 91.51"),
    Claim("STA-LSTM reaches 73.4 % on NTU RGB+D cross-subject", f"{STA}, Table 2", "ntu60",
          "target", "sta-lstm", value=73.4, protocol="xsub",
          quote="Table 2, row STA-LSTM, cross-subject: 73.4"),
    Claim("STA-LSTM reaches 81.2 % on NTU RGB+D cross-view", f"{STA}, Table 2", "ntu60",
          "target", "sta-lstm", value=81.2, protocol="xview",
          quote="Table 2, row STA-LSTM, cross-view: 81.2"),
    Claim("STA-LSTM beats the LSTM on UTKinect cross-subject (not a dataset of the paper)",
          f"{STA}, Sec. 5.3, on other data", "utkinect", "comparison", "sta-lstm", "lstm",
          protocol="xsub", quote=_BEST),
    Claim("STA-LSTM beats the LSTM on UTKinect leave-one-sequence-out (not in the paper)",
          f"{STA}, Sec. 5.3, on other data", "utkinect", "comparison", "sta-lstm", "lstm",
          protocol="loso", quote=_BEST),
    Claim("the coupled attention improves its HCN backbone (CSTA-CNN beats HCN)",
          f"{CSTA}, abstract", "sbu", "comparison", "csta-cnn", "hcn", quote=_COUPLED),
    Claim("HCN reaches 98.6 % on SBU (the CSTA backbone's anchor)",
          "Li et al., IJCAI 2018", "sbu", "target", "hcn", value=98.6,
          quote="HCN's SBU table: 98.6 (its epoch picked on the test fold)"),
    Claim("CSTA-CNN reaches 84.9 % on NTU RGB+D cross-subject", f"{CSTA}", "ntu60", "target",
          "csta-cnn", value=84.9, protocol="xsub",
          quote="reported: NTU RGB+D cross-subject 84.9 %, cross-view 89.9 %"),
    Claim("CSTA-CNN stands slightly below HCN on NTU RGB+D (the paper's own comparison)",
          f"{CSTA}", "ntu60", "comparison", "hcn", "csta-cnn", protocol="xsub",
          quote="84.9 % / 89.9 %, \"slightly lower than HCN\" (86.5 / 91.1 in HCN's paper)"),
)

def _protocol(claim: Claim) -> str:
    from stalib.data.registry import default_protocol

    return claim.protocol or default_protocol(claim.dataset)


#: The data and protocol whose validation folds chose a dataset's earlier variants: UTKinect
#: was first run at the recipes chosen on SBU's; since the two-dataset rule its cross-subject
#: validation folds (its training subjects in turn) choose together with SBU's.
VALIDATED_ON: dict[str, tuple[str, str]] = {"utkinect": ("sbu", "5fold")}
#: Variants chosen on another dataset's validation folds that change nothing on the held-out
#: data, and why: they are no candidate there (their runs would repeat, bit for bit, those of
#: the variant they extend, which speaks instead).
NOT_APPLICABLE: dict[str, dict[str, str]] = {
    "utkinect": {"r1-view-gain-swap": "one person per sequence: the person swap "
                                      "(stalib.data.augment.PersonSwap) leaves it as it is"},
}


def _validation_rows(claim: Claim, val: pd.DataFrame | None, models: list[str]
                     ) -> pd.DataFrame:
    """The validation runs of ``models`` that choose the settings of ``claim``: its own data's,
    or those of the data it is validated on (:data:`VALIDATED_ON`), less the variants that do
    not apply to its data (:data:`NOT_APPLICABLE`)."""
    data, protocol = VALIDATED_ON.get(claim.dataset, (claim.dataset, _protocol(claim)))
    v = _rows(val, data, models, protocol)
    skip = NOT_APPLICABLE.get(claim.dataset, {})
    return v[~v["variant"].isin(list(skip))] if skip and not v.empty else v


def _rows(df: pd.DataFrame | None, dataset: str, models: list[str], protocol: str
          ) -> pd.DataFrame:
    if df is None or df.empty:
        return pd.DataFrame()
    base = df["protocol"].astype(str).str.split(":").str[0]
    keep = (df["dataset"] == dataset) & (base == protocol) & df["model"].isin(models)
    return df[keep]


def _complete(df: pd.DataFrame, models: list[str], every_fold: bool = False, seeds: int = 1
              ) -> set[str]:
    """Variants with runs of every one of ``models``, of at least ``seeds`` seeds each (on the
    validation side 2: one seed chose wrongly twice in this project's history); on the test side
    (``every_fold``), runs of every fold with the same seeds on each fold and for each model, so
    that a grid still running (a fold or a seed short, also on one-split data) never speaks for
    a claim."""
    if df.empty:
        return set()
    folds = set(df["fold"])

    def whole(g: pd.DataFrame) -> bool:
        per_fold = g.groupby(["model", "fold"])["seed"].agg(frozenset)
        return (all(set(per_fold[m].index) == folds for m in models)
                and len(set(per_fold[models])) == 1)

    return {v for v, g in df.groupby("variant") if set(models) <= set(g["model"]) and all(
        g.loc[g["model"] == m, "seed"].nunique() >= seeds for m in models) and (
        not every_fold or whole(g))}


def _best_on_validation(val: pd.DataFrame, models: list[str], candidates: set[str]
                        ) -> str | None:
    """Of ``candidates``, the variant whose validation accuracy, averaged per model over
    ``models`` (only theirs: ``val`` may hold other models of the claim's family), is highest
    (ties: the first in name order); None for no candidate."""
    if not candidates:
        return None
    mine = val[val["model"].isin(models)]
    means = {v: mine[mine["variant"] == v].groupby("model")["accuracy"].mean().mean()
             for v in sorted(candidates)}
    return max(means, key=means.get)


#: The model whose validation runs choose the settings of an ablation of it: an ablation is run
#: at the recipe chosen for the full model (Fig. 7: one recipe, models that differ in their
#: parts, the plain LSTM being STA-LSTM without both attentions; the CSTA ablation likewise on
#: HCN's). A model not listed is the root of its own family.
VALIDATED_BY: dict[str, str] = {
    "lstm": "sta-lstm", "sa-lstm": "sta-lstm", "sa-lstm-noreg": "sta-lstm", "ta-lstm": "sta-lstm",
    "ta-lstm-noreg": "sta-lstm", "hcn-joint": "hcn", "hcn-frame": "hcn", "csta-cnn": "hcn",
}


def _families(models: list[str]) -> dict[str, list[str]]:
    """The models of a claim grouped by the model whose validation runs choose their settings
    (:data:`VALIDATED_BY`; a model not listed chooses its own)."""
    groups: dict[str, list[str]] = {}
    for m in models:
        groups.setdefault(VALIDATED_BY.get(m, m), []).append(m)
    return groups


def chosen_variants(test: pd.DataFrame, val: pd.DataFrame, models: list[str],
                    decided: dict[str, str] | None = None) -> dict[str, str] | None:
    """The variant that speaks for each model of a claim, chosen on validation folds only.

    The models of one family (:data:`VALIDATED_BY`: STA-LSTM and its ablations, HCN and its)
    speak at one common variant, as an ablation keeps one recipe and changes parts. Where the
    two-dataset rule of :mod:`stalib.report.selection` has chosen the family's configuration
    (``decided``: family root to variant, :func:`decided_variants`) and every one of those
    models has a whole test grid of it, that variant speaks. Otherwise the best on the family
    root's validation runs among the variants in which every one of those models has a whole
    test grid (so a grid still running never speaks, and the next-best recipe whose grids are
    whole speaks meanwhile, :func:`_pending` saying so). Models of different families each
    speak at their family's choice. When a family has no such variant, the default variant
    (``paper``, or ``sbu-settings`` on data the paper lacks) speaks for all, where it has test
    runs of every one (a validated recipe is never set against unvalidated settings); else
    None."""
    chosen: dict[str, str] = {}
    for root, members in _families(models).items():
        whole = _complete(test, members, every_fold=True)
        rule = (decided or {}).get(root)
        if rule in whole:
            chosen.update({m: rule for m in members})
            continue
        best = _best_on_validation(val, [root], whole & _complete(val, [root], seeds=2))
        if best is None:
            break
        chosen.update({m: best for m in members})
    else:
        return chosen
    done = _complete(test, models, every_fold=True)
    defaults = [v for v in DEFAULT_VARIANTS if v in done]
    return {m: defaults[0] for m in models} if defaults else None


def _pending(test: pd.DataFrame, val: pd.DataFrame, models: list[str],
             variants: dict[str, str], decided: dict[str, str] | None = None) -> str:
    """When a claim speaks at other settings than its family's choice (the two-dataset rule's,
    ``decided``, else the best on validation with two seeds or more), because that variant's
    test grid of some model is not whole yet: which model, at which variant, and its runs so
    far; else ``""``."""
    if val.empty and not decided:
        return ""
    notes, best_of = [], {}
    for root, members in _families(models).items():
        best = (decided or {}).get(root) or _best_on_validation(
            val, [root], _complete(val, [root], seeds=2) - _undecided(root, test, val))
        if best is None or all(variants[m] == best for m in members):
            continue
        if best in _complete(test, members, every_fold=True):
            continue
        best_of[root] = best
        # the models whose own grid is short, or all of them when only their seeds differ
        short = [m for m in members if best not in _complete(test, [m], every_fold=True)]
        for m in short or members:
            runs = 0 if test.empty else int(
                ((test["model"] == m) & (test["variant"] == best)).sum())
            notes.append(f"{m} at {best}: {runs} test run(s) so far")
    if not notes:
        return ""
    speaking = " vs. ".join(dict.fromkeys(variants[m] for m in models))
    return (f"at {speaking} until the test grids of the validated "
            f"{' and '.join(dict.fromkeys(best_of.values()))} are whole ({'; '.join(notes)})")


def decided_variants(claim: Claim, val: pd.DataFrame | None) -> dict[str, str]:
    """``{family root: variant}`` for each family whose configuration the two-dataset rule of
    :mod:`stalib.report.selection` has chosen, on the data that rule chooses for (SBU and
    UTKinect, every protocol of theirs: UTKinect's leave-one-sequence-out runs the
    configuration chosen with its cross-subject validation folds; other data: ``{}``).
    ``val``: every dataset's validation rows."""
    from stalib.report import selection

    if val is None or val.empty or claim.dataset not in selection.DATASETS:
        return {}
    rows = selection.by_dataset(val)
    out = {}
    for family in selection.FAMILIES.values():
        chosen = selection.choose(family, rows)
        if chosen is not None:
            out.update({m: chosen for m in family.models if VALIDATED_BY.get(m, m) == m})
    return out


def _choice_pending(claim: Claim, models: list[str], val: pd.DataFrame | None) -> str:
    """For the claim's model families whose configuration the two-dataset rule of
    :mod:`stalib.report.selection` has not chosen yet, though some of its candidates' validation
    runs are in (on the data it chooses for): which candidates' runs are missing, and how many
    are in; else ``""``."""
    from stalib.report import selection

    if val is None or val.empty or claim.dataset not in selection.DATASETS:
        return ""
    rows = selection.by_dataset(val)
    notes = []
    for family in selection.FAMILIES.values():
        if not set(models) & set(family.models):
            continue
        table = selection.scores(family, rows)
        if table["score"].notna().all():  # every candidate scored: the rule has chosen
            continue
        runs = table.groupby("candidate", sort=False)[["runs", "needed"]].sum()
        if not runs["runs"].any():
            continue  # the rule is not in play: none of its candidates has run
        short = [f"{c} {r.runs} of {r.needed}" for c, r in runs.iterrows() if r.runs < r.needed]
        notes.append(f"the two-dataset rule has not chosen among {', '.join(family.candidates)} "
                     f"yet (validation runs recorded: {', '.join(short)})")
    return "; ".join(notes)


def _undecided(root: str, test: pd.DataFrame, val: pd.DataFrame) -> set[str]:
    """Candidates of a family whose choice the two-dataset rule of
    :mod:`stalib.report.selection` has not made yet (their validation runs are not all in):
    none of them is waited for, except one whose test grids are already whole."""
    from stalib.report import selection

    out: set[str] = set()
    for family in selection.FAMILIES.values():
        if root not in family.models:
            continue
        chosen = selection.choose(family, selection.by_dataset(val))
        whole = _complete(test, [root], every_fold=True) if not test.empty else set()
        out |= {c for c in family.candidates if c != chosen and c not in whole}
    return out


def _mcnemar_per_seed(a: pd.DataFrame, b: pd.DataFrame) -> list[float]:
    """McNemar's exact p per seed over every test sequence, where both models' rows of that
    seed keep ``test_correct`` for the same folds."""
    out = []
    for seed in sorted(set(a["seed"]) & set(b["seed"])):
        x, y = a[a["seed"] == seed].set_index("fold"), b[b["seed"] == seed].set_index("fold")
        folds = sorted(set(x.index) & set(y.index))
        bits = [(decode_correct(x.at[f, "test_correct"]), decode_correct(y.at[f, "test_correct"]))
                for f in folds]
        if not folds or not all(p and q and len(p) == len(q) for p, q in bits):
            continue
        u = np.array([c for p, _ in bits for c in p])
        v = np.array([c for _, q in bits for c in q])
        out.append(mcnemar_exact(int((u & ~v).sum()), int((v & ~u).sum())))
    return out


def assess(claim: Claim, test: pd.DataFrame | None, val: pd.DataFrame | None) -> dict:
    """One claim's measurement and word (see the module docstring)."""
    protocol = _protocol(claim)
    models = [claim.model] + ([claim.reference] if claim.reference else [])
    # every model's rows of the claim's data: an ablation's settings are chosen on another's
    family = models + [VALIDATED_BY[m] for m in models if m in VALIDATED_BY]
    t = _rows(test, claim.dataset, family, protocol)
    v = _validation_rows(claim, val, family)
    row = {"claim": claim.text, "source": claim.source, "dataset": claim.dataset,
           "protocol": protocol, "variant": None, "runs": 0, "ours": float("nan"),
           "reference": float("nan"), "diff": float("nan"), "ci_low": float("nan"),
           "ci_high": float("nan"), "p_folds": float("nan"), "p_mcnemar": "",
           "verdict": NOT_TESTABLE, "why": "", "modes": ""}
    decided = decided_variants(claim, val)
    variants = chosen_variants(t, v, models, decided)
    if variants is None:
        row["why"] = ("full NTU RGB+D is not available here (five sample files only)"
                      if claim.dataset.startswith("ntu") else
                      f"no complete test-fold runs of {' and '.join(models)} at validated "
                      "or default settings yet")
        return row
    row["why"] = "; ".join(filter(None, [_pending(t, v, models, variants, decided),
                                          _choice_pending(claim, models, val)]))
    t = pd.concat([t[(t["model"] == m) & (t["variant"] == variants[m])] for m in models])
    # the modes its speaking rows were recorded in (stalib.determinism): "portable", ...
    row["modes"] = ", ".join(sorted({word(d) for d in t.get("determinism", [None] * len(t))}))
    row["variant"] = (variants[claim.model] if len(set(variants.values())) == 1 else
                      " vs. ".join(variants[m] for m in models))
    if claim.kind == "target":
        acc = 100.0 * t["accuracy"].astype(float)
        per_fold = acc.groupby(t["fold"]).mean().to_numpy()
        low, high = t_interval(per_fold)
        row.update(runs=len(t), ours=float(acc.mean()), reference=claim.value,
                   diff=float(acc.mean()) - claim.value, ci_low=low, ci_high=high)
        hit = (not math.isnan(high) and high >= claim.value) or acc.mean() >= claim.value
        row["verdict"] = (REPRODUCED if hit else CONTRADICTED if not math.isnan(high)
                          else INCONCLUSIVE)
        return row
    pair = report.paired(t, [claim.model], reference=claim.reference,
                         reference_variant=variants[claim.reference])
    if pair.empty:
        row["why"] = f"no common runs of {claim.model} and {claim.reference}"
        return row
    p = pair.iloc[0]
    key = ["fold", "seed"]
    a = t[t["model"] == claim.model]
    b = t[t["model"] == claim.reference]
    both = a.merge(b, on=key, suffixes=("", "_ref"))
    per_fold = (100.0 * (both["accuracy"] - both["accuracy_ref"])).groupby(both["fold"]).mean()
    low, high = t_interval(per_fold.to_numpy())
    if not math.isnan(p["p_value"]):  # leave-one-sequence-out: McNemar over the sequences
        low = high = float("nan")
        mcnemar = [float(p["p_value"])]
    else:
        mcnemar = _mcnemar_per_seed(a, b) if "test_correct" in t.columns else []
    row.update(runs=int(p["runs"]), ours=float(p["mean"]), reference=float(p["reference_mean"]),
               diff=float(p["diff"]), ci_low=low, ci_high=high,
               p_folds=sign_flip_p(per_fold.to_numpy()) if len(per_fold) > 1 else float("nan"),
               p_mcnemar=", ".join(f"{q:.3g}" for q in mcnemar))
    if not math.isnan(low):
        ahead, behind = low > 0, high < 0
    else:  # leave-one-sequence-out: McNemar over the sequences decides the direction
        sure = bool(mcnemar) and max(mcnemar) < 0.05
        ahead, behind = sure and p["diff"] > 0, sure and p["diff"] < 0
    row["verdict"] = REPRODUCED if ahead else CONTRADICTED if behind else INCONCLUSIVE
    return row


def verdict(root=None) -> pd.DataFrame:
    """:func:`assess` of every claim of :data:`CLAIMS` on the committed results, with each
    claim's baseline check (:func:`baseline_check`) in ``baseline``."""
    test, val = report.load_all_cv(root), report.load_all_validation(root)
    table = pd.DataFrame([assess(c, test, val) for c in CLAIMS])
    table["baseline"] = [baseline_check(c, r, test, val) for c, (_, r) in
                         zip(CLAIMS, table.iterrows(), strict=True)]
    return table


def linear_floor(dataset: str, protocol: str, test: pd.DataFrame | None,
                 val: pd.DataFrame | None) -> float | None:
    """The linear baseline's mean test accuracy (percent) on ``dataset`` and ``protocol``, at
    its variant chosen on validation folds as any model's is (:func:`chosen_variants`); None
    without its runs."""
    probe = Claim("the linear floor", "", dataset, "target", "linear", protocol=protocol)
    t = _rows(test, dataset, ["linear"], protocol)
    if t.empty:
        return None
    variants = chosen_variants(t, _validation_rows(probe, val, ["linear"]), ["linear"])
    if variants is None:
        return None
    return float(100.0 * t.loc[t["variant"] == variants["linear"], "accuracy"].astype(
        float).mean())


def baseline_check(claim: Claim, row: pd.Series, test: pd.DataFrame | None,
                   val: pd.DataFrame | None) -> str:
    """Whether the claim's baseline stood where it should: the model a comparison is made
    against (a target: the model itself) beside the linear floor of the same data, and beside
    its published value where the literature file has one (HCN on SBU). "" when the claim has
    no measurement."""
    if not isinstance(row["variant"], str):
        return ""
    model = claim.reference or claim.model
    label = report.MODEL_LABELS.get(model, model)
    mine = float(row["reference"] if claim.kind == "comparison" else row["ours"])
    notes = []
    floor = linear_floor(claim.dataset, row["protocol"], test, val)
    if floor is not None:
        notes.append(f"{label} {'at or above' if mine >= floor else 'below'} the linear "
                     f"floor ({floor:.2f} %)")
    if claim.kind == "comparison":
        lit = report.load_literature()
        same = lit[(lit["dataset"] == claim.dataset) & (lit["method"] == label)]
        if not same.empty:
            published = float(same["accuracy"].iloc[0])
            notes.append(f"{published - mine:.2f} pp under its published {published:.2f} %"
                         if mine < published else f"at its published {published:.2f} %")
    return "; ".join(notes)


def format_verdict(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`verdict` as a display table of six columns (it reads at a page's width): the
    claim with its source, the word, the runs, our number against the other, the difference
    with its 95 % interval, and the p-values."""
    def f(x, spec=".2f"):
        return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, spec)

    rows = []
    for _, r in table.iterrows():
        has_runs = isinstance(r["variant"], str)
        interval = ("" if math.isnan(r["ci_low"]) else
                    f" [{f(r['ci_low'])}, {f(r['ci_high'])}]")
        tests = [f"folds {f(r['p_folds'], '.3g')}"] if not math.isnan(r["p_folds"]) else []
        if r["p_mcnemar"]:
            tests.append(f"McNemar {r['p_mcnemar']}")
        data = f"{report.DATASET_SHORT.get(r['dataset'], r['dataset'])} {r['protocol']}"
        rows.append({
            "Claim (source)": f"{r['claim']} ({r['source']})",
            "Verdict": r["verdict"] + (f": {r['why']}" if r["why"] else ""),
            "Data, runs (variant)": f"{data}, {r['runs']} ({r['variant']})" if has_runs
            else data,
            "Ours vs. (%)": f"{f(r['ours'])} vs. {f(r['reference'])}" if has_runs else "—",
            "Difference (pp) [95 % interval]": (
                f"{f(r['diff'], '+.2f')}{interval}" if has_runs else "—"),
            "p": "; ".join(tests) or "—",
        })
    return pd.DataFrame(rows)


PAGE_TITLES = {"fig7.md": "Fig. 7", "table1.md": "Table 1", "table2.md": "Table 2",
               "csta.md": "CSTA-CNN", "verdict.md": "Verdict"}
#: The page of the evidence of each claim's data and kind.
EVIDENCE = {("sbu", "comparison"): "fig7.md", ("sbu", "target"): "table1.md",
            ("ntu60", "target"): "table2.md", ("utkinect", "comparison"): "fig7.md"}


def _evidence(claim: Claim) -> str:
    if claim.source.startswith(CSTA) or claim.model == "hcn":
        return "csta.md"
    return EVIDENCE.get((claim.dataset, claim.kind), "verdict.md")


def largest_gain(claim: Claim, ci_high: float) -> str:
    """The largest gain of ``claim.model`` over its reference that the data cannot exclude (the
    upper end of the paired 95 % interval, ``ci_high``): "at most +X pp"; when even that is
    below zero, the reference leads beyond the interval: "<reference> ahead by at least X pp"."""
    if ci_high >= 0:
        return f"at most {ci_high:+.2f} pp"
    return (f"{report.MODEL_LABELS.get(claim.reference, claim.reference)} ahead by at least "
            f"{-ci_high:.2f} pp")


def claims_table(table: pd.DataFrame, kinds: tuple[str, ...] = ("comparison", "target")
                 ) -> str:
    """:func:`verdict` as the report's first table, in Markdown (its links work): per claim the
    paper's value, ours with its 95 % interval, the word and the page of the evidence. For a
    comparison that is not reproduced, the largest gain the data cannot exclude (the upper end
    of the paired interval): "at most +X pp here"."""
    def num(x, spec):
        return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, spec)

    lines = ["| Claim | Paper | Ours [95 % interval] | Verdict | Baseline | Evidence |",
             "| --- | --- | --- | --- | --- | --- |"]
    for claim, (_, r) in zip(CLAIMS, table.iterrows(), strict=True):
        if claim.kind not in kinds:
            continue
        text = claim.text.split(" (")[0]
        interval = ("" if math.isnan(r["ci_low"]) else
                    f" [{num(r['ci_low'], '.2f')}, {num(r['ci_high'], '.2f')}]")
        claimed = re.search(r"by up to ([0-9.]+) points", claim.text)
        paper = (f"{claim.value:.2f} %" if claim.kind == "target" else
                 f"up to +{claimed.group(1)} pp" if claimed else "a gain")
        if not isinstance(r["variant"], str):
            ours, word = "—", r["verdict"]
        elif claim.kind == "target":
            ours, word = f"{num(r['ours'], '.2f')} %{interval}", r["verdict"]
        else:
            ours = f"{num(r['diff'], '+.2f')} pp{interval}"
            word = r["verdict"]
            if r["verdict"] != REPRODUCED and not math.isnan(r["ci_high"]):
                word += f": {largest_gain(claim, r['ci_high'])} here"
        page = _evidence(claim)
        baseline = r.get("baseline") or "—"
        lines.append(f"| {text} | {paper} | {ours} | **{word}** | {baseline} | "
                     f"[{PAGE_TITLES[page]}]({page}) |")
    return "\n".join(lines)


def speaking_variants(table: pd.DataFrame) -> dict[tuple[str, str], str]:
    """``{(dataset, protocol): variant}``: the variant at which the Fig. 7 claim "STA-LSTM beats
    the LSTM" speaks on each dataset and protocol (:func:`verdict`'s rows), the one the Fig. 7
    page draws beside the paper's settings."""
    out = {}
    for claim, (_, r) in zip(CLAIMS, table.iterrows(), strict=True):
        if (claim.model, claim.reference) == ("sta-lstm", "lstm") and isinstance(
                r["variant"], str):
            out[(r["dataset"], r["protocol"])] = r["variant"]
    return out


def claims_sentence(table: pd.DataFrame) -> str:
    """The verdict in one sentence: how many claims reproduce, do not, or cannot be tested."""
    words = table["verdict"].value_counts()
    testable = int(len(table) - words.get(NOT_TESTABLE, 0))
    counts = ", ".join(f"{int(words.get(w, 0))} {w}" for w in (REPRODUCED, CONTRADICTED,
                                                                INCONCLUSIVE))
    return (f"**Of the {testable} claims testable here: {counts}; "
            f"{int(words.get(NOT_TESTABLE, 0))} need the full NTU RGB+D, which is not here.** "
            "Where a claimed gain is not reproduced, the table gives the largest gain the data "
            "cannot exclude (the upper end of the paired 95 % interval), or, where even that is "
            "below zero, by how much the other model leads." + _attention_bound(table))


def modes_sentence(table: pd.DataFrame) -> str:
    """How many of the measured claims speak from rows recorded in the portable deterministic
    mode only (:mod:`stalib.determinism`), then a Markdown list of those that do not, with
    their data, variant and modes."""
    measured = [(c, r) for c, (_, r) in zip(CLAIMS, table.iterrows(), strict=True)
                if r["modes"]]
    if not measured:
        return ""
    other = [f"- {c.text} ({report.DATASET_SHORT.get(r['dataset'], r['dataset'])} "
             f"{r['protocol']}, {r['variant']}): "
             f"{', '.join(SAID.get(m, m) for m in r['modes'].split(', '))}"
             for c, r in measured if r["modes"] != PORTABLE]
    count = (f"All {len(measured)}" if not other
             else f"{len(measured) - len(other)} of the {len(measured)}")
    text = (f"{count} measured claims speak from runs recorded in the portable deterministic "
            "mode only.")
    if other:
        text += (" The others speak from runs recorded otherwise until their portable grids "
                 "are whole:\n\n" + "\n".join(other))
    return text


def _attention_bound(table: pd.DataFrame) -> str:
    """" Does attention help? On SBU, over the plain LSTM: ..." per attention model, its paired
    gain with the interval where it reproduces, else the largest gain the data cannot exclude."""
    parts = []
    for c, (_, r) in zip(CLAIMS, table.iterrows(), strict=True):
        if c.dataset != "sbu" or c.reference != "lstm" or math.isnan(r["ci_high"]):
            continue
        label = report.MODEL_LABELS.get(c.model, c.model)
        if r["verdict"] == REPRODUCED:
            parts.append(f"{label} {r['diff']:+.2f} points [{r['ci_low']:.2f}, "
                         f"{r['ci_high']:.2f}] (reproduced)")
        else:
            parts.append(f"{label} {largest_gain(c, r['ci_high'])} ({r['verdict']})")
    if not parts:
        return ""
    return (" **Does attention help? On SBU, over the plain LSTM at the configuration that "
            "speaks: " + "; ".join(parts) + ".**")


def tried(claim: Claim, test: pd.DataFrame | None, val: pd.DataFrame | None) -> pd.DataFrame:
    """Everything tried for the model of a target ``claim`` on its data: one row per variant,
    with its validation accuracy (mean over the inner-validation runs, and their seeds), its
    test-fold accuracy (mean over folds and seeds; runs) and how well it fitted (mean and
    lowest final training accuracy over the test-fold runs: an underfit recipe shows there),
    best validation first. The verdict page shows it under every target it misses.

    Columns: ``variant, val_mean, val_runs, val_seeds, test_mean, test_runs, train_mean,
    train_min, chosen`` (``chosen``: the variant that speaks for the claim)."""
    cols = ["variant", "val_mean", "val_runs", "val_seeds", "test_mean", "test_runs",
            "train_mean", "train_min", "chosen"]
    protocol = _protocol(claim)
    t = _rows(test, claim.dataset, [claim.model], protocol)
    v = _validation_rows(claim, val, [claim.model])
    if t.empty and v.empty:
        return pd.DataFrame(columns=cols)
    speaks = assess(claim, test, val)["variant"]
    rows = []
    for variant in sorted(set(t.get("variant", [])) | set(v.get("variant", []))):
        tv = t[t["variant"] == variant] if not t.empty else t
        vv = v[v["variant"] == variant] if not v.empty else v
        train = tv["train_accuracy"].astype(float) if not tv.empty else pd.Series(dtype=float)
        rows.append({
            "variant": variant,
            "val_mean": 100.0 * vv["accuracy"].astype(float).mean() if len(vv) else np.nan,
            "val_runs": len(vv), "val_seeds": vv["seed"].nunique() if len(vv) else 0,
            "test_mean": 100.0 * tv["accuracy"].astype(float).mean() if len(tv) else np.nan,
            "test_runs": len(tv),
            "train_mean": 100.0 * train.mean() if len(train) else np.nan,
            "train_min": 100.0 * train.min() if len(train) else np.nan,
            "chosen": variant == speaks})
    out = pd.DataFrame(rows, columns=cols)
    return out.sort_values(["val_mean", "test_mean"], ascending=False,
                           na_position="last").reset_index(drop=True)


@dataclass(frozen=True)
class Target:
    """A level the baselines must reach before a negative verdict is trusted (set before the
    runs that test it): ``models`` on ``dataset``/``protocol`` at the configuration that
    speaks; ``floor`` a percentage, or None for the linear baseline's mean there; ``best``:
    only the best of ``models`` must reach it, else each."""

    text: str
    dataset: str
    protocol: str
    models: tuple[str, ...]
    floor: float | None = None
    best: bool = False


TARGETS: tuple[Target, ...] = (
    Target("HCN reaches 96 % on SBU", "sbu", "5fold", ("hcn",), 96.0),
    Target("every Fig. 7 model reaches the linear baseline on SBU", "sbu", "5fold", FIG7_MODELS),
    Target("the best deep model reaches the linear baseline on UTKinect cross-subject",
           "utkinect", "xsub", FIG7_MODELS + CSTA_MODELS, best=True),
    Target("the LSTM reaches 88 % on UTKinect cross-subject", "utkinect", "xsub", ("lstm",),
           88.0),
)


def target_rows(table: pd.DataFrame, test: pd.DataFrame | None, val: pd.DataFrame | None
                ) -> pd.DataFrame:
    """Each baseline target of :data:`TARGETS` against the test-fold runs: per model (or the
    best of them), its mean at the variant that speaks for its family on that data in the
    verdict ``table`` (the Fig. 7 claims' for the LSTM family, the CSTA claim's for HCN's),
    the level it must reach, and by how much it misses or clears it. Columns: ``target,
    dataset, protocol, model, variant, ours, level, gap, met`` (``gap`` = ours - level)."""
    cols = ["target", "dataset", "protocol", "model", "variant", "ours", "level", "gap", "met"]
    speaks: dict[tuple[str, str, str], str] = {}
    for claim, (_, r) in zip(CLAIMS, table.iterrows(), strict=True):
        if not isinstance(r["variant"], str) or " vs. " in r["variant"]:
            continue
        root = VALIDATED_BY.get(claim.model, claim.model)
        speaks.setdefault((r["dataset"], r["protocol"], root), r["variant"])
    rows = []
    for target in TARGETS:
        level = target.floor if target.floor is not None else linear_floor(
            target.dataset, target.protocol, test, val)
        found = []
        for model in target.models:
            root = VALIDATED_BY.get(model, model)
            # a family without a claim on this data: where it speaks on SBU (UTKinect's HCN)
            variant = speaks.get((target.dataset, target.protocol, root),
                                 speaks.get(("sbu", "5fold", root)))
            t = _rows(test, target.dataset, [model], target.protocol)
            t = t[t["variant"] == variant] if variant is not None and not t.empty else t.iloc[:0]
            if t.empty or level is None:
                continue
            ours = float(100.0 * t["accuracy"].astype(float).mean())
            found.append({"target": target.text, "dataset": target.dataset,
                          "protocol": target.protocol, "model": model, "variant": variant,
                          "ours": ours, "level": level, "gap": ours - level,
                          "met": ours >= level})
        if target.best and found:
            found = [max(found, key=lambda f: f["ours"])]
        rows += found
    return pd.DataFrame(rows, columns=cols)
