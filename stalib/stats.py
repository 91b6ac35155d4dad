"""The report's statistics, one module, each from a well-kept library where one does the job.

* :func:`t_interval` -- the 95 % interval of a mean (Student t, ``scipy.stats``).
* :func:`sign_flip_p` -- the exact two-sided sign-flip test of paired differences
  (``scipy.stats.permutation_test``, every one of the ``2^n`` sign patterns).
* :func:`wilson_interval` -- the Wilson score interval of a proportion
  (``statsmodels.stats.proportion.proportion_confint``).
* :func:`mcnemar_exact` -- McNemar's exact test of two models on the same sequences
  (``statsmodels.stats.contingency_tables.mcnemar``).
* :func:`corrected_fold_interval` -- a paired difference measured on the k test folds of a
  cross-validation (SBU): Student's t over the per-fold differences with the variance of
  Nadeau and Bengio (Machine Learning 52, 2003), ``(1/k + n_test/n_train) s^2`` instead of
  ``s^2 / k``: the folds' training sets overlap, so their differences are not independent and
  the plain t interval is too narrow.
* :func:`paired_bootstrap` -- a paired difference on one fixed split (UTKinect cross-subject,
  NW-UCLA cross-view, UTD-MHAD cross-subject): the per-sequence differences (right minus right,
  in points) of each seed, resampled over sequences and over seeds together.
* :func:`random_effects` -- the pooled estimate over datasets: DerSimonian and Laird's random
  effects (``statsmodels.stats.meta_analysis.combine_effects``), its interval with the
  Hartung-Knapp-Sidik-Jonkman variance (never below DerSimonian-Laird's) and Student's t on
  ``k - 1`` degrees of freedom (with four datasets the normal interval is too narrow), and the
  heterogeneity (tau^2, I^2, Cochran's Q and its p).
* :func:`detectable_gain` -- the smallest true gain that a dataset's design detects at the 5 %
  level with 80 % power, from its standard error.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from scipy import stats as sps

#: Two-sided level of every interval here, and the power of :func:`detectable_gain`.
ALPHA = 0.05
POWER = 0.80
#: Bootstrap draws and their seed: the interval is a fixed function of the rows.
BOOTSTRAP_DRAWS = 10_000
BOOTSTRAP_SEED = 0


def t_interval(values) -> tuple[float, float]:
    """The 95 % interval of the mean of ``values`` (Student t on ``n - 1`` degrees of freedom);
    NaNs for fewer than 2."""
    v = np.asarray(values, dtype=float)
    if len(v) < 2:
        return math.nan, math.nan
    half = sps.t.ppf(1 - ALPHA / 2, len(v) - 1) * v.std(ddof=1) / math.sqrt(len(v))
    return float(v.mean() - half), float(v.mean() + half)


def sign_flip_p(diffs) -> float:
    """Exact two-sided sign-flip (permutation) test of "mean 0" for paired ``diffs``: the share
    of the ``2^n`` sign patterns whose |mean| is at least the observed one (n <= 16; NaN
    beyond, or for none)."""
    d = np.asarray(diffs, dtype=float)
    if len(d) == 0 or len(d) > 16:
        return math.nan
    res = sps.permutation_test((d,), np.mean, permutation_type="samples", n_resamples=np.inf,
                               alternative="two-sided")
    return float(res.pvalue)


def wilson_interval(correct: int, n: int) -> tuple[float, float]:
    """The Wilson score interval (percent) of ``correct`` successes in ``n`` trials, 95 %.
    Unlike the normal approximation it stays inside [0, 100] near 0 and 100 %."""
    from statsmodels.stats.proportion import proportion_confint

    if n <= 0 or not 0 <= correct <= n:
        raise ValueError(f"wilson_interval: need 0 <= correct <= n and n > 0, got {correct}, {n}")
    low, high = proportion_confint(correct, n, alpha=ALPHA, method="wilson")
    return float(100.0 * low), float(100.0 * high)


def mcnemar_exact(only_model: int, only_reference: int) -> float:
    """McNemar's exact test, two-sided: under "both models are equally often right", the
    probability of discordant counts at least as uneven as ``only_model`` against
    ``only_reference`` (sequences only one of the two got right): a binomial tail, doubled and
    capped at 1; with no discordant sequence it is 1."""
    from statsmodels.stats.contingency_tables import mcnemar

    if only_model < 0 or only_reference < 0:
        raise ValueError(f"mcnemar_exact: counts must be >= 0, got {only_model}, "
                         f"{only_reference}")
    if only_model + only_reference == 0:
        return 1.0
    return float(mcnemar([[0, only_model], [only_reference, 0]], exact=True).pvalue)


def corrected_fold_interval(diffs, test_train_ratio: float) -> dict:
    """The mean of the per-fold paired differences ``diffs`` (one per test fold, averaged over
    seeds) with its Nadeau-Bengio standard error and 95 % interval (Student t, ``k - 1``
    degrees of freedom). ``test_train_ratio``: test sequences over training sequences of a fold
    (about 1/4 for 5-fold). Keys: ``diff, se, low, high, df``; NaNs for fewer than two folds."""
    d = np.asarray(diffs, dtype=float)
    k = len(d)
    if k < 2:
        return {"diff": float(d.mean()) if k else math.nan, "se": math.nan, "low": math.nan,
                "high": math.nan, "df": max(k - 1, 0)}
    se = math.sqrt((1.0 / k + test_train_ratio) * d.var(ddof=1))
    t = sps.t.ppf(1 - ALPHA / 2, k - 1)
    return {"diff": float(d.mean()), "se": se, "low": float(d.mean() - t * se),
            "high": float(d.mean() + t * se), "df": k - 1}


def paired_bootstrap(right_a, right_b, draws: int = BOOTSTRAP_DRAWS,
                     seed: int = BOOTSTRAP_SEED) -> dict:
    """Model A minus model B on one split, in points: ``right_a`` and ``right_b`` are
    ``(seeds, sequences)`` booleans (which test sequence each seed's model got right, the same
    sequences in the same order). Each draw resamples the sequences and the seeds with
    replacement (the two sources of variation a rerun would change) and takes the mean
    difference; the interval is the 2.5 and 97.5 percentiles, the standard error the draws'
    standard deviation. Keys: ``diff, se, low, high, df`` (``df`` None: normal)."""
    a = np.asarray(right_a, dtype=float)
    b = np.asarray(right_b, dtype=float)
    if a.shape != b.shape or a.ndim != 2 or a.size == 0:
        raise ValueError(f"paired_bootstrap: two (seeds, sequences) arrays of one shape, got "
                         f"{a.shape} and {b.shape}")
    d = 100.0 * (a - b)
    seeds, n = d.shape
    rng = np.random.default_rng(seed)
    out = np.empty(draws)
    for i in range(draws):
        rows = rng.integers(0, seeds, seeds)
        cols = rng.integers(0, n, n)
        out[i] = d[np.ix_(rows, cols)].mean()
    low, high = np.percentile(out, [100 * ALPHA / 2, 100 * (1 - ALPHA / 2)])
    return {"diff": float(d.mean()), "se": float(out.std(ddof=1)), "low": float(low),
            "high": float(high), "df": None}


def detectable_gain(se: float, df: int | None = None) -> float:
    """The smallest true difference a design of standard error ``se`` detects at the two-sided
    5 % level with 80 % power: ``(q(0.975) + q(0.80)) * se``, with Student's quantiles on ``df``
    degrees of freedom, the normal's for ``df`` None."""
    if not math.isfinite(se):
        return math.nan
    dist = sps.norm if df is None else sps.t(df)
    return float((dist.ppf(1 - ALPHA / 2) + dist.ppf(POWER)) * se)


