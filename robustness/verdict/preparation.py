"""What is known of the models before any example is attacked (``prepare``): every graph
checked by what its ops can do, the production baseline checked or skipped with the reason,
how each model is called (from a first run on a few clean examples), and which models the
verifier cannot read. ``evaluation.evaluate`` and ``early_evaluation.evaluate_early`` start
from it.
"""

import dataclasses
import logging
from typing import Dict, Optional, Sequence, Tuple

from robustfx.base.evaluation_config import EvaluationConfig
from robustfx.base.model_interface_config import ModelInterfaceConfig
from robustfx.robustness.models import graph_safety, saved_models, scores
from robustfx.robustness.models.examples import read_examples
from robustfx.robustness.models.model_interface import ModelInterface, read_interface
from robustfx.robustness.verdict import certified_pass
from robustfx.robustness.verdict.model_under_attack import AttackPlan
from robustfx.robustness.verdict.outcome import BASELINE, CANDIDATE, REFERENCE


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
