"""The geometry every attack shares, as pure TF functions: per-example norms, steepest
ascent directions, projections onto the epsilon ball, pixel clipping, random starts, the
random-noise control and the applied perturbation's size.

Images are in [0, 1] of shape [batch, height, width, channels]; ``norm`` is ``linf`` or
``l2``.
"""

from typing import Callable, Optional

import tensorflow as tf

import robustfx  # noqa: F401  (pins Keras 2 before TensorFlow is imported)

LogitsFn = Callable[[tf.Tensor], tf.Tensor]
PIXEL_MIN, PIXEL_MAX = 0.0, 1.0
_TINY = 1e-12


def per_example_l2(x: tf.Tensor) -> tf.Tensor:
    """L2 norm of each example, shaped to broadcast against ``x``."""
    axes = list(range(1, len(x.shape)))
    return tf.sqrt(tf.reduce_sum(tf.square(x), axis=axes, keepdims=True))


def per_example_where(condition: tf.Tensor, x: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
    """``x`` for the examples where the boolean [batch] ``condition`` holds, else ``y``."""
    shape = tf.concat([tf.shape(condition), tf.ones([tf.rank(x) - 1], tf.int32)], axis=0)
    return tf.where(tf.reshape(condition, shape), x, y)


def steepest_direction(gradient: tf.Tensor, norm: str) -> tf.Tensor:
    """The unit-norm ascent direction: sign(g) for L-infinity, g / ||g||_2 for L2."""
    if norm == "linf":
        return tf.sign(gradient)
    return gradient / tf.maximum(per_example_l2(gradient), _TINY)


def project(delta: tf.Tensor, epsilon: float, norm: str) -> tf.Tensor:
    """Projects a perturbation onto the epsilon ball of ``norm``."""
    if norm == "linf":
        return tf.clip_by_value(delta, -epsilon, epsilon)
    scale = tf.minimum(1.0, epsilon / tf.maximum(per_example_l2(delta), _TINY))
    return delta * scale


def clip_pixels(images: tf.Tensor) -> tf.Tensor:
    return tf.clip_by_value(images, PIXEL_MIN, PIXEL_MAX)


def random_in_ball(
    shape: tf.TensorShape, epsilon: float, norm: str, seed: Optional[int] = None
) -> tf.Tensor:
    """Random perturbations: uniform in the L-infinity cube, or uniform on the L2 sphere's
    directions with radius drawn so points are uniform in the ball."""
    if norm == "linf":
        return tf.random.uniform(shape, -epsilon, epsilon, seed=seed)
    direction = tf.random.normal(shape, seed=seed)
    direction = direction / tf.maximum(per_example_l2(direction), _TINY)
    dims = tf.cast(tf.reduce_prod(shape[1:]), tf.float32)
    rank = int(shape.shape[0]) if tf.is_tensor(shape) else len(shape)  # no AutoGraph here
    radius_shape = [shape[0]] + [1] * (rank - 1)
    radius = epsilon * tf.pow(tf.random.uniform(radius_shape, seed=seed), 1.0 / dims)
    return direction * radius


def random_noise(
    images: tf.Tensor, epsilon: float, norm: str, seed: Optional[int] = None
) -> tf.Tensor:
    """The random-noise control: a random corner of the L-infinity cube (each pixel moved by
    exactly +-epsilon), or a random direction of L2 length epsilon; then pixel clipping.
    At full epsilon the noise is as large as the attack's, so a model hurt more by it than
    by the attack has gradients that do not point where its errors are (gradient masking).
    """
    if norm == "linf":
        signs = tf.sign(tf.random.uniform(tf.shape(images), -1.0, 1.0, seed=seed))
        return clip_pixels(images + epsilon * signs)
    direction = tf.random.normal(tf.shape(images), seed=seed)
    return clip_pixels(images + epsilon * steepest_direction(direction, "l2"))


def perturbation_norm(adversarial: tf.Tensor, images: tf.Tensor, norm: str) -> tf.Tensor:
    """Per-example size of the perturbation actually applied, in the attack's norm."""
    delta = tf.reshape(adversarial - images, [tf.shape(images)[0], -1])
    if norm == "linf":
        return tf.reduce_max(tf.abs(delta), axis=1)
    return tf.norm(delta, axis=1)
