"""``evaluate``: the robustness evaluation as one typed call, shared by the pipeline's
RobustnessEvaluator and the CI gate.

It attacks the candidate (and the production baseline) on serialized examples in a Beam
pipeline, reads the merged counts back, and applies the blessing rules. Before Beam starts
and before any model is loaded, every model's ``saved_model.pb`` is read and its graphs
checked by what each op can do (``models.graph_safety``, in ``preparation.prepare``): a
model that could touch files, call Python or run an unknown op is refused before any of it
runs.
"""

import contextlib
import os
import tempfile
from typing import Any, Dict, Iterator, Optional, Sequence

from robustfx.base.corruption_sets import resolve_corruption_set
from robustfx.base.evaluation_config import EvaluationConfig
from robustfx.base.model_interface_config import ModelInterfaceConfig
from robustfx.robustness.verdict import beam_evaluation, validity
from robustfx.robustness.verdict import rules as blessing_rules
from robustfx.robustness.verdict.corruption_metrics import corruption_errors
from robustfx.robustness.verdict.counts import MEAN
from robustfx.robustness.verdict.figures import Figures
from robustfx.robustness.verdict.outcome import BASELINE, CANDIDATE, EvaluationResult, Verdict
from robustfx.robustness.verdict.preparation import Prepared, prepare

COUNTS_FILE = "counts.jsonl"


@contextlib.contextmanager
def counts_directory(output_dir: Optional[str]) -> Iterator[str]:
    """``output_dir``, or a local temporary directory (removed afterwards) when None."""
    if output_dir:
        yield output_dir
        return
    with tempfile.TemporaryDirectory(prefix="robustness-") as scratch:
        yield scratch


def evaluate(
    make_pipeline: Any,
    example_files: str,
    model_dir: str,
    config: EvaluationConfig,
    class_names: Sequence[str],
    baseline_model_dir: Optional[str] = None,
    baseline_unusable: str = "",
    tfma_blessed: Optional[bool] = None,
    seed: int = 0,
    raw_image_shape: Optional[Sequence[Optional[int]]] = None,
    expected_examples: Optional[int] = None,
    reference_model_dir: Optional[str] = None,
    output_dir: Optional[str] = None,
    model_interface: Optional[ModelInterfaceConfig] = None,
) -> EvaluationResult:
    """Attacks the candidate (and baseline) on the examples and applies the blessing rules.

    Args:
      make_pipeline: returns a fresh ``beam.Pipeline`` (with the pipeline's Beam args).
      example_files: glob of serialized transformed examples.
      model_dir: the candidate SavedModel.
      config: attacks, thresholds and batch size.
      class_names: from the dataset metadata.
      baseline_model_dir: the blessed baseline SavedModel, if there is one.
      baseline_unusable: why production could not be the baseline (the comparison is
        skipped loudly, or the candidate refused under --require-baseline-comparison).
      tfma_blessed: the TFMA Evaluator's verdict, if it ran.
      seed: seeds random starts and the noise control.
      raw_image_shape: set when the examples are raw TFDS records (see
        ``beam_evaluation.evaluate_models``).
      expected_examples: the number of examples, for progress lines.
      reference_model_dir: when set, also run the write-ups' transfer protocol: examples
        crafted against this model, reported apart as ``transfer_accuracy``.
      output_dir: where the Beam pipeline writes its merged counts (the evaluation
        artifact's URI in the pipeline, so remote workers and the launcher share it); a
        local temporary directory when None (the CI gate on one machine).
      model_interface: how the candidate and baseline are called (signature, input, output,
        pixel scale); what their signatures say when None.

    Raises:
      graph_safety.UnsafeModelError: a model's graph holds an op the check refuses and
        ``config.allowed_ops`` does not name; nothing of any model has run.
      ModelSignatureError: no attack signature, one that cannot take the dataset's images, or
        outputs that are not class scores for its classes.
    """
    prepared = prepare(
        example_files,
        model_dir,
        config,
        class_names,
        baseline_model_dir,
        baseline_unusable,
        raw_image_shape,
        reference_model_dir,
        model_interface,
    )
    with counts_directory(output_dir) as directory:
        output_path = os.path.join(directory, COUNTS_FILE)
        with make_pipeline() as pipeline:
            beam_evaluation.evaluate_models(
                pipeline,
                example_files,
                prepared.model_dirs,
                prepared.attack_plan(config),
                len(class_names),
                config.batch_size,
                output_path,
                seed,
                raw_image_shape,
                expected_examples,
                reference_model_dir,
                config.transfer_config(),
                config.corruptions,
                prepared.interface_dicts(),
            )
        found = beam_evaluation.read_counts(output_path)
    return conclude(found, prepared, config, class_names, tfma_blessed)


def conclude(
    found: beam_evaluation.EvaluationCounts,
    prepared: Prepared,
    config: EvaluationConfig,
    class_names: Sequence[str],
    tfma_blessed: Optional[bool] = None,
    validity_metrics: Optional[dict] = None,
) -> EvaluationResult:
    """The figures, validity checks and blessing rules of the merged counts.

    Args:
      validity_metrics: the candidate's metrics that the validity checks judge, when they
        have a sample of their own; by default the merged counts' metrics.
    """
    metrics = beam_evaluation.finalize(found.per_model, list(prepared.model_dirs), class_names)
    figures = {role: Figures.of(record) for role, record in metrics.items()}
    checks = validity.validity_checks(
        validity_metrics or metrics[CANDIDATE], config, len(class_names)
    )
    corruption_tests = {group: s.test() for group, s in found.paired_corruption.items()}
    paired_tests = {}
    if found.paired:
        paired_tests = {kind: found.paired.test(kind) for kind in ("clean", "worst")}
    if MEAN in corruption_tests:
        paired_tests["corruption_mean"] = corruption_tests[MEAN]
    rules = blessing_rules.evaluate_rules(
        figures[CANDIDATE],
        config.thresholds,
        figures.get(BASELINE),
        tfma_blessed,
        checks,
        paired_tests,
        baseline_skipped=prepared.skipped,
    )
    verdict = Verdict(
        candidate=figures[CANDIDATE],
        baseline=figures.get(BASELINE),
        suite=tuple(a.name for a in (*config.references(), *config.cascade())),
        suite_name=config.suite_name,
        corruption_set=config.corruptions,
        rules=tuple(rules),
        evaluation_valid=validity.is_valid(checks),
        blessed=blessing_rules.is_blessed(rules),
        paired_tests=paired_tests,
        advice=tuple(blessing_rules.sample_size_advice(figures[CANDIDATE], config.thresholds)),
    )
    return EvaluationResult(
        verdict,
        metrics,
        tuple(checks),
        prepared.skipped,
        {role: report.to_dict() for role, report in prepared.graph_checks.items() if report},
        resolve_corruption_set(config.corruptions, prepared.image_shape[-1]).note,
        _corruption_comparison(metrics, corruption_tests),
        interfaces=prepared.interface_dicts(),
        certification=prepared.certification(config),
    )


def _corruption_comparison(metrics: Dict[str, dict], tests: Dict[str, dict]) -> Dict[str, object]:
    """Against the baseline: the corruption errors (CE per corruption, mCE) and the paired
    tests (the mean and each corruption); empty without a baseline or corruptions."""
    if BASELINE not in metrics:
        return {}
    errors = corruption_errors(metrics[CANDIDATE], metrics[BASELINE])
    return {**errors, "tests": tests} if errors else {}
