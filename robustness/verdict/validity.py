"""Is the evaluation itself valid? Checks from Carlini et al. 2019, "On Evaluating
Adversarial Robustness", computed on every evaluation from the candidate's metrics.

An attack that fails these checks is not finding the model's errors (gradient masking, a
broken attack, or a bug), so its robust accuracy is not evidence: the blessing refuses.
Each check is a ``RuleResult`` (value, threshold, verdict, message), like the blessing rules.
"""

from typing import List, Mapping, Sequence

from robustfx.base.attack_config import AttackConfig
from robustfx.base.evaluation_config import EvaluationConfig
from robustfx.robustness.verdict.figures import Figures
from robustfx.robustness.verdict.metrics import attack_metrics
from robustfx.robustness.verdict.rules import RuleResult

# Tolerances, in accuracy (fraction of examples).
ITERATIVE_SLACK = 0.01  # an iterative attack may trail FGSM by at most 1 point
MONOTONE_SLACK = 0.005  # accuracy may rise with epsilon by at most half a point (random starts)
CHANCE_SLACK = 0.0  # at a very large epsilon accuracy must reach chance or below
BLACK_BOX_SLACK = 0.03  # a black-box attack may break at most 3 points more than white-box ones


def _check(rule: str, value: float, threshold: float, passed: bool, message: str) -> RuleResult:
    verdict = "passes" if passed else "FAILS"
    return RuleResult(f"validity:{rule}", value, threshold, passed, f"{message}: {verdict}")


def _accuracy(metrics: Mapping, name: str) -> float:
    return attack_metrics(metrics, name)["robust_accuracy"]


def validity_checks(
    metrics: Mapping, config: EvaluationConfig, num_classes: int
) -> List[RuleResult]:
    """The checks on one model's metrics (those that apply to the suite, and the
    certificates' when the verifier ran)."""
    figures = Figures.of(metrics)
    cascade = config.cascade()
    first = next((a for a in cascade if a.uses_gradients), None)
    fgsm = config.fgsm_reference().name
    checks = []
    if first is not None:
        strong, weak = _accuracy(metrics, first.name), _accuracy(metrics, fgsm)
        checks.append(
            _check(
                "iterative_at_least_single_step",
                strong,
                weak + ITERATIVE_SLACK,
                strong <= weak + ITERATIVE_SLACK,
                f"{first.name} accuracy {strong:.4f} vs FGSM {weak:.4f}",
            )
        )
        checks += _epsilon_checks(metrics, figures, config, first, num_classes)
    checks.append(_black_box_check(metrics, cascade))
    noise = metrics["attacks"][fgsm]["noise_accuracy"]
    worst = figures.worst_case_robust_accuracy.value
    checks.append(
        _check(
            "noise_weaker_than_attack",
            noise,
            worst,
            noise >= worst,
            f"random noise at the same epsilon leaves {noise:.4f} correct vs {worst:.4f} "
            "under the attacks",
        )
    )
    if "certified_broken" in metrics:
        checks.append(_certificates_check(metrics))
    return checks


def _certificates_check(metrics: Mapping) -> RuleResult:
    """No example the verifier certified may fall to an attack: one that does proves the
    verifier (or the network it read) wrong, and then neither bound can be trusted."""
    broken = metrics["certified_broken"]
    return _check(
        "certificates_hold",
        float(broken),
        0.0,
        broken == 0,
        f"{broken} certified examples broken by an attack of the worst case",
    )


def _epsilon_checks(
    metrics: Mapping,
    figures: Figures,
    config: EvaluationConfig,
    first: AttackConfig,
    num_classes: int,
) -> List[RuleResult]:
    clean = figures.clean_accuracy.value
    curve = [(0.0, clean), (first.epsilon, _accuracy(metrics, first.name))]
    curve += [(a.epsilon, _accuracy(metrics, a.name)) for a in config.sweep()]
    curve.sort()
    rises = [
        (e1, a1, e2, a2)
        for (e1, a1), (e2, a2) in zip(curve, curve[1:], strict=False)
        if a2 > a1 + MONOTONE_SLACK
    ]
    worst_rise = max((a2 - a1 for _, a1, _, a2 in rises), default=0.0)
    where = "; ".join(
        f"{a1:.4f} at eps {e1:g} -> {a2:.4f} at eps {e2:g}" for e1, a1, e2, a2 in rises
    )
    largest_eps, largest_acc = curve[-1]
    chance = 1.0 / num_classes
    return [
        _check(
            "accuracy_falls_as_epsilon_grows",
            worst_rise,
            MONOTONE_SLACK,
            not rises,
            f"{first.method} accuracy over epsilon "
            + (f"rises ({where})" if rises else "never rises"),
        ),
        _check(
            "large_epsilon_reaches_chance",
            largest_acc,
            chance + CHANCE_SLACK,
            largest_acc <= chance + CHANCE_SLACK,
            f"accuracy {largest_acc:.4f} at eps {largest_eps:g} vs chance {chance:.4f}",
        ),
    ]


def _black_box_check(metrics: Mapping, cascade: Sequence[AttackConfig]) -> RuleResult:
    white_box_seen = False
    extra = 0.0
    for attack, step in zip(cascade, metrics["cascade"], strict=True):
        if attack.uses_gradients:
            white_box_seen = True
        elif white_box_seen:
            extra += step["share"]
    if not white_box_seen or all(a.uses_gradients for a in cascade):
        return _check(
            "black_box_not_stronger",
            0.0,
            BLACK_BOX_SLACK,
            True,
            "no black-box attack after a white-box one in the suite (check not applicable)",
        )
    return _check(
        "black_box_not_stronger",
        extra,
        BLACK_BOX_SLACK,
        extra <= BLACK_BOX_SLACK,
        f"black-box attacks broke {extra:.4f} of the examples every white-box attack missed",
    )


def is_valid(checks: Sequence[RuleResult]) -> bool:
    return all(check.passed for check in checks)
