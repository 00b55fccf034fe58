"""The verdict of an evaluation that decided early: rules decided by their bounds say so,
settled rules keep the full rule's result, rules left undecided by another failure are not
passed, and the headline figures carry the intervals valid at the stopping round."""

import dataclasses

import numpy as np
import pytest

from robustfx.base.evaluation_config import ThresholdConfig
from robustfx.robustness.verdict import counts as rc
from robustfx.robustness.verdict import sequential as seq
from robustfx.robustness.verdict.figures import Figures
from robustfx.robustness.verdict.metrics import to_metrics
from robustfx.robustness.verdict.outcome import CANDIDATE, EvaluationResult, Verdict
from robustfx.robustness.verdict.rules import evaluate_rules, is_blessed
from robustfx.robustness.verdict.sequential_plan import plan_rounds
from robustfx.robustness.verdict.sequential_result import (
    decided_early,
    undecided_rules,
    with_intervals,
)
from robustfx.robustness.verdict.sequential_rules import early_rules, per_example_figures

ATTACK, CORRUPTIONS, N, CLASSES = "fgsm_linf_0.2", ("fog", "rotate"), 600, 3


def _judged(rng, clean, robust):
    """A model's metrics record on N examples and its per-example figures."""
    labels = rng.randint(0, CLASSES, N)

    def predict(rate):
        return np.where(rng.random(N) < rate, labels, (labels + 1) % CLASSES)

    predictions = predict(clean)
    attacked = {
        ATTACK: {
            "predictions": np.where(rng.random(N) < robust, predictions, (labels + 2) % CLASSES),
            "noise_predictions": predictions,
            "norms": np.full(N, 0.2),
        }
    }
    corrupted = {name: {s: predict(clean - 0.1 * s) for s in (1, 2)} for name in CORRUPTIONS}
    counts = rc.count_batch(
        labels, predictions, attacked, CLASSES, worst_names=(ATTACK,), corrupted=corrupted
    )
    figures = per_example_figures(
        rc.survivors(labels, predictions, attacked, worst_names=(ATTACK,)),
        robust={ATTACK: attacked[ATTACK]["predictions"] == labels},
        corruption_scores=rc.corruption_scores(labels, corrupted),
    )
    return to_metrics(counts, [str(c) for c in range(CLASSES)]), figures


def _result(metrics, thresholds):
    """What ``evaluation.conclude`` gives: the full rules on the judged examples."""
    figures = Figures.of(metrics)
    rules = evaluate_rules(figures, thresholds)
    verdict = Verdict(
        figures, None, (ATTACK,), "custom", "quick", tuple(rules), True, is_blessed(rules),
        advice=("a line of advice",),
    )  # fmt: skip
    return EvaluationResult(verdict, {CANDIDATE: metrics})


def _run(thresholds, figures, plan, rounds):
    records = None
    for round_number in range(1, rounds + 1):
        records = seq.judge_round(
            early_rules(thresholds, CORRUPTIONS), plan, round_number, 0.05, figures, None, records
        )
    return records, seq.gate_step(records, plan, rounds)


def test_rules_decided_early_say_where_and_on_how_many_examples(rng):
    thresholds = ThresholdConfig(
        min_clean_accuracy=0.5,
        min_worst_case_accuracy=0.2,
        min_corruption_mean=0.3,
        min_corruption_worst=0.1,
        min_robust_accuracy={ATTACK: 0.2},
    )
    metrics, figures = _judged(rng, clean=0.95, robust=0.6)
    plan = plan_rounds(N, 3)
    records, step = _run(thresholds, figures, plan, 1)
    assert step == "pass"
    result = decided_early(_result(metrics, thresholds), records, plan, 1, step, 0.05)
    assert result.verdict.blessed and result.verdict.advice == ()  # not every example
    messages = {rule.rule: rule.message for rule in result.verdict.rules}
    assert "on 128 of 600 examples" in messages["min_clean_accuracy"]
    assert "passes, proven at round 1 of 4" in messages[f"min_robust_accuracy[{ATTACK}]"]
    record = result.decided_early
    assert (record["stopped_after_round"], record["examples"]) == (1, 128)
    assert record["stopped_because"] == "every rule passed"
    assert [r["rule"] for r in record["rules"]] == list(records)
    # The headline figures carry their rules' intervals; the rest keep the fixed-n ones.
    candidate = result.verdict.candidate
    assert candidate.clean_accuracy.interval == records["min_clean_accuracy"].interval
    assert candidate.corruption_worst.interval == records["min_corruption_worst"].interval
    assert candidate.robust_accuracy[ATTACK].interval == (
        records[f"min_robust_accuracy[{ATTACK}]"].interval
    )
    by_name = Figures.of(metrics).corruption_by_name
    assert candidate.corruption_by_name == by_name
    assert EvaluationResult.from_dict(result.to_dict()).decided_early == record


