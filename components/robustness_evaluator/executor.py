"""Executor of the RobustnessEvaluator: unpacks artifacts, runs the evaluation, writes results.

``Do`` only moves data between artifacts and the typed ``evaluate`` function; the attack
maths, the counting and the blessing rules live in pure modules beside this package.
"""

import dataclasses
import json
import logging
import os
import tempfile
from typing import Any, Dict, List, Optional, Sequence

from tfx import types
from tfx.dsl.components.base import base_beam_executor
from tfx.dsl.io import fileio
from tfx.types import artifact_utils
from tfx.utils import io_utils, path_utils

from robustfx.components import (
    blessing_rules,
    report_samples,
    robustness_beam,
    robustness_report,
)
from robustfx.components.robustness_evaluator import spec
from robustfx.pipeline.config import EvaluationConfig, from_dict

CANDIDATE, BASELINE = "candidate", "baseline"


@dataclasses.dataclass
class EvaluationResult:
    """What one evaluation found, as plain data."""

    metrics: Dict[str, dict]  # role ('candidate', 'baseline') -> metrics
    rules: List[blessing_rules.RuleResult]
    blessed: bool
    suite: List[str]  # the configured attacks; metrics also hold their epsilon sweeps

    @property
    def reasons(self) -> List[str]:
        """Why the model was not blessed; empty when it was."""
        return blessing_rules.failure_reasons(self.rules)

    def to_dict(self) -> dict:
        return {
            "suite": self.suite,
            "blessed": self.blessed,
            "reasons": self.reasons,
            "rules": [rule.to_dict() for rule in self.rules],
            "metrics": self.metrics,
        }


def evaluate(
    make_pipeline: Any,
    example_files: str,
    model_dir: str,
    config: EvaluationConfig,
    class_names: Sequence[str],
    baseline_model_dir: Optional[str] = None,
    tfma_blessed: Optional[bool] = None,
    seed: int = 0,
    raw_image_shape: Optional[Sequence[Optional[int]]] = None,
    expected_examples: Optional[int] = None,
    reference_model_dir: Optional[str] = None,
) -> EvaluationResult:
    """Attacks the candidate (and baseline) on the examples and applies the blessing rules.

    Args:
      make_pipeline: returns a fresh ``beam.Pipeline`` (with the pipeline's Beam args).
      example_files: glob of serialized transformed examples.
      model_dir: the candidate SavedModel.
      config: attacks, thresholds and batch size.
      class_names: from the dataset metadata.
      baseline_model_dir: the blessed baseline SavedModel, if there is one.
      tfma_blessed: the TFMA Evaluator's verdict, if it ran.
      seed: seeds random starts and the noise control.
      raw_image_shape: set when the examples are raw TFDS records (see
        ``robustness_beam.evaluate_models``).
      expected_examples: the number of examples, for progress lines.
      reference_model_dir: when set, also run the write-ups' transfer protocol: examples
        crafted against this model, reported apart as ``transfer_accuracy``.
    """
    model_dirs = {CANDIDATE: model_dir}
    if baseline_model_dir:
        model_dirs[BASELINE] = baseline_model_dir
    # Fail fast, before Beam starts, when a model lacks the attack signature.
    for directory in [*model_dirs.values(), reference_model_dir]:
        if directory:
            robustness_beam.check_signature(directory)
    with tempfile.TemporaryDirectory(prefix="robustness-") as scratch:
        output_path = os.path.join(scratch, "counts.jsonl")
        with make_pipeline() as pipeline:
            robustness_beam.evaluate_models(
                pipeline,
                example_files,
                model_dirs,
                config.all_attacks(),
                len(class_names),
                config.batch_size,
                output_path,
                seed,
                raw_image_shape,
                expected_examples,
                reference_model_dir,
                config.transfer_config(),
            )
        counts = robustness_beam.read_counts(output_path)
    metrics = robustness_beam.finalize(counts, list(model_dirs), class_names)
    rules = blessing_rules.evaluate_rules(
        metrics[CANDIDATE], config.thresholds, metrics.get(BASELINE), tfma_blessed
    )
    return EvaluationResult(
        metrics, rules, blessing_rules.is_blessed(rules), [a.name for a in config.attacks]
    )


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


def _write_blessing(
    blessing: types.Artifact,
    result: EvaluationResult,
    model: types.Artifact,
    baseline: Optional[types.Artifact],
) -> None:
    name = spec.BLESSED_FILE if result.blessed else spec.NOT_BLESSED_FILE
    io_utils.write_string_file(
        os.path.join(blessing.uri, name), json.dumps(result.to_dict()["rules"], indent=2)
    )
    blessing.set_int_custom_property("blessed", int(result.blessed))
    # LatestBlessedModelStrategy finds the baseline through these, as for TFX's Evaluator.
    blessing.set_string_custom_property("current_model", model.uri)
    blessing.set_int_custom_property("current_model_id", model.id)
    if baseline is not None:
        blessing.set_string_custom_property("baseline_model", baseline.uri)
        blessing.set_int_custom_property("baseline_model_id", baseline.id)
    blessing.set_string_custom_property("reasons", "; ".join(result.reasons))


def _set_metric_properties(artifact: types.Artifact, result: EvaluationResult) -> None:
    for key, value in robustness_beam.summarize(result.metrics).items():
        artifact.set_float_custom_property(key, float(value))


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
        baselines = input_dict.get(spec.BASELINE_MODEL_KEY) or []
        baseline = baselines[0] if baselines else None
        evaluation = artifact_utils.get_single_instance(output_dict[spec.EVALUATION_KEY])
        blessing = artifact_utils.get_single_instance(output_dict[spec.BLESSING_KEY])
        files = _split_files(examples, config.split)
        model_dir = path_utils.serving_model_path(model.uri)
        baseline_dir = _optional_model_dir(baselines)
        seed = exec_properties.get(spec.SEED_KEY) or 0

        result = evaluate(
            self._make_beam_pipeline,
            files,
            model_dir,
            config,
            class_names,
            baseline_model_dir=baseline_dir,
            tfma_blessed=_tfma_verdict(input_dict.get(spec.TFMA_BLESSING_KEY) or []),
            seed=seed,
            reference_model_dir=_optional_model_dir(input_dict.get(spec.REFERENCE_MODEL_KEY)),
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
                config.attacks[0],
                class_names,
                config.report_examples,
                baseline_model_dir=baseline_dir,
                seed=seed,
            )
        report = robustness_report.render_report(
            evaluation.uri,
            result.metrics,
            [rule.to_dict() for rule in result.rules],
            result.blessed,
            result.suite,
            samples,
        )
        evaluation.set_string_custom_property("report", report)
        _set_metric_properties(evaluation, result)
        _set_metric_properties(blessing, result)
        _write_blessing(blessing, result, model, baseline)
        verdict = "BLESSED" if result.blessed else "NOT BLESSED: " + "; ".join(result.reasons)
        logging.info("RobustnessEvaluator: %s", verdict)
