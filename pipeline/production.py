"""The production graph, built in stages that other graphs compose.

``create_pipeline`` is the one TFX pipeline that every runner (local, Kubeflow, CI)
executes. Its stages (``data_nodes``, ``trainer_node``, ``gate_nodes``) are public so that
an experiment such as ``robustfx compare`` adds nodes around the production graph instead of
branching inside it. Nothing here reads the environment: everything comes from the typed
``RunConfig`` and the dataset's TFDS metadata.
"""

import dataclasses
import logging
import math
from typing import Any, List, Optional

from tfx import v1 as tfx
from tfx.dsl.components.base import executor_spec

from robustfx.base.run_config import RunConfig
from robustfx.base.serialization import to_dict
from robustfx.base.training_config import AdversarialConfig, TrainingConfig
from robustfx.components import atomic_pusher
from robustfx.components.production_model import ProductionModel
from robustfx.components.robustness_evaluator import RobustnessEvaluator
from robustfx.data.metadata import DatasetInfo
from robustfx.pipeline.node_ids import (  # noqa: F401  (readers import them from here too)
    EXAMPLE_GEN_ID,
    PRODUCTION_MODEL_ID,
    PUSHER_ID,
    ROBUSTNESS_EVALUATOR_ID,
    TRAINER_ID,
    evaluator_id,
)
from robustfx.pipeline.tfma_config import tfma_eval_config
from robustfx.trainer.custom_config import (
    HOLDOUT_FRACTION,
    output_image_shape,
    steps_per_epoch,
    trainer_custom_config,
    transform_custom_config,
)
from robustfx.trainer.layer_plan import plan_layers

PREPROCESSING_FN = "robustfx.trainer.preprocessing.preprocessing_fn"
RUN_FN = "robustfx.trainer.run.run_fn"


@dataclasses.dataclass(frozen=True)
class DataNodes:
    """ExampleGen through Transform."""

    example_gen: Any
    statistics_gen: Any
    schema_gen: Any
    example_validator: Any
    transform: Any

    def components(self) -> list:
        return [
            self.example_gen,
            self.statistics_gen,
            self.schema_gen,
            self.example_validator,
            self.transform,
        ]


@dataclasses.dataclass(frozen=True)
class ProductionGraph:
    """Every node of the production pipeline, in execution order."""

    data: DataNodes
    trainer: Any
    production_model: Any
    evaluator: Any
    robustness_evaluator: Any
    pusher: Any

    def components(self) -> list:
        return [
            *self.data.components(),
            self.trainer,
            self.production_model,
            self.evaluator,
            self.robustness_evaluator,
            self.pusher,
        ]


def data_nodes(config: RunConfig, dataset: DatasetInfo) -> DataNodes:
    """Reads the TFDS shards, checks them and transforms them."""
    splits = sorted(dataset.splits)
    # Reads the TFDS tfrecord shards, one ExampleGen split per TFDS split.
    example_gen = tfx.components.ImportExampleGen(
        input_base=dataset.directory,
        input_config=tfx.proto.Input(
            splits=[
                tfx.proto.Input.Split(name=split, pattern=dataset.split_pattern(split))
                for split in splits
            ]
        ),
    ).with_id(EXAMPLE_GEN_ID)
    # Computes feature statistics over every split.
    statistics_gen = tfx.components.StatisticsGen(examples=example_gen.outputs["examples"])
    # Infers the raw schema (encoded image bytes and an int label) with fixed shapes.
    schema_gen = tfx.components.SchemaGen(
        statistics=statistics_gen.outputs["statistics"], infer_feature_shape=True
    )
    # Reports anomalies (missing features, wrong types) against the schema.
    example_validator = tfx.components.ExampleValidator(
        statistics=statistics_gen.outputs["statistics"], schema=schema_gen.outputs["schema"]
    )
    # The graph that decodes and scales images to [0, 1]. It is not materialized: decoded
    # float images are about 100 times the encoded ones (3 MB a 500x500x3 image), so the
    # Trainer applies the graph to the raw records on the fly, batch by batch, and the
    # served model embeds the same graph. Nothing to analyze, so no statistics either.
    transform = tfx.components.Transform(
        examples=example_gen.outputs["examples"],
        schema=schema_gen.outputs["schema"],
        preprocessing_fn=PREPROCESSING_FN,
        materialize=False,
        disable_statistics=True,
        custom_config=transform_custom_config(
            dataset.image_shape, dataset.num_classes, config.data.resize
        ),
        splits_config=tfx.proto.SplitsConfig(analyze=["train"]),
    )
    return DataNodes(example_gen, statistics_gen, schema_gen, example_validator, transform)


