"""The CI model gate: evaluate a candidate SavedModel exactly as the RobustnessEvaluator does.

``robustfx gate`` finds the candidate (a SavedModel directory, or the newest model blessed
under a pipeline root, found through ML Metadata), attacks it and an optional production
baseline on a TFDS split with the same attack suite, thresholds and code as the pipeline's
RobustnessEvaluator, and renders the verdict as Markdown and JSON. Every model's graph is
checked before any of it runs (``evaluate()``); with a time or memory limit the evaluation
runs in a watched child process (``limits``).
"""

import os
from typing import List, Optional, Sequence

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
from robustfx.pipeline.production import evaluator_id
from robustfx.robustness.models.model_interface import ModelInterface
from robustfx.robustness.verdict import evaluation as evaluator
from robustfx.robustness.verdict.metrics import robust_accuracies


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
) -> evaluator.EvaluationResult:
    """Attacks the candidate (and baseline) on the raw TFDS split and applies the rules.

    With a time or memory limit, the evaluation runs in a child process that is stopped at
    the first breach (``limits.LimitExceededError``). ``interface`` says how the models are
    called (``--signature``, ``--input-key``, ``--output-key``, ``--input-scale``).
    """
    if split not in dataset.splits:
        raise GateInputError(
            f"split {split!r} is not in dataset {dataset.name!r} (splits: {sorted(dataset.splits)})"
        )
    args = (model_dir, dataset, split, config, baseline_dir, tuple(beam_args), interface)
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
    interface: Optional[ModelInterfaceConfig] = None,
) -> evaluator.EvaluationResult:
    files = os.path.join(dataset.directory, dataset.split_pattern(split))
    # Also in the watched child process, which shares nothing with the command's process.
    remote_storage.enable([files, model_dir, baseline_dir or ""])
    options = beam.options.pipeline_options.PipelineOptions(list(beam_args))
    return evaluator.evaluate(
        lambda: beam.Pipeline(options=options),
        files,
        model_dir,
        config,
        dataset.class_names,
        baseline_model_dir=baseline_dir,
        raw_image_shape=dataset.image_shape,
        expected_examples=dataset.splits[split],
        model_interface=interface,
    )


def _cell(value) -> str:
    return "–" if value is None else f"{value:.4f}"


def _graph_check_line(result: evaluator.EvaluationResult) -> str:
    check = result.graph_checks.get(evaluator.CANDIDATE)
    if not check:
        return "- graph check: not run"
    line = f"- graph check: passed ({len(check['ops'])} op types, {check['seconds']:.3f} s)"
    allowed = ", ".join(f"`{op}`" for op in check["allowed_by_flag"])
    return line + (f"; let through by --allow-op: {allowed}" if allowed else "")


def _interface_line(result: evaluator.EvaluationResult) -> str:
    interface = result.interfaces.get(evaluator.CANDIDATE)
    return f"- called as: {ModelInterface.from_dict(interface).describe()}" if interface else ""


def to_markdown(
    result: evaluator.EvaluationResult,
    model: str,
    baseline: Optional[str],
    dataset: str,
    split: str,
) -> str:
    """The gate's verdict as GitHub-flavoured Markdown."""
    verdict = "✅ PASS" if result.blessed else "❌ FAIL"
    lines = [
        f"## Robustness gate: {verdict}",
        "",
        f"- candidate: `{model}`",
        f"- baseline: `{baseline}`" if baseline else "- baseline: none",
        f"- data: `{dataset}` split `{split}`, "
        f"{result.metrics['candidate']['num_examples']} examples, suite "
        f"`{result.suite_name}`; evaluation valid: {'yes' if result.evaluation_valid else 'NO'}",
        _graph_check_line(result),
        _interface_line(result),
        "",
        "| rule | value | threshold | result |",
        "|---|---|---|---|",
    ]
    for rule in result.rules:
        lines.append(
            f"| {rule.rule} | {_cell(rule.value)} | {_cell(rule.threshold)} | "
            f"{'pass' if rule.passed else '**FAIL**'} |"
        )
    candidate, base = result.metrics["candidate"], result.metrics.get("baseline")
    lines += ["", "| metric | candidate | baseline |", "|---|---|---|"]
    lines.append(
        f"| clean accuracy | {_cell(candidate['clean_accuracy'])} | "
        f"{_cell(base['clean_accuracy'] if base else None)} |"
    )
    others = robust_accuracies(base, result.suite) if base else {}
    for name, value in robust_accuracies(candidate, result.suite).items():
        lines.append(f"| {name} | {_cell(value)} | {_cell(others.get(name))} |")
    lines.append(
        f"| **worst case** | {_cell(candidate['worst_case_robust_accuracy'])} | "
        f"{_cell(base['worst_case_robust_accuracy'] if base else None)} |"
    )
    lines += _corruption_rows(result, candidate, base or {})
    if result.reasons:
        lines += ["", "Failed:"] + [f"- {reason}" for reason in result.reasons]
    return "\n".join(lines) + "\n"


def _corruption_rows(result: evaluator.EvaluationResult, candidate: dict, base: dict) -> List[str]:
    """The corruption rows of the metric table: the mean, the worst corruption, each
    corruption (averaged over its severities) and the mCE against the baseline."""
    if "corruption_mean" not in candidate:
        return []
    by_name, base_by_name = candidate["corruption_by_name"], base.get("corruption_by_name", {})
    rows = [
        f"| **corruptions, mean** ({result.corruption_set} set) | "
        f"{_cell(candidate['corruption_mean'])} | {_cell(base.get('corruption_mean'))} |",
        f"| **worst corruption** ({candidate['corruption_worst_name']}) | "
        f"{_cell(candidate['corruption_worst'])} | "
        f"{_cell(base_by_name.get(candidate['corruption_worst_name']))} |",
    ]
    rows += [
        f"| {name} | {_cell(value)} | {_cell(base_by_name.get(name))} |"
        for name, value in by_name.items()
    ]
    mce = result.corruption_comparison.get("mce")
    if mce is not None:
        rows.append(f"| mCE (baseline = 1) | {_cell(mce)} | 1 |")
    return rows


def to_json(
    result: evaluator.EvaluationResult,
    model: str,
    baseline: Optional[str],
    dataset: str,
    split: str,
) -> dict:
    payload = result.to_dict()
    payload.update(
        passed=result.blessed,
        model=model,
        baseline=baseline,
        dataset=dataset,
        split=split,
        clean_accuracy=result.metrics["candidate"]["clean_accuracy"],
        robust_accuracy=robust_accuracies(result.metrics["candidate"], result.suite),
        worst_case_robust_accuracy=result.metrics["candidate"]["worst_case_robust_accuracy"],
        **{
            key: result.metrics["candidate"].get(key)
            for key in ("corruption_accuracy", "corruption_mean", "corruption_worst")
        },
    )
    return payload


def failed_rules(result: evaluator.EvaluationResult) -> List[str]:
    return [
        f"{rule.rule}: {_cell(rule.value)} vs threshold {_cell(rule.threshold)}"
        for rule in result.rules
        if not rule.passed
    ]
