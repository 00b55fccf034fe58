"""The node IDs of the production graph that readers of ML Metadata and of compiled specs look
nodes up by. Kept apart from ``production`` so that a reader (``robustfx gate``) finds a node
without importing TFX's components."""

from typing import Optional

EXAMPLE_GEN_ID = "ImportExampleGen"
TRAINER_ID = "Trainer"
ROBUSTNESS_EVALUATOR_ID = "RobustnessEvaluator"
PUSHER_ID = "Pusher"
PRODUCTION_MODEL_ID = "ProductionModel"


def evaluator_id(trainer_id: Optional[str] = None) -> str:
    """The node ID of the RobustnessEvaluator that judges ``trainer_id``'s model (None: the
    production Trainer's)."""
    return f"{ROBUSTNESS_EVALUATOR_ID}_{trainer_id}" if trainer_id else ROBUSTNESS_EVALUATOR_ID
