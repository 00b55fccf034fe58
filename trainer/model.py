"""Builds the CNN and its NSL adversarial-regularization wrapper from typed configs."""

import logging
from typing import Sequence

import tensorflow as tf

import robustfx  # noqa: F401  (pins Keras 2 before TensorFlow is imported)
from robustfx.base import keys
from robustfx.base.training_config import AdversarialConfig, ModelConfig
from robustfx.base.validation import NSL_NORM_NAMES
from robustfx.trainer.layer_plan import plan_layers
from robustfx.trainer.nsl_compat import load_nsl


def build_cnn(config: ModelConfig, input_shape: Sequence[int], num_classes: int) -> tf.keras.Model:
    """The NSL tutorial's CNN: conv/pool blocks fitted to the input (``layer_plan``), dense,
    then one logit per class.

    Args:
      config: layer sizes.
      input_shape: (height, width, channels) of the transformed image.
      num_classes: number of output logits.

    Returns:
      A functional Keras model whose single input is named ``keys.IMAGE_KEY`` (NSL feeds
      it by that name) and whose output is unnormalized logits.
    """
    if num_classes < 2:
        raise ValueError(f"num_classes must be >= 2, got {num_classes}")
    plan = plan_layers(config, input_shape)
    for note in plan.notes:
        logging.info("CNN adapted to the %s input: %s", "x".join(map(str, input_shape)), note)
    inputs = tf.keras.Input(shape=tuple(input_shape), dtype=tf.float32, name=keys.IMAGE_KEY)
    x = inputs
    for index, layer in enumerate(plan.layers):
        x = tf.keras.layers.Conv2D(
            layer.filters,
            config.kernel_size,
            padding=layer.padding,
            activation="relu",
            name=f"conv{index + 1}",
        )(x)
        if layer.pool:
            x = tf.keras.layers.MaxPooling2D(config.pool_size, name=f"pool{index + 1}")(x)
    x = tf.keras.layers.Flatten(name="flatten")(x)
    x = tf.keras.layers.Dense(config.dense_units, activation="relu", name="dense")(x)
    logits = tf.keras.layers.Dense(num_classes, name=keys.LOGITS_KEY)(x)
    return tf.keras.Model(inputs=inputs, outputs=logits, name="cnn")


def conv_layer_names(model: tf.keras.Model) -> list:
    """Names of the model's convolution layers, in order (for activation maps)."""
    return [layer.name for layer in model.layers if isinstance(layer, tf.keras.layers.Conv2D)]


def make_adv_config(config: AdversarialConfig):
    """``nsl.configs.AdvRegConfig`` from the project's adversarial config."""
    nsl = load_nsl()
    kwargs = dict(
        multiplier=config.multiplier,
        adv_step_size=config.adv_step_size,
        adv_grad_norm=NSL_NORM_NAMES[config.adv_grad_norm],
        pgd_iterations=config.pgd_iterations,
    )
    if config.pgd_epsilon is not None:
        kwargs["pgd_epsilon"] = config.pgd_epsilon
    if config.random_init:
        kwargs["random_init"] = True
    if config.clip_to_pixel_range:
        # Keyed by feature: NSL files a scalar bound under the key '' and, with dictionary
        # inputs, silently never applies it.
        kwargs.update(clip_value_min={keys.IMAGE_KEY: 0.0}, clip_value_max={keys.IMAGE_KEY: 1.0})
    return nsl.configs.make_adv_reg_config(**kwargs)


def wrap_adversarial(base_model: tf.keras.Model, config: AdversarialConfig) -> tf.keras.Model:
    """Wraps the base model in ``nsl.keras.AdversarialRegularization``.

    The wrapper takes one dictionary holding both the image and the label. With adversarial
    regularization disabled the base model is returned unchanged, and is trained on the same
    dictionaries by ``compile_for_training``.
    """
    if not config.enabled:
        return base_model
    nsl = load_nsl()
    return nsl.keras.AdversarialRegularization(
        base_model, label_keys=[keys.LABEL_KEY], adv_config=make_adv_config(config)
    )


def compile_for_training(model: tf.keras.Model, learning_rate: float) -> None:
    """Compiles with Adam and sparse cross-entropy on logits, as the tutorial does, with the
    training and validation steps traced without AutoGraph (``trace_steps_as_written``)."""
    model.compile(
        optimizer=tf.keras.optimizers.Adam(learning_rate=learning_rate),
        loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[tf.keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    )
    trace_steps_as_written(model)


def trace_steps_as_written(model: tf.keras.Model) -> None:
    """Keras traces ``train_step`` and ``test_step`` with AutoGraph, which rewrites the source
    of every function they call: NSL's adversarial regularization, Keras's losses and metrics,
    each layer's ``call``. Their control flow is Python on configuration, never on tensors
    (NSL's PGD loop is a ``tf.while_loop``), so traced as written they build the same graph:
    the same weights bit for bit, and on a 2-core CPU 5 s instead of 43 s before the first
    step of a 720-digit epoch. A step that branched on a tensor would fail at its first
    trace, naming the tensor, not train differently."""
    for name in ("train_step", "test_step"):
        setattr(model, name, tf.autograph.experimental.do_not_convert(getattr(model, name)))
