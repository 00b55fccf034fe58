"""Certified training (``--recipe ibp``): interval bound propagation as a training loss
(Gowal et al. 2018, "On the effectiveness of interval bound propagation for training
verifiably robust models").

The loss is ``kappa * CE(z, y) + (1 - kappa) * CE(-m, y)``: the clean cross-entropy mixed
with the cross-entropy of IBP's worst case, where ``m[j]`` is IBP's lower bound of
``z[y] - z[j]`` over the L-infinity ball of radius epsilon in [0, 1] (0 for j = y), the
specification folded into the last Dense layer. The model trains clean until the ramp
starts; over the ramp epsilon grows from 0 to its target and kappa falls from 1 to its final
value, linearly in steps, as the paper does.

The bounds are computed here, on the Keras layers the Trainer builds. The robustness
library's verifier, which certifies the exported model afterwards, sits above the trainer in
the project's layers and computes its own bounds.
"""

from typing import Tuple

import tensorflow as tf

import robustfx  # noqa: F401  (pins Keras 2 before TensorFlow is imported)
from robustfx.base.training_config import TrainingConfig

_MONOTONE_ACTIVATIONS = ("relu", "linear")


def _activation(layer) -> None:
    name = getattr(layer.activation, "__name__", str(layer.activation))
    if name not in _MONOTONE_ACTIVATIONS:
        raise ValueError(
            f"layer '{layer.name}' has activation {name!r}: the ibp recipe bounds relu and "
            "linear activations only"
        )


def _affine(layer, lower: tf.Tensor, upper: tf.Tensor) -> Tuple[tf.Tensor, tf.Tensor]:
    """A Conv2D or Dense layer, with its activation, on an interval."""
    center, radius = (upper + lower) / 2, (upper - lower) / 2
    if isinstance(layer, tf.keras.layers.Conv2D):
        center = layer.convolution_op(center, layer.kernel)
        radius = layer.convolution_op(radius, tf.abs(layer.kernel))
    else:
        center, radius = tf.matmul(center, layer.kernel), tf.matmul(radius, tf.abs(layer.kernel))
    if layer.use_bias:
        center += layer.bias
    return layer.activation(center - radius), layer.activation(center + radius)


def hidden_interval(model: tf.keras.Model, lower: tf.Tensor, upper: tf.Tensor):
    """The interval of the last Dense layer's input, for inputs between ``lower`` and
    ``upper``, through a chain of the layers ``build_cnn`` makes.

    Raises:
      ValueError: naming a layer this does not bound, or a model that does not end in Dense.
    """
    *hidden, last = model.layers
    if not isinstance(last, tf.keras.layers.Dense):
        raise ValueError(f"the ibp recipe needs a Dense last layer, not '{last.name}'")
    for layer in hidden:
        if isinstance(layer, (tf.keras.layers.Conv2D, tf.keras.layers.Dense)):
            _activation(layer)
            lower, upper = _affine(layer, lower, upper)
        elif isinstance(layer, (tf.keras.layers.MaxPooling2D, tf.keras.layers.Flatten)):
            lower, upper = layer(lower), layer(upper)  # non-decreasing: ends map to ends
        elif not isinstance(layer, (tf.keras.layers.InputLayer, tf.keras.layers.Dropout)):
            raise ValueError(
                f"layer '{layer.name}' ({type(layer).__name__}) is not bounded by the ibp recipe"
            )
    return lower, upper


def margin_lower_bounds(
    model: tf.keras.Model, images: tf.Tensor, labels: tf.Tensor, epsilon: tf.Tensor
) -> tf.Tensor:
    """IBP's lower bounds of ``logit[label] - logit[j]`` over the ball, [batch, classes],
    with 0 at the label's own column."""
    lower = tf.maximum(images - epsilon, 0.0)
    upper = tf.minimum(images + epsilon, 1.0)
    lower, upper = hidden_interval(model, lower, upper)
    last = model.layers[-1]
    labels = tf.cast(tf.reshape(labels, [-1]), tf.int32)
    kernel = tf.transpose(last.kernel)  # [classes, inputs]
    difference = tf.gather(kernel, labels)[:, None, :] - kernel[None]  # [batch, classes, in]
    center, radius = (upper + lower) / 2, (upper - lower) / 2
    margins = tf.einsum("bi,bki->bk", center, difference)
    margins -= tf.einsum("bi,bki->bk", radius, tf.abs(difference))
    if last.use_bias:
        margins += tf.gather(last.bias, labels)[:, None] - last.bias[None]
    return margins


