"""Config of the RobustnessEvaluator: the threat model, the attack suite, the verifier, how
it is run, and its blessing thresholds (``threshold_config``)."""

from __future__ import annotations

import dataclasses
import re
from typing import ClassVar, Tuple

from robustfx.base.attack_config import MAX_EPSILON, AttackConfig
from robustfx.base.corruption_sets import CORRUPTION_SET_NAMES
from robustfx.base.settings import check_settings, float_list, setting
from robustfx.base.suites import SUITES, suite_attacks
from robustfx.base.threshold_config import ThresholdConfig
from robustfx.base.training_config import TUTORIAL_ADVERSARIAL, AdversarialConfig
from robustfx.base.validation import NORMS, canonical_norm, check_float, require

CUSTOM_SUITE = "custom"
OP_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")  # how TensorFlow spells an op
# How the verifier certifies each example (``robustness.certification``): not at all, by
# interval bounds (IBP: about 1% of the quick suite's time) or by CROWN's linear bounds
# (tighter; 5-9 times the quick suite on the default CNN).
VERIFIERS = ("none", "ibp", "crown")


@dataclasses.dataclass(frozen=True)
class EvaluationConfig:
    """What the RobustnessEvaluator runs, and how it gates."""

    CLI_GROUP: ClassVar[str] = "robustness evaluation"

    suite: str = setting(
        "quick",
        flag="--suite",
        choices=tuple(SUITES),
        help="Attack cascade the blessing judges: quick (every run) or standard "
        "(AutoAttack-equivalent: releases and the CI gate).",
    )
    norm: str = setting("linf", flag="--norm", choices=NORMS, help="Threat model: the norm.")
    epsilon: float = setting(0.2, flag="--epsilon", help="Threat model: the radius.")
    attacks: Tuple[AttackConfig, ...] = setting(
        (),
        flag="--attack",
        repeat=True,
        parse=AttackConfig.from_name,
        metavar="NAME",
        help="Replace the suite's cascade with these attacks, in order, repeatable, e.g. "
        "apgdce100_linf_0.2, apgdt100-t9_linf_0.2, square5000_linf_0.2, pgd20-rs_linf_0.2.",
    )
    corruptions: str = setting(
        "quick",
        flag="--corruptions",
        choices=CORRUPTION_SET_NAMES,
        help="Natural corruptions judged beside the attacks (MNIST-C's, and ImageNet-C's for "
        "RGB images): none, quick (every run) or full (every corruption at severities 1-5: "
        "releases and the CI gate).",
    )
    verify: str = setting(
        "ibp",
        flag="--verify",
        choices=VERIFIERS,
        help="Certify each example at the threat model (and the epsilon sweep): none, ibp "
        "(interval bounds: about 1 percent of the quick suite) or crown (tighter, several "
        "times the quick suite). The certified accuracy is a proven lower bound beside the "
        "attacked worst case.",
    )
    thresholds: ThresholdConfig = setting(
        default_factory=ThresholdConfig, help="The blessing thresholds."
    )
    batch_size: int = setting(
        128, flag="--eval-batch-size", at_least=1, help="Examples per attack batch."
    )
    split: str = setting(
        "test", flag="--eval-split", help="TFDS split to attack (never the train split)."
    )
    epsilon_sweep: Tuple[float, ...] = setting(
        (0.25, 0.5, 0.75),
        flag="--epsilon-sweep",
        parse=float_list,
        at_least=0.0,
        at_most=1.0,
        help="Fractions of epsilon at which the suite's first attack also runs: the "
        "robustness curves and the monotonicity check.",
    )
    report_examples: int = setting(
        8, flag="--report-examples", at_least=0, help="Examples shown in the report's image grids."
    )
    allowed_ops: Tuple[str, ...] = setting(
        (),
        flag="--allow-op",
        repeat=True,
        metavar="NAME",
        help="Let this TensorFlow op through the graph check of every model judged, "
        "repeatable: only for an op you know the model needs (it is logged and recorded).",
    )
    # The write-ups' transfer protocol (used when a reference model is given): NSL's
    # perturb_on_batch against the reference with this step and norm.
    transfer_step_size: float = setting(
        0.2, at_least=0.0, help="Step of the write-ups' transfer protocol (NSL perturb_on_batch)."
    )
    transfer_norm: str = setting("linf", help="Norm of the write-ups' transfer protocol.")

    def __post_init__(self) -> None:
        # Aliases first (--norm infinity is linf), then the choices and ranges of the fields.
        object.__setattr__(self, "norm", canonical_norm("evaluation norm", self.norm))
        object.__setattr__(
            self, "transfer_norm", canonical_norm("evaluation transfer_norm", self.transfer_norm)
        )
        object.__setattr__(self, "attacks", tuple(self.attacks))
        object.__setattr__(self, "epsilon_sweep", tuple(self.epsilon_sweep))
        object.__setattr__(self, "allowed_ops", tuple(sorted(set(self.allowed_ops))))
        check_settings(self, "evaluation")
        # What depends on another field, or is more than a choice or a range.
        check_float("evaluation epsilon", self.epsilon, 0.0, MAX_EPSILON[self.norm])
        names = [attack.name for attack in self.attacks]
        require(len(set(names)) == len(names), f"evaluation attacks repeat a name: {names}")
        require(bool(self.split), "evaluation split is empty: name a TFDS split such as test")
        require(
            self.split != "train",
            "evaluation split='train' is invalid: the gate never judges the split trained on",
        )
        for op in self.allowed_ops:
            require(
                bool(OP_NAME.match(op)),
                f"evaluation allowed_ops[]={op!r} is not a TensorFlow op name: give one as "
                "tf.raw_ops spells it, e.g. --allow-op Round",
            )

    @property
    def suite_name(self) -> str:
        return CUSTOM_SUITE if self.attacks else self.suite

    def cascade(self) -> Tuple[AttackConfig, ...]:
        """The attacks the worst case is judged over, in the order they run."""
        return self.attacks or suite_attacks(self.suite, self.epsilon, self.norm)

    def references(self) -> Tuple[AttackConfig, ...]:
        """Attacks run on every example and reported on their own: FGSM at the threat model
        (the single-step reference of the validity check) and any attack a threshold names.
        They run even when the cascade holds them too (their own accuracy and noise control
        need every example), and count in the worst case."""
        named = [AttackConfig.from_name(name) for name in self.thresholds.min_robust_accuracy]
        return tuple({a.name: a for a in [self.fgsm_reference(), *named]}.values())

    def fgsm_reference(self) -> AttackConfig:
        """FGSM at the threat model of the cascade's first attack (``--norm``/``--epsilon``
        for a named suite; the given attack's own for ``--attack``)."""
        first = self.cascade()[0]
        return AttackConfig(method="fgsm", norm=first.norm, epsilon=first.epsilon)

    # Steps of the sweep's gradient attack: the curve only has to fall with epsilon and
    # reach chance, which a short run shows (the verdict's own attacks keep their budget).
    SWEEP_STEPS: ClassVar[int] = 20

    def sweep(self) -> Tuple[AttackConfig, ...]:
        """The first gradient attack of the cascade, with at most ``SWEEP_STEPS`` steps, at
        each fraction of its epsilon, plus a very large epsilon (L-infinity 1; L2 the largest
        allowed), for the validity checks."""
        first = next((a for a in self.cascade() if a.uses_gradients), None)
        if first is None:
            first = self.cascade()[0]
        elif first.steps > self.SWEEP_STEPS:
            first = dataclasses.replace(first, steps=self.SWEEP_STEPS)
        radii = [first.epsilon * fraction for fraction in self.epsilon_sweep]
        radii.append(MAX_EPSILON[first.norm])
        unique = {first.at_epsilon(r).name: first.at_epsilon(r) for r in radii}
        references = {a.name for a in self.references()}
        return tuple(a for name, a in unique.items() if name not in references)

    def transfer_config(self) -> AdversarialConfig:
        """The NSL config of the transfer protocol."""
        return dataclasses.replace(
            TUTORIAL_ADVERSARIAL,
            adv_step_size=self.transfer_step_size,
            adv_grad_norm=self.transfer_norm,
        )
