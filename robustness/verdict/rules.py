"""The blessing rules: absolute thresholds, change against the baseline, and TFMA's verdict.

Pure functions over the metric dictionaries of ``metrics.to_metrics``. Each rule
yields a ``RuleResult`` with its value, threshold and verdict, so the blessing artifact, the
printed reason and the CI gate all tell the same story.
"""

import dataclasses
import math
from typing import List, Mapping, Optional, Sequence

from robustfx.base.evaluation_config import ThresholdConfig
from robustfx.robustness.verdict.statistics import PairedCounts, examples_needed


@dataclasses.dataclass(frozen=True)
class RuleResult:
    """One evaluated rule."""

    rule: str  # e.g. 'min_robust_accuracy[fgsm_linf_0.2]'
    value: Optional[float]
    threshold: Optional[float]
    passed: bool
    message: str

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def _interval(metrics: Mapping, key: str) -> Sequence[float]:
    value = metrics[key]
    return metrics.get(f"{key}_interval") or (value, value)


def _at_least(
    rule: str, label: str, metrics: Mapping, key: str, threshold: float, policy: str
) -> RuleResult:
    """``metrics[key] >= threshold``, judged on the point estimate or, with the
    'lower_bound' policy, on the lower end of its 95% interval."""
    value = metrics[key]
    low, high = _interval(metrics, key)
    judged = low if policy == "lower_bound" else value
    passed = not math.isnan(judged) and judged >= threshold
    verdict = "passes" if passed else f"FAILS, short by {threshold - judged:.4f}"
    on = " (its interval's lower bound must clear it)" if policy == "lower_bound" else ""
    return RuleResult(
        rule,
        value,
        threshold,
        passed,
        f"{label} {value:.4f} (95% interval {low:.4f}-{high:.4f}) vs minimum "
        f"{threshold:.4f}{on}: {verdict}",
    )


def _drop_at_most(
    rule: str,
    label: str,
    value: float,
    base: float,
    max_drop: float,
    test: Optional[Mapping] = None,
    significance: float = 0.05,
) -> RuleResult:
    """The candidate may trail the baseline by ``max_drop``; a larger drop refuses it only
    when the paired test on the same examples finds it significant."""
    drop = base - value
    within = not math.isnan(drop) and drop <= max_drop + 1e-12
    detail = f"drop {drop:+.4f}, allowed {max_drop:.4f}"
    significant = True
    if test is not None:
        low, high = (-test["change_interval"][1], -test["change_interval"][0])
        significant = test["p_value"] < significance
        detail += (
            f"; 95% interval of the drop {low:+.4f} to {high:+.4f}, McNemar p={test['p_value']:.3g}"
            f" on {test['baseline_only']} vs {test['candidate_only']} discordant examples"
        )
    passed = within or not significant
    if passed and not within:
        verdict = f"passes: the drop is not significant at {significance:g}"
    else:
        verdict = "passes" if passed else f"FAILS, over by {drop - max_drop:.4f}"
    return RuleResult(
        rule, value, base - max_drop, passed, f"{label} {value:.4f} vs baseline {base:.4f} "
        f"({detail}): {verdict}"
    )  # fmt: skip


