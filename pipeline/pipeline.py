"""``create_pipeline``: the one TFX graph that every runner (local, Kubeflow, CI) executes.

It never reads the environment; everything comes from the typed ``RunConfig`` and the
dataset's TFDS metadata.
"""

import dataclasses
import math
from typing import List, Optional

import tensorflow_model_analysis as tfma
from tfx import v1 as tfx
from tfx.dsl.components.base import executor_spec

from robustfx.components import atomic_pusher
from robustfx.components.robustness_evaluator import RobustnessEvaluator
from robustfx.pipeline.config import AdversarialConfig, RunConfig
from robustfx.pipeline.datasets import DatasetInfo
from robustfx.trainer import features
from robustfx.trainer.run import steps_per_epoch, trainer_custom_config

BASELINE_TRAINER_ID = "BaselineTrainer"
PGD_TRAINER_ID = "PgdTrainer"


@dataclasses.dataclass(frozen=True)
class Comparison:
    """Extra models trained beside the main one: the plain baseline, optionally PGD-trained."""

    baseline: AdversarialConfig
    pgd: Optional[AdversarialConfig] = None


PREPROCESSING_FN = "robustfx.trainer.preprocessing.preprocessing_fn"
RUN_FN = "robustfx.trainer.run.run_fn"
ROBUSTNESS_EVALUATOR_ID = "RobustnessEvaluator"


def transform_custom_config(config: RunConfig, dataset: DatasetInfo) -> dict:
    """What ``preprocessing_fn`` reads: image shape and classes from TFDS metadata."""
    return {
        "image_shape": list(dataset.image_shape),
        "num_classes": dataset.num_classes,
        "resize": list(config.data.resize) if config.data.resize else None,
    }


def tfma_eval_config(config: RunConfig) -> tfma.EvalConfig:
    """Clean accuracy on the raw-example serving signature, with the absolute threshold and
    the allowed drop against the blessed baseline; sliced by class."""
    thresholds = config.evaluation.thresholds
    accuracy_threshold = tfma.MetricThreshold(
        value_threshold=tfma.GenericValueThreshold(
            lower_bound={"value": thresholds.min_clean_accuracy}
        ),
        change_threshold=tfma.GenericChangeThreshold(
            direction=tfma.MetricDirection.HIGHER_IS_BETTER,
            absolute={"value": -thresholds.max_clean_drop},
        ),
    )
    return tfma.EvalConfig(
        model_specs=[
            tfma.ModelSpec(
                signature_name=features.SERVING_SIGNATURE,
                label_key=features.LABEL_KEY,
                prediction_key=features.PROBABILITIES_KEY,
                preprocessing_function_names=[],
            )
        ],
        slicing_specs=[tfma.SlicingSpec(), tfma.SlicingSpec(feature_keys=[features.LABEL_KEY])],
        metrics_specs=[
            tfma.MetricsSpec(
                metrics=[
                    # Gate on the overall slice only; per-class slices are reported.
                    tfma.MetricConfig(
                        class_name="SparseCategoricalAccuracy",
                        per_slice_thresholds=[
                            tfma.PerSliceMetricThreshold(
                                slicing_specs=[tfma.SlicingSpec()], threshold=accuracy_threshold
                            )
                        ],
                    ),
                    tfma.MetricConfig(class_name="ExampleCount"),
                ]
            )
        ],
    )


