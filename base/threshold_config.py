"""The blessing thresholds of the RobustnessEvaluator and the gate: each rule's floor or
allowed drop, the significance of the paired tests, and how a floor judges an accuracy."""

from __future__ import annotations

import dataclasses
from typing import ClassVar, Mapping

from robustfx.base.attack_config import AttackConfig
from robustfx.base.settings import check_settings, setting

THRESHOLD_FLAG = "--threshold"
# How an absolute floor judges an accuracy: its point estimate, or the lower bound of its
# 95% interval (strict: the floor must be cleared with 95% confidence).
POLICIES = ("point", "lower_bound")


@dataclasses.dataclass(frozen=True)
class ThresholdConfig:
    """Blessing rules of the RobustnessEvaluator (and the clean threshold given to TFMA).

    Attributes:
      min_clean_accuracy: absolute floor on clean accuracy.
      min_worst_case_accuracy: absolute floor on the worst-case robust accuracy: an example
        counts only if it survives every attack of the suite.
      min_robust_accuracy: extra floors per attack name (an attack named here always runs).
      max_clean_drop: largest allowed drop in clean accuracy against the blessed baseline.
      max_robust_drop: largest allowed drop in worst-case robust accuracy against it.
      min_corruption_mean: absolute floor on the mean accuracy over the corruption set's
        corruptions (each averaged over its severities).
      min_corruption_worst: absolute floor on the accuracy of the set's worst corruption.
      min_certified_accuracy: absolute floor on the certified accuracy: the examples the
        verifier proves no perturbation of the threat model can misclassify.
      max_corruption_drop: largest allowed drop in mean corruption accuracy against the
        blessed baseline.
      significance: a drop beyond the allowed one refuses the candidate only when the paired
        test (exact McNemar, same examples) finds it significant at this level.
      require_comparison: refuse when the baseline cannot be evaluated, instead of judging
        on the absolute rules alone.
      policy: 'point' judges each floor on the point estimate, 'lower_bound' on the lower
        bound of its 95% interval.
    """

    CLI_GROUP: ClassVar[str] = "blessing thresholds"

    min_clean_accuracy: float = setting(
        0.9,
        flag=THRESHOLD_FLAG,
        assign="clean",
        at_least=0.0,
        at_most=1.0,
        help="Floors: clean=VALUE on clean accuracy (TFMA and robustness),",
    )
    min_worst_case_accuracy: float = setting(
        0.7,
        flag=THRESHOLD_FLAG,
        assign="worst_case",
        at_least=0.0,
        at_most=1.0,
        help="worst_case=VALUE on the worst case over the suite,",
    )
    min_robust_accuracy: Mapping[str, float] = setting(
        flag=THRESHOLD_FLAG,
        assign="*",
        at_least=0.0,
        at_most=1.0,
        default_factory=dict,
        help="ATTACK=VALUE on one attack's accuracy (the attack joins the evaluation). Given "
        "floors are merged with the defaults.",
    )
    min_corruption_mean: float = setting(
        0.6,
        flag=THRESHOLD_FLAG,
        assign="corruption_mean",
        at_least=0.0,
        at_most=1.0,
        help="corruption_mean=VALUE on the mean accuracy over the natural corruptions,",
    )
    min_corruption_worst: float = setting(
        0.3,
        flag=THRESHOLD_FLAG,
        assign="corruption_worst",
        at_least=0.0,
        at_most=1.0,
        help="corruption_worst=VALUE on the accuracy of the worst corruption,",
    )
    min_certified_accuracy: float = setting(
        0.0,
        flag=THRESHOLD_FLAG,
        assign="certified",
        at_least=0.0,
        at_most=1.0,
        help="certified=VALUE on the certified accuracy (--verify),",
    )
    max_clean_drop: float = setting(
        0.01,
        flag="--max-clean-drop",
        at_least=0.0,
        at_most=1.0,
        help="Largest allowed clean-accuracy drop against the production baseline.",
    )
    max_robust_drop: float = setting(
        0.02,
        flag="--max-robust-drop",
        at_least=0.0,
        at_most=1.0,
        help="Largest allowed worst-case robust-accuracy drop against the production baseline.",
    )
    max_corruption_drop: float = setting(
        0.02,
        flag="--max-corruption-drop",
        at_least=0.0,
        at_most=1.0,
        help="Largest allowed drop in mean corruption accuracy against the production baseline.",
    )
    significance: float = setting(
        0.05,
        flag="--significance",
        at_least=0.0,
        at_most=1.0,
        help="Level of the paired McNemar test: a drop beyond the allowed one refuses the "
        "candidate only when it is significant at this level.",
    )
    require_comparison: bool = setting(
        False,
        flag="--require-baseline-comparison",
        help="Refuse the candidate when the production baseline cannot be evaluated "
        "(missing, corrupt, no attack signature, other image shape); by default the "
        "comparison is skipped, loudly, and the absolute rules decide.",
    )
    policy: str = setting(
        "point",
        flag="--threshold-policy",
        choices=POLICIES,
        help="How floors judge an accuracy: point (its estimate) or lower_bound (the lower "
        "end of its 95 percent interval must clear the floor).",
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "min_robust_accuracy", dict(self.min_robust_accuracy))
        check_settings(self, "threshold")
        for name in self.min_robust_accuracy:
            AttackConfig.from_name(name)