def evaluate_rules(
    candidate: dict,
    thresholds: ThresholdConfig,
    baseline: Optional[dict] = None,
    tfma_blessed: Optional[bool] = None,
    validity: Sequence[RuleResult] = (),
    paired: Optional[PairedCounts] = None,
    baseline_skipped: Optional[str] = None,
    corruption_test: Optional[Mapping] = None,
) -> List[RuleResult]:
    """Every rule that applies, in a stable order.

    Args:
      candidate: the candidate's metrics.
      thresholds: absolute floors and allowed drops.
      baseline: the blessed baseline's metrics on the same examples and attacks; None on the
        first run, when only the absolute rules apply.
      tfma_blessed: TFMA Evaluator's verdict; None when TFMA did not run.
      validity: the evaluation's own validity checks; a failed one refuses the blessing.
      paired: candidate and baseline outcomes on the same examples, for the paired tests of
        the change rules.
      baseline_skipped: why a production baseline could not be evaluated, if it could not.
      corruption_test: the paired test of the mean corruption accuracy against the baseline
        on the same corrupted examples (``PairedScores.test``).

    The corruption rules apply when natural corruptions were judged (a set other than
    ``none``): floors on the mean and the worst corruption, and the drop of the mean.
    """
    policy = thresholds.policy
    results = [
        _at_least(
            "min_clean_accuracy",
            "clean accuracy",
            candidate,
            "clean_accuracy",
            thresholds.min_clean_accuracy,
            policy,
        )
    ]
    results.append(
        _at_least(
            "min_worst_case_accuracy",
            "worst-case robust accuracy",
            candidate,
            "worst_case_robust_accuracy",
            thresholds.min_worst_case_accuracy,
            policy,
        )
    )
    corruptions = "corruption_mean" in candidate
    if corruptions:
        worst = candidate["corruption_worst_name"]
        for key, label, floor in (
            ("corruption_mean", "mean corruption accuracy", thresholds.min_corruption_mean),
            (
                "corruption_worst",
                f"worst corruption ({worst}) accuracy",
                thresholds.min_corruption_worst,
            ),
        ):
            results.append(_at_least(f"min_{key}", label, candidate, key, floor, policy))
    for name, floor in sorted(thresholds.min_robust_accuracy.items()):
        results.append(
            _at_least(
                f"min_robust_accuracy[{name}]",
                f"robust accuracy {name}",
                candidate["attacks"][name],
                "robust_accuracy",
                floor,
                policy,
            )
        )
    if baseline is not None:
        results.append(
            _drop_at_most(
                "max_clean_drop",
                "clean accuracy",
                candidate["clean_accuracy"],
                baseline["clean_accuracy"],
                thresholds.max_clean_drop,
                paired.test("clean") if paired else None,
                thresholds.significance,
            )
        )
        results.append(
            _drop_at_most(
                "max_robust_drop",
                "worst-case robust accuracy",
                candidate["worst_case_robust_accuracy"],
                baseline["worst_case_robust_accuracy"],
                thresholds.max_robust_drop,
                paired.test("worst") if paired else None,
                thresholds.significance,
            )
        )
    if baseline is not None and corruptions and "corruption_mean" in baseline:
        results.append(
            _drop_at_most(
                "max_corruption_drop",
                "mean corruption accuracy",
                candidate["corruption_mean"],
                baseline["corruption_mean"],
                thresholds.max_corruption_drop,
                corruption_test,
                thresholds.significance,
            )
        )
    if baseline_skipped:
        required = thresholds.require_comparison
        results.append(
            RuleResult(
                "baseline_comparison",
                None,
                None,
                not required,
                f"comparison with the production baseline SKIPPED: {baseline_skipped}; "
                + (
                    "refused, since --require-baseline-comparison is set"
                    if required
                    else "judged on the absolute rules only"
                ),
            )
        )
    results += list(validity)
    if tfma_blessed is not None:
        results.append(
            RuleResult(
                "tfma_blessed",
                float(tfma_blessed),
                1.0,
                bool(tfma_blessed),
                "TFMA Evaluator " + ("blessed the model" if tfma_blessed else "did NOT bless it"),
            )
        )
    return results


def sample_size_advice(candidate: Mapping, thresholds: ThresholdConfig) -> List[str]:
    """A line for each floor that the accuracy's 95% interval contains: the split is too
    small to tell the two apart, and about this many examples would."""
    advice = []
    floors = {
        "clean accuracy": ("clean_accuracy", thresholds.min_clean_accuracy),
        "worst-case robust accuracy": (
            "worst_case_robust_accuracy",
            thresholds.min_worst_case_accuracy,
        ),
    }
    if "corruption_mean" in candidate:
        floors["mean corruption accuracy"] = ("corruption_mean", thresholds.min_corruption_mean)
    for label, (key, floor) in floors.items():
        low, high = _interval(candidate, key)
        if low <= floor <= high:
            needed = examples_needed(candidate[key], floor)
            wanted = f"about {needed:,} examples would" if needed else "no sample size can"
            advice.append(
                f"{label} {candidate[key]:.4f} has a 95% interval {low:.4f}-{high:.4f} that "
                f"contains its floor {floor:.4f}: {candidate['num_examples']:,} examples "
                f"cannot tell them apart; {wanted}"
            )
    return advice


def is_blessed(results: List[RuleResult]) -> bool:
    """Blessed only when every rule passes."""
    return bool(results) and all(result.passed for result in results)


def failure_reasons(results: List[RuleResult]) -> List[str]:
    return [result.message for result in results if not result.passed]
