"""Projected gradient descent (Madry et al. 2018) on the cross-entropy, keeping the best
iterate per example.

The loop is a ``tf.while_loop`` (hundreds of steps do not unroll at trace time). An example
is counted broken if *any* iterate, the random start included, is misclassified: the attack
returns the first misclassified iterate, else the iterate of highest loss. PGD-k costs k
gradient evaluations and one forward pass.
"""

import tensorflow as tf

import robustfx  # noqa: F401  (pins Keras 2 before TensorFlow is imported)
from robustfx.robustness.attacks import losses
from robustfx.robustness.attacks.geometry import (
    LogitsFn,
    clip_pixels,
    per_example_where,
    project,
    random_in_ball,
    steepest_direction,
)


def pgd(
    logits_fn: LogitsFn,
    images: tf.Tensor,
    labels: tf.Tensor,
    epsilon: float,
    norm: str,
    seed: int,
    steps: int,
    step_size: float,
    random_start: bool = False,
) -> tf.Tensor:
    """PGD-``steps`` in the ``norm`` ball of radius ``epsilon``, images kept in [0, 1].

    Returns:
      Per example, the first misclassified iterate, or the iterate of highest loss.
    """
    labels = tf.cast(labels, tf.int64)
    start = images
    if random_start:
        start = clip_pixels(images + random_in_ball(tf.shape(images), epsilon, norm, seed))

    def track(point, logits, loss, best, best_loss, fooled):
        wrong = losses.misclassified(logits, labels)
        better = tf.logical_not(fooled) & (wrong | (loss > best_loss))
        return (
            per_example_where(better, point, best),
            tf.where(better, loss, best_loss),
            fooled | wrong,
        )

    def body(step, point, best, best_loss, fooled):
        loss, logits, gradient = losses.value_and_gradient(
            losses.cross_entropy, logits_fn, point, labels
        )
        best, best_loss, fooled = track(point, logits, loss, best, best_loss, fooled)
        stepped = point + step_size * steepest_direction(gradient, norm)
        point = clip_pixels(images + project(stepped - images, epsilon, norm))
        return step + 1, point, best, best_loss, fooled

    batch = tf.shape(images)[0]
    _, point, best, best_loss, fooled = tf.while_loop(
        lambda step, *_: step < steps,
        body,
        (tf.constant(0), start, start, tf.fill([batch], -float("inf")), tf.zeros([batch], bool)),
    )
    logits = logits_fn(point)
    best, _, _ = track(point, logits, losses.cross_entropy(logits, labels), best, best_loss, fooled)
    return best
