"""The graph of ``robustfx compare``: the production graph plus comparison models.

The same CNN is trained on the same data and steps with other recipes (the baseline without
adversarial regularization, the NSL tutorial's settings, NSL PGD training, certified training
with IBP); each extra model gets its own RobustnessEvaluator. The baseline is also the
reference of the write-ups' transfer protocol for every model. The production nodes are
composed, never changed.
"""

import dataclasses
from typing import Mapping, Optional

from tfx import v1 as tfx

from robustfx.base.run_config import RunConfig
from robustfx.base.training_config import AdversarialConfig, TrainingConfig
from robustfx.data.metadata import DatasetInfo
from robustfx.pipeline.production import (
    assemble,
    data_nodes,
    evaluator_id,
    production_graph,
    robustness_evaluator_node,
    trainer_node,
)

BASELINE_TRAINER_ID = "BaselineTrainer"


@dataclasses.dataclass(frozen=True)
class Recipe:
    """How one comparison model is trained: its NSL settings, and its training settings
    when they are not the run's (the certified recipe)."""

    adversarial: AdversarialConfig
    training: Optional[TrainingConfig] = None


@dataclasses.dataclass(frozen=True)
class Comparison:
    """Extra models trained beside the main one, by Trainer node ID. The baseline (trained
    without adversarial regularization) is the reference of the transfer protocol."""

    baseline: AdversarialConfig
    others: Mapping[str, Recipe] = dataclasses.field(default_factory=dict)


def create_comparison_pipeline(
    config: RunConfig,
    dataset: DatasetInfo,
    comparison: Comparison,
    metadata_connection_config: Optional[object] = None,
) -> tfx.dsl.Pipeline:
    """The production graph with the comparison models and their evaluators added."""
    data = data_nodes(config, dataset)
    baseline = trainer_node(config, dataset, data, comparison.baseline).with_id(BASELINE_TRAINER_ID)
    graph = production_graph(config, dataset, data, reference_model=baseline.outputs["model"])
    trainers = {BASELINE_TRAINER_ID: baseline}
    for trainer_id, recipe in comparison.others.items():
        trainers[trainer_id] = trainer_node(
            config, dataset, data, recipe.adversarial, recipe.training
        ).with_id(trainer_id)
    evaluators = [
        robustness_evaluator_node(
            config,
            dataset,
            data,
            trainer.outputs["model"],
            reference_model=baseline.outputs["model"],
        ).with_id(evaluator_id(trainer_id))
        for trainer_id, trainer in trainers.items()
    ]
    components = graph.components() + list(trainers.values()) + evaluators
    return assemble(config, components, metadata_connection_config=metadata_connection_config)
