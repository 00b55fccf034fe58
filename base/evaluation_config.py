"""Configs of the RobustnessEvaluator: the attack suite, how it is run, and the blessing
thresholds."""

from __future__ import annotations

import dataclasses
from typing import ClassVar, Mapping, Tuple

from robustfx.base.attack_config import AttackConfig
from robustfx.base.settings import float_list, setting
from robustfx.base.training_config import AdversarialConfig
from robustfx.base.validation import canonical_norm, check_float, check_fraction, check_int, require

THRESHOLD_FLAG = "--threshold"


@dataclasses.dataclass(frozen=True)
class ThresholdConfig:
    """Blessing rules of the RobustnessEvaluator (and the clean threshold given to TFMA).

    Attributes:
      min_clean_accuracy: absolute floor on clean accuracy.
      min_robust_accuracy: absolute floor per attack name; attacks not named are reported only.
      max_clean_drop: largest allowed drop in clean accuracy against the blessed baseline.
      max_robust_drop: largest allowed drop in each gated attack's accuracy against the baseline.
    """

    CLI_GROUP: ClassVar[str] = "blessing thresholds"

    min_clean_accuracy: float = setting(
        0.9,
        flag=THRESHOLD_FLAG,
        assign="clean",
        help="Floor on clean accuracy (TFMA and robustness): clean=VALUE.",
    )
    min_robust_accuracy: Mapping[str, float] = setting(
        flag=THRESHOLD_FLAG,
        assign="*",
        default_factory=lambda: {"fgsm_linf_0.2": 0.7},
        help="Floor on the robust accuracy of an attack of the suite: ATTACK=VALUE. Given "
        "floors are merged with the defaults.",
    )
    max_clean_drop: float = setting(
        0.01,
        flag="--max-clean-drop",
        help="Largest allowed clean-accuracy drop against the production baseline.",
    )
    max_robust_drop: float = setting(
        0.02,
        flag="--max-robust-drop",
        help="Largest allowed robust-accuracy drop against the production baseline.",
    )

    def __post_init__(self) -> None:
        check_fraction("threshold min_clean_accuracy", self.min_clean_accuracy)
        for name, value in self.min_robust_accuracy.items():
            AttackConfig.from_name(name)
            check_fraction(f"threshold min_robust_accuracy[{name}]", value)
        object.__setattr__(self, "min_robust_accuracy", dict(self.min_robust_accuracy))
        check_fraction("threshold max_clean_drop", self.max_clean_drop)
        check_fraction("threshold max_robust_drop", self.max_robust_drop)


@dataclasses.dataclass(frozen=True)
class EvaluationConfig:
    """What the RobustnessEvaluator runs, and how it gates."""

    CLI_GROUP: ClassVar[str] = "robustness evaluation"

    attacks: Tuple[AttackConfig, ...] = setting(
        flag="--attack",
        repeat=True,
        parse=AttackConfig.from_name,
        metavar="NAME",
        default_factory=lambda: (
            AttackConfig(),
            AttackConfig(method="pgd", norm="linf", epsilon=0.2, steps=10),
        ),
        help="Attack of the suite, repeatable: fgsm_<linf|l2>_<eps> or "
        "pgd<steps>_<linf|l2>_<eps>. Giving any replaces the default suite; an attack named "
        "by a threshold always joins it.",
    )
    thresholds: ThresholdConfig = setting(
        default_factory=ThresholdConfig, help="The blessing thresholds."
    )
    batch_size: int = setting(128, flag="--eval-batch-size", help="Examples per attack batch.")
    split: str = setting(
        "test", flag="--eval-split", help="TFDS split to attack (never the split trained on)."
    )
    epsilon_sweep: Tuple[float, ...] = setting(
        (0.25, 0.5, 0.75),
        flag="--epsilon-sweep",
        parse=float_list,
        help="Fractions of each attack's epsilon also evaluated, for the robustness curves.",
    )
    report_examples: int = setting(
        8, flag="--report-examples", help="Examples shown in the report's image grids."
    )
    # The write-ups' transfer protocol (used when a reference model is given): NSL's
    # perturb_on_batch against the reference with this step and norm.
    transfer_step_size: float = setting(
        0.2, help="Step of the write-ups' transfer protocol (NSL perturb_on_batch)."
    )
    transfer_norm: str = setting("linf", help="Norm of the write-ups' transfer protocol.")

    def __post_init__(self) -> None:
        object.__setattr__(self, "attacks", tuple(self.attacks))
        require(len(self.attacks) >= 1, "evaluation attacks is empty: give at least one attack")
        names = [attack.name for attack in self.attacks]
        require(len(set(names)) == len(names), f"evaluation attacks repeat a name: {names}")
        # A threshold on an attack runs that attack: floors never silently gate nothing.
        joined = [
            AttackConfig.from_name(gated)
            for gated in self.thresholds.min_robust_accuracy
            if gated not in names
        ]
        object.__setattr__(self, "attacks", self.attacks + tuple(joined))
        check_int("evaluation batch_size", self.batch_size, 1)
        require(bool(self.split), "evaluation split is empty: name a TFDS split such as test")
        object.__setattr__(self, "epsilon_sweep", tuple(self.epsilon_sweep))
        for fraction in self.epsilon_sweep:
            check_float("evaluation epsilon_sweep[]", fraction, 0.0, 1.0)
        check_int("evaluation report_examples", self.report_examples, 0)
        check_float("evaluation transfer_step_size", self.transfer_step_size, 0.0)
        object.__setattr__(
            self, "transfer_norm", canonical_norm("evaluation transfer_norm", self.transfer_norm)
        )

    def transfer_config(self) -> AdversarialConfig:
        """The NSL config of the transfer protocol."""
        return AdversarialConfig(
            adv_step_size=self.transfer_step_size, adv_grad_norm=self.transfer_norm
        )

    def all_attacks(self) -> Tuple[AttackConfig, ...]:
        """The suite plus its epsilon sweep, without repeats, suite first."""
        seen = {attack.name: attack for attack in self.attacks}
        for attack in self.attacks:
            for fraction in self.epsilon_sweep:
                swept = dataclasses.replace(attack, epsilon=round(attack.epsilon * fraction, 6))
                seen.setdefault(swept.name, swept)
        return tuple(seen.values())
