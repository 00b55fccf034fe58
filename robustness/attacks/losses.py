"""Per-example attack losses and their gradients, as pure TF functions.

Every loss takes ``(logits, labels)`` (plus a target class for the targeted one) and returns
one value per example, larger when the example is closer to being misclassified, so every
attack ascends it:

- ``cross_entropy``: the usual softmax cross-entropy (PGD, APGD-CE).
- ``dlr``: the Difference of Logits Ratio of Croce and Hein (2020),
  ``-(z_y - max_{i != y} z_i) / (z_pi1 - z_pi3)``, invariant to shifting and scaling the
  logits, so a model cannot hide behind saturated softmax outputs. Needs 3 classes.
- ``dlr_targeted``: ``-(z_y - z_t) / (z_pi1 - (z_pi3 + z_pi4) / 2)`` towards target ``t``.
  Needs 4 classes.
- ``margin``: ``max_{i != y} z_i - z_y``; positive exactly when the example is misclassified.
"""

from typing import Callable, Optional, Tuple

import tensorflow as tf

import robustfx  # noqa: F401  (pins Keras 2 before TensorFlow is imported)

_TINY = 1e-12


def cross_entropy(logits: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
    return tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)


def _true_logit(logits: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
    return tf.gather(logits, labels, axis=1, batch_dims=1)


def _best_other_logit(logits: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
    classes = tf.shape(logits)[1]
    others = tf.where(tf.one_hot(labels, classes, on_value=True, off_value=False), -1e30, logits)
    return tf.reduce_max(others, axis=1)


def margin(logits: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
    return _best_other_logit(logits, labels) - _true_logit(logits, labels)


def dlr(logits: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
    top = tf.sort(logits, axis=1, direction="DESCENDING")
    return margin(logits, labels) / (top[:, 0] - top[:, 2] + _TINY)


def dlr_targeted(logits: tf.Tensor, labels: tf.Tensor, targets: tf.Tensor) -> tf.Tensor:
    top = tf.sort(logits, axis=1, direction="DESCENDING")
    gap = _true_logit(logits, labels) - _true_logit(logits, targets)
    return -gap / (top[:, 0] - 0.5 * (top[:, 2] + top[:, 3]) + _TINY)


LOSSES = {"ce": cross_entropy, "dlr": dlr, "margin": margin}


def loss_fn(name: str, targets: Optional[tf.Tensor] = None) -> Callable:
    """The loss named ``name`` ('ce', 'dlr', 'margin' or 'dlr_targeted' with ``targets``)."""
    if name == "dlr_targeted":
        return lambda logits, labels: dlr_targeted(logits, labels, targets)
    return LOSSES[name]


def value_and_gradient(
    loss: Callable, logits_fn: Callable, images: tf.Tensor, labels: tf.Tensor
) -> Tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """Per-example loss, logits and the gradient of the summed loss with respect to the
    images (the sum keeps each example's gradient independent of the batch)."""
    with tf.GradientTape() as tape:
        tape.watch(images)
        logits = logits_fn(images)
        values = loss(logits, labels)
        total = tf.reduce_sum(values)
    # A model whose output does not depend on the pixels differentiably (a rounding layer)
    # has no gradient: it is zero, and the validity checks catch the masking.
    gradient = tape.gradient(total, images, unconnected_gradients=tf.UnconnectedGradients.ZERO)
    return values, logits, gradient


def misclassified(logits: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
    return tf.not_equal(tf.argmax(logits, axis=1, output_type=labels.dtype), labels)


def loss_gradient(
    logits_fn: Callable[[tf.Tensor], tf.Tensor], images: tf.Tensor, labels: tf.Tensor
) -> tf.Tensor:
    """Gradient of the summed cross-entropy with respect to the images.

    The sum (not the mean) keeps each example's gradient independent of the batch size.
    """
    labels = tf.cast(labels, tf.int64)
    return value_and_gradient(cross_entropy, logits_fn, images, labels)[2]
