"""The pooled verdict's statistics against hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from stalib import stats


def test_random_effects_matches_a_hand_computed_case():
    # y = (1, 2, -0.5), variances (1, 0.5, 2): w = (1, 2, 0.5), fixed 4.75 / 3.5 = 1.357143,
    # Q = 2.678571, C = 3.5 - 5.25 / 3.5 = 2, tau2 = (Q - 2) / C = 0.339286,
    # w* = 1 / (v + tau2) = (0.746667, 1.191489, 0.427481), pooled 2.915905 / 2.365637 = 1.232609,
    # I2 = (Q - 2) / Q = 0.253333; HKSJ: sum w* (y - mu)^2 / (2 * sum w*) = 0.428072,
    # se 0.654272, t(0.975, 2) = 4.302653: [-1.582496, 4.047713]
    r = stats.random_effects([1.0, 2.0, -0.5], [1.0, math.sqrt(0.5), math.sqrt(2.0)])
    assert r["diff"] == pytest.approx(1.232609, abs=1e-6)
    assert r["tau2"] == pytest.approx(0.339286, abs=1e-6)
    assert r["i2"] == pytest.approx(0.253333, abs=1e-6)
    assert r["q"] == pytest.approx(2.678571, abs=1e-6)
    assert r["se"] == pytest.approx(0.654272, abs=1e-6)
    assert (r["low"], r["high"]) == pytest.approx((-1.582496, 4.047713), abs=1e-5)
    assert r["k"] == 3


def test_random_effects_truncates_tau2_when_datasets_agree():
    # Q = 0.5 * 0.2^2 / 2 ... below its df: tau2 0, the fixed-effect weights, se sqrt(4 / 2)
    r = stats.random_effects([10.0, 10.2], [2.0, 2.0])
    assert r["tau2"] == 0.0 and r["i2"] == 0.0
    assert r["diff"] == pytest.approx(10.1) and r["se"] == pytest.approx(math.sqrt(2.0))
    assert r["high"] - r["diff"] == pytest.approx(12.706205 * math.sqrt(2.0), abs=1e-4)


def test_random_effects_of_one_dataset_is_its_own_and_bad_se_refused():
    r = stats.random_effects([2.0], [1.0])
    assert r["diff"] == 2.0 and r["low"] == pytest.approx(2 - 1.959964, abs=1e-6)
    with pytest.raises(ValueError, match="standard errors > 0"):
        stats.random_effects([1.0, 2.0], [0.0, 1.0])


def test_corrected_fold_interval_is_wider_than_the_plain_t():
    d = np.array([1.0, 3.0, -1.0, 2.0, 0.0])  # mean 1, s^2 2.5
    r = stats.corrected_fold_interval(d, test_train_ratio=0.25)
    se = math.sqrt((1 / 5 + 0.25) * 2.5)  # 1.06066 (the plain s / sqrt(5) is 0.707107)
    assert r["se"] == pytest.approx(se)
    assert r["low"] == pytest.approx(1 - 2.776445 * se, abs=1e-5) and r["df"] == 4
    assert math.isnan(stats.corrected_fold_interval([1.0], 0.25)["se"])


def test_paired_bootstrap_centre_spread_and_shape_check():
    rng = np.random.default_rng(1)
    a = rng.random((3, 400)) < 0.8
    b = rng.random((3, 400)) < 0.7
    r = stats.paired_bootstrap(a, b, draws=2000)
    assert r["diff"] == pytest.approx(100 * (a.mean() - b.mean()))
    # per-sequence differences of two independent models: sd about sqrt(0.8*0.2+0.7*0.3)/sqrt(n)
    assert 1.0 < r["se"] < 3.5 and r["low"] < r["diff"] < r["high"]
    assert stats.paired_bootstrap(a, b, draws=2000) == r  # seeded: a fixed function of the rows
    with pytest.raises(ValueError, match="one shape"):
        stats.paired_bootstrap(a, b[:, :10])


def test_detectable_gain():
    assert stats.detectable_gain(1.0) == pytest.approx(1.959964 + 0.841621, abs=1e-5)
    assert stats.detectable_gain(1.0, df=4) == pytest.approx(2.776445 + 0.940965, abs=1e-5)
    assert math.isnan(stats.detectable_gain(float("nan")))


def test_wilson_and_mcnemar_against_hand_computed_cases():
    # Wilson, 0 of 10: [0, z^2 / (n + z^2)] = [0, 3.8415 / 13.8415]
    low, high = stats.wilson_interval(0, 10)
    assert low == pytest.approx(0.0, abs=1e-9) and high == pytest.approx(
        100 * 3.841459 / 13.841459, abs=1e-4)
    # McNemar exact, 10 against 2: 2 * P(X <= 2), X ~ Bin(12, 1/2) = 2 * 79 / 4096
    assert stats.mcnemar_exact(10, 2) == pytest.approx(2 * 79 / 4096)
    assert stats.mcnemar_exact(0, 0) == 1.0 and stats.mcnemar_exact(3, 3) == 1.0
    with pytest.raises(ValueError, match="mcnemar_exact"):
        stats.mcnemar_exact(-1, 2)
