"""``GateConfig``: what ``robustfx gate`` judges, on which data, with which suite."""

from __future__ import annotations

import dataclasses
from typing import ClassVar, Optional, Tuple

from robustfx.base.beam_config import BeamConfig
from robustfx.base.evaluation_config import EvaluationConfig
from robustfx.base.limits_config import LimitsConfig
from robustfx.base.model_interface_config import ModelInterfaceConfig
from robustfx.base.run_config import DataConfig
from robustfx.base.settings import check_settings, int_list, setting
from robustfx.base.validation import require

# Examples judged after each round of a gate that decides early, but the last, which judges
# them all.
EARLY_ROUND_SIZES = (128, 256, 512)


@dataclasses.dataclass(frozen=True)
class GateConfig:
    """A CI model gate: one candidate, an optional production baseline, the suite and data."""

    CLI_GROUP: ClassVar[str] = "models (give exactly one of --model and --pipeline-root)"

    model: Optional[str] = setting(
        None, flag="--model", help="SavedModel directory of the candidate."
    )
    pipeline_root: Optional[str] = setting(
        None,
        flag="--pipeline-root",
        help="Use the newest model the RobustnessEvaluator blessed under this pipeline root.",
    )
    baseline: Optional[str] = setting(
        None, flag="--baseline", help="SavedModel directory of the production model."
    )
    interface: ModelInterfaceConfig = setting(
        default_factory=ModelInterfaceConfig, help="How the candidate and baseline are called."
    )
    data: DataConfig = setting(default_factory=DataConfig, help="The dataset.")
    evaluation: EvaluationConfig = setting(
        default_factory=lambda: EvaluationConfig(report_examples=0, corruptions="full"),
        help="The evaluation (the full corruption set by default, as for a release).",
    )
    decide_early: bool = setting(
        True,
        flag="--decide-early",
        off_flag="--full",
        help="Attack and corrupt every example before judging, as the pipeline's "
        "RobustnessEvaluator does. By default (--decide-early) the gate judges the examples "
        "in rounds over a seeded random order and stops as soon as a bound valid at every "
        "round decides each rule; rules still undecided after the last round are judged on "
        "every example, as --full judges them.",
    )
    early_rounds: Tuple[int, ...] = setting(
        EARLY_ROUND_SIZES,
        flag="--early-rounds",
        parse=int_list,
        at_least=1,
        metavar="N,N,...",
        help="With --decide-early: how many examples are judged after each round but the "
        "last, which judges them all; increasing.",
    )
    beam: BeamConfig = setting(
        default_factory=BeamConfig, help="The Beam runner of the evaluation."
    )
    limits: LimitsConfig = setting(
        default_factory=LimitsConfig, help="What evaluating the models may cost."
    )
    beam_args: Tuple[str, ...] = setting(
        (),
        flag="--beam-arg",
        repeat=True,
        metavar="ARG",
        help="Beam pipeline argument, repeatable. Giving any replaces the direct runner's "
        "defaults.",
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "early_rounds", tuple(self.early_rounds))
        check_settings(self, "gate")
        rounds = self.early_rounds
        require(
            bool(rounds)
            and rounds[0] >= 1
            and all(a < b for a, b in zip(rounds, rounds[1:], strict=False)),
            f"gate early_rounds={list(rounds)} must be one or more increasing sizes from 1",
        )
        self.pipeline_args()  # a runner the gate cannot use is refused now

    def pipeline_args(self) -> Tuple[str, ...]:
        """The Beam pipeline arguments of the evaluation (``BeamConfig.local_args``)."""
        return self.beam.local_args(self.beam_args)
