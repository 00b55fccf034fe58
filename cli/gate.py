"""The CI model gate: evaluate a candidate SavedModel exactly as the RobustnessEvaluator does.

``robustfx gate`` finds the candidate (a SavedModel directory, or the newest model blessed
under a pipeline root, found through ML Metadata), attacks it and an optional production
baseline on a TFDS split with the same attack suite, thresholds and code as the pipeline's
RobustnessEvaluator, and renders the verdict as Markdown and JSON. It records the evaluation
as the pipeline does (``evaluate_and_record``): ``metrics.json``, the HTML report and the
model card in its output directory. Every model's graph is checked before any of it runs
(``evaluate()``); with a time or memory limit the evaluation runs in a watched child process
(``limits``).
"""

import os
import tempfile
from typing import Optional, Sequence

import apache_beam as beam

from robustfx.base import remote_storage
from robustfx.base.evaluation_config import EvaluationConfig
from robustfx.base.limits_config import LimitsConfig
from robustfx.base.model_interface_config import ModelInterfaceConfig
from robustfx.base.run_config import METADATA_FILE
from robustfx.base.validation import ConfigError
from robustfx.cli.limits import run_within
from robustfx.components.robustness_evaluator import spec as evaluator_spec
from robustfx.data.metadata import DatasetInfo
from robustfx.pipeline.mlmd import all_node_outputs, open_store
from robustfx.pipeline.node_ids import evaluator_id
from robustfx.robustness.presentation.recording import Recorded, evaluate_and_record


class GateInputError(ConfigError):
    """The candidate, baseline or data cannot be used (exit code 2)."""


def _serving_dir(model_dir: str, what: str) -> str:
    """Accepts a SavedModel dir, or a TFX Model artifact dir holding Format-Serving/."""
    for candidate in (model_dir, os.path.join(model_dir, "Format-Serving")):
        if os.path.isfile(os.path.join(candidate, "saved_model.pb")):
            return candidate
    raise GateInputError(f"{what} {model_dir!r} is not a SavedModel directory (no saved_model.pb)")


def latest_blessed_model(pipeline_root: str) -> str:
    """The newest model the RobustnessEvaluator blessed under ``pipeline_root`` (via MLMD)."""
    metadata = os.path.join(pipeline_root, METADATA_FILE)
    try:
        store = open_store(metadata)
    except FileNotFoundError:
        raise GateInputError(f"--pipeline-root {pipeline_root!r} has no {METADATA_FILE}") from None
    blessings = all_node_outputs(store, evaluator_id(), evaluator_spec.BLESSING_KEY)
    blessed_ids = [
        artifact.custom_properties["current_model_id"].int_value
        for artifact in blessings
        if artifact.custom_properties["blessed"].int_value == 1
        and os.path.isfile(os.path.join(artifact.uri, evaluator_spec.BLESSED_FILE))
    ]
    if not blessed_ids:
        raise GateInputError(f"no blessed model under pipeline root {pipeline_root!r}")
    (model,) = store.get_artifacts_by_id([max(blessed_ids)])
    return _serving_dir(model.uri, "blessed model")


def resolve_model(model_dir: Optional[str], pipeline_root: Optional[str]) -> str:
    if bool(model_dir) == bool(pipeline_root):
        raise GateInputError("give exactly one of --model DIR or --pipeline-root DIR")
    if model_dir:
        return _serving_dir(model_dir, "--model")
    return latest_blessed_model(pipeline_root)


def run_gate(
    model_dir: str,
    dataset: DatasetInfo,
    split: str,
    config: EvaluationConfig,
    baseline_dir: Optional[str] = None,
    beam_args: Sequence[str] = (),
    limits: Optional[LimitsConfig] = None,
    interface: Optional[ModelInterfaceConfig] = None,
    output_dir: Optional[str] = None,
    round_sizes: Optional[Sequence[int]] = None,
) -> Recorded:
    """Attacks the candidate (and baseline) on the raw TFDS split, applies the rules, and
    writes ``metrics.json``, the report and the model card into ``output_dir`` (a temporary
    directory, removed afterwards, when None); in rounds of ``round_sizes``, if given, until
    every rule is decided (``early_evaluation.evaluate_early``).

    With a time or memory limit, the evaluation runs in a child process that is stopped at
    the first breach (``limits.LimitExceededError``). ``interface`` says how the models are
    called (``--signature``, ``--input-key``, ``--output-key``, ``--input-scale``).
    """
    if split not in dataset.splits:
        raise GateInputError(
            f"split {split!r} is not in dataset {dataset.name!r} (splits: {sorted(dataset.splits)})"
        )
    if output_dir is None:
        with tempfile.TemporaryDirectory(prefix="robustfx-gate-") as scratch:
            args = (model_dir, dataset, split, config, baseline_dir, beam_args, limits, interface)
            return run_gate(*args, scratch, round_sizes)
    args = (
        model_dir,
        dataset,
        split,
        config,
        baseline_dir,
        tuple(beam_args),
        interface,
        output_dir,
        tuple(round_sizes) if round_sizes is not None else None,
    )
    if limits is not None and limits.active:
        return run_within(limits, f"evaluating {model_dir}", _evaluate_split, *args)
    return _evaluate_split(*args)


def _evaluate_split(
    model_dir: str,
    dataset: DatasetInfo,
    split: str,
    config: EvaluationConfig,
    baseline_dir: Optional[str],
    beam_args: Sequence[str],
    interface: Optional[ModelInterfaceConfig],
    output_dir: str,
    round_sizes: Optional[Sequence[int]],
) -> Recorded:
    files = os.path.join(dataset.directory, dataset.split_pattern(split))
    # Also in the watched child process, which shares nothing with the command's process.
    remote_storage.enable([files, model_dir, baseline_dir or "", output_dir])
    options = beam.options.pipeline_options.PipelineOptions(list(beam_args))
    return evaluate_and_record(
        lambda: beam.Pipeline(options=options),
        files,
        model_dir,
        config,
        dataset.class_names,
        output_dir=output_dir,
        model_info={
            "dataset": {"name": dataset.name, "version": dataset.version, "splits": dataset.splits}
        },
        provenance={"model_uri": model_dir, "baseline_model_uri": baseline_dir},
        baseline_model_dir=baseline_dir,
        raw_image_shape=dataset.image_shape,
        expected_examples=dataset.splits[split],
        model_interface=interface,
        round_sizes=round_sizes,
    )


def to_json(
    recorded: Recorded,
    model: str,
    baseline: Optional[str],
    dataset: str,
    split: str,
) -> dict:
    """The gate's ``--summary-json``: ``metrics.json`` with the candidate's headline figures
    (None when not measured), its robust accuracy by reported attack and its corruption
    accuracies by severity at the top, and where the report and the model card are."""
    verdict = recorded.result.verdict
    candidate = verdict.candidate
    payload = recorded.result.to_dict()
    payload.update(
        passed=verdict.blessed,
        model=model,
        baseline=baseline,
        dataset=dataset,
        split=split,
        robust_accuracy=verdict.robust(),
        corruption_accuracy=dict(candidate.corruption_accuracy) or None,
        report=recorded.report,
        model_card=recorded.card_path,
        **{name: e.value if e else None for name, e in candidate.headline().items()},
    )
    return payload
