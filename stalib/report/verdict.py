"""The verdict: every claim of the papers beside our best honest measurement, claim by claim.

Report layer: reads the committed results (``results/<dataset>/cv.csv`` for the test folds,
``validation.csv`` for the inner-validation runs, shown beside) and never trains.

**Which runs speak for a claim** is recorded, not worked out: each model runs at its family's
recorded configuration (``recorded`` in the catalogue, :mod:`stalib.catalogue`: the two-dataset
rule's choice on the validation folds of SBU and UTKinect, which a test recomputes from the
committed validation rows). A claim speaks once the test grid of each of its models at that
configuration is whole (every fold, the same seeds); until then it is not testable, and says how
many of the grid's runs are in. The test-fold runs then give the measurement:

* a **comparison** ("A beats B by up to G points") is paired run by run (same fold and seed,
  :func:`stalib.report.paired`): the mean paired difference, the 95 % interval of the mean of
  the per-fold differences (Student t over the folds, the folds being the independent units),
  an exact sign-flip test over those folds and, where the rows keep which test sequence each
  model got right (``test_correct``), McNemar's exact test per seed over all test sequences
  (each sequence is tested once per seed). Leave-one-sequence-out runs test one sequence each:
  McNemar over the sequences (:func:`stalib.report.paired`'s ``p_value``).
* a **target** ("91.51 % on SBU") gives our mean over folds and seeds with the 95 % interval of
  the mean of the per-fold accuracies.

The word, one of the four labels of :data:`LABELS`: **reproduced** when the measurement goes the
claimed way and clears the claimed bar at the 5 % level (a comparison: the interval of the
difference lies above 0; a target: the interval reaches the paper's value); **contradicted** when
the interval excludes what the paper claims (a comparison: it lies below 0, the reference leads; a
target: it ends below the paper's value); **inconclusive** when it does neither; **not testable
here** when the data (full NTU RGB+D) or the runs are missing.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd

from stalib import catalogue
from stalib.catalogue import Claim, Level
from stalib.data.registry import default_protocol
from stalib.determinism import PORTABLE, word
from stalib.report import tables as report
from stalib.report.modes import SAID
from stalib.results import decode_correct
from stalib.stats import mcnemar_exact, sign_flip_p, t_interval

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
#: The claims of the papers (the catalogue's, less our own ablations).
CLAIMS: tuple[Claim, ...] = tuple(c for c in catalogue.CLAIMS if not c.ablation)
CSTA = "Wang 2019, arXiv 1909.10214 (public summary)"


def recorded_choices() -> dict[str, str]:
    """``{family: configuration}``: each family's recorded choice (the catalogue's)."""
    return {name: f.recorded for name, f in catalogue.FAMILIES.items()}


def _protocol(claim: Claim | Level) -> str:
    return claim.protocol or default_protocol(claim.dataset)


def _rows(df: pd.DataFrame | None, dataset: str, models: list[str] | None, protocol: str
          ) -> pd.DataFrame:
    """The rows of ``dataset``/``protocol`` (and its validation folds) of ``models`` (None: all)."""
    if df is None or df.empty:
        return pd.DataFrame()
    base = df["protocol"].astype(str).str.split(":").str[0]
    keep = (df["dataset"] == dataset) & (base == protocol)
    if models is not None:
        keep &= df["model"].isin(models)
    return df[keep]


def _speaking_rows(test: pd.DataFrame | None, dataset: str, protocol: str,
                   configurations: dict[str, str]) -> tuple[pd.DataFrame, str]:
    """The test rows of each model of ``configurations`` at its configuration, and ``""`` when each
    grid is whole (every fold of the protocol, the same seeds for every model and fold), else what
    is missing: "the test grid at V is not whole yet: model n of m runs"."""
    every = _rows(test, dataset, list(configurations), protocol)
    if every.empty:
        return every, f"no test runs at {' and '.join(dict.fromkeys(configurations.values()))} yet"
    folds = set(_rows(test, dataset, None, protocol)["fold"])  # every model's: the protocol's
    t = pd.concat([every[(every["model"] == m) & (every["configuration"] == v)]
                   for m, v in configurations.items()])
    seeds = set(t["seed"])
    needed = len(folds) * max(len(seeds), 1)
    short = []
    for m in configurations:
        mine = t[t["model"] == m]
        have = len(set(zip(mine["fold"], mine["seed"], strict=True)))
        if have < needed:
            short.append(f"{m} {have} of {needed} runs")
    if not short:
        return t, ""
    grid = " and ".join(dict.fromkeys(configurations.values()))
    return t, f"the test grid at {grid} is not whole yet: {', '.join(short)}"


def _mcnemar_per_seed(a: pd.DataFrame, b: pd.DataFrame) -> list[float]:
    """McNemar's exact p per seed over every test sequence, where both models' rows of that seed
    keep ``test_correct`` for the same folds."""
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


def assess(claim: Claim, test: pd.DataFrame | None,
           choices: dict[str, str] | None = None) -> dict:
    """One claim's measurement and word (see the module docstring), its models at ``choices``
    (``{family: configuration}``; None: the recorded ones)."""
    choices = choices or recorded_choices()
    protocol = _protocol(claim)
    models = [claim.model] + ([claim.reference] if claim.reference else [])
    configurations = {m: choices[catalogue.family_of(m)] for m in models}
    row = {"claim": claim.title, "source": claim.source, "kind": claim.kind,
           "dataset": claim.dataset,
           "protocol": protocol, "configuration": None, "runs": 0, "ours": float("nan"),
           "reference": float("nan"), "diff": float("nan"), "ci_low": float("nan"),
           "ci_high": float("nan"), "p_folds": float("nan"), "p_mcnemar": "",
           "verdict": NOT_TESTABLE, "why": "", "modes": ""}
    t, missing = _speaking_rows(test, claim.dataset, protocol, configurations)
    if missing:
        row["why"] = ("full NTU RGB+D is not available here (five sample files only)"
                      if claim.dataset.startswith("ntu") else missing)
        return row
    # the modes its speaking rows were recorded in (stalib.determinism): "portable", ...
    row["modes"] = ", ".join(sorted({word(d) for d in t.get("determinism", [None] * len(t))}))
    row["configuration"] = (configurations[claim.model] if len(set(configurations.values())) == 1
                            else " vs. ".join(configurations[m] for m in models))
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
    return _compare(claim, t, configurations, row)


def _compare(claim: Claim, t: pd.DataFrame, configurations: dict[str, str], row: dict) -> dict:
    """A comparison claim's paired measurement and word, from its speaking rows ``t``."""
    pair = report.paired(t, [claim.model], reference=claim.reference,
                         reference_configuration=configurations[claim.reference])
    if pair.empty:
        row["why"] = f"no common runs of {claim.model} and {claim.reference}"
        return row
    p = pair.iloc[0]
    a = t[t["model"] == claim.model]
    b = t[t["model"] == claim.reference]
    both = a.merge(b, on=["fold", "seed"], suffixes=("", "_ref"))
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


