"""Glass blur's local pixel shuffle as MNIST-C (and ImageNet-C) run it: a chain of swaps
(MNIST-C corruptions.py at bba57e4, lines 272-279).

The reference visits the pixels in a fixed order, rows from the bottom up and, in each row,
columns from right to left (``for h in range(28 - d, d, -1): for w in range(28 - d, d, -1)``).
At each one it tosses a coin; on heads it draws ``dx, dy = randint(-d, d, size=2)`` (each in
-d .. d - 1: numpy's upper bound is exclusive, so the draws lean up and to the left) and swaps
the pixel with the one at (h + dy, w + dx). A value swapped up or left is met again later in
the pass and can be swapped on: content travels along chains, further than ``d``.

Here the same pass runs as one loop of swaps over the whole batch (each example with its own
draws), so it moves content exactly as the reference does given the same draws.
"""

from typing import Tuple

import numpy as np
import tensorflow as tf

import robustfx  # noqa: F401  (pins Keras 2 before TensorFlow is imported)
from robustfx.robustness.corruptions import randomness


def positions(height: int, width: int, max_delta: int) -> np.ndarray:
    """[steps, 2] (row, col) of the pixels the reference visits, in its order."""
    rows = range(height - max_delta, max_delta, -1)
    cols = range(width - max_delta, max_delta, -1)
    return np.array([(h, w) for h in rows for w in cols], np.int32).reshape(-1, 2)


def draws(
    keys: tf.Tensor, iterations: int, steps: int, max_delta: int, stream: int
) -> Tuple[tf.Tensor, tf.Tensor]:
    """Per-example draws of the reference's pass: ``moves`` [batch, iterations, steps] (the
    coin: True swaps) and ``offsets`` [batch, iterations, steps, 2] integers (dx, dy), each
    uniform in -max_delta .. max_delta - 1 like numpy's ``randint(-d, d)``."""
    uniform = randomness.uniform(keys, [iterations, steps, 3], stream)
    moves = uniform[..., 0] < 0.5
    offsets = tf.cast(tf.floor(uniform[..., 1:] * (2 * max_delta)), tf.int32) - max_delta
    return moves, offsets


def _one_pass(flat: tf.Tensor, visits: tf.Tensor, moves: tf.Tensor, offsets: tf.Tensor, width):
    """One pass of swaps over ``flat`` [batch, height * width, channels]; ``visits``
    [steps, 2], ``moves`` [batch, steps], ``offsets`` [batch, steps, 2] (dx, dy)."""
    batch = tf.range(tf.shape(flat)[0])
    steps = tf.shape(visits)[0]

    def swap(step, values):
        row, col = visits[step, 0], visits[step, 1]
        here = tf.fill(tf.shape(batch), row * width + col)
        move = offsets[:, step]
        there = (row + move[:, 1]) * width + (col + move[:, 0])
        there = tf.where(moves[:, step], there, here)
        at_here = tf.gather(values, here, axis=1, batch_dims=1)
        at_there = tf.gather(values, there, axis=1, batch_dims=1)
        indices = tf.concat(
            [tf.stack([batch, here], axis=1), tf.stack([batch, there], axis=1)], axis=0
        )
        # Where the coin says stay, both updates write the pixel's own value.
        return step + 1, tf.tensor_scatter_nd_update(
            values, indices, tf.concat([at_there, at_here], axis=0)
        )

    _, flat = tf.while_loop(lambda step, _: step < steps, swap, [tf.constant(0), flat])
    return flat


# Traced once per image shape: a loop of a few hundred steps is slow run eagerly.
_one_pass_traced = tf.function(_one_pass, autograph=False, reduce_retracing=True)


def chained_swaps(
    images: tf.Tensor, moves: tf.Tensor, offsets: tf.Tensor, max_delta: int
) -> tf.Tensor:
    """``images`` [batch, height, width, channels] after the reference's passes of swaps:
    ``moves`` [batch, iterations, steps] and ``offsets`` [batch, iterations, steps, 2]
    (dx, dy) as ``draws`` makes them, one pass per iteration."""
    height, width, channels = (int(side) for side in images.shape[1:])
    visits = tf.constant(positions(height, width, max_delta))
    if int(moves.shape[2]) != int(visits.shape[0]):
        raise ValueError(
            f"{moves.shape[2]} draws per pass for {visits.shape[0]} pixels to visit "
            f"({height}x{width}, max_delta {max_delta})"
        )
    flat = tf.reshape(images, [-1, height * width, channels])
    moves, offsets = tf.convert_to_tensor(moves, tf.bool), tf.convert_to_tensor(offsets, tf.int32)
    for iteration in range(int(moves.shape[1])):
        flat = _one_pass_traced(
            flat, visits, moves[:, iteration], offsets[:, iteration], tf.constant(width)
        )
    return tf.reshape(flat, tf.shape(images))
