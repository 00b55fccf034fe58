"""FGSM, the fast gradient (sign) method (Goodfellow et al. 2015): the single-step
reference every iterative attack must beat."""

import tensorflow as tf

import robustfx  # noqa: F401  (pins Keras 2 before TensorFlow is imported)
from robustfx.robustness.attacks.geometry import LogitsFn, clip_pixels, steepest_direction
from robustfx.robustness.attacks.losses import loss_gradient


def fgsm(
    logits_fn: LogitsFn, images: tf.Tensor, labels: tf.Tensor, epsilon: float, norm: str
) -> tf.Tensor:
    """Fast gradient (sign) method: one step of length epsilon, then pixel clipping."""
    gradient = loss_gradient(logits_fn, images, labels)
    return clip_pixels(images + epsilon * steepest_direction(gradient, norm))
