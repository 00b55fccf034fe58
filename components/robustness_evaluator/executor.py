"""Executor of the RobustnessEvaluator: unpacks artifacts, calls ``evaluate_and_record``,
and records its verdict on the output artifacts.

``Do`` only moves data between artifacts and the library: the attacks, the counting, the
rules, the report and the model card live in ``robustness``, shared with the CI gate; which
model is the baseline (production, or the candidate itself) is ``baseline``'s.
"""

import json
import logging
import os
from typing import Any, Dict, List, Mapping, Optional

from tfx import types
from tfx.dsl.components.base import base_beam_executor
from tfx.types import artifact_utils
from tfx.utils import io_utils, path_utils

from robustfx.base.evaluation_config import EvaluationConfig
from robustfx.base.serialization import from_dict
from robustfx.components.robustness_evaluator import spec, ui_outputs
from robustfx.components.robustness_evaluator.baseline import resolve_baseline
from robustfx.robustness.presentation.recording import evaluate_and_record


def _split_files(examples: types.Artifact, split: str) -> str:
    splits = artifact_utils.decode_split_names(examples.split_names)
    if split not in splits:
        raise ValueError(
            f"split {split!r} is not in the examples (they have {splits}): set the evaluation "
            "split to one of them"
        )
    return os.path.join(artifact_utils.get_split_uri([examples], split), "*")


def _optional_model_dir(models: Optional[List[types.Artifact]]) -> Optional[str]:
    return path_utils.serving_model_path(models[0].uri) if models else None


def _tfma_verdict(blessings: List[types.Artifact]) -> Optional[bool]:
    if not blessings:
        return None
    return blessings[0].get_int_custom_property("blessed") == 1


def _set_properties(artifact: types.Artifact, properties: Mapping[str, object]) -> None:
    for key, value in properties.items():
        if isinstance(value, float):
            artifact.set_float_custom_property(key, value)
        elif isinstance(value, int):
            artifact.set_int_custom_property(key, int(value))
        else:
            artifact.set_string_custom_property(key, str(value))


class Executor(base_beam_executor.BaseBeamExecutor):
    """Runs the Beam evaluation and writes metrics.json, the report, the model card and the
    ModelBlessing."""

    def Do(
        self,
        input_dict: Dict[str, List[types.Artifact]],
        output_dict: Dict[str, List[types.Artifact]],
        exec_properties: Dict[str, Any],
    ) -> None:
        self._log_startup(input_dict, output_dict, exec_properties)
        config_dict = json.loads(exec_properties[spec.EVALUATION_CONFIG_KEY])
        config = from_dict(EvaluationConfig, config_dict)
        examples = artifact_utils.get_single_instance(input_dict[spec.EXAMPLES_KEY])
        model = artifact_utils.get_single_instance(input_dict[spec.MODEL_KEY])
        evaluation = artifact_utils.get_single_instance(output_dict[spec.EVALUATION_KEY])
        blessing = artifact_utils.get_single_instance(output_dict[spec.BLESSING_KEY])
        model_dir = path_utils.serving_model_path(model.uri)
        baseline = resolve_baseline(input_dict, model, model_dir)
        # The dataset and training recipe the graph passes, and the evaluation config itself.
        info = json.loads(exec_properties.get(spec.MODEL_INFO_KEY) or "{}")
        info["evaluation"] = config_dict
        context = getattr(self, "_context", None)
        recorded = evaluate_and_record(
            self._make_beam_pipeline,
            _split_files(examples, config.split),
            model_dir,
            config,
            json.loads(exec_properties[spec.CLASS_NAMES_KEY]),
            output_dir=evaluation.uri,
            card_dir=blessing.uri,  # the Pusher ships the card with the model
            model_info=info,
            provenance={
                "pipeline_name": getattr(getattr(context, "pipeline_info", None), "id", "") or "",
                "pipeline_run_id": getattr(context, "pipeline_run_id", "") or "",
                "model_artifact_id": model.id,
                "model_uri": model.uri,
                "baseline_model_id": baseline.model_id,
            },
            baseline_model_dir=None if baseline.is_candidate else baseline.model_dir,
            baseline_unusable=baseline.problem,
            tfma_blessed=_tfma_verdict(input_dict.get(spec.TFMA_BLESSING_KEY) or []),
            seed=exec_properties.get(spec.SEED_KEY) or 0,
            raw_image_shape=json.loads(exec_properties.get(spec.RAW_IMAGE_SHAPE_KEY) or "null"),
            reference_model_dir=_optional_model_dir(input_dict.get(spec.REFERENCE_MODEL_KEY)),
            expected_examples=info.get("dataset", {}).get("splits", {}).get(config.split),
        )
        verdict = recorded.result.verdict
        _set_properties(evaluation, {**recorded.properties, "report": recorded.report})
        _set_properties(blessing, {**recorded.properties, **recorded.verdict_properties})
        _set_properties(
            blessing,
            {
                spec.ROBUSTNESS_BLESSED_PROPERTY: int(verdict.blessed),
                # The judged model and its baseline, named as TFX's Evaluator names them.
                "current_model": model.uri,
                "current_model_id": model.id,
                **baseline.properties,
                **({"baseline_is_candidate": 1} if baseline.is_candidate else {}),
            },
        )
        for artifact in output_dict.get(spec.METRICS_KEY) or []:
            ui_outputs.record_metrics(artifact, verdict)
        for artifact in output_dict.get(spec.REPORT_KEY) or []:
            ui_outputs.record_report(artifact, recorded.report)
        marker = spec.BLESSED_FILE if verdict.blessed else spec.NOT_BLESSED_FILE
        rules = [rule.to_dict() for rule in verdict.rules]
        io_utils.write_string_file(os.path.join(blessing.uri, marker), json.dumps(rules, indent=2))
        shown = "BLESSED" if verdict.blessed else "NOT BLESSED: " + "; ".join(verdict.reasons)
        logging.info("RobustnessEvaluator: %s", shown)
