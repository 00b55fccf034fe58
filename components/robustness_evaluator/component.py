"""The RobustnessEvaluator component: measures accuracy under white-box attack and blesses."""

import json
from typing import Any, Mapping, Optional, Sequence

from tfx import types
from tfx.dsl.components.base import base_beam_component, executor_spec
from tfx.types import standard_artifacts
from tfx.types.experimental import simple_artifacts

from robustfx.base.evaluation_config import EvaluationConfig
from robustfx.base.serialization import to_dict
from robustfx.components.robustness_evaluator import executor, spec


class RobustnessEvaluator(base_beam_component.BaseBeamComponent):
    """Attacks the candidate (and the blessed baseline) and writes a ModelBlessing.

    The blessing is what the standard Pusher obeys: it is set only when every absolute
    threshold, every change threshold against the baseline and the TFMA blessing pass.
    With a ``reference_model``, the write-ups' transfer protocol is measured too, apart.
    """

    SPEC_CLASS = spec.RobustnessEvaluatorSpec
    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(executor.Executor)

    def __init__(
        self,
        examples: types.BaseChannel,
        model: types.BaseChannel,
        evaluation_config: EvaluationConfig,
        class_names: Sequence[str],
        baseline_model: Optional[types.BaseChannel] = None,
        production_model: Optional[types.BaseChannel] = None,
        tfma_blessing: Optional[types.BaseChannel] = None,
        reference_model: Optional[types.BaseChannel] = None,
        seed: int = 0,
        model_info: Optional[Mapping[str, Any]] = None,
        raw_image_shape: Optional[Sequence[Optional[int]]] = None,
    ):
        super().__init__(
            spec=spec.RobustnessEvaluatorSpec(
                examples=examples,
                model=model,
                baseline_model=baseline_model,
                production_model=production_model,
                tfma_blessing=tfma_blessing,
                reference_model=reference_model,
                evaluation_config=json.dumps(to_dict(evaluation_config), sort_keys=True),
                class_names=json.dumps(list(class_names)),
                seed=seed,
                model_info=json.dumps(model_info or {}, sort_keys=True),
                raw_image_shape=json.dumps(list(raw_image_shape)) if raw_image_shape else "",
                evaluation=types.Channel(type=standard_artifacts.ModelEvaluation),
                blessing=types.Channel(type=standard_artifacts.ModelBlessing),
                metrics=types.Channel(type=simple_artifacts.Metrics),
                report=types.Channel(type=simple_artifacts.File),
            )
        )
