"""Executor of the RobustnessEvaluator: unpacks artifacts, runs the evaluation, writes results.

``Do`` only moves data between artifacts and the typed ``evaluate`` function; the attack
maths, the counting and the blessing rules live in pure modules beside this package.
"""

import json
import logging
import os
from typing import Any, Dict, List, Optional

from tfx import types
from tfx.dsl.components.base import base_beam_executor
from tfx.dsl.io import fileio
from tfx.types import artifact_utils
from tfx.utils import io_utils, path_utils

from robustfx.base.evaluation_config import EvaluationConfig
from robustfx.base.serialization import from_dict
from robustfx.components.robustness_evaluator import spec
from robustfx.components.robustness_evaluator.baseline import Baseline, resolve_baseline
from robustfx.robustness.presentation import model_card, report_samples
from robustfx.robustness.presentation.report import render_report
from robustfx.robustness.verdict import beam_evaluation
from robustfx.robustness.verdict.evaluation import EvaluationResult, evaluate


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


def _write_model_card(directory: str, result: EvaluationResult, info: dict, provenance: dict):
    """``model_card.json`` and ``.md`` beside the blessing; the Pusher ships them with the
    model."""
    card = model_card.build_model_card(result.to_dict(), info, provenance)
    fileio.makedirs(directory)
    io_utils.write_string_file(
        os.path.join(directory, model_card.CARD_JSON), json.dumps(card, indent=2)
    )
    io_utils.write_string_file(
        os.path.join(directory, model_card.CARD_MARKDOWN), model_card.render_markdown(card)
    )


def _tfma_verdict(blessings: List[types.Artifact]) -> Optional[bool]:
    if not blessings:
        return None
    return blessings[0].get_int_custom_property("blessed") == 1


def _write_blessing(
    blessing: types.Artifact,
    result: EvaluationResult,
    model: types.Artifact,
    baseline: Baseline,
) -> None:
    name = spec.BLESSED_FILE if result.blessed else spec.NOT_BLESSED_FILE
    io_utils.write_string_file(
        os.path.join(blessing.uri, name), json.dumps(result.to_dict()["rules"], indent=2)
    )
    blessing.set_int_custom_property("blessed", int(result.blessed))
    blessing.set_int_custom_property(spec.ROBUSTNESS_BLESSED_PROPERTY, int(result.blessed))
    # The judged model and its baseline, named as TFX's Evaluator names them.
    blessing.set_string_custom_property("current_model", model.uri)
    blessing.set_int_custom_property("current_model_id", model.id)
    for key, value in baseline.properties.items():
        if isinstance(value, int):
            blessing.set_int_custom_property(key, value)
        else:
            blessing.set_string_custom_property(key, str(value))
    blessing.set_string_custom_property("reasons", "; ".join(result.reasons))
    if result.baseline_skipped:
        blessing.set_string_custom_property("baseline_skipped", result.baseline_skipped)


def _set_metric_properties(artifact: types.Artifact, result: EvaluationResult) -> None:
    for key, value in beam_evaluation.summarize(result.metrics).items():
        artifact.set_float_custom_property(key, float(value))
    artifact.set_int_custom_property("evaluation_valid", int(result.evaluation_valid))
    artifact.set_string_custom_property("suite", result.suite_name)
    artifact.set_string_custom_property("corruption_set", result.corruption_set)
    if result.corruption_comparison.get("mce") is not None:
        artifact.set_float_custom_property("corruption_mce", result.corruption_comparison["mce"])


class Executor(base_beam_executor.BaseBeamExecutor):
    """Runs the Beam evaluation and writes metrics.json and the ModelBlessing."""

    def Do(
        self,
        input_dict: Dict[str, List[types.Artifact]],
        output_dict: Dict[str, List[types.Artifact]],
        exec_properties: Dict[str, Any],
    ) -> None:
        self._log_startup(input_dict, output_dict, exec_properties)
        config = from_dict(
            EvaluationConfig, json.loads(exec_properties[spec.EVALUATION_CONFIG_KEY])
        )
        class_names = json.loads(exec_properties[spec.CLASS_NAMES_KEY])
        examples = artifact_utils.get_single_instance(input_dict[spec.EXAMPLES_KEY])
        model = artifact_utils.get_single_instance(input_dict[spec.MODEL_KEY])
        evaluation = artifact_utils.get_single_instance(output_dict[spec.EVALUATION_KEY])
        blessing = artifact_utils.get_single_instance(output_dict[spec.BLESSING_KEY])
        files = _split_files(examples, config.split)
        model_dir = path_utils.serving_model_path(model.uri)
        baseline = resolve_baseline(input_dict, model, model_dir)
        baseline_dir = baseline.model_dir
        seed = exec_properties.get(spec.SEED_KEY) or 0
        raw_image_shape = json.loads(exec_properties.get(spec.RAW_IMAGE_SHAPE_KEY) or "null")
        # The dataset and training recipe the graph passes (for the model card), and the
        # evaluation config itself.
        info = json.loads(exec_properties.get(spec.MODEL_INFO_KEY) or "{}")
        info["evaluation"] = json.loads(exec_properties[spec.EVALUATION_CONFIG_KEY])
        if baseline.is_candidate:
            blessing.set_int_custom_property("baseline_is_candidate", 1)
            baseline_dir = None

        result = evaluate(
            self._make_beam_pipeline,
            files,
            model_dir,
            config,
            class_names,
            baseline_model_dir=baseline_dir,
            baseline_unusable=baseline.problem,
            tfma_blessed=_tfma_verdict(input_dict.get(spec.TFMA_BLESSING_KEY) or []),
            seed=seed,
            raw_image_shape=raw_image_shape,
            reference_model_dir=_optional_model_dir(input_dict.get(spec.REFERENCE_MODEL_KEY)),
            output_dir=evaluation.uri,
            expected_examples=info.get("dataset", {}).get("splits", {}).get(config.split),
        )
        fileio.makedirs(evaluation.uri)
        io_utils.write_string_file(
            os.path.join(evaluation.uri, spec.METRICS_FILE),
            json.dumps(result.to_dict(), indent=2, sort_keys=True),
        )
        samples = None
        if config.report_examples:
            samples = report_samples.collect_samples(
                files,
                model_dir,
                config.cascade()[0],
                class_names,
                config.report_examples,
                baseline_model_dir=baseline_dir,
                seed=seed,
                raw_image_shape=raw_image_shape,
                corruptions=list(result.metrics["candidate"].get("corruption_by_name", {})),
            )
        report = render_report(
            evaluation.uri,
            result.metrics,
            [rule.to_dict() for rule in result.rules],
            result.blessed,
            result.suite,
            samples,
            paired_tests=result.paired_tests,
            advice=result.advice,
            corruption_comparison=result.corruption_comparison,
            corruption_note=result.corruption_note,
        )
        evaluation.set_string_custom_property("report", report)
        context = getattr(self, "_context", None)
        provenance = {
            "pipeline_name": getattr(getattr(context, "pipeline_info", None), "id", "") or "",
            "pipeline_run_id": getattr(context, "pipeline_run_id", "") or "",
            "model_artifact_id": model.id,
            "model_uri": model.uri,
            "baseline_model_id": baseline.model_id,
            "package_versions": model_card.package_versions(),
        }
        _write_model_card(blessing.uri, result, info, provenance)
        _set_metric_properties(evaluation, result)
        _set_metric_properties(blessing, result)
        _write_blessing(blessing, result, model, baseline)
        verdict = "BLESSED" if result.blessed else "NOT BLESSED: " + "; ".join(result.reasons)
        logging.info("RobustnessEvaluator: %s", verdict)
