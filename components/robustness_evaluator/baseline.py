"""The baseline a candidate is compared with: production (the ProductionModel component's
pointer) or a Model artifact given directly; and whether it is the candidate itself."""

import dataclasses
import logging
from typing import Dict, List, Optional

from tfx import types
from tfx.utils import path_utils

from robustfx.components.production_model import executor as production_pointer
from robustfx.components.robustness_evaluator import spec
from robustfx.robustness.models import saved_models


@dataclasses.dataclass(frozen=True)
class Baseline:
    """What the candidate is compared with.

    Attributes:
      model_dir: the baseline SavedModel; None when there is none to compare with.
      problem: why production could not be the baseline ('' when it could or when nothing
        serves yet); the rules skip the comparison loudly, or refuse under
        --require-baseline-comparison.
      is_candidate: the candidate is the baseline itself (judged alone, not against itself).
      properties: what the blessing records about the baseline (ML Metadata properties).
    """

    model_dir: Optional[str] = None
    problem: str = ""
    is_candidate: bool = False
    properties: Dict[str, object] = dataclasses.field(default_factory=dict)

    @property
    def model_id(self) -> Optional[int]:
        return self.properties.get("baseline_model_id")


def _fingerprint(model_dir: str) -> Optional[str]:
    try:
        return saved_models.model_fingerprint(model_dir)
    except Exception:  # an unreadable baseline: evaluate() explains why, loudly
        return None


def _from_production(pointer: types.Artifact, candidate_dir: str) -> Baseline:
    production = production_pointer.read(pointer)
    if not production.usable:
        return Baseline(problem=production.problem)
    properties = {
        "baseline_model": production.model_uri,
        "baseline_model_id": production.model_artifact_id,
        "baseline_serving_version": production.version,
        "baseline_serving_uri": production.uri,
    }
    same = production.fingerprint == _fingerprint(candidate_dir)
    return Baseline(production.uri, "", same, properties)


def _from_model(model: types.Artifact, candidate: types.Artifact, candidate_dir: str):
    model_dir = path_utils.serving_model_path(model.uri)
    same = model.id == candidate.id or _fingerprint(model_dir) == _fingerprint(candidate_dir)
    properties = {"baseline_model": model.uri, "baseline_model_id": model.id}
    return Baseline(model_dir, "", same, properties)


def resolve_baseline(
    input_dict: Dict[str, List[types.Artifact]], candidate: types.Artifact, candidate_dir: str
) -> Baseline:
    """The baseline from the executor's inputs: a Model artifact if one is given, else the
    production pointer, else none."""
    models = input_dict.get(spec.BASELINE_MODEL_KEY) or []
    pointers = input_dict.get(spec.PRODUCTION_MODEL_KEY) or []
    if models:
        baseline = _from_model(models[0], candidate, candidate_dir)
    elif pointers:
        baseline = _from_production(pointers[0], candidate_dir)
    else:
        return Baseline()
    if baseline.is_candidate:
        logging.info(
            "RobustnessEvaluator: the candidate is the production model itself (%s); it is "
            "judged alone, not against itself",
            baseline.properties.get("baseline_serving_uri")
            or baseline.properties["baseline_model"],
        )
    return baseline