def create_pipeline(
    config: RunConfig,
    dataset: DatasetInfo,
    beam_pipeline_args: Optional[List[str]] = None,
    metadata_connection_config: Optional[object] = None,
    comparison: Optional[Comparison] = None,
) -> tfx.dsl.Pipeline:
    """Builds the robust-training pipeline.

    Args:
      config: the run's typed configuration.
      dataset: the prepared TFDS dataset's metadata (``datasets.locate_dataset``).
      beam_pipeline_args: overrides ``config.beam_args`` (e.g. Dataflow settings).
      metadata_connection_config: ML Metadata connection; None lets the orchestrator choose
        (Kubeflow provides its own).
      comparison: also train and attack the comparison models of ``robustfx compare``.

    Returns:
      The TFX pipeline.
    """
    eval_split = config.evaluation.split
    if eval_split not in dataset.splits:
        raise ValueError(
            f"evaluation split {eval_split!r} is not in dataset {dataset.name!r} "
            f"(splits: {sorted(dataset.splits)})"
        )
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
    )
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
    # Decodes and scales images to [0, 1]; the same graph is embedded in the served model.
    transform = tfx.components.Transform(
        examples=example_gen.outputs["examples"],
        schema=schema_gen.outputs["schema"],
        preprocessing_fn=PREPROCESSING_FN,
        custom_config=transform_custom_config(config, dataset),
        splits_config=tfx.proto.SplitsConfig(analyze=["train"], transform=splits),
    )
    # Trains the CNN wrapped in NSL adversarial regularization; exports the base model.
    trainer = _trainer(config, dataset, transform, schema_gen, config.adversarial)
    # Finds the latest model the RobustnessEvaluator blessed: the model in production.
    baseline_resolver = tfx.dsl.Resolver(
        strategy_class=tfx.dsl.experimental.LatestBlessedModelStrategy,
        model=tfx.dsl.Channel(type=tfx.types.standard_artifacts.Model),
        model_blessing=tfx.dsl.Channel(
            type=tfx.types.standard_artifacts.ModelBlessing,
            producer_component_id=ROBUSTNESS_EVALUATOR_ID,
            output_key="blessing",
        ),
    ).with_id("latest_blessed_model_resolver")
    # Clean metrics per class, with the clean-accuracy threshold and change vs baseline.
    evaluator = tfx.components.Evaluator(
        examples=example_gen.outputs["examples"],
        model=trainer.outputs["model"],
        baseline_model=baseline_resolver.outputs["model"],
        eval_config=tfma_eval_config(config),
        example_splits=[eval_split],
    )
    # White-box attacks on the candidate and the baseline; the blessing Pusher obeys.
    common_evaluator_args = dict(
        examples=transform.outputs["transformed_examples"],
        evaluation_config=config.evaluation,
        class_names=dataset.class_names,
        seed=config.training.seed,
    )
    robustness_evaluator_inputs = dict(
        model=trainer.outputs["model"],
        baseline_model=baseline_resolver.outputs["model"],
        tfma_blessing=evaluator.outputs["blessing"],
        **common_evaluator_args,
    )
    # `robustfx compare`: the same CNN trained without adversarial regularization (and, when
    # asked, with PGD training), each attacked by its own evaluator. The baseline is also the
    # reference of the write-ups' transfer protocol for every model.
    compared = []
    if comparison is not None:
        baseline_trainer = _trainer(
            config, dataset, transform, schema_gen, comparison.baseline
        ).with_id(BASELINE_TRAINER_ID)
        compared.append(baseline_trainer)
        others = {BASELINE_TRAINER_ID: baseline_trainer}
        if comparison.pgd is not None:
            others[PGD_TRAINER_ID] = _trainer(
                config, dataset, transform, schema_gen, comparison.pgd
            ).with_id(PGD_TRAINER_ID)
            compared.append(others[PGD_TRAINER_ID])
        robustness_evaluator_inputs["reference_model"] = baseline_trainer.outputs["model"]
        for trainer_id, other in others.items():
            compared.append(
                RobustnessEvaluator(
                    model=other.outputs["model"],
                    reference_model=baseline_trainer.outputs["model"],
                    **common_evaluator_args,
                ).with_id(f"{ROBUSTNESS_EVALUATOR_ID}_{trainer_id}")
            )
    robustness_evaluator = RobustnessEvaluator(**robustness_evaluator_inputs).with_id(
        ROBUSTNESS_EVALUATOR_ID
    )
    # Pushes the model to a new version directory of the serving dir, atomically, and only
    # when the RobustnessEvaluator blessed it.
    pusher = tfx.components.Pusher(
        model=trainer.outputs["model"],
        model_blessing=robustness_evaluator.outputs["blessing"],
        push_destination=tfx.proto.PushDestination(
            filesystem=tfx.proto.PushDestination.Filesystem(base_directory=config.serving_dir)
        ),
        custom_executor_spec=executor_spec.ExecutorClassSpec(atomic_pusher.Executor),
    )
    return tfx.dsl.Pipeline(
        pipeline_name=config.pipeline_name,
        pipeline_root=config.pipeline_root,
        components=[
            example_gen,
            statistics_gen,
            schema_gen,
            example_validator,
            transform,
            trainer,
            baseline_resolver,
            evaluator,
            robustness_evaluator,
            pusher,
            *compared,
        ],
        enable_cache=config.enable_cache,
        metadata_connection_config=metadata_connection_config,
        beam_pipeline_args=list(beam_pipeline_args or config.beam_args),
    )


def _trainer(
    config: RunConfig,
    dataset: DatasetInfo,
    transform: tfx.components.Transform,
    schema_gen: tfx.components.SchemaGen,
    adversarial: AdversarialConfig,
) -> tfx.components.Trainer:
    batch_size = config.training.batch_size
    validation_split = dataset.validation_split
    return tfx.components.Trainer(
        run_fn=RUN_FN,
        examples=transform.outputs["transformed_examples"],
        transform_graph=transform.outputs["transform_graph"],
        schema=schema_gen.outputs["schema"],
        train_args=tfx.proto.TrainArgs(
            splits=["train"],
            num_steps=config.training.epochs * steps_per_epoch(dataset.splits["train"], batch_size),
        ),
        eval_args=tfx.proto.EvalArgs(
            splits=[validation_split],
            num_steps=max(1, math.ceil(dataset.splits[validation_split] / batch_size)),
        ),
        custom_config=trainer_custom_config(
            config.model,
            adversarial,
            config.training,
            image_shape=_transformed_shape(config, dataset),
            num_classes=dataset.num_classes,
        ),
    )


def _transformed_shape(config: RunConfig, dataset: DatasetInfo) -> List[int]:
    from robustfx.trainer.preprocessing import output_image_shape

    return output_image_shape(dataset.image_shape, config.data.resize)
