"""Corruption metrics from merged counts: accuracy per corruption and severity, the mean and
the worst corruption with intervals, the corruption error against production (mCE), the
paired scores' test, and the corruption rules."""

import numpy as np
import pytest

from robustfx.base.evaluation_config import ThresholdConfig
from robustfx.robustness.verdict import counts as robustness_counts
from robustfx.robustness.verdict.corruption_metrics import corruption_errors, corruption_metrics
from robustfx.robustness.verdict.figures import Figures
from robustfx.robustness.verdict.rules import evaluate_rules
from robustfx.robustness.verdict.statistics import PairedCounts, PairedScores, wilson_interval

COUNTS = {"fog": {"2": 80, "4": 60}, "rotate": {"2": 90, "4": 70}}


def test_accuracy_per_run_per_corruption_mean_and_worst():
    metrics = corruption_metrics(COUNTS, 100)
    assert metrics["corruption_accuracy"] == {
        "fog": {"2": 0.8, "4": 0.6},
        "rotate": {"2": 0.9, "4": 0.7},
    }
    assert metrics["corruption_accuracy_interval"]["fog"]["4"] == list(wilson_interval(60, 100))
    assert metrics["corruption_by_name"] == pytest.approx({"fog": 0.7, "rotate": 0.8})
    assert metrics["corruption_mean"] == pytest.approx(0.75)
    assert metrics["corruption_worst"] == pytest.approx(0.7)
    assert metrics["corruption_worst_name"] == "fog"
    # An average over severities: the interval takes the examples (100) as n, not 200.
    assert metrics["corruption_mean_interval"] == pytest.approx(list(wilson_interval(75, 100)))
    low, high = metrics["corruption_worst_interval"]
    assert low < 0.7 < high


def test_no_corruption_gives_no_keys():
    assert corruption_metrics({}, 100) == {}


def test_corruption_error_takes_the_baseline_as_reference():
    candidate = {"corruption_accuracy": {"fog": {"2": 0.8, "4": 0.6}, "rotate": {"2": 0.9}}}
    baseline = {"corruption_accuracy": {"fog": {"2": 0.7, "4": 0.5}, "rotate": {"2": 0.8}}}
    errors = corruption_errors(candidate, baseline)
    assert errors["ce"] == pytest.approx({"fog": 0.6 / 0.8, "rotate": 0.1 / 0.2})
    assert errors["mce"] == pytest.approx((0.75 + 0.5) / 2)


def test_a_corruption_the_baseline_never_erred_on_has_no_ce_and_leaves_the_mean():
    candidate = {"corruption_accuracy": {"fog": {"2": 0.9}, "rotate": {"2": 0.8}}}
    baseline = {"corruption_accuracy": {"fog": {"2": 1.0}, "rotate": {"2": 0.6}}}
    errors = corruption_errors(candidate, baseline)
    assert errors["ce"]["fog"] is None
    assert errors["mce"] == pytest.approx(0.2 / 0.4)
    assert corruption_errors(candidate, {}) is None


def test_scores_and_counts_of_a_batch_merge_like_one_batch(rng):
    labels = rng.randint(0, 3, size=40)
    predicted = {
        name: {s: np.where(rng.rand(40) < 0.7, labels, (labels + 1) % 3) for s in (2, 4)}
        for name in ("fog", "rotate")
    }
    halves = [
        robustness_counts.count_batch(
            labels[part], labels[part], {}, 3,
            corrupted={n: {s: p[part] for s, p in by.items()} for n, by in predicted.items()},
        )
        for part in (slice(0, 15), slice(15, 40))
    ]  # fmt: skip
    whole = robustness_counts.count_batch(labels, labels, {}, 3, corrupted=predicted)
    assert robustness_counts.merge(halves).corruptions == whole.corruptions
    assert whole.corruptions["fog"]["4"] == int((predicted["fog"][4] == labels).sum())
    scores = robustness_counts.corruption_scores(labels, predicted)
    fog = ((predicted["fog"][2] == labels) + (predicted["fog"][4] == labels).astype(float)) / 2
    np.testing.assert_allclose(scores["fog"], fog)
    np.testing.assert_allclose(scores["mean"], (scores["fog"] + scores["rotate"]) / 2)


