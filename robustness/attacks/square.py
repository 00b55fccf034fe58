"""The Square attack: a score-based, black-box adversarial attack by random search, in pure TF.

Andriushchenko, Croce, Flammarion and Hein, "Square Attack: a query-efficient black-box
adversarial attack via random search" (ECCV 2020). Starting from a random point on the
boundary of the epsilon ball, each iteration changes the perturbation inside a random square
window (its side shrinks on a fixed schedule) and keeps the change only if it lowers the
margin loss ``logit[y] - max_{j != y} logit[j]``. Under L-infinity the window is set to a
random corner of the cube; under L2 mass is moved between two windows with a
"pseudo-gaussian" pattern while the perturbation stays on the epsilon sphere.

The attack only ever evaluates ``logits_fn`` forward and never takes a gradient, so it is the
gradient-free check for gradient masking: a model that resists PGD or APGD but falls to Square
hides its errors from its gradients instead of keeping them out of the epsilon ball.
"""

import functools
from typing import Tuple

import numpy as np
import tensorflow as tf

import robustfx  # noqa: F401  (pins Keras 2 before TensorFlow is imported)
from robustfx.robustness.attacks import losses
from robustfx.robustness.attacks.geometry import LogitsFn, clip_pixels, per_example_l2, project

_TINY = 1e-12
# p_selection halves p each time the iteration, rescaled to a 10,000-query budget, passes one
# of these thresholds.
_SCHEDULE = (10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000)
# Random streams per iteration: each draw gets its own stateless seed.
_STREAMS = 8


