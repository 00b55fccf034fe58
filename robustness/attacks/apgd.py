"""Auto-PGD (Croce and Hein 2020, "Reliable evaluation of adversarial robustness with an
ensemble of diverse parameter-free attacks"), L-infinity and L2, in pure TensorFlow.

APGD needs no step size: it starts at 2 * epsilon and halves it at checkpoints when the
loss stopped rising (fewer than 75% of the steps since the last checkpoint increased it, or
the step was not halved last time and the best loss has not moved since), restarting each
halved example from its best point. Steps use momentum 0.75. Checkpoints fall at fractions
0, 0.22, 0.22 + 0.19, ... of the budget (each interval 3% shorter, at least 6%).

Losses: cross-entropy (APGD-CE), DLR (untargeted), and targeted DLR (APGD-T), which runs
once per target class, the classes the clean logits rank 2nd, 3rd, ... An example counts as
broken when any iterate of any run misclassifies it. Every run after the first attacks
only the examples still unbroken. The steps are a ``tf.while_loop``, and so are APGD-T's
target classes.
"""

from typing import Tuple

import tensorflow as tf

import robustfx  # noqa: F401  (pins Keras 2 before TensorFlow is imported)
from robustfx.robustness.attacks import losses
from robustfx.robustness.attacks.geometry import (
    LogitsFn,
    clip_pixels,
    per_example_where,
    project,
    steepest_direction,
)

MOMENTUM = 0.75  # weight of the new step against the previous one
RHO = 0.75  # a checkpoint halves the step when at most this share of steps raised the loss


def checkpoint_schedule(steps: int) -> Tuple[int, int, int]:
    """(first interval, interval decrement, smallest interval) for a budget of ``steps``."""
    return max(int(0.22 * steps), 1), max(int(0.03 * steps), 1), max(int(0.06 * steps), 1)


def _random_start(images: tf.Tensor, epsilon: float, norm: str, seed) -> tf.Tensor:
    """A random point on the ball's surface (L-infinity: the largest coordinate at epsilon)."""
    shape = tf.shape(images)
    if norm == "linf":
        noise = tf.random.stateless_uniform(shape, seed, -1.0, 1.0)
        largest = tf.reduce_max(tf.abs(noise), axis=[1, 2, 3], keepdims=True)
        return clip_pixels(images + epsilon * noise / tf.maximum(largest, 1e-12))
    noise = tf.random.stateless_normal(shape, seed)
    return clip_pixels(images + project(noise * 1e6, epsilon, norm))


def _single_run(
    logits_fn: LogitsFn, images, labels, loss, epsilon: float, norm: str, steps: int, seed
):
    """One APGD run on every example. Returns (adversarial images, broken mask)."""
    first_interval, decrement, smallest = checkpoint_schedule(steps)
    batch = tf.shape(images)[0]

    def projected(point):
        return clip_pixels(images + project(point - images, epsilon, norm))

    def evaluate(point):
        value, logits, gradient = losses.value_and_gradient(loss, logits_fn, point, labels)
        return value, losses.misclassified(logits, labels), gradient

    start = _random_start(images, epsilon, norm, seed)
    value, wrong, gradient = evaluate(start)
    state = dict(
        step=tf.constant(0),
        point=start,
        previous=start,
        gradient=gradient,
        step_size=tf.fill([batch], 2.0 * epsilon),
        broken=wrong,
        adversarial=start,
        best=start,
        best_gradient=gradient,
        best_loss=value,
        last_loss=value,
        rises=tf.zeros([batch]),
        since_check=tf.constant(0),
        interval=tf.constant(first_interval),
        best_at_check=value,
        halved_at_check=tf.ones([batch], bool),
    )

    def body(s):
        return (_step(s),)

    def _step(s):
        momentum = tf.where(s["step"] > 0, MOMENTUM, 1.0)
        size = tf.reshape(s["step_size"], [-1, 1, 1, 1])
        z = projected(s["point"] + size * steepest_direction(s["gradient"], norm))
        point = projected(
            s["point"] + momentum * (z - s["point"]) + (1 - momentum) * (s["point"] - s["previous"])
        )
        value, wrong, gradient = evaluate(point)
        newly = wrong & tf.logical_not(s["broken"])
        improved = value > s["best_loss"]
        best_loss = tf.where(improved, value, s["best_loss"])
        best = per_example_where(improved, point, s["best"])
        best_gradient = per_example_where(improved, gradient, s["best_gradient"])
        rises = s["rises"] + tf.cast(value > s["last_loss"], tf.float32)
        since_check = s["since_check"] + 1
        at_check = tf.equal(since_check, s["interval"])
        oscillates = rises <= RHO * tf.cast(s["interval"], tf.float32)
        stalled = tf.logical_not(s["halved_at_check"]) & (s["best_at_check"] >= best_loss)
        halve = at_check & (oscillates | stalled)
        return dict(
            step=s["step"] + 1,
            point=per_example_where(halve, best, point),
            previous=s["point"],
            gradient=per_example_where(halve, best_gradient, gradient),
            step_size=tf.where(halve, s["step_size"] / 2.0, s["step_size"]),
            broken=s["broken"] | wrong,
            adversarial=per_example_where(newly, point, s["adversarial"]),
            best=best,
            best_gradient=best_gradient,
            best_loss=best_loss,
            last_loss=value,
            rises=tf.where(at_check, 0.0, rises),
            since_check=tf.where(at_check, 0, since_check),
            interval=tf.where(
                at_check, tf.maximum(s["interval"] - decrement, smallest), s["interval"]
            ),
            best_at_check=tf.where(at_check, best_loss, s["best_at_check"]),
            halved_at_check=tf.where(at_check, oscillates | stalled, s["halved_at_check"]),
        )

    final = tf.while_loop(lambda s: s["step"] < steps, body, (state,))[0]
    adversarial = per_example_where(final["broken"], final["adversarial"], final["best"])
    return adversarial, final["broken"]