def trainer_node(
    config: RunConfig,
    dataset: DatasetInfo,
    data: DataNodes,
    adversarial: AdversarialConfig,
    training: Optional[TrainingConfig] = None,
) -> Any:
    """Trains the CNN (wrapped in NSL adversarial regularization unless ``adversarial`` is
    disabled, or by ``training``'s recipe) and exports the base model. ``training``: the
    run's training settings unless given (``compare``'s certified model)."""
    training = training or config.training
    batch_size = training.batch_size
    # Without a validation split the Trainer validates on a deterministic hold-out of train,
    # never on the split the gate judges.
    validation_split = dataset.validation_split or "train"
    train_examples = dataset.splits["train"]
    validation_examples = dataset.splits[validation_split]
    if dataset.validation_split is None:
        validation_examples = max(1, int(train_examples * HOLDOUT_FRACTION))
        train_examples -= validation_examples
    return tfx.components.Trainer(
        run_fn=RUN_FN,
        examples=data.example_gen.outputs["examples"],
        transform_graph=data.transform.outputs["transform_graph"],
        schema=data.schema_gen.outputs["schema"],
        train_args=tfx.proto.TrainArgs(
            splits=["train"],
            num_steps=training.epochs * steps_per_epoch(train_examples, batch_size),
        ),
        eval_args=tfx.proto.EvalArgs(
            splits=[validation_split],
            num_steps=max(1, math.ceil(validation_examples / batch_size)),
        ),
        custom_config=trainer_custom_config(
            config.model,
            adversarial,
            training,
            image_shape=output_image_shape(dataset.image_shape, config.data.resize),
            num_classes=dataset.num_classes,
            holdout_fraction=0.0 if dataset.validation_split else HOLDOUT_FRACTION,
        ),
    ).with_id(TRAINER_ID)


def robustness_evaluator_node(
    config: RunConfig, dataset: DatasetInfo, data: DataNodes, model: Any, **optional: Any
) -> RobustnessEvaluator:
    """White-box attacks on ``model``; ``optional`` holds the baseline, TFMA's blessing and
    the reference model of the write-ups' transfer protocol."""
    return RobustnessEvaluator(
        examples=data.example_gen.outputs["examples"],
        raw_image_shape=dataset.image_shape,
        model=model,
        evaluation_config=config.evaluation,
        class_names=dataset.class_names,
        seed=config.training.seed,
        **optional,
    )


def model_info(config: RunConfig, dataset: DatasetInfo) -> dict:
    """What the model card says about the data and the training recipe."""
    return {
        "dataset": {"name": dataset.name, "version": dataset.version, "splits": dataset.splits},
        "model": to_dict(config.model),
        "adversarial": to_dict(config.adversarial),
        "training": to_dict(config.training),
    }


