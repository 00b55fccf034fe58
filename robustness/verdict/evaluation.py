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
from typing import Any, Dict, Iterator, Optional, Sequence, Tuple

from robustfx.base.corruption_sets import resolve_corruption_set
from robustfx.base.evaluation_config import EvaluationConfig
from robustfx.base.model_interface_config import ModelInterfaceConfig
from robustfx.robustness.models import graph_safety, saved_models, scores
from robustfx.robustness.models.examples import read_examples
from robustfx.robustness.models.model_interface import ModelInterface, read_interface
from robustfx.robustness.verdict import beam_evaluation, certified_pass, validity
from robustfx.robustness.verdict import rules as blessing_rules
from robustfx.robustness.verdict.corruption_metrics import corruption_errors
from robustfx.robustness.verdict.counts import MEAN
from robustfx.robustness.verdict.figures import Figures
from robustfx.robustness.verdict.model_under_attack import AttackPlan
from robustfx.robustness.verdict.outcome import (
    BASELINE,
    CANDIDATE,
    REFERENCE,
    EvaluationResult,
    Verdict,
)

COUNTS_FILE = "counts.jsonl"


@contextlib.contextmanager
def counts_directory(output_dir: Optional[str]) -> Iterator[str]:
    """``output_dir``, or a local temporary directory (removed afterwards) when None."""
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


@dataclasses.dataclass(frozen=True)
class Prepared:
    """What is known of the models before any example is attacked: the image shape, the
    models judged by role, each graph check, why the baseline was skipped, how each model
    is called, and why the verifier cannot certify a model (role -> one line)."""

    image_shape: Tuple[int, ...]
    model_dirs: Dict[str, str]
    graph_checks: Dict[str, Optional[graph_safety.GraphReport]]
    skipped: Optional[str]
    interfaces: Dict[str, ModelInterface]
    uncertifiable: Dict[str, str] = dataclasses.field(default_factory=dict)

    def interface_dicts(self) -> Dict[str, dict]:
        return {role: interface.to_dict() for role, interface in self.interfaces.items()}

    def attack_plan(self, config: EvaluationConfig) -> AttackPlan:
        """What runs on each batch: the config's attacks, and its verifier on the models it
        can read."""
        plan = AttackPlan.of(config)
        roles = () if plan.verify == certified_pass.NO_VERIFIER else self.model_dirs
        return dataclasses.replace(
            plan, certified_roles=tuple(r for r in roles if r not in self.uncertifiable)
        )

    def certification(self, config: EvaluationConfig) -> Dict[str, object]:
        """What ``metrics.json`` records of the verifier: its method and threat model, and
        why a model got no certificate."""
        plan = self.attack_plan(config)
        return {
            "method": plan.verify,
            "norm": plan.norm,
            "epsilon": plan.radii[0],
            "uncertifiable": dict(self.uncertifiable),
        }


def prepare(
    example_files: str,
    model_dir: str,
    config: EvaluationConfig,
    class_names: Sequence[str],
    baseline_model_dir: Optional[str] = None,
    baseline_unusable: str = "",
    raw_image_shape: Optional[Sequence[Optional[int]]] = None,
    reference_model_dir: Optional[str] = None,
    model_interface: Optional[ModelInterfaceConfig] = None,
) -> Prepared:
    """Checks every model before any of it runs (arguments as for ``evaluate``), then finds
    how each is called from a first run on a few clean examples.

    Raises:
      graph_safety.UnsafeModelError, ModelSignatureError: as ``evaluate``.
    """
    # Before any model is loaded, from saved_model.pb alone: the attack signature and its
    # input shape, what every graph may run.
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
    uncertifiable = {}
    if config.verify != certified_pass.NO_VERIFIER:
        uncertifiable = _uncertifiable(
            model_dirs, interfaces, example_files, image_shape, raw_image_shape
        )
    return Prepared(
        tuple(image_shape), model_dirs, graph_checks, skipped, interfaces, uncertifiable
    )


def _uncertifiable(
    model_dirs: Dict[str, str],
    interfaces: Dict[str, ModelInterface],
    example_files: str,
    image_shape: Sequence[int],
    raw_image_shape: Optional[Sequence[Optional[int]]],
) -> Dict[str, str]:
    """Role -> why the verifier cannot certify that model, checked on a few clean examples;
    each said once, loudly. A model named here is judged without a certified figure."""
    images, _ = read_examples(
        example_files, scores.DETECTION_EXAMPLES, image_shape, raw_image_shape
    )
    found = {}
    for role, directory in model_dirs.items():
        logits_fn, _ = saved_models.load_logits_fn(directory, interfaces[role])
        reason = certified_pass.problem(directory, logits_fn, images)
        if reason:
            logging.warning("NO CERTIFICATE for the %s: %s", role, reason)
            found[role] = reason
    return found


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
