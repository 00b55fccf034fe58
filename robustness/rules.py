"""The blessing rules: absolute thresholds, change against the baseline, and TFMA's verdict.

Pure functions over the metric dictionaries of ``robustness_metrics.to_metrics``. Each rule
yields a ``RuleResult`` with its value, threshold and verdict, so the blessing artifact, the
printed reason and the CI gate all tell the same story.
"""

import dataclasses
import math
from typing import List, Optional, Sequence

from robustfx.base.evaluation_config import ThresholdConfig


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


def _at_least(rule: str, label: str, value: float, threshold: float) -> RuleResult:
    passed = not math.isnan(value) and value >= threshold
    verdict = "passes" if passed else f"FAILS, short by {threshold - value:.4f}"
    return RuleResult(
        rule, value, threshold, passed, f"{label} {value:.4f} vs minimum {threshold:.4f}: {verdict}"
    )


def _drop_at_most(rule: str, label: str, value: float, base: float, max_drop: float) -> RuleResult:
    drop = base - value
    passed = not math.isnan(drop) and drop <= max_drop + 1e-12
    verdict = "passes" if passed else f"FAILS, over by {drop - max_drop:.4f}"
    return RuleResult(
        rule,
        value,
        base - max_drop,
        passed,
        f"{label} {value:.4f} vs baseline {base:.4f} (drop {drop:+.4f}, allowed {max_drop:.4f}): "
        f"{verdict}",
    )


def evaluate_rules(
    candidate: dict,
    thresholds: ThresholdConfig,
    baseline: Optional[dict] = None,
    tfma_blessed: Optional[bool] = None,
    validity: Sequence[RuleResult] = (),
) -> List[RuleResult]:
    """Every rule that applies, in a stable order.

    Args:
      candidate: the candidate's metrics.
      thresholds: absolute floors and allowed drops.
      baseline: the blessed baseline's metrics on the same examples and attacks; None on the
        first run, when only the absolute rules apply.
      tfma_blessed: TFMA Evaluator's verdict; None when TFMA did not run.
      validity: the evaluation's own validity checks; a failed one refuses the blessing.
    """
    results = [
        _at_least(
            "min_clean_accuracy",
            "clean accuracy",
            candidate["clean_accuracy"],
            thresholds.min_clean_accuracy,
        )
    ]
    results.append(
        _at_least(
            "min_worst_case_accuracy",
            "worst-case robust accuracy",
            candidate["worst_case_robust_accuracy"],
            thresholds.min_worst_case_accuracy,
        )
    )
    for name, floor in sorted(thresholds.min_robust_accuracy.items()):
        results.append(
            _at_least(
                f"min_robust_accuracy[{name}]",
                f"robust accuracy {name}",
                candidate["attacks"][name]["robust_accuracy"],
                floor,
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
            )
        )
        results.append(
            _drop_at_most(
                "max_robust_drop",
                "worst-case robust accuracy",
                candidate["worst_case_robust_accuracy"],
                baseline["worst_case_robust_accuracy"],
                thresholds.max_robust_drop,
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


def is_blessed(results: List[RuleResult]) -> bool:
    """Blessed only when every rule passes."""
    return bool(results) and all(result.passed for result in results)


def failure_reasons(results: List[RuleResult]) -> List[str]:
    return [result.message for result in results if not result.passed]