def production_graph(
    config: RunConfig,
    dataset: DatasetInfo,
    data: Optional[DataNodes] = None,
    reference_model: Optional[Any] = None,
) -> ProductionGraph:
    """The production nodes. ``data`` reuses nodes an experiment already built;
    ``reference_model`` adds the write-ups' transfer protocol to the evaluation."""
    eval_split = config.evaluation.split
    if eval_split not in dataset.splits:
        raise ValueError(
            f"evaluation split {eval_split!r} is not in dataset {dataset.name!r} "
            f"(splits: {sorted(dataset.splits)})"
        )
    # Fit the CNN to the image size now, so a shape that cannot work stops the run before
    # any component starts.
    image_shape = output_image_shape(dataset.image_shape, config.data.resize)
    for note in plan_layers(config.model, image_shape).notes:
        logging.info("CNN adapted to %s images: %s", "x".join(map(str, image_shape)), note)
    data = data or data_nodes(config, dataset)
    trainer = trainer_node(config, dataset, data, config.adversarial)
    # The model that serves in the Pusher's destination, if the project blessed it: the
    # baseline, found the same way on every orchestrator (no resolver task, never cached).
    production_model = ProductionModel(serving_dir=config.serving_dir).with_id(PRODUCTION_MODEL_ID)
    # Clean metrics per class, with the clean-accuracy threshold. The change against
    # production is the RobustnessEvaluator's (paired, on the same examples).
    evaluator = tfx.components.Evaluator(
        examples=data.example_gen.outputs["examples"],
        model=trainer.outputs["model"],
        eval_config=tfma_eval_config(config.evaluation.thresholds),
        example_splits=[eval_split],
    )
    # White-box attacks on the candidate and the baseline; the blessing Pusher obeys.
    optional = {"reference_model": reference_model} if reference_model is not None else {}
    robustness_evaluator = robustness_evaluator_node(
        config,
        dataset,
        data,
        trainer.outputs["model"],
        production_model=production_model.outputs["production"],
        tfma_blessing=evaluator.outputs["blessing"],
        model_info=model_info(config, dataset),
        **optional,
    ).with_id(evaluator_id())
    # Pushes the model to a new version directory of the serving dir, atomically, and only
    # when the RobustnessEvaluator blessed it.
    pusher = tfx.components.Pusher(
        model=trainer.outputs["model"],
        model_blessing=robustness_evaluator.outputs["blessing"],
        push_destination=tfx.proto.PushDestination(
            filesystem=tfx.proto.PushDestination.Filesystem(base_directory=config.serving_dir)
        ),
        custom_executor_spec=executor_spec.ExecutorClassSpec(atomic_pusher.Executor),
    ).with_id(PUSHER_ID)
    return ProductionGraph(data, trainer, production_model, evaluator, robustness_evaluator, pusher)


def assemble(
    config: RunConfig,
    components: List[Any],
    beam_pipeline_args: Optional[List[str]] = None,
    metadata_connection_config: Optional[object] = None,
) -> tfx.dsl.Pipeline:
    """A TFX pipeline of ``components`` with the run's name, root, cache and Beam args."""
    return tfx.dsl.Pipeline(
        pipeline_name=config.pipeline_name,
        pipeline_root=config.pipeline_root,
        components=components,
        enable_cache=config.enable_cache,
        metadata_connection_config=metadata_connection_config,
        beam_pipeline_args=list(beam_pipeline_args or config.pipeline_args()),
    )


def create_pipeline(
    config: RunConfig,
    dataset: DatasetInfo,
    beam_pipeline_args: Optional[List[str]] = None,
    metadata_connection_config: Optional[object] = None,
) -> tfx.dsl.Pipeline:
    """Builds the production pipeline.

    Args:
      config: the run's typed configuration.
      dataset: the prepared TFDS dataset's metadata (``datasets.locate_dataset``).
      beam_pipeline_args: overrides ``config.pipeline_args()`` (a compiled spec's cluster args).
      metadata_connection_config: ML Metadata connection; None lets the orchestrator choose
        (Kubeflow provides its own).
    """
    graph = production_graph(config, dataset)
    return assemble(config, graph.components(), beam_pipeline_args, metadata_connection_config)