def test_paired_scores_of_0_1_outcomes_are_mcnemar_exactly(rng):
    candidate, baseline = rng.rand(300) < 0.8, rng.rand(300) < 0.7
    scores = PairedScores.of(candidate.astype(float), baseline.astype(float)).test()
    counts = PairedCounts.of(
        {"clean": candidate, "worst": candidate}, {"clean": baseline, "worst": baseline}
    ).test("clean")
    assert scores.pop("change_interval") == pytest.approx(counts.pop("change_interval"))
    assert scores == pytest.approx(counts)


def test_paired_scores_merge_and_count_the_examples_that_differ():
    candidate = np.array([1.0, 0.5, 0.5, 1.0, 0.0, 1.0])
    baseline = np.array([0.5, 0.5, 1.0, 0.0, 0.0, 0.5])
    whole = PairedScores.of(candidate, baseline)
    merged = PairedScores.merge([PairedScores.of(candidate[:2], baseline[:2]),
                                 PairedScores.of(candidate[2:], baseline[2:])])  # fmt: skip
    assert merged == whole
    test = whole.test()
    assert (test["baseline_only"], test["candidate_only"]) == (1, 3)
    assert test["change"] == pytest.approx(candidate.mean() - baseline.mean())


def _candidate(mean, worst=0.3):
    return Figures.of({
        "num_examples": 1000,
        "clean_accuracy": 0.99,
        "worst_case_robust_accuracy": 0.9,
        "attacks": {},
        "corruption_mean": mean,
        "corruption_mean_interval": [mean - 0.03, mean + 0.03],
        "corruption_worst": worst,
        "corruption_worst_interval": [worst - 0.03, worst + 0.03],
        "corruption_worst_name": "fog",
    })  # fmt: skip


THRESHOLDS = ThresholdConfig(
    min_clean_accuracy=0.9,
    min_worst_case_accuracy=0.5,
    min_robust_accuracy={},
    min_corruption_mean=0.8,
    min_corruption_worst=0.4,
    max_corruption_drop=0.02,
)


def _rules(results):
    return {rule.rule: rule for rule in results}


def test_corruption_floors_judge_the_mean_and_the_worst_corruption():
    rules = _rules(evaluate_rules(_candidate(0.85, worst=0.3), THRESHOLDS))
    assert rules["min_corruption_mean"].passed
    assert not rules["min_corruption_worst"].passed
    assert "worst corruption (fog)" in rules["min_corruption_worst"].message
    strict = ThresholdConfig(**{**THRESHOLDS.__dict__, "policy": "lower_bound"})
    assert not _rules(evaluate_rules(_candidate(0.82), strict))["min_corruption_mean"].passed


def test_no_corruption_rules_when_no_corruption_was_judged():
    metrics = {"num_examples": 1, "clean_accuracy": 0.99, "worst_case_robust_accuracy": 0.9}
    rules = evaluate_rules(Figures.of(metrics), THRESHOLDS)
    assert not any("corruption" in r.rule for r in rules)


@pytest.mark.parametrize("p_value, passed", [(0.001, False), (0.4, True)])
def test_a_drop_beyond_the_allowed_one_refuses_only_when_significant(p_value, passed):
    test = {"change": -0.05, "change_interval": [-0.08, -0.02], "p_value": p_value,
            "baseline_only": 60, "candidate_only": 10}  # fmt: skip
    rules = _rules(
        evaluate_rules(
            _candidate(0.85, worst=0.5), THRESHOLDS, _candidate(0.9, worst=0.5),
            paired_tests={"corruption_mean": test},
        )
    )  # fmt: skip
    assert rules["max_corruption_drop"].passed is passed
    assert "drop +0.0500, allowed 0.0200" in rules["max_corruption_drop"].message
