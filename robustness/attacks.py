"""Adversarial attacks under L-infinity and L2 as pure TF functions: FGSM and the shared
geometry (steepest directions, projections, random starts, the noise control) here; PGD,
APGD and the Square attack in their own modules, dispatched by ``run_attack``.

Every attack works on a differentiable ``logits_fn(images) -> logits`` (a Keras model, or the
``serving_transformed`` signature of a loaded SavedModel), images in [0, 1] of shape
[batch, height, width, channels] and integer labels. The result always lies inside the
epsilon ball around the input and inside the valid pixel range, and epsilon = 0 returns the
input unchanged.
"""

from typing import Callable, Optional, Sequence

import tensorflow as tf

import robustfx  # noqa: F401  (pins Keras 2 before TensorFlow is imported)
from robustfx.base.attack_config import AttackConfig
from robustfx.robustness import losses

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


def loss_gradient(logits_fn: LogitsFn, images: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
    """Gradient of the summed cross-entropy with respect to the images.

    The sum (not the mean) keeps each example's gradient independent of the batch size.
    """
    labels = tf.cast(labels, tf.int64)
    return losses.value_and_gradient(losses.cross_entropy, logits_fn, images, labels)[2]


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


def fgsm(
    logits_fn: LogitsFn, images: tf.Tensor, labels: tf.Tensor, epsilon: float, norm: str
) -> tf.Tensor:
    """Fast gradient (sign) method: one step of length epsilon, then pixel clipping."""
    gradient = loss_gradient(logits_fn, images, labels)
    return clip_pixels(images + epsilon * steepest_direction(gradient, norm))


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
    radius_shape = [shape[0]] + [1] * (len(shape) - 1)
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


def _apgd_loss(method: str, num_classes: int) -> str:
    """APGD's loss for ``method``. DLR needs 3 classes and its targeted form 4 (it reads the
    third and fourth largest logits): with fewer, APGD-T falls back to the untargeted DLR
    loss, and DLR to cross-entropy."""
    wanted = {"apgdce": "ce", "apgddlr": "dlr", "apgdt": "dlr_targeted"}[method]
    if wanted == "dlr_targeted" and num_classes < 4:
        wanted = "dlr"
    if wanted == "dlr" and num_classes < 3:
        wanted = "ce"
    return wanted


def run_attack(
    config: AttackConfig,
    logits_fn: LogitsFn,
    images: tf.Tensor,
    labels: tf.Tensor,
    seed: Optional[int] = None,
    num_classes: Optional[int] = None,
) -> tf.Tensor:
    """Runs the attack that ``config`` names; the result lies in the epsilon ball around
    ``images`` and in [0, 1]."""
    seed = 0 if seed is None else int(seed)
    common = dict(epsilon=config.epsilon, norm=config.norm, seed=seed)
    labels = tf.cast(labels, tf.int64)
    if config.method == "fgsm":
        return fgsm(logits_fn, images, labels, config.epsilon, config.norm)
    if config.method == "pgd":
        from robustfx.robustness import pgd

        return pgd.pgd(
            logits_fn,
            images,
            labels,
            steps=config.steps,
            step_size=config.effective_step_size,
            random_start=config.random_start,
            **common,
        )
    if config.method == "square":
        from robustfx.robustness import square

        return square.square(
            logits_fn, images, labels, n_queries=config.steps, p_init=config.p_init, **common
        )
    from robustfx.robustness import apgd

    classes = num_classes or int(logits_fn(images[:1]).shape[-1])
    return apgd.apgd(
        logits_fn,
        images,
        labels,
        steps=config.steps,
        loss=_apgd_loss(config.method, classes),
        restarts=config.restarts,
        n_target_classes=min(config.targets, classes - 1),
        **common,
    )


def compile_attack(
    config: AttackConfig,
    logits_fn: LogitsFn,
    seed: Optional[int] = None,
    image_shape: Optional[Sequence[int]] = None,
):
    """``run_attack`` as one traced ``tf.function(images, labels)``, built once and reused
    for every batch. With ``image_shape`` the trace takes any batch size, so a short last
    batch does not trigger a second trace."""
    signature = None
    if image_shape is not None:
        signature = [
            tf.TensorSpec([None, *image_shape], tf.float32),
            tf.TensorSpec([None], tf.int64),
        ]

    @tf.function(input_signature=signature, reduce_retracing=True)
    def attack(images: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
        return run_attack(config, logits_fn, images, labels, seed)

    return attack


def perturbation_norm(adversarial: tf.Tensor, images: tf.Tensor, norm: str) -> tf.Tensor:
    """Per-example size of the perturbation actually applied, in the attack's norm."""
    delta = tf.reshape(adversarial - images, [tf.shape(images)[0], -1])
    if norm == "linf":
        return tf.reduce_max(tf.abs(delta), axis=1)
    return tf.norm(delta, axis=1)