def verdict(root=None, choices: dict[str, str] | None = None) -> pd.DataFrame:
    """:func:`verdict_of` the committed results (``root``: their folder)."""
    return verdict_of(report.load_all_cv(root), choices)


def verdict_of(test: pd.DataFrame | None, choices: dict[str, str] | None = None
               ) -> pd.DataFrame:
    """:func:`assess` of every claim of :data:`CLAIMS` on the test rows ``test``, with each claim's
    baseline check (:func:`baseline_check`) in ``baseline``."""
    table = pd.DataFrame([assess(c, test, choices) for c in CLAIMS])
    table["baseline"] = [baseline_check(c, r, test, choices) for c, (_, r) in
                         zip(CLAIMS, table.iterrows(), strict=True)]
    return table


def model_mean(test: pd.DataFrame | None, dataset: str, protocol: str, model: str,
               choices: dict[str, str] | None = None) -> float | None:
    """``model``'s mean test accuracy (percent) on ``dataset``/``protocol`` at its family's
    configuration (``choices``, None: the recorded ones); None unless its grid is whole."""
    configuration = (choices or recorded_choices())[catalogue.family_of(model)]
    t, missing = _speaking_rows(test, dataset, protocol, {model: configuration})
    return None if missing else float(100.0 * t["accuracy"].astype(float).mean())


def baseline_check(claim: Claim, row: pd.Series, test: pd.DataFrame | None,
                   choices: dict[str, str] | None = None) -> str:
    """Whether the claim's baseline stood where it should: the model a comparison is made against (a
    target: the model itself) beside the linear floor of the same data, and beside its published
    value where the literature file has one (HCN on SBU). "" when the claim has no measurement."""
    if not isinstance(row["configuration"], str):
        return ""
    model = claim.reference or claim.model
    label = report.MODEL_LABELS.get(model, model)
    mine = float(row["reference"] if claim.kind == "comparison" else row["ours"])
    notes = []
    floor = model_mean(test, claim.dataset, row["protocol"], "linear", choices)
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


def _label(configuration: str) -> str:
    """``configuration`` (or "a vs. b") by the names a reader meets (:func:`catalogue.label`)."""
    return " vs. ".join(catalogue.label(v) for v in configuration.split(" vs. "))


