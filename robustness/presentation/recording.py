"""``evaluate_and_record``: judge a candidate and record what was found, the one call behind
the pipeline's RobustnessEvaluator and the CI gate.

It runs ``evaluate()``, then writes ``metrics.json``, the HTML report (after a short second
pass over the first examples for its image grids) and the model card, and returns the ML
Metadata properties for the caller to set on its artifacts. Files go through ``tf.io.gfile``,
so any filesystem TensorFlow reaches works (gs://, s3://, ram://, local). No TFX here.
"""

import dataclasses
import json
import os
from typing import Any, Dict, Mapping, Optional, Sequence, Union

from robustfx.base.evaluation_config import EvaluationConfig
from robustfx.robustness.presentation import model_card, report_samples
from robustfx.robustness.presentation.report import render_report
from robustfx.robustness.verdict.early_evaluation import evaluate_early
from robustfx.robustness.verdict.evaluation import evaluate
from robustfx.robustness.verdict.figures import Figures
from robustfx.robustness.verdict.outcome import (
    BASELINE,
    CANDIDATE,
    METRICS_FILE,
    EvaluationResult,
)

Property = Union[int, float, str]


@dataclasses.dataclass(frozen=True)
class Recorded:
    """An evaluation and where it was recorded."""

    result: EvaluationResult
    metrics: str  # the path of metrics.json
    report: str  # the path of the HTML report
    card: dict  # the model card
    card_path: str  # the path of model_card.json (model_card.md is beside it)
    # For every artifact of the evaluation: the figures by role ('<role>_<figure>', '_low',
    # '_high'), validity, suite, corruption set and mCE.
    properties: Dict[str, Property]
    # For the verdict's artifact (the blessing): blessed, reasons, and why the comparison
    # with the baseline was skipped.
    verdict_properties: Dict[str, Property]


def figure_properties(figures_by_role: Mapping[str, Figures]) -> Dict[str, float]:
    """Each headline figure of each model with its 95% interval bounds, e.g.
    ``candidate_clean_accuracy``, ``..._low``, ``..._high``, and every attack's robust
    accuracy as ``candidate_robust_accuracy_<attack>``."""
    flat = {}
    for role, figures in figures_by_role.items():
        named = dict(figures.estimates())
        named.update({f"robust_accuracy_{a}": e for a, e in figures.robust_accuracy.items()})
        for name, estimate in named.items():
            low, high = estimate.bounds
            flat[f"{role}_{name}"] = float(estimate.value)
            flat.update({f"{role}_{name}_low": float(low), f"{role}_{name}_high": float(high)})
    return flat


def _properties(result: EvaluationResult) -> Dict[str, Property]:
    verdict = result.verdict
    by_role = {CANDIDATE: verdict.candidate}
    if verdict.baseline is not None:
        by_role[BASELINE] = verdict.baseline
    properties: Dict[str, Property] = dict(figure_properties(by_role))
    properties.update(
        evaluation_valid=int(verdict.evaluation_valid),
        suite=verdict.suite_name,
        corruption_set=verdict.corruption_set,
    )
    if result.corruption_comparison.get("mce") is not None:
        properties["corruption_mce"] = float(result.corruption_comparison["mce"])
    return properties


def _verdict_properties(result: EvaluationResult) -> Dict[str, Property]:
    properties: Dict[str, Property] = {
        "blessed": int(result.verdict.blessed),
        "reasons": "; ".join(result.verdict.reasons),
    }
    if result.baseline_skipped:
        properties["baseline_skipped"] = result.baseline_skipped
    if result.decided_early:
        early = result.decided_early
        properties["decided_after_round"] = int(early["stopped_after_round"])
        properties["examples_judged"] = int(early["examples"])
    return properties


def _write(path: str, text: str) -> None:
    import tensorflow as tf

    tf.io.gfile.makedirs(os.path.dirname(path))
    with tf.io.gfile.GFile(path, "w") as f:
        f.write(text)


def evaluate_and_record(
    make_pipeline: Any,
    example_files: str,
    model_dir: str,
    config: EvaluationConfig,
    class_names: Sequence[str],
    output_dir: str,
    card_dir: Optional[str] = None,
    model_info: Optional[Mapping[str, Any]] = None,
    provenance: Optional[Mapping[str, Any]] = None,
    baseline_model_dir: Optional[str] = None,
    round_sizes: Optional[Sequence[int]] = None,
    **evaluation: Any,
) -> Recorded:
    """Evaluates the candidate (``evaluate()``) and records it: ``metrics.json``, the report
    and its plots in ``output_dir``; ``model_card.json`` and ``.md`` in ``card_dir``
    (default: ``output_dir``).

    Args:
      make_pipeline, example_files, model_dir, config, class_names: as for ``evaluate()``.
      output_dir: also where the Beam pipeline writes its merged counts.
      card_dir: where the model card goes (the pipeline's blessing, which the Pusher ships).
      model_info: what the card says about the data and the training recipe (``dataset``,
        ``model``, ``adversarial``, ``training``) and the ``evaluation`` config (``config``
        as a dict when absent).
      provenance: pipeline, run and artifact ids for the card; package versions are added.
      baseline_model_dir: the production model to compare with, if any.
      round_sizes: decide early (``evaluate_early``), judging the examples in rounds that
        end at these sizes and then at all; None judges every example at once
        (``evaluate()``).
      **evaluation: the other keyword arguments of ``evaluate()`` (baseline_unusable, seed,
        tfma_blessed, raw_image_shape, expected_examples, reference_model_dir).
    """
    from robustfx.base.serialization import to_dict

    if round_sizes is None:
        result = evaluate(
            make_pipeline,
            example_files,
            model_dir,
            config,
            class_names,
            baseline_model_dir=baseline_model_dir,
            output_dir=output_dir,
            **evaluation,
        )
    else:  # the rounds report their own progress against the split's size
        evaluation.pop("expected_examples", None)
        result = evaluate_early(
            make_pipeline,
            example_files,
            model_dir,
            config,
            class_names,
            round_sizes,
            baseline_model_dir=baseline_model_dir,
            output_dir=output_dir,
            **evaluation,
        )
    metrics = os.path.join(output_dir, METRICS_FILE)
    _write(metrics, json.dumps(result.to_dict(), indent=2, sort_keys=True))
    samples = None
    if config.report_examples:
        samples = report_samples.collect_samples(
            example_files,
            model_dir,
            config.cascade()[0],
            class_names,
            config.report_examples,
            baseline_model_dir=baseline_model_dir,
            seed=evaluation.get("seed", 0),
            raw_image_shape=evaluation.get("raw_image_shape"),
            corruptions=list(result.verdict.candidate.corruption_by_name),
        )
    report = render_report(output_dir, result, samples)
    info = {"evaluation": to_dict(config), **(model_info or {})}
    card = model_card.build_model_card(
        result, info, {**(provenance or {}), "package_versions": model_card.package_versions()}
    )
    card_dir = card_dir or output_dir
    card_path = os.path.join(card_dir, model_card.CARD_JSON)
    _write(card_path, json.dumps(card, indent=2))
    _write(os.path.join(card_dir, model_card.CARD_MARKDOWN), model_card.render_markdown(card))
    return Recorded(
        result,
        metrics,
        report,
        card,
        card_path,
        _properties(result),
        _verdict_properties(result),
    )
