"""``evaluate``: the robustness evaluation as one typed call, shared by the pipeline's
RobustnessEvaluator and the CI gate.

It attacks the candidate (and the production baseline) on serialized examples in a Beam
pipeline, reads the merged counts back, and applies the blessing rules. Before Beam starts
and before any model is loaded, every model's ``saved_model.pb`` is read and its graphs
checked by what each op can do (``models.graph_safety``): a model that could touch files,
call Python or run an unknown op is refused before any of it runs.
"""

import contextlib
import dataclasses
import logging
import os
import tempfile
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

from robustfx.base.corruption_sets import resolve_corruption_set
from robustfx.base.evaluation_config import EvaluationConfig
from robustfx.base.model_interface_config import ModelInterfaceConfig
from robustfx.robustness.models import graph_safety, saved_models, scores
from robustfx.robustness.models.model_interface import read_interface
from robustfx.robustness.verdict import beam_evaluation, validity
from robustfx.robustness.verdict import rules as blessing_rules
from robustfx.robustness.verdict.corruption_metrics import corruption_errors
from robustfx.robustness.verdict.counts import MEAN
from robustfx.robustness.verdict.model_under_attack import AttackPlan

CANDIDATE, BASELINE, REFERENCE = "candidate", "baseline", "reference"


@dataclasses.dataclass
class EvaluationResult:
    """What one evaluation found, as plain data."""

    metrics: Dict[str, dict]  # role ('candidate', 'baseline') -> metrics
    rules: List[blessing_rules.RuleResult]
    blessed: bool
    suite: List[str]  # the reported attacks: references, then the cascade, in order
    suite_name: str = ""  # quick, standard or custom
    validity: List[blessing_rules.RuleResult] = dataclasses.field(default_factory=list)
    # Candidate vs baseline on the same examples: 'clean' and 'worst' paired tests.
    paired_tests: Dict[str, dict] = dataclasses.field(default_factory=dict)
    advice: List[str] = dataclasses.field(default_factory=list)  # sample-size advice
    baseline_skipped: Optional[str] = None  # why the production baseline was not evaluated
    # Role -> what the graph check read (graph_safety.GraphReport.to_dict()), ops let
    # through by --allow-op included.
    graph_checks: Dict[str, dict] = dataclasses.field(default_factory=dict)
    # The natural corruptions: the set's name, what it skipped for these images, and against
    # the baseline the corruption errors (mCE) and the paired tests per corruption.
    corruption_set: str = "none"
    corruption_note: str = ""
    corruption_comparison: Dict[str, object] = dataclasses.field(default_factory=dict)
    # Role -> how the model was called: signature, input, output, pixel scale, and whether
    # its output held logits or probabilities (model_interface.ModelInterface.to_dict()).
    interfaces: Dict[str, dict] = dataclasses.field(default_factory=dict)

    @property
    def evaluation_valid(self) -> bool:
        return validity.is_valid(self.validity)

    @property
    def reasons(self) -> List[str]:
        """Why the model was not blessed; empty when it was."""
        return blessing_rules.failure_reasons(self.rules)

    def to_dict(self) -> dict:
        return {
            "suite": self.suite,
            "suite_name": self.suite_name,
            "evaluation_valid": self.evaluation_valid,
            "validity": [check.to_dict() for check in self.validity],
            "paired_tests": self.paired_tests,
            "advice": self.advice,
            "baseline_skipped": self.baseline_skipped,
            "graph_checks": self.graph_checks,
            "corruption_set": self.corruption_set,
            "corruption_note": self.corruption_note,
            "corruption_comparison": self.corruption_comparison,
            "interfaces": self.interfaces,
            "blessed": self.blessed,
            "reasons": self.reasons,
            "rules": [rule.to_dict() for rule in self.rules],
            "metrics": self.metrics,
        }


COUNTS_FILE = "counts.jsonl"


@contextlib.contextmanager
def _output_dir(output_dir: Optional[str]) -> Iterator[str]:
    if output_dir:
        yield output_dir
        return
    with tempfile.TemporaryDirectory(prefix="robustness-") as scratch:
        yield scratch


