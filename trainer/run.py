"""Trainer's ``run_fn``: train the CNN under NSL adversarial regularization and export it.

TFX loads this by dotted path (``robustfx.trainer.run.run_fn``). Everything it needs comes
through ``fn_args.custom_config``, built by the pipeline from the typed configs and the
dataset's TFDS metadata (see ``trainer_custom_config``).
"""

import json
import logging
import math
import os
from typing import Any, Dict, Optional, Sequence

import tensorflow as tf
import tensorflow_transform as tft
from tfx_bsl.public import tfxio

import robustfx  # noqa: F401  (pins Keras 2 before TensorFlow is imported)
from robustfx.base import keys
from robustfx.base.progress import report_progress
from robustfx.base.serialization import from_dict
from robustfx.base.training_config import AdversarialConfig, ModelConfig, TrainingConfig
from robustfx.trainer.export import export_serving_model
from robustfx.trainer.model import build_cnn, compile_for_training, wrap_adversarial
from robustfx.trainer.strategy import select_strategy


class NonFiniteLossError(RuntimeError):
    """Training diverged: the loss became NaN or infinite."""


class EpochProgress(tf.keras.callbacks.Callback):
    """Reports each finished epoch (the console shows a bar; Keras prints nothing)."""

    def __init__(self, epochs: int):
        super().__init__()
        self._epochs = epochs

    def on_epoch_end(self, epoch: int, logs: Optional[Dict[str, float]] = None) -> None:
        logs = logs or {}
        detail = ", ".join(f"{key} {value:.4f}" for key, value in sorted(logs.items()))
        logging.info("epoch %d/%d: %s", epoch + 1, self._epochs, detail)
        report_progress(
            "training", epoch + 1, self._epochs, "epochs", f"loss {logs.get('loss', 0):.4f}"
        )


class StopOnNonFiniteLoss(tf.keras.callbacks.Callback):
    """Fails the Trainer on a NaN or inf loss.

    Keras's own TerminateOnNaN only stops training, and the half-trained model would then be
    exported and evaluated. Raising makes the Trainer execution fail, so nothing downstream
    (and nothing in the serving directory) sees the diverged model.
    """

    def on_train_batch_end(self, batch: int, logs: Dict[str, float] = None) -> None:
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            raise NonFiniteLossError(
                f"training loss became {loss} at batch {batch}: lower the learning rate or "
                "the adversarial step size, and check the input data for bad values"
            )


def make_dataset(
    file_pattern: Sequence[str],
    data_accessor: Any,
    tft_output: tft.TFTransformOutput,
    batch_size: int,
    label_in_features: bool,
    seed: int,
    holdout_fraction: float = 0.0,
    holdout: bool = False,
) -> tf.data.Dataset:
    """Batches of transformed examples, repeated indefinitely.

    Args:
      label_in_features: True yields one dict ``{'image', 'label'}``, the input NSL's
        wrapper needs; False yields ``(image, label)`` for plain Keras training.
      holdout_fraction: when > 0, split the examples by a hash of each image: ``holdout``
        keeps that fraction (the validation hold-out), otherwise the rest.
    """
    dataset = data_accessor.tf_dataset_factory(
        file_pattern,
        tfxio.TensorFlowDatasetOptions(
            batch_size=batch_size, label_key=keys.LABEL_KEY, shuffle_seed=seed
        ),
        tft_output.transformed_metadata.schema,
    )

    def to_model_input(batch_features: Dict[str, tf.Tensor], label: tf.Tensor):
        image = batch_features[keys.IMAGE_KEY]
        if label_in_features:
            return {keys.IMAGE_KEY: image, keys.LABEL_KEY: label}
        return image, label

    if holdout_fraction > 0:
        dataset = split_by_hash(dataset, holdout_fraction, holdout, batch_size)
    return dataset.map(to_model_input).prefetch(tf.data.AUTOTUNE)


def split_by_hash(
    dataset: tf.data.Dataset, fraction: float, holdout: bool, batch_size: int
) -> tf.data.Dataset:
    """Examples whose image hashes into the first ``fraction`` of 1,000 buckets (or the
    others): the same examples in every epoch and run, whatever the shuffling."""
    threshold = int(round(fraction * 1000))

    def in_holdout(features: Dict[str, tf.Tensor], label: tf.Tensor) -> tf.Tensor:
        serialized = tf.io.serialize_tensor(features[keys.IMAGE_KEY])
        return tf.strings.to_hash_bucket_fast(serialized, 1000) < threshold

    def keep(features: Dict[str, tf.Tensor], label: tf.Tensor) -> tf.Tensor:
        return tf.equal(in_holdout(features, label), holdout)

    # Static batches: NSL draws its random start with the batch's static shape.
    return dataset.unbatch().filter(keep).batch(batch_size, drop_remainder=True)


def run_fn(fn_args: Any) -> None:
    """Trains and exports the model. Called by TFX's Trainer executor."""
    config = fn_args.custom_config
    model_config = from_dict(ModelConfig, config["model"])
    adversarial = from_dict(AdversarialConfig, config["adversarial"])
    training = from_dict(TrainingConfig, config["training"])
    image_shape = config["image_shape"]

    tf.keras.utils.set_random_seed(training.seed)
    tft_output = tft.TFTransformOutput(fn_args.transform_output)
    strategy = select_strategy(training.accelerator)
    logging.info(
        "Training with %s on %d replica(s).", type(strategy).__name__, strategy.num_replicas_in_sync
    )

    holdout_fraction = config.get("holdout_fraction", 0.0)
    if holdout_fraction:
        logging.info(
            "No validation split: validating on a %.0f%% hold-out of train.", 100 * holdout_fraction
        )

    def dataset(files: Sequence[str], holdout: bool) -> tf.data.Dataset:
        return make_dataset(
            files,
            fn_args.data_accessor,
            tft_output,
            training.batch_size,
            label_in_features=adversarial.enabled,
            seed=training.seed,
            holdout_fraction=holdout_fraction,
            holdout=holdout,
        )

    with strategy.scope():
        base_model = build_cnn(model_config, image_shape, config["num_classes"])
        model = wrap_adversarial(base_model, adversarial)
        compile_for_training(model, training.learning_rate)

    epoch_steps = max(1, fn_args.train_steps // training.epochs)
    history = model.fit(
        dataset(fn_args.train_files, holdout=False),
        epochs=training.epochs,
        steps_per_epoch=epoch_steps,
        validation_data=dataset(fn_args.eval_files, holdout=True),
        validation_steps=fn_args.eval_steps,
        callbacks=[
            StopOnNonFiniteLoss(),
            EpochProgress(training.epochs),
            tf.keras.callbacks.TensorBoard(log_dir=fn_args.model_run_dir, update_freq="epoch"),
        ],
        verbose=0,
    )
    tf.io.gfile.makedirs(fn_args.model_run_dir)
    with tf.io.gfile.GFile(os.path.join(fn_args.model_run_dir, "history.json"), "w") as f:
        json.dump({key: [float(v) for v in values] for key, values in history.history.items()}, f)
    export_serving_model(base_model, tft_output, image_shape, fn_args.serving_model_dir)
