"""The blessing rules as early-deciding rules: the same names as ``evaluate_rules``, and
per-example figures whose means are the full evaluation's metrics."""

import numpy as np
import pytest

from robustfx.base.evaluation_config import ThresholdConfig
from robustfx.robustness.verdict import counts as rc
from robustfx.robustness.verdict import sequential as seq
from robustfx.robustness.verdict.figures import Figures
from robustfx.robustness.verdict.metrics import to_metrics
from robustfx.robustness.verdict.rules import evaluate_rules
from robustfx.robustness.verdict.sequential_plan import plan_rounds
from robustfx.robustness.verdict.sequential_rules import (
    CERTIFIED,
    CLEAN,
    CORRUPTION_MEAN,
    WORST,
    corruption_figure,
    early_rules,
    per_example_figures,
    robust_figure,
)

ATTACK = "fgsm_linf_0.2"
CORRUPTIONS = ("fog", "translate")
THRESHOLDS = ThresholdConfig(min_robust_accuracy={ATTACK: 0.5})
N, CLASSES = 300, 3


def _model(rng, labels, accuracy):
    """One model's predictions on ``labels``' examples: clean, under the attack, under each
    corruption's severities."""

    def predict(rate):
        return np.where(rng.random(N) < rate, labels, (labels + 1) % CLASSES)

    attacked = {
        ATTACK: {
            "predictions": predict(accuracy - 0.3),
            "noise_predictions": predict(accuracy),
            "norms": np.full(N, 0.2),
        }
    }
    corrupted = {name: {s: predict(accuracy - 0.1 * s) for s in (1, 2, 3)} for name in CORRUPTIONS}
    return labels, predict(accuracy), attacked, corrupted


def _metrics_and_figures(labels, clean, attacked, corrupted):
    """Metrics and per-example figures, with the verifier's certificates on half of the
    examples that survived the attack."""
    outcomes = rc.survivors(labels, clean, attacked, worst_names=(ATTACK,))
    outcomes[CERTIFIED] = outcomes["worst"] & (np.arange(N) % 2 == 0)
    counts = rc.count_batch(
        labels, clean, attacked, CLASSES, worst_names=(ATTACK,), corrupted=corrupted,
        certified={"0.2": outcomes[CERTIFIED], "0.1": outcomes["worst"]},
    )  # fmt: skip
    figures = per_example_figures(
        outcomes,
        robust={ATTACK: attacked[ATTACK]["predictions"] == labels},
        corruption_scores=rc.corruption_scores(labels, corrupted),
    )
    return to_metrics(counts, [str(c) for c in range(CLASSES)]), figures


def test_each_figures_mean_is_the_full_evaluations_metric(rng):
    metrics, figures = _metrics_and_figures(*_model(rng, rng.randint(0, CLASSES, N), 0.9))
    assert figures[CLEAN].mean() == pytest.approx(metrics["clean_accuracy"])
    assert figures[WORST].mean() == pytest.approx(metrics["worst_case_robust_accuracy"])
    assert figures[CERTIFIED].mean() == pytest.approx(metrics["certified_accuracy"])
    robust = metrics["attacks"][ATTACK]["robust_accuracy"]
    assert figures[robust_figure(ATTACK)].mean() == pytest.approx(robust)
    assert figures[CORRUPTION_MEAN].mean() == pytest.approx(metrics["corruption_mean"])
    for name in CORRUPTIONS:
        by_name = metrics["corruption_by_name"][name]
        assert figures[corruption_figure(name)].mean() == pytest.approx(by_name)


def test_early_rules_are_the_blessing_rules_by_name_and_threshold(rng):
    labels = rng.randint(0, CLASSES, N)
    candidate, _ = _metrics_and_figures(*_model(rng, labels, 0.9))
    baseline, _ = _metrics_and_figures(*_model(rng, labels, 0.85))
    full = evaluate_rules(Figures.of(candidate), THRESHOLDS, baseline=Figures.of(baseline))
    early = early_rules(THRESHOLDS, CORRUPTIONS, with_baseline=True, certified=True)
    assert [rule.name for rule in early] == [result.rule for result in full]
    assert "min_certified_accuracy" in floors_of(early)
    floors = {r.rule: r.threshold for r in full if r.rule.startswith("min_")}
    assert {r.name: r.threshold for r in early if r.name.startswith("min_")} == floors
    assert [r.name for r in early_rules(THRESHOLDS)] == [
        "min_clean_accuracy",
        "min_worst_case_accuracy",
        f"min_robust_accuracy[{ATTACK}]",
    ]


def floors_of(rules):
    return [rule.name for rule in rules if rule.name.startswith("min_")]


def test_every_early_rule_is_judged_on_the_figures_of_both_models(rng):
    labels = rng.randint(0, CLASSES, N)
    _, candidate = _metrics_and_figures(*_model(rng, labels, 0.99))
    _, baseline = _metrics_and_figures(*_model(rng, labels, 0.9))
    rules = early_rules(THRESHOLDS, CORRUPTIONS, with_baseline=True, certified=True)
    plan = plan_rounds(N, 1)
    records = seq.judge_round(rules, plan, 1, 0.05, candidate, baseline)
    assert list(records) == [rule.name for rule in rules]
    assert {record.examples for record in records.values()} == {128}
    assert records["min_clean_accuracy"].verdict == seq.PASS  # 0.99 against 0.9