def random_effects(effects, ses) -> dict:
    """The pooled estimate of per-dataset ``effects`` with standard errors ``ses``
    (DerSimonian-Laird random effects). Keys: ``diff`` (pooled), ``se`` and ``low``, ``high``
    (Hartung-Knapp-Sidik-Jonkman, t on k - 1), ``tau2``, ``i2`` (share of the spread beyond
    chance, 0..1), ``q`` and ``q_p`` (Cochran's test of one common effect), ``k``. With one
    dataset the pooled estimate is that dataset's own."""
    from statsmodels.stats.meta_analysis import combine_effects

    y = np.asarray(effects, dtype=float)
    se = np.asarray(ses, dtype=float)
    k = len(y)
    if k == 0 or not np.isfinite(se).all() or (se <= 0).any():
        raise ValueError(f"random_effects: need finite standard errors > 0, got {se.tolist()}")
    if k == 1:
        z = sps.norm.ppf(1 - ALPHA / 2)
        return {"diff": float(y[0]), "se": float(se[0]), "low": float(y[0] - z * se[0]),
                "high": float(y[0] + z * se[0]), "tau2": 0.0, "i2": 0.0, "q": 0.0,
                "q_p": math.nan, "k": 1}
    with warnings.catch_warnings():  # it warns that the per-dataset intervals it would list
        # under use_t stay normal: we use none of them
        warnings.simplefilter("ignore")
        res = combine_effects(y, se ** 2, method_re="dl")
    # DerSimonian-Laird's moment estimate of tau^2 is (Q - (k - 1)) / C, truncated at 0 (the
    # variance of the true effects cannot be negative); combine_effects leaves it negative when
    # the datasets agree more closely than chance would, so the weights are taken from here on
    tau2 = max(0.0, float(res.tau2))
    w = 1.0 / (se ** 2 + tau2)
    mu = float((w * y).sum() / w.sum())
    # Hartung-Knapp-Sidik-Jonkman, modified (Roever et al. 2015): never narrower than the DL
    # variance 1 / sum(w), which the plain HKSJ is when the datasets agree closely
    var = max(1.0 / w.sum(), float((w * (y - mu) ** 2).sum() / ((k - 1) * w.sum())))
    half = sps.t.ppf(1 - ALPHA / 2, k - 1) * math.sqrt(var)
    return {"diff": mu, "se": math.sqrt(var), "low": mu - half, "high": mu + half,
            "tau2": tau2, "i2": max(0.0, float(res.i2)), "q": float(res.q),
            "q_p": float(sps.chi2.sf(res.q, k - 1)), "k": k}