def _margin(logits: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
    """logit[y] - max_{j != y} logit[j] per example; negative means misclassified."""
    return -losses.margin(tf.cast(logits, tf.float32), labels)


def _p_selection(it: tf.Tensor, n_queries: int, p_init: float) -> tf.Tensor:
    """Fraction of pixels the square covers at iteration ``it``."""
    scaled = tf.cast(tf.floor(tf.cast(it, tf.float64) / n_queries * 10000), tf.int32)
    halvings = tf.reduce_sum(tf.cast(scaled > tf.constant(_SCHEDULE, tf.int32), tf.float32))
    return p_init / tf.pow(2.0, halvings)


def _seed(seed: int, it: tf.Tensor, stream: int) -> tf.Tensor:
    counter = tf.cast(it, tf.int64) * _STREAMS + stream
    return tf.stack([tf.constant(seed, tf.int64), counter])


def _signs(shape, seed: tf.Tensor) -> tf.Tensor:
    return tf.where(tf.random.stateless_uniform(shape, seed) < 0.5, -1.0, 1.0)


def _channel_norm(x: tf.Tensor) -> tf.Tensor:
    """L2 norm of each (example, channel) over the image plane, shaped [batch, 1, 1, C]."""
    return tf.sqrt(tf.reduce_sum(tf.square(x), axis=[1, 2], keepdims=True))


def _unit(x: tf.Tensor) -> tf.Tensor:
    return x / tf.maximum(tf.sqrt(tf.reduce_sum(tf.square(x))), _TINY)


def _pseudo_gaussian(side: tf.Tensor, n: int) -> tf.Tensor:
    """The meta pseudo-gaussian pattern of side ``side`` (unit L2 norm) in the top-left corner
    of an n x n grid of zeros: +eta on the top ``side // 2`` rows, -eta on the rest."""
    rows, cols = tf.range(n)[:, None], tf.range(n)[None, :]
    half = side // 2
    top = rows < half
    height = tf.where(top, half, side - half)
    local = tf.where(top, rows, rows - half)
    # eta(a, b)[r, c] = sum_{k = ring}^{b // 2} 1 / (k + 1)^2, a <= b = side: via prefix sums.
    ring = tf.maximum(tf.abs(local - height // 2), tf.abs(cols - half))
    prefix = np.concatenate([[0.0], np.cumsum(1.0 / np.arange(1, n + 2) ** 2)])
    prefix = tf.constant(prefix, tf.float32)
    outer = half + 1
    value = tf.gather(prefix, outer) - tf.gather(prefix, tf.minimum(ring, outer))
    inside = (rows < side) & (cols < side)
    upper = tf.where(inside & top, value, 0.0)
    lower = tf.where(inside & ~top, value, 0.0)
    return _unit(_unit(upper) - _unit(lower))


def _place(pattern: tf.Tensor, rows: tf.Tensor, cols: tf.Tensor, inside, transpose) -> tf.Tensor:
    """pattern[rows, cols] (or pattern[cols, rows] where ``transpose``) where ``inside``, else
    0; all index arguments broadcast to [batch, H, W]."""
    n = pattern.shape[0]
    i, j = tf.where(transpose, cols, rows), tf.where(transpose, rows, cols)
    flat = tf.clip_by_value(i, 0, n - 1) * n + tf.clip_by_value(j, 0, n - 1)
    return tf.where(inside, tf.gather(tf.reshape(pattern, [-1]), flat), 0.0)


def _window(
    batch: tf.Tensor, side: tf.Tensor, shape: Tuple[int, int], seed: int, it, stream: int
) -> Tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """A random side x side window per example: local row and column indices, [batch, H, 1]
    and [batch, 1, W], and the [batch, H, W] mask of the window."""
    offsets = []
    for axis, size in enumerate(shape):
        start = tf.random.stateless_uniform(
            [batch], _seed(seed, it, stream + axis), 0, size - side + 1, tf.int32
        )
        local = tf.range(size)[None, :] - start[:, None]
        offsets.append(local)
    rows, cols = offsets[0][:, :, None], offsets[1][:, None, :]
    inside = (rows >= 0) & (rows < side) & (cols >= 0) & (cols < side)
    return rows, cols, inside


def _linf_init(images: tf.Tensor, epsilon: float, seed: int) -> tf.Tensor:
    """Vertical stripes: +-epsilon per (example, column, channel), constant along the height."""
    shape = tf.stack([tf.shape(images)[0], 1, images.shape[2], images.shape[3]])
    return clip_pixels(images + epsilon * _signs(shape, _seed(seed, -1, 0)))


def _linf_step(images, x_best, it, epsilon: float, seed: int, p: tf.Tensor) -> tf.Tensor:
    """Sets one random square per example to a random corner (+-epsilon per channel)."""
    height, width, channels = images.shape[1:]
    batch = tf.shape(images)[0]
    side = tf.cast(tf.round(tf.sqrt(p * height * width)), tf.int32)
    side = tf.clip_by_value(side, 1, max(min(height, width) - 1, 1))
    _, _, inside = _window(batch, side, (height, width), seed, it, 0)
    signs = _signs(tf.stack([batch, 1, 1, channels]), _seed(seed, it, 2))
    return clip_pixels(tf.where(inside[..., None], images + epsilon * signs, x_best))


def _to_sphere(images: tf.Tensor, delta: tf.Tensor, epsilon: float) -> tf.Tensor:
    return clip_pixels(images + epsilon * delta / tf.maximum(per_example_l2(delta), _TINY))


def _l2_init(images: tf.Tensor, epsilon: float, seed: int) -> tf.Tensor:
    """A grid of pseudo-gaussian squares of side H // 5, each with random signs per channel."""
    height, width, channels = images.shape[1:]
    batch = tf.shape(images)[0]
    side = max(height // 5, 1)
    start = (height - 5 * side) // 2
    tiles_h, tiles_w = height // side, width // side
    rows, cols = tf.range(height)[:, None] - start, tf.range(width)[None, :] - start
    tile_r, tile_c = rows // side, cols // side
    inside = (rows >= 0) & (cols >= 0) & (tile_r < tiles_h) & (tile_c < tiles_w)
    tile = tf.clip_by_value(tile_r * tiles_w + tile_c, 0, tiles_h * tiles_w - 1)
    draws = tf.random.stateless_uniform(
        tf.stack([batch, tiles_h * tiles_w, 1 + channels]), _seed(seed, -1, 0)
    )
    transpose = tf.gather(draws[:, :, 0] < 0.5, tile, axis=1)
    signs = tf.gather(tf.where(draws[:, :, 1:] < 0.5, -1.0, 1.0), tile, axis=1)
    pattern = _pseudo_gaussian(tf.constant(side), max(height, width))
    values = _place(pattern, rows - tile_r * side, cols - tile_c * side, inside, transpose)
    return _to_sphere(images, values[..., None] * signs, epsilon)


def _l2_step(images, x_best, it, epsilon: float, seed: int, p: tf.Tensor) -> tf.Tensor:
    """Moves the perturbation's mass in window 2 into window 1, where a new pseudo-gaussian
    square is added, keeping the perturbation on the epsilon sphere."""
    height, width, channels = images.shape[1:]
    batch = tf.shape(images)[0]
    side = tf.maximum(tf.cast(tf.round(tf.sqrt(p * height * width)), tf.int32), 3)
    side = tf.minimum(side + 1 - side % 2, min(height, width))
    rows, cols, in_1 = _window(batch, side, (height, width), seed, it, 0)
    _, _, in_2 = _window(batch, side, (height, width), seed, it, 2)
    in_1, in_2 = in_1[..., None], in_2[..., None]
    draws = tf.random.stateless_uniform(tf.stack([batch, 1, 1, 1 + channels]), _seed(seed, it, 4))
    transpose = draws[:, :, :, 0] < 0.5
    signs = tf.where(draws[..., 1:] < 0.5, -1.0, 1.0)
    pattern = _pseudo_gaussian(side, max(height, width))
    delta = x_best - images
    old = tf.where(in_1, delta, 0.0)
    new = _place(pattern, rows, cols, in_1[..., 0], transpose)[..., None] * signs
    new += old / (_channel_norm(old) + 1e-10)
    spare = tf.maximum(epsilon**2 - tf.square(per_example_l2(delta)), 0.0) / channels
    windows = _channel_norm(tf.where(in_1 | in_2, delta, 0.0))
    new *= tf.sqrt(spare + tf.square(windows)) / tf.maximum(_channel_norm(new), _TINY)
    delta = tf.where(in_1, new, tf.where(in_2, 0.0, delta))
    return _to_sphere(images, delta, epsilon)


def square(
    logits_fn: LogitsFn,
    images: tf.Tensor,
    labels: tf.Tensor,
    epsilon: float,
    norm: str,
    seed: int,
    n_queries: int,
    p_init: float,
) -> tf.Tensor:
    """Runs the (untargeted, margin-loss) Square attack.

    Examples the model already misclassifies are returned unchanged; every other example is
    attacked until its margin turns negative or the query budget is spent, and keeps its best
    (lowest-margin) point. The loop is a ``tf.while_loop`` that stops once every example is
    broken, and each iteration queries the model on the still-robust examples only.

    Args:
      logits_fn: maps images [batch, H, W, C] to logits [batch, classes]; only called forward.
      images: float32 images in [0, 1], [batch, H, W, C] (H, W and C static).
      labels: int64 true labels, [batch].
      epsilon: radius of the perturbation ball; 0 returns ``images`` unchanged.
      norm: "linf" or "l2".
      seed: seed of the stateless random draws; a given seed always gives the same result.
      n_queries: queries per example, the random start included (one more checks the input).
      p_init: initial fraction of the image a square covers (0.8 in the paper's L-inf runs).

    Returns:
      Adversarial images inside the ``norm`` ball of radius epsilon around ``images`` and in
      [0, 1], shaped like ``images``.
    """
    if norm not in ("linf", "l2"):
        raise ValueError(f"square norm={norm!r} is unknown: use linf or l2")
    if epsilon == 0:
        return images
    init, step = (_linf_init, _linf_step) if norm == "linf" else (_l2_init, _l2_step)
    seed = int(seed)

    def attack(images: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
        margin_clean = _margin(logits_fn(images), labels)
        x_init = init(images, epsilon, seed)
        broken = margin_clean < 0
        x_best = tf.where(broken[:, None, None, None], images, x_init)
        margin_best = tf.where(broken, margin_clean, _margin(logits_fn(x_init), labels))

        def running(it, x_best, margin_best):
            return (it < n_queries - 1) & tf.reduce_any(margin_best >= 0)

        def body(it, x_best, margin_best):
            active = tf.where(margin_best >= 0)
            x, best, margin = (tf.gather_nd(t, active) for t in (images, x_best, margin_best))
            candidate = step(x, best, it, epsilon, seed, _p_selection(it, n_queries, p_init))
            margin_new = _margin(logits_fn(candidate), tf.gather_nd(labels, active))
            better = margin_new < margin
            best = tf.where(better[:, None, None, None], candidate, best)
            x_best = tf.tensor_scatter_nd_update(x_best, active, best)
            margin_best = tf.tensor_scatter_nd_update(
                margin_best, active, tf.minimum(margin_new, margin)
            )
            return it + 1, x_best, margin_best

        _, x_best, _ = tf.while_loop(running, body, [tf.constant(0), x_best, margin_best])
        return clip_pixels(images + project(x_best - images, epsilon, norm))

    if tf.executing_eagerly():
        # Traced so that an eager call does not run thousands of iterations op by op. The
        # partial keeps TensorFlow from counting every call's fresh trace as retracing.
        attack = tf.function(functools.partial(attack))
    return attack(tf.convert_to_tensor(images, tf.float32), tf.cast(labels, tf.int64))