def baseline_problem(
    baseline_model_dir: str,
    image_shape: Sequence[int],
    allowed_ops: Sequence[str] = (),
    request: Optional[ModelInterfaceConfig] = None,
) -> Tuple[Optional[str], Optional[graph_safety.GraphReport]]:
    """Why the production baseline cannot be judged beside the candidate (missing, corrupt,
    without the attack signature, or taking other images), or None when it can; and what
    its graph check read. Its graph is checked before it is loaded; ``request`` says how it
    is called (``--signature``, ...), as for the candidate.

    Raises:
      graph_safety.UnsafeModelError: its graph holds refused ops: the evaluation stops.
    """
    try:
        report = graph_safety.check_graph(baseline_model_dir, allowed_ops)
    except graph_safety.UnsafeModelError:
        raise
    except Exception as error:  # unreadable: never loaded, so nothing of it runs
        return f"baseline {baseline_model_dir} cannot be loaded: {error}", None
    try:
        interface = read_interface(baseline_model_dir, request, data_shape=image_shape)
        _, shape = saved_models.load_logits_fn(baseline_model_dir, interface)
    except Exception as error:  # any failure to load means the same: no comparison
        message = f"{type(error).__name__}: {error}"
        return f"baseline {baseline_model_dir} cannot be loaded: {message}", report
    if tuple(shape) != tuple(image_shape):
        return (
            f"baseline {baseline_model_dir} takes {list(shape)} images, the candidate "
            f"{list(image_shape)} (e.g. after --resize)"
        ), report
    return None, report


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
    # Before Beam starts and before any model is loaded, from saved_model.pb alone: the
    # attack signature and its input shape, what every graph may run.
    image_shape = saved_models.check_input_shape(model_dir, raw_image_shape, model_interface)
    if reference_model_dir:
        saved_models.check_signature(reference_model_dir)
    graph_checks = {}
    for role, directory in ((CANDIDATE, model_dir), (REFERENCE, reference_model_dir)):
        if directory:
            graph_checks[role] = graph_safety.check_graph(directory, config.allowed_ops)
    model_dirs = {CANDIDATE: model_dir}
    skipped = baseline_unusable or None
    if baseline_model_dir and not skipped:
        skipped, graph_checks[BASELINE] = baseline_problem(
            baseline_model_dir, image_shape, config.allowed_ops, model_interface
        )
        if not skipped:
            model_dirs[BASELINE] = baseline_model_dir
    if skipped:
        logging.warning(
            "COMPARISON WITH THE PRODUCTION BASELINE SKIPPED: %s; the candidate is judged "
            "on the absolute rules only",
            skipped,
        )
    # The models' first run, on a few clean examples: logits or probabilities.
    interfaces = scores.interfaces_on_data(
        model_dirs, model_interface, class_names, example_files, raw_image_shape
    )
    with _output_dir(output_dir) as directory:
        output_path = os.path.join(directory, COUNTS_FILE)
        with make_pipeline() as pipeline:
            beam_evaluation.evaluate_models(
                pipeline,
                example_files,
                model_dirs,
                AttackPlan.of(config),
                len(class_names),
                config.batch_size,
                output_path,
                seed,
                raw_image_shape,
                expected_examples,
                reference_model_dir,
                config.transfer_config(),
                config.corruptions,
                {role: interface.to_dict() for role, interface in interfaces.items()},
            )
        found = beam_evaluation.read_counts(output_path)
    metrics = beam_evaluation.finalize(found.per_model, list(model_dirs), class_names)
    checks = validity.validity_checks(metrics[CANDIDATE], config, len(class_names))
    corruption_tests = {group: s.test() for group, s in found.paired_corruption.items()}
    rules = blessing_rules.evaluate_rules(
        metrics[CANDIDATE],
        config.thresholds,
        metrics.get(BASELINE),
        tfma_blessed,
        checks,
        found.paired,
        baseline_skipped=skipped,
        corruption_test=corruption_tests.get(MEAN),
    )
    paired_tests = {}
    if found.paired:
        paired_tests = {kind: found.paired.test(kind) for kind in ("clean", "worst")}
    if MEAN in corruption_tests:
        paired_tests["corruption_mean"] = corruption_tests[MEAN]
    reported = [a.name for a in (*config.references(), *config.cascade())]
    resolved = resolve_corruption_set(config.corruptions, image_shape[-1])
    return EvaluationResult(
        metrics,
        rules,
        blessing_rules.is_blessed(rules),
        reported,
        config.suite_name,
        checks,
        paired_tests,
        blessing_rules.sample_size_advice(metrics[CANDIDATE], config.thresholds),
        skipped,
        {role: report.to_dict() for role, report in graph_checks.items() if report},
        config.corruptions,
        resolved.note,
        _corruption_comparison(metrics, corruption_tests),
        interfaces={role: interface.to_dict() for role, interface in interfaces.items()},
    )


def _corruption_comparison(metrics: Dict[str, dict], tests: Dict[str, dict]) -> Dict[str, object]:
    """Against the baseline: the corruption errors (CE per corruption, mCE) and the paired
    tests (the mean and each corruption); empty without a baseline or corruptions."""
    if BASELINE not in metrics:
        return {}
    errors = corruption_errors(metrics[CANDIDATE], metrics[BASELINE])
    return {**errors, "tests": tests} if errors else {}
