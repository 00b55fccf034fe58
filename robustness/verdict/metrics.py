"""Robustness metrics computed from merged counts, and a reader of the metrics dictionary.
Pure NumPy, no TF.

``to_metrics`` turns ``counts.RobustnessCounts`` into exact ratios of the merged totals, each
accuracy with its 95% Wilson interval.
"""

from typing import List

from robustfx.robustness.verdict.corruption_metrics import corruption_metrics
from robustfx.robustness.verdict.counts import RobustnessCounts, threat_radius
from robustfx.robustness.verdict.statistics import wilson_interval


def _ratio(numerator: float, denominator: float) -> float:
    return float(numerator) / denominator if denominator else float("nan")


def to_metrics(counts: RobustnessCounts, class_names: List[str]) -> dict:
    """The JSON metrics of one model.

    Robust accuracy counts every example (a misclassified clean example stays wrong); the
    attack success rate is over examples that were correct before the attack.
    """
    if counts.total == 0:
        raise ValueError("no examples were evaluated: the evaluated split is empty")
    per_class = _per_class(class_names, counts.per_class_total)
    metrics = {
        "num_examples": counts.total,
        **_accuracy("clean_accuracy", counts.clean_correct, counts.total),
        **per_class("per_class_clean_accuracy", counts.per_class_clean_correct),
        "attacks": {},
        # Reported apart from the white-box numbers: a weaker, transfer-only test.
        "transfer_accuracy": _ratio(counts.transfer_correct, counts.transfer_total)
        if counts.transfer_total
        else None,
    }
    metrics.update(_accuracy("worst_case_robust_accuracy", counts.worst_correct, counts.total))
    metrics.update(per_class("per_class_worst_case_accuracy", counts.per_class_worst_correct))
    metrics.update(corruption_metrics(counts.corruptions, counts.total))
    if counts.certified:  # the verifier's lower bound, at the threat model and each radius
        certified = counts.certified[threat_radius(counts.certified)]
        metrics.update(_accuracy("certified_accuracy", certified, counts.total))
        metrics.update(
            per_class("per_class_certified_accuracy", counts.per_class_certified_correct)
        )
        metrics["certified_by_radius"] = {
            radius: _ratio(counts.certified[radius], counts.total)
            for radius in sorted(counts.certified, key=float)
        }
        metrics["certified_broken"] = counts.certified_broken
    # In cascade order: each attack's accuracy counts examples that survived it and every
    # earlier attack; 'share' is the fraction of all examples it broke that no earlier one had.
    metrics["cascade"] = [
        {
            "attack": name,
            **_accuracy("robust_accuracy", step.correct, counts.total),
            "broken": step.broken,
            "share": _ratio(step.broken, counts.total),
            "max_perturbation_norm": step.norm_max,
            **per_class("per_class_robust_accuracy", step.per_class_correct),
        }
        for name, step in counts.cascade.items()
    ]
    for name, attack in sorted(counts.attacks.items()):
        robust = _ratio(attack.correct, counts.total)
        noise = _ratio(attack.noise_correct, counts.total)
        metrics["attacks"][name] = {
            **_accuracy("robust_accuracy", attack.correct, counts.total),
            "attack_success_rate": _ratio(attack.flipped, counts.clean_correct),
            "noise_accuracy": noise,
            # Random noise hurting more than the attack means the gradients mislead the
            # attacker (gradient masking): the robust accuracy is then not trustworthy.
            "gradient_masking_suspected": bool(noise < robust),
            "mean_perturbation_norm": _ratio(attack.norm_sum, counts.total),
            "max_perturbation_norm": attack.norm_max,
            **per_class("per_class_robust_accuracy", attack.per_class_correct),
        }
    return metrics


def _accuracy(key: str, correct: int, total: int) -> dict:
    """``{key: accuracy, key + '_interval': [low, high]}`` (95% Wilson interval)."""
    return {key: _ratio(correct, total), f"{key}_interval": list(wilson_interval(correct, total))}


def _per_class(class_names: List[str], totals: List[int]):
    """``per_class(key, correct)`` -> ``{key: {class: accuracy}, key + '_interval':
    {class: [low, high]}}``."""

    def per_class(key: str, correct: List[int]) -> dict:
        rows = list(zip(class_names, correct, totals, strict=True))
        return {
            key: {name: _ratio(right, total) for name, right, total in rows},
            f"{key}_interval": {
                name: list(wilson_interval(right, total)) for name, right, total in rows
            },
        }

    return per_class


def attack_metrics(metrics: dict, name: str) -> dict:
    """One attack's entry: its cascade step when it is in the cascade, else its own."""
    for step in metrics["cascade"]:
        if step["attack"] == name:
            return step
    return metrics["attacks"][name]