def format_verdict(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`verdict` as a display table of six columns (it reads at a page's width): the claim
    with its source, the word, the runs, our number against the other, the difference with its 95 %
    interval, and the p-values."""
    def f(x, spec=".2f"):
        return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, spec)

    rows = []
    for _, r in table.iterrows():
        has_runs = isinstance(r["configuration"], str)
        interval = ("" if math.isnan(r["ci_low"]) else
                    f" [{f(r['ci_low'])}, {f(r['ci_high'])}]")
        target = r["kind"] == "target"
        tests = [f"sign-flip over folds {f(r['p_folds'], '.3g')}"] if not math.isnan(
            r["p_folds"]) else []
        if r["p_mcnemar"]:
            tests.append(f"McNemar, per seed: {r['p_mcnemar']}")
        data = f"{report.DATASET_SHORT.get(r['dataset'], r['dataset'])} {r['protocol']}"
        # a target's interval is of our accuracy, a comparison's of the difference
        ours = f"{f(r['ours'])}{interval if target else ''} vs. {f(r['reference'])}"
        rows.append({
            "Claim (source)": f"{r['claim']} ({r['source']})",
            "Verdict": r["verdict"] + (f": {r['why']}" if r["why"] else ""),
            "Data, runs (configuration)": f"{data}, {r['runs']} ({_label(r['configuration'])})"
            if has_runs else data,
            "Ours [95 %] vs. (%)": ours if has_runs else "—",
            "Difference (pp) [95 %]": (
                f"{f(r['diff'], '+.2f')}{'' if target else interval}" if has_runs else "—"),
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
    upper end of the paired 95 % interval, ``ci_high``): "at most +X pp"; when even that is below
    zero, the reference leads beyond the interval: "<reference> ahead by at least X pp"."""
    if ci_high >= 0:
        return f"at most {ci_high:+.2f} pp"
    return (f"{report.MODEL_LABELS.get(claim.reference, claim.reference)} ahead by at least "
            f"{-ci_high:.2f} pp")


def claims_table(table: pd.DataFrame, kinds: tuple[str, ...] = ("comparison", "target")
                 ) -> str:
    """:func:`verdict` as the report's first table, in Markdown (its links work): per claim the
    paper's value, ours with its 95 % interval, the word and the page of the evidence. For a
    comparison that is not reproduced, the largest gain the data cannot exclude (the upper end of
    the paired interval): "at most +X pp here"."""
    def num(x, spec):
        return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, spec)

    lines = ["| Claim | Paper | Ours [95 % interval] | Verdict | Baseline | Evidence |",
             "| --- | --- | --- | --- | --- | --- |"]
    for claim, (_, r) in zip(CLAIMS, table.iterrows(), strict=True):
        if claim.kind not in kinds:
            continue
        text = claim.text
        interval = ("" if math.isnan(r["ci_low"]) else
                    f" [{num(r['ci_low'], '.2f')}, {num(r['ci_high'], '.2f')}]")
        claimed = re.search(r"by up to ([0-9.]+) points", claim.title)
        paper = (f"{claim.value:.2f} %" if claim.kind == "target" else
                 f"up to +{claimed.group(1)} pp" if claimed else "a gain")
        if not isinstance(r["configuration"], str):
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


def speaking_configurations(table: pd.DataFrame) -> dict[tuple[str, str], str]:
    """``{(dataset, protocol): configuration}``: the configuration at which the Fig. 7 claim
    "STA-LSTM beats the LSTM" speaks on each dataset and protocol (:func:`verdict`'s rows), the one
    the Fig. 7 page draws beside the paper's settings."""
    out = {}
    for claim, (_, r) in zip(CLAIMS, table.iterrows(), strict=True):
        if (claim.model, claim.reference) == ("sta-lstm", "lstm") and isinstance(
                r["configuration"], str):
            out[(r["dataset"], r["protocol"])] = r["configuration"]
    return out


def modes_sentence(table: pd.DataFrame) -> str:
    """How many of the measured claims speak from rows recorded in the portable deterministic mode
    only (:mod:`stalib.determinism`), then a Markdown list of those that do not, with their data,
    configuration and modes."""
    measured = [(c, r) for c, (_, r) in zip(CLAIMS, table.iterrows(), strict=True)
                if r["modes"]]
    if not measured:
        return ""
    other = [f"- {c.title} ({report.DATASET_SHORT.get(r['dataset'], r['dataset'])} "
             f"{r['protocol']}, {r['configuration']}): "
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


def tried(claim: Claim, test: pd.DataFrame | None, val: pd.DataFrame | None,
          choices: dict[str, str] | None = None) -> pd.DataFrame:
    """Everything tried for the model of a target ``claim`` on its data: one row per configuration,
    with its validation accuracy (mean over the inner-validation runs, and their seeds), its
    test-fold accuracy (mean over folds and seeds; runs) and how well it fitted (mean and lowest
    final training accuracy over the test-fold runs: an underfit configuration shows there), best
    validation first. The verdict page shows it under every target it misses.

    Columns: ``configuration, val_mean, val_runs, val_seeds, test_mean, test_runs, train_mean,
    train_min, chosen`` (``chosen``: the configuration that speaks for the claim)."""
    cols = ["configuration", "val_mean", "val_runs", "val_seeds", "test_mean", "test_runs",
            "train_mean", "train_min", "chosen"]
    protocol = _protocol(claim)
    t = _rows(test, claim.dataset, [claim.model], protocol)
    v = _rows(val, claim.dataset, [claim.model], protocol)
    if t.empty and v.empty:
        return pd.DataFrame(columns=cols)
    speaks = assess(claim, test, choices)["configuration"]
    rows = []
    for configuration in sorted(set(t.get("configuration", [])) | set(v.get("configuration", []))):
        tv = t[t["configuration"] == configuration] if not t.empty else t
        vv = v[v["configuration"] == configuration] if not v.empty else v
        train = tv["train_accuracy"].astype(float) if not tv.empty else pd.Series(dtype=float)
        rows.append({
            "configuration": configuration,
            "val_mean": 100.0 * vv["accuracy"].astype(float).mean() if len(vv) else np.nan,
            "val_runs": len(vv), "val_seeds": vv["seed"].nunique() if len(vv) else 0,
            "test_mean": 100.0 * tv["accuracy"].astype(float).mean() if len(tv) else np.nan,
            "test_runs": len(tv),
            "train_mean": 100.0 * train.mean() if len(train) else np.nan,
            "train_min": 100.0 * train.min() if len(train) else np.nan,
            "chosen": configuration == speaks})
    out = pd.DataFrame(rows, columns=cols)
    return out.sort_values(["val_mean", "test_mean"], ascending=False,
                           na_position="last").reset_index(drop=True)


def level_rows(test: pd.DataFrame | None, choices: dict[str, str] | None = None
               ) -> pd.DataFrame:
    """Each level of the catalogue (:data:`stalib.catalogue.LEVELS`) against the test-fold runs: per
    model (or the best of them), its mean at its family's configuration, the level it must reach (a
    percentage, or the linear floor's mean there), and by how much it misses or clears it. Columns:
    ``target, dataset, protocol, model, configuration, ours, level, gap, met, why`` (``gap`` = ours
    - level); a level without its runs has ``ours`` NaN."""
    choices = choices or recorded_choices()
    cols = ["target", "dataset", "protocol", "model", "configuration", "ours", "level", "gap",
            "met", "why"]
    rows = []
    for level in catalogue.LEVELS:
        bar = level.level if level.level is not None else model_mean(
            test, level.dataset, level.protocol, "linear", choices)
        found = []
        for model in level.models:
            ours = model_mean(test, level.dataset, level.protocol, model, choices)
            found.append({"target": level.text, "dataset": level.dataset,
                          "protocol": level.protocol, "model": model,
                          "configuration": choices[catalogue.family_of(model)],
                          "ours": np.nan if ours is None else ours,
                          "level": np.nan if bar is None else bar, "why": level.why})
        if level.best:
            measured = [f for f in found if not math.isnan(f["ours"])]
            found = [max(measured, key=lambda f: f["ours"])] if len(measured) == len(found) \
                else [{**found[0], "model": "best", "ours": np.nan}]
        for f in found:
            f["gap"] = f["ours"] - f["level"]
            f["met"] = bool(f["gap"] >= 0)
        rows += found
    return pd.DataFrame(rows, columns=cols)


def level_table(test: pd.DataFrame | None) -> pd.DataFrame:
    """:func:`level_rows` as a display table: ``Level, Model, Ours (%), Level (%), Reached``."""
    rows = level_rows(test)
    model = [f"best of {len(next(lv.models for lv in catalogue.LEVELS if lv.text == t))}"
             if m == "best" else report.MODEL_LABELS.get(m, m)
             for t, m in zip(rows["target"], rows["model"], strict=True)]

    def num(x):
        return "—" if math.isnan(x) else f"{x:.2f}"

    return pd.DataFrame({
        "Level": rows["target"], "Model": model,
        "Ours (%)": [num(x) for x in rows["ours"]],
        "Level (%)": [f"{num(x)} ({w})" for x, w in zip(rows["level"], rows["why"], strict=True)],
        "Reached": ["runs missing" if math.isnan(g) else ("yes, by " if g >= 0 else
                    "no, short by ") + f"{abs(g):.2f} points" for g in rows["gap"]]})
