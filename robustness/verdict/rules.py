"""The blessing rules: absolute floors, change against the baseline, and TFMA's verdict.

Pure functions over typed ``Figures``. The floors and drops are the rows of
``rule_table.RULES``; each rule yields a ``RuleResult`` with its value, threshold and
verdict, so the blessing artifact, the printed reason and the CI gate all tell the same story.
"""

import dataclasses
import math
from typing import Iterator, List, Mapping, Optional, Sequence, Tuple

from robustfx.base.evaluation_config import ThresholdConfig
from robustfx.robustness.verdict.figures import Estimate, Figures
from robustfx.robustness.verdict.rule_table import RULES, Drop, Floor
from robustfx.robustness.verdict.statistics import examples_needed


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


def _at_least(
    rule: str, label: str, estimate: Estimate, threshold: float, policy: str
) -> RuleResult:
    """``estimate >= threshold``, judged on the point estimate or, with the 'lower_bound'
    policy, on the lower end of its 95% interval."""
    value = estimate.value
    low, high = estimate.bounds
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


def _floors(row: Floor, figures: Figures, thresholds: ThresholdConfig) -> Iterator[Tuple]:
    """(rule name, label, estimate, threshold) of each rule of a floor row that applies: one,
    or for a mapping threshold (by attack) one per entry, sorted by key."""
    found, threshold = getattr(figures, row.figure), getattr(thresholds, row.threshold)
    named = {field.name: getattr(figures, field.name) for field in dataclasses.fields(figures)}
    if isinstance(threshold, Mapping):
        for key, floor in sorted(threshold.items()):
            yield f"{row.threshold}[{key}]", row.label.format(key=key), found[key], floor
    elif found is not None:
        yield row.threshold, row.label.format(**named), found, threshold


def evaluate_rules(
    candidate: Figures,
    thresholds: ThresholdConfig,
    baseline: Optional[Figures] = None,
    tfma_blessed: Optional[bool] = None,
    validity: Sequence[RuleResult] = (),
    paired_tests: Optional[Mapping[str, dict]] = None,
    baseline_skipped: Optional[str] = None,
) -> List[RuleResult]:
    """Every rule that applies, in a stable order: the table's floors, its drops, the
    baseline comparison, the validity checks, TFMA.

    Args:
      candidate: the candidate's figures.
      thresholds: absolute floors and allowed drops.
      baseline: the blessed baseline's figures on the same examples and attacks; None on the
        first run, when only the floors apply.
      tfma_blessed: TFMA Evaluator's verdict; None when TFMA did not run.
      validity: the evaluation's own validity checks; a failed one refuses the blessing.
      paired_tests: candidate against baseline on the same examples, by the key a drop row
        names ('clean', 'worst', 'corruption_mean'); a drop without one is judged on its
        size alone.
      baseline_skipped: why a production baseline could not be evaluated, if it could not.
    """
    results = [
        _at_least(name, label, estimate, floor, thresholds.policy)
        for row in RULES
        if isinstance(row, Floor)
        for name, label, estimate, floor in _floors(row, candidate, thresholds)
    ]
    for row in RULES if baseline is not None else ():
        mine, theirs = getattr(candidate, row.figure), getattr(baseline, row.figure)
        if isinstance(row, Drop) and mine is not None and theirs is not None:
            results.append(
                _drop_at_most(
                    row.threshold,
                    row.label,
                    mine.value,
                    theirs.value,
                    getattr(thresholds, row.threshold),
                    (paired_tests or {}).get(row.paired_test),
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


def sample_size_advice(candidate: Figures, thresholds: ThresholdConfig) -> List[str]:
    """A line for each floor of the table marked for advice whose figure's 95% interval
    contains it: the split is too small to tell the two apart, and about this many examples
    would."""
    advice = []
    for row in RULES:
        if not (isinstance(row, Floor) and row.advice):
            continue
        for _, label, estimate, floor in _floors(row, candidate, thresholds):
            low, high = estimate.bounds
            if low <= floor <= high:
                needed = examples_needed(estimate.value, floor)
                wanted = f"about {needed:,} examples would" if needed else "no sample size can"
                advice.append(
                    f"{label} {estimate.value:.4f} has a 95% interval {low:.4f}-{high:.4f} "
                    f"that contains its floor {floor:.4f}: {candidate.num_examples:,} examples "
                    f"cannot tell them apart; {wanted}"
                )
    return advice


def is_blessed(results: List[RuleResult]) -> bool:
    """Blessed only when every rule passes."""
    return bool(results) and all(result.passed for result in results)


def failure_reasons(results: List[RuleResult]) -> List[str]:
    return [result.message for result in results if not result.passed]
