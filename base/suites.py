"""Named attack suites: the cascades the blessing judges, for one threat model (norm, eps).

``standard`` follows AutoAttack's standard version (Croce and Hein 2020): APGD on the
cross-entropy loss, targeted APGD on the DLR loss over 9 target classes, and the black-box
Square attack with 5,000 queries, run as a cascade (each attack only on the examples still
classified correctly). FAB-T is not included: on the standard suite it changes robust
accuracy by less than 0.1 point (Croce and Hein 2020, Table 2 and App. E), and the Square
attack covers the gradient-free side. ``quick`` runs the same three kinds with smaller
budgets, so that every pipeline run judges the worst case over white-box and black-box
attacks; releases and the CI gate use ``standard``.
"""

from typing import Callable, Dict, Tuple

from robustfx.base.attack_config import AttackConfig
from robustfx.base.validation import require

Suite = Callable[[float, str], Tuple[AttackConfig, ...]]


def _suite(apgd_steps: int, targets: int, queries: int) -> Suite:
    def attacks(epsilon: float, norm: str) -> Tuple[AttackConfig, ...]:
        common = dict(norm=norm, epsilon=epsilon)
        return (
            AttackConfig(method="apgdce", steps=apgd_steps, **common),
            AttackConfig(method="apgdt", steps=apgd_steps, targets=targets, **common),
            AttackConfig(method="square", steps=queries, **common),
        )

    return attacks


SUITES: Dict[str, Suite] = {
    "quick": _suite(apgd_steps=20, targets=3, queries=300),
    "standard": _suite(apgd_steps=100, targets=9, queries=5000),
}


def suite_attacks(name: str, epsilon: float, norm: str) -> Tuple[AttackConfig, ...]:
    """The named suite's cascade at ``epsilon`` in ``norm``."""
    require(name in SUITES, f"suite={name!r} is unknown: use one of {', '.join(SUITES)}")
    return SUITES[name](epsilon, norm)