def schedule(config: TrainingConfig, step: tf.Tensor, total_steps: int):
    """(epsilon, kappa) at ``step`` of ``total_steps``: 0 and 1 before the ramp, the target
    radius and final clean weight after it, linear in between."""
    start, end = config.certified_ramp
    fraction = tf.cast(step, tf.float32) / float(max(1, total_steps))
    if end > start:
        progress = tf.clip_by_value((fraction - start) / (end - start), 0.0, 1.0)
    else:
        progress = tf.cast(fraction >= start, tf.float32)
    epsilon = config.certified_epsilon * progress
    kappa = 1.0 - (1.0 - config.certified_clean_weight) * progress
    return epsilon, kappa


class CertifiedModel(tf.keras.Model):
    """Trains ``base_model`` on the IBP loss. Takes (images, labels) batches; reports the
    loss, clean accuracy, the IBP loss, IBP-verified accuracy and epsilon in training, and
    validates clean accuracy and IBP-verified accuracy at the target radius (its ``loss`` is
    the clean loss)."""

    def __init__(self, base_model: tf.keras.Model, config: TrainingConfig, total_steps: int):
        super().__init__(name="certified")
        self.base_model = base_model
        self._config, self._total_steps = config, total_steps
        mean = tf.keras.metrics.Mean
        self._trackers = [
            mean("loss"),
            mean("robust_loss"),
            mean("verified_accuracy"),
            mean("epsilon"),
        ]
        self._accuracy = tf.keras.metrics.SparseCategoricalAccuracy("accuracy")

    @property
    def metrics(self) -> list:
        return [*self._trackers, self._accuracy]

    def call(self, images, training=False):
        return self.base_model(images, training=training)

    def _bounds(self, images, labels, logits, epsilon):
        margins = margin_lower_bounds(self.base_model, images, labels, epsilon)
        robust = tf.keras.losses.sparse_categorical_crossentropy(labels, -margins, from_logits=True)
        clean = tf.keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True)
        own = tf.one_hot(tf.cast(labels, tf.int32), tf.shape(margins)[1]) > 0
        worst = tf.reduce_min(tf.where(own, tf.fill(tf.shape(margins), float("inf")), margins), 1)
        verified = worst > 0
        return tf.reduce_mean(clean), tf.reduce_mean(robust), tf.cast(verified, tf.float32)

    def _report(self, loss, robust, verified, epsilon, labels, logits) -> dict:
        for tracker, value in zip(self._trackers, (loss, robust, verified, epsilon), strict=True):
            tracker.update_state(value)
        self._accuracy.update_state(labels, logits)
        return {metric.name: metric.result() for metric in self.metrics}

    def train_step(self, data):
        images, labels = data
        epsilon, kappa = schedule(self._config, self.optimizer.iterations, self._total_steps)
        with tf.GradientTape() as tape:
            logits = self.base_model(images, training=True)
            clean, robust, verified = self._bounds(images, labels, logits, epsilon)
            loss = kappa * clean + (1.0 - kappa) * robust + tf.add_n([0.0] + self.base_model.losses)
        self.optimizer.minimize(loss, self.base_model.trainable_variables, tape=tape)
        return self._report(loss, robust, verified, epsilon, labels, logits)

    def test_step(self, data):
        images, labels = data
        logits = self.base_model(images, training=False)
        epsilon = tf.constant(self._config.certified_epsilon)
        clean, robust, verified = self._bounds(images, labels, logits, epsilon)
        return self._report(clean, robust, verified, epsilon, labels, logits)