def test_a_failure_leaves_the_undecided_rules_unpassed_and_named(rng):
    thresholds = ThresholdConfig(
        min_clean_accuracy=0.99, min_worst_case_accuracy=0.55, min_corruption_mean=0.1
    )
    metrics, figures = _judged(rng, clean=0.8, robust=0.7)  # worst case about 0.56
    plan = plan_rounds(N, 4)
    records, step = _run(thresholds, figures, plan, 1)
    assert step == "fail" and records["min_worst_case_accuracy"].verdict == seq.UNDECIDED
    result = decided_early(_result(metrics, thresholds), records, plan, 1, step, 0.05)
    assert not result.verdict.blessed
    rules = {rule.rule: rule for rule in result.verdict.rules}
    assert not rules["min_clean_accuracy"].passed
    worst = rules["min_worst_case_accuracy"]
    assert not worst.passed and "NOT DECIDED" in worst.message
    assert "when min_clean_accuracy failed" in worst.message
    assert undecided_rules(result.decided_early) == {"min_worst_case_accuracy"}
    assert result.decided_early["stopped_because"] == "min_clean_accuracy failed"


def test_settled_rules_keep_the_full_rules_result_on_every_example(rng):
    metrics, figures = _judged(rng, clean=0.8, robust=0.7)
    clean = float(np.mean(figures["clean"]))
    thresholds = ThresholdConfig(min_clean_accuracy=clean, min_worst_case_accuracy=0.1)
    plan = plan_rounds(N, 5)
    records, step = _run(thresholds, figures, plan, plan.rounds)
    assert step == "settle"
    fixed = _result(metrics, thresholds)
    full = {rule.rule: rule.passed for rule in fixed.verdict.rules}
    settled = seq.settle(records, full, plan)
    result = decided_early(fixed, settled, plan, plan.rounds, step, 0.05)
    rule = {rule.rule: rule for rule in result.verdict.rules}["min_clean_accuracy"]
    assert rule.passed is full["min_clean_accuracy"] is True
    assert "as --full judges it" in rule.message
    assert result.verdict.advice == ("a line of advice",)  # every example was judged
    assert "the last round" in result.decided_early["stopped_because"]


def test_intervals_replace_only_the_figures_a_floor_judges(rng):
    metrics, figures = _judged(rng, clean=0.9, robust=0.6)
    record = seq.RuleRecord("min_clean_accuracy", "pass", 1, 128, 0.9, (0.8, 0.95), 0.5, "b")
    drop = dataclasses.replace(record, rule="max_clean_drop", interval=(-0.1, 0.1))
    replaced = with_intervals(metrics, {"min_clean_accuracy": record, "max_clean_drop": drop})
    assert replaced["clean_accuracy_interval"] == [0.8, 0.95]
    assert metrics["clean_accuracy_interval"] != [0.8, 0.95]  # a copy
    unchanged = {k: v for k, v in replaced.items() if k != "clean_accuracy_interval"}
    assert unchanged == {k: v for k, v in metrics.items() if k != "clean_accuracy_interval"}
    with pytest.raises(ValueError, match="not in the rule table"):
        with_intervals(metrics, {"no_such_rule": dataclasses.replace(record, rule="no_such")})
