"""Trainer's ``run_fn``: train the CNN under NSL adversarial regularization (or, with
``--recipe ibp``, certified training) and export it.

TFX loads this by dotted path (``robustfx.trainer.run.run_fn``). Everything it needs comes
through ``fn_args.custom_config``, built by the pipeline from the typed configs and the
dataset's TFDS metadata (see ``trainer_custom_config``).
"""

import contextlib
import json
import logging
import math
import os
import shutil
import tempfile
from typing import Any, Dict, Iterator, Optional, Sequence

import tensorflow as tf
import tensorflow_transform as tft

import robustfx  # noqa: F401  (pins Keras 2 before TensorFlow is imported)
from robustfx.base.progress import report_progress
from robustfx.base.serialization import from_dict
from robustfx.base.training_config import AdversarialConfig, ModelConfig, TrainingConfig
from robustfx.trainer.certified import CertifiedModel
from robustfx.trainer.export import export_serving_model
from robustfx.trainer.input_pipeline import make_dataset
from robustfx.trainer.model import build_cnn, compile_for_training, wrap_adversarial
from robustfx.trainer.strategy import cluster_workers, is_chief, select_strategy


class NonFiniteLossError(RuntimeError):
    """Training diverged: the loss became NaN or infinite."""


def resident_mib() -> float:
    """This process's resident memory now, in MiB (0 where /proc is not available)."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
    except (OSError, IndexError, ValueError):
        return 0.0
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


class EpochProgress(tf.keras.callbacks.Callback):
    """Reports each finished epoch (the console shows a bar; Keras prints nothing) and
    records the process's resident memory after it, to show that it does not grow."""

    def __init__(self, epochs: int):
        super().__init__()
        self._epochs = epochs
        self.resident_mib: list = []

    def on_train_begin(self, logs: Optional[Dict[str, float]] = None) -> None:
        # The start, so that rates and time left count from here, not from the first epoch.
        report_progress("training", 0, self._epochs, "epochs")

    def on_epoch_end(self, epoch: int, logs: Optional[Dict[str, float]] = None) -> None:
        logs = logs or {}
        detail = ", ".join(f"{key} {value:.4f}" for key, value in sorted(logs.items()))
        self.resident_mib.append(round(resident_mib(), 1))
        logging.info(
            "epoch %d/%d: %s; resident %.0f MiB", epoch + 1, self._epochs, detail,
            self.resident_mib[-1],
        )  # fmt: skip
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


@contextlib.contextmanager
def replica_output_dir(final_dir: str, chief: bool) -> Iterator[str]:
    """Where this replica writes an output: the chief writes ``final_dir``; every other
    replica of a multi-worker job must write too (saving runs collectives), so it writes a
    temporary directory of its own that is removed afterwards."""
    if chief:
        yield final_dir
        return
    scratch = tempfile.mkdtemp(prefix="robustfx-replica-")
    try:
        yield scratch
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def run_fn(fn_args: Any) -> None:
    """Trains and exports the model. Called by TFX's Trainer executor."""
    config = fn_args.custom_config
    model_config = from_dict(ModelConfig, config["model"])
    adversarial = from_dict(AdversarialConfig, config["adversarial"])
    training = from_dict(TrainingConfig, config["training"])
    image_shape = config["image_shape"]

    strategy = select_strategy(training.accelerator)  # before any other TensorFlow op
    multi_worker = isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
    workers = cluster_workers(os.environ) if multi_worker else 1
    chief = is_chief(os.environ)
    tf.keras.utils.set_random_seed(training.seed)
    tft_output = tft.TFTransformOutput(fn_args.transform_output)
    logging.info(
        "Training with %s on %d replica(s), %d worker(s)%s.",
        type(strategy).__name__,
        strategy.num_replicas_in_sync,
        workers,
        "" if chief else " (not the chief: outputs go to a temporary directory)",
    )

    certified = training.recipe == "ibp"
    if certified and adversarial.enabled:
        logging.info("The ibp recipe trains without NSL's adversarial regularization.")
    holdout_fraction = config.get("holdout_fraction", 0.0)
    if holdout_fraction:
        logging.info(
            "No validation split: validating on a %.0f%% hold-out of train.", 100 * holdout_fraction
        )

    def dataset(files: Sequence[str], holdout: bool, examples: int) -> tf.data.Dataset:
        return make_dataset(
            files,
            fn_args.data_accessor,
            tft_output,
            training.batch_size,
            label_in_features=adversarial.enabled and not certified,
            seed=training.seed,
            holdout_fraction=holdout_fraction,
            holdout=holdout,
            workers=workers,
            examples_hint=examples,
        )

    epoch_steps = max(1, fn_args.train_steps // training.epochs)
    with strategy.scope():
        base_model = build_cnn(model_config, image_shape, config["num_classes"])
        if certified:
            model = CertifiedModel(base_model, training, epoch_steps * training.epochs)
        else:
            model = wrap_adversarial(base_model, adversarial)
        compile_for_training(model, training.learning_rate)

    batch = training.batch_size
    progress = EpochProgress(training.epochs)
    with replica_output_dir(fn_args.model_run_dir, chief) as run_dir:
        history = model.fit(
            dataset(fn_args.train_files, False, fn_args.train_steps * batch // training.epochs),
            epochs=training.epochs,
            steps_per_epoch=epoch_steps,
            validation_data=dataset(fn_args.eval_files, True, fn_args.eval_steps * batch),
            validation_steps=fn_args.eval_steps,
            callbacks=[
                StopOnNonFiniteLoss(),
                progress,
                tf.keras.callbacks.TensorBoard(log_dir=run_dir, update_freq="epoch"),
            ],
            verbose=0,
        )
        tf.io.gfile.makedirs(run_dir)
        with tf.io.gfile.GFile(os.path.join(run_dir, "history.json"), "w") as f:
            record = {key: [float(v) for v in values] for key, values in history.history.items()}
            json.dump({**record, "resident_mib": progress.resident_mib}, f)
    with replica_output_dir(fn_args.serving_model_dir, chief) as export_dir:
        export_serving_model(base_model, tft_output, image_shape, export_dir)