def _on_unbroken(
    logits_fn: LogitsFn, images, labels, ranked, loss: str, settings, restart: int, rank, found
):
    """One run (``_single_run``) on the examples ``found`` (adversarial, broken) leaves
    unbroken, targeting the class each one's clean logits rank ``rank`` (a Python or tensor
    integer; None: untargeted); the updated (adversarial, broken)."""
    adversarial, broken = found
    epsilon, norm, steps, seed = settings
    todo = tf.where(tf.logical_not(broken))[:, 0]
    goal = None if rank is None else tf.gather(ranked[:, rank], todo)
    offset = restart * 1000 + (0 if rank is None else rank)  # of the run's seed
    attacked, hit = _single_run(
        logits_fn,
        tf.gather(images, todo),
        tf.gather(labels, todo),
        losses.loss_fn(loss, goal),
        epsilon,
        norm,
        steps,
        tf.stack([tf.constant(seed, tf.int64), tf.cast(offset, tf.int64)]),
    )
    index = todo[:, None]
    return (
        tf.tensor_scatter_nd_update(adversarial, index, attacked),
        tf.tensor_scatter_nd_update(broken, index, hit),
    )


def apgd(
    logits_fn: LogitsFn,
    images: tf.Tensor,
    labels: tf.Tensor,
    epsilon: float,
    norm: str,
    seed: int,
    steps: int,
    loss: str = "ce",
    restarts: int = 1,
    n_target_classes: int = 9,
) -> tf.Tensor:
    """APGD on ``loss`` ('ce', 'dlr' or 'dlr_targeted'), ``restarts`` runs (per target
    class for 'dlr_targeted'), each on the examples the earlier runs did not break.

    The target classes of a restart run in a ``tf.while_loop`` over the rank: one traced
    run serves them all (unrolled, APGD-T's nine targets made nine copies of the run to
    trace and optimize), with the same operations on the same values in the same order.

    Returns:
      Per example, a misclassified point in the ball if any run found one, else the last
      run's point of highest loss; always in [0, 1].
    """
    labels = tf.cast(labels, tf.int64)
    ranked = tf.argsort(logits_fn(images), axis=1, direction="DESCENDING", stable=True)
    settings = (epsilon, norm, steps, seed)
    found = (images, tf.zeros([tf.shape(images)[0]], bool))
    for restart in range(restarts):
        if loss != "dlr_targeted":
            found = _on_unbroken(
                logits_fn, images, labels, ranked, loss, settings, restart, None, found
            )
            continue

        def target(rank, adversarial, broken, restart=restart):
            run = (adversarial, broken)
            run = _on_unbroken(
                logits_fn, images, labels, ranked, loss, settings, restart, rank, run
            )
            return (rank + 1, *run)

        first = tf.constant(1)
        _, *found = tf.while_loop(
            lambda rank, *_: rank <= n_target_classes, target, (first, *found)
        )
    return found[0]
