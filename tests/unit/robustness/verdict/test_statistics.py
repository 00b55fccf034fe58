"""Intervals and paired tests: coverage by simulation, McNemar by hand, the change rule's
use of them, and the sample-size advice."""

import numpy as np
import pytest

from robustfx.base.evaluation_config import ThresholdConfig
from robustfx.robustness.verdict import statistics
from robustfx.robustness.verdict.figures import Figures
from robustfx.robustness.verdict.rules import evaluate_rules, sample_size_advice


@pytest.mark.parametrize("p, n", [(0.5, 100), (0.85, 1000), (0.97, 200), (0.02, 400)])
def test_wilson_intervals_cover_the_true_accuracy_about_95_percent_of_the_time(p, n):
    rng = np.random.RandomState(int(p * 1000) + n)
    draws = rng.binomial(n, p, size=4000)
    covered = [low <= p <= high for low, high in (statistics.wilson_interval(k, n) for k in draws)]
    assert 0.93 <= np.mean(covered) <= 0.975


def test_wilson_interval_stays_in_range_and_shrinks_with_n():
    assert statistics.wilson_interval(0, 10)[0] == 0.0
    assert statistics.wilson_interval(10, 10)[1] == 1.0
    small = statistics.wilson_interval(85, 100)
    large = statistics.wilson_interval(850, 1000)
    assert large[1] - large[0] < small[1] - small[0]
    assert large == pytest.approx((0.8265, 0.8708), abs=1e-4)  # worked out by hand


@pytest.mark.parametrize(
    "b, c, expected",
    [
        (0, 5, 2 * 0.5**5),  # every discordant pair one way
        (1, 9, 2 * (1 + 10) / 2**10),  # P(X <= 1), X ~ Bin(10, 1/2), doubled
        (5, 5, 1.0),
        (0, 0, 1.0),
        (3, 12, 2 * sum([1, 15, 105, 455]) / 2**15),
    ],
)
def test_mcnemar_exact_p_values_match_hand_computation(b, c, expected):
    assert statistics.mcnemar_p_value(b, c) == pytest.approx(expected)
    assert statistics.mcnemar_p_value(c, b) == pytest.approx(expected)


def test_paired_counts_from_outcomes_and_merged():
    candidate = {"clean": np.array([1, 1, 0, 0, 1], bool), "worst": np.array([1, 0, 0, 0, 1], bool)}
    baseline = {"clean": np.array([1, 0, 1, 0, 1], bool), "worst": np.array([0, 0, 1, 1, 1], bool)}
    one = statistics.PairedCounts.of(candidate, baseline)
    assert (one.clean_baseline_only, one.clean_candidate_only) == (1, 1)
    assert (one.worst_baseline_only, one.worst_candidate_only) == (2, 1)
    both = statistics.PairedCounts.merge([one, one])
    assert both.total == 10 and both.worst_baseline_only == 4
    test = both.test("worst")
    assert test["change"] == pytest.approx(-0.2)
    assert test["change_interval"][0] < -0.2 < test["change_interval"][1]


def _metrics(clean, worst, n=1000):
    return Figures.of({
        "num_examples": n,
        "clean_accuracy": clean,
        "clean_accuracy_interval": list(statistics.wilson_interval(round(clean * n), n)),
        "worst_case_robust_accuracy": worst,
        "worst_case_robust_accuracy_interval": list(
            statistics.wilson_interval(round(worst * n), n)
        ),
        "attacks": {},
    })  # fmt: skip


THRESHOLDS = ThresholdConfig(min_clean_accuracy=0.9, min_worst_case_accuracy=0.7)


def test_a_drop_beyond_the_allowed_one_that_is_noise_is_not_refused():
    # 3 points down on worst case (allowed: 2). 40 vs 10 discordant examples: significant.
    paired = {"worst": statistics.PairedCounts(1000, 5, 5, 40, 10).test("worst")}
    rules = evaluate_rules(
        _metrics(0.95, 0.77), THRESHOLDS, _metrics(0.95, 0.80), paired_tests=paired
    )
    drop = next(r for r in rules if r.rule == "max_robust_drop")
    assert not drop.passed and "McNemar p=" in drop.message  # 40 vs 10 is significant
    # The same 3-point drop from 40 vs 10 on 30 examples (20 vs 10) is not significant.
    noise = {"worst": statistics.PairedCounts(1000, 5, 5, 20, 10).test("worst")}
    rules = evaluate_rules(
        _metrics(0.95, 0.77), THRESHOLDS, _metrics(0.95, 0.80), paired_tests=noise
    )
    drop = next(r for r in rules if r.rule == "max_robust_drop")
    assert drop.passed and "not significant at 0.05" in drop.message


def test_the_strict_policy_judges_the_lower_bound():
    metrics = _metrics(0.95, 0.72)  # worst-case interval about 0.692-0.747
    point = evaluate_rules(metrics, THRESHOLDS)
    strict = evaluate_rules(metrics, ThresholdConfig(min_clean_accuracy=0.9, policy="lower_bound"))
    assert next(r for r in point if r.rule == "min_worst_case_accuracy").passed
    failed = next(r for r in strict if r.rule == "min_worst_case_accuracy")
    assert not failed.passed and "lower bound" in failed.message


def test_sample_size_advice_when_the_interval_contains_the_floor():
    clean, worst = sample_size_advice(_metrics(0.95, 0.72, n=100), THRESHOLDS)
    assert clean.startswith("clean accuracy 0.9500 has a 95% interval 0.8882-0.9785")
    assert worst.startswith("worst-case robust accuracy 0.7200")
    assert "100 examples cannot tell them apart; about 1,937 examples would" in worst
    assert sample_size_advice(_metrics(0.95, 0.85, n=1000), THRESHOLDS) == []
