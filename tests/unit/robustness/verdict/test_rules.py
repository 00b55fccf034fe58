"""Blessing rules: absolute floors (the worst case over the suite, not one attack), change
against the baseline on the worst case, TFMA and the validity checks folded in."""

import dataclasses

import pytest

from robustfx.base.evaluation_config import ThresholdConfig
from robustfx.robustness.verdict.figures import Estimate, Figures
from robustfx.robustness.verdict.rule_table import RULES, Drop, Floor
from robustfx.robustness.verdict.rules import (
    RuleResult,
    evaluate_rules,
    failure_reasons,
    is_blessed,
)

THRESHOLDS = ThresholdConfig(
    min_clean_accuracy=0.9,
    min_worst_case_accuracy=0.7,
    min_robust_accuracy={"fgsm_linf_0.2": 0.75},
    max_clean_drop=0.01,
    max_robust_drop=0.02,
)


def _metrics(clean, worst, fgsm=0.9):
    return Figures(
        num_examples=1000,
        clean_accuracy=Estimate(clean),
        worst_case_robust_accuracy=Estimate(worst),
        robust_accuracy={"fgsm_linf_0.2": Estimate(fgsm)},
    )


def test_first_run_without_baseline_uses_absolute_rules_only():
    rules = evaluate_rules(_metrics(0.95, 0.8), THRESHOLDS)
    assert [rule.rule for rule in rules] == [
        "min_clean_accuracy",
        "min_worst_case_accuracy",
        "min_robust_accuracy[fgsm_linf_0.2]",
    ]
    assert is_blessed(rules)


def test_the_worst_case_decides_even_when_fgsm_passes():
    rules = evaluate_rules(_metrics(0.95, 0.65, fgsm=0.95), THRESHOLDS)
    assert not is_blessed(rules)
    (reason,) = failure_reasons(rules)
    assert "worst-case robust accuracy" in reason and "0.6500" in reason
    assert "short by 0.0500" in reason


def test_baseline_regression_beyond_change_threshold_is_not_blessed():
    candidate, baseline = _metrics(0.95, 0.80), _metrics(0.955, 0.85)
    rules = evaluate_rules(candidate, THRESHOLDS, baseline=baseline)
    assert not is_blessed(rules)
    (reason,) = failure_reasons(rules)
    assert reason.startswith("worst-case robust accuracy 0.8000 vs baseline 0.8500")
    assert "over by 0.0300" in reason
    failed = [rule for rule in rules if not rule.passed]
    assert failed[0].rule == "max_robust_drop"
    assert failed[0].threshold == pytest.approx(0.83)


def test_small_regression_within_tolerance_passes():
    rules = evaluate_rules(_metrics(0.95, 0.84), THRESHOLDS, baseline=_metrics(0.955, 0.85))
    assert is_blessed(rules)


def test_tfma_verdict_is_folded_in():
    assert not is_blessed(evaluate_rules(_metrics(0.99, 0.9), THRESHOLDS, tfma_blessed=False))
    assert is_blessed(evaluate_rules(_metrics(0.99, 0.9), THRESHOLDS, tfma_blessed=True))


def test_a_failed_validity_check_refuses_the_blessing():
    check = RuleResult("validity:noise_weaker_than_attack", 0.5, 0.8, False, "noise: FAILS")
    rules = evaluate_rules(_metrics(0.99, 0.9), THRESHOLDS, validity=[check])
    assert not is_blessed(rules)
    assert failure_reasons(rules) == ["noise: FAILS"]


def test_nan_metric_never_passes():
    assert not is_blessed(evaluate_rules(_metrics(float("nan"), 0.9), THRESHOLDS))


def test_every_row_of_the_table_names_a_figure_and_a_threshold():
    figures = {field.name for field in dataclasses.fields(Figures)}
    thresholds = {field.name for field in dataclasses.fields(ThresholdConfig)}
    for row in RULES:
        assert row.figure in figures and row.threshold in thresholds, row
    assert {type(row) for row in RULES} == {Floor, Drop}


def test_the_figures_read_back_from_a_metrics_record_are_the_rules_input():
    record = {
        "num_examples": 200,
        "clean_accuracy": 0.95,
        "clean_accuracy_interval": [0.91, 0.97],
        "worst_case_robust_accuracy": 0.8,
        "worst_case_robust_accuracy_interval": [0.74, 0.85],
        "cascade": [{"attack": "apgdce20_linf_0.2", "robust_accuracy": 0.81}],
        "attacks": {"fgsm_linf_0.2": {"robust_accuracy": 0.9}},
    }
    figures = Figures.of(record)
    assert figures.clean_accuracy == Estimate(0.95, (0.91, 0.97))
    assert list(figures.robust_accuracy) == ["apgdce20_linf_0.2", "fgsm_linf_0.2"]
    assert figures.corruption_mean is None and figures.corruption_by_name == {}
    assert list(figures.estimates()) == ["clean_accuracy", "worst_case_robust_accuracy"]
    rules = evaluate_rules(figures, THRESHOLDS)
    assert [r.value for r in rules] == [0.95, 0.8, 0.9]


def test_the_certified_floor_applies_only_when_the_verifier_ran():
    record = {"num_examples": 100, "clean_accuracy": 0.9, "worst_case_robust_accuracy": 0.6}
    floors = ThresholdConfig(min_certified_accuracy=0.5)
    names = [r.rule for r in evaluate_rules(Figures.of(record), floors)]
    assert "min_certified_accuracy" not in names
    certified = {**record, "certified_accuracy": 0.4, "certified_accuracy_interval": [0.3, 0.5]}
    (rule,) = [
        r for r in evaluate_rules(Figures.of(certified), floors)
        if r.rule == "min_certified_accuracy"
    ]  # fmt: skip
    assert not rule.passed and rule.value == 0.4 and "certified accuracy 0.4000" in rule.message
