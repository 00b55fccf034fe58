"""The plasma fractal of MNIST-C's (and ImageNet-C's) fog: a diamond-square height map.

The reference (``plasma_fractal``, MNIST-C corruptions.py at bba57e4 line 123, after github
FLHerne/mapgen; fog crops it at line 332) starts a ``side`` x ``side`` map from a single 0
and refines it step by step, the grid spacing halving from ``side`` to 1 (with wrap-around
at the borders):

- squares: each cell's centre is the mean of its 4 corners plus ``wibble * U(-wibble,
  wibble)``;
- diamonds: each edge midpoint is the sum of its 2 neighbouring centres and 2 corners over 4,
  plus the same kind of draw;
- ``wibble`` starts at 100 and is divided by the decay after every step.

The finished map is rescaled to [0, 1] by its own minimum and maximum, and fog crops its
top-left corner. Here the steps run on the whole batch at once (each example with its own
draws); the grid of a step is kept apart and interleaved into the next, finer one.
"""

from typing import Tuple

import tensorflow as tf

import robustfx  # noqa: F401  (pins Keras 2 before TensorFlow is imported)

SIDE = 256  # the reference's map side
_WIBBLE = 100.0  # the reference's first wibble


def map_side(grid: Tuple[int, int]) -> int:
    """The reference's 256, or the power of two that holds a longer ``grid`` side."""
    return max(SIDE, 1 << (max(grid) - 1).bit_length())


def draw_count(side: int = SIDE) -> int:
    """Draws one map takes: 3 n^2 for each step on an n x n grid, n = 1, 2, ..., side / 2."""
    return side * side - 1


def _interleave(left: tf.Tensor, right: tf.Tensor, axis: int) -> tf.Tensor:
    """[batch, n, m] tensors merged along ``axis`` (1 or 2) as even and odd entries."""
    merged = tf.stack([left, right], axis=axis + 1)
    shape = tf.shape(left)
    size = [shape[0], shape[1], shape[2]]
    size[axis] *= 2
    return tf.reshape(merged, size)


def plasma(draws: tf.Tensor, decay: float, side: int = SIDE) -> tf.Tensor:
    """[batch, side, side] plasma maps in [0, 1] from ``draws`` [batch, draw_count(side)]
    uniform in [-1, 1), in the reference's order: for each step from the coarsest, the
    squares' draws, then the diamonds' on the grid's rows, then on its columns, each n x n
    row-major. ``side`` must be a power of two; ``decay`` a number or a float64 tensor (the
    wibbles are then computed in the graph, with the same float64 operations)."""
    if side < 2 or side & (side - 1):
        raise ValueError(f"plasma map side {side} must be a power of two, at least 2")
    # float64, as the reference computes it: graph execution may regroup the sums below (e.g.
    # grappler's AddN rewrite), which in float32 moved pixels by 1e-7 between an eager and a
    # traced call; in float64 the regrouping vanishes when the map is rounded to float32.
    draws = tf.cast(draws, tf.float64)
    corners = tf.zeros([tf.shape(draws)[0], 1, 1], tf.float64)
    wibble, n = _WIBBLE, 1
    while n < side:
        # This step's draws: the squares', the top edges', the left edges', n x n each.
        # wibble * wibble: the reference's wibble**2, the same double for every table row.
        noise = tf.reshape(draws[:, n * n - 1 : 4 * n * n - 1], [-1, 3, n, n]) * (wibble * wibble)
        below = corners + tf.roll(corners, -1, axis=1)
        centres = (below + tf.roll(below, -1, axis=2)) / 4.0 + noise[:, 0]
        tops = (
            centres + tf.roll(centres, 1, axis=1) + corners + tf.roll(corners, -1, axis=2)
        ) / 4.0 + noise[:, 1]
        lefts = (
            centres + tf.roll(centres, 1, axis=2) + corners + tf.roll(corners, -1, axis=1)
        ) / 4.0 + noise[:, 2]
        even_rows = _interleave(corners, tops, axis=2)
        odd_rows = _interleave(lefts, centres, axis=2)
        corners = _interleave(even_rows, odd_rows, axis=1)
        wibble = wibble / decay
        n *= 2
    low = tf.reduce_min(corners, axis=[1, 2], keepdims=True)
    high = tf.reduce_max(corners - low, axis=[1, 2], keepdims=True)
    return tf.cast((corners - low) / high, tf.float32)
