"""Occlusions drawn on the image, from MNIST-C: inverted stripes, a dotted line and a zigzag.

MNIST-C has one setting of each; the five severities here are derived around it, with its
setting as severity 3. Stripes: the outer 7 of 28 columns on each side are inverted (3, 5,
7, 9, 11 here). Lines: MNIST-C's stroke fades as 1 + ln(1 - d / 2.3) over the vertical
distance d from the line (zero past d = 1.45 pixels); the severities widen that 2.3 by
0.5, 0.75, 1, 1.25 and 1.5. Lines are drawn as MNIST-C draws them, on each pixel's
position in its 28 x 28 pixels (so on another size they scale with each side).
"""

import numpy as np
import tensorflow as tf

import robustfx  # noqa: F401  (pins Keras 2 before TensorFlow is imported)
from robustfx.robustness.corruptions import randomness
from robustfx.robustness.corruptions.sampling import pixel_grid
from robustfx.robustness.corruptions.spec import (
    MNIST_C,
    Corruption,
    Table,
    as_float32,
    image_size,
)

_SIDE = 28  # MNIST-C's image side: positions below are in its pixels
_STROKE = 2.3  # MNIST-C line_from_points: the distance where the stroke's profile ends
STRIPE = Table(MNIST_C, 28, (3, 5, 7, 9, 11))
DOTTED_LINE = Table(MNIST_C, 28, tuple(_STROKE * f for f in (0.5, 0.75, 1.0, 1.25, 1.5)))
ZIGZAG = Table(MNIST_C, 28, tuple(_STROKE * f for f in (0.5, 0.75, 1.0, 1.25, 1.5)))
_ZIGZAG_OFFSETS = tuple(range(-5, 5))  # numpy's randint(-5, 5)
_DERIVED = "MNIST-C has one setting; severities derived around it (severity 3 is MNIST-C's)"


def stroke(distance: tf.Tensor, width: float) -> tf.Tensor:
    """MNIST-C's stroke profile: 1 + ln(1 - d / width), clipped to [0, 1]. The division is
    the product with the reciprocal, as TensorFlow's graph optimizer rewrites a division by
    a constant, so that a width as a tensor gives the same strokes."""
    d = tf.clip_by_value(tf.abs(distance), 0.0, as_float32(width * (1 - 1e-6)))
    ratio = d * tf.math.reciprocal(as_float32(width))
    return tf.clip_by_value(1.0 + tf.math.log(1.0 - ratio), 0.0, 1.0)


def add_strokes(images: tf.Tensor, strokes: tf.Tensor) -> tf.Tensor:
    """Strokes [batch, height, width] added to every channel, clipped."""
    return tf.clip_by_value(images + strokes[..., None], 0.0, 1.0)


def reference_grid(height: int, width: int):
    """(rows, cols) [height, width]: each pixel's position in MNIST-C's 28 x 28 pixels."""
    rows, cols = pixel_grid(height, width)
    return rows * (_SIDE / height), cols * (_SIDE / width)


def line_from_points(c0, r0, c1, r1, width: float, grid) -> tf.Tensor:
    """MNIST-C's ``line_from_points`` (corruptions.py at bba57e4, line 185): the stroke along
    the line through (c0, r0) and (c1, r1) ([batch] columns and rows in its pixels), its
    distance measured along the rows, kept in columns floor(c0) <= c < ceil(c1), nothing
    where c1 == c0; [batch, height, width] on ``grid`` (``reference_grid``)."""
    rows, cols = grid
    c0, r0, c1, r1 = (tf.cast(v, tf.float32)[:, None, None] for v in (c0, r0, c1, r1))
    run = c1 - c0
    slope = (r1 - r0) / tf.where(run == 0, 1.0, run)
    line = stroke(rows - (slope * (cols - c0) + r0), width)
    kept = (cols >= tf.floor(c0)) & (cols < tf.math.ceil(c1)) & (run != 0)
    return line * tf.cast(kept, tf.float32)


def _random_rows(keys: tf.Tensor, stream: int, count: int) -> tf.Tensor:
    """[batch, count] integers uniform in 0 .. 26 (numpy's randint(0, 27))."""
    return tf.floor(randomness.uniform(keys, [count], stream) * (_SIDE - 1))


def stripe(images: tf.Tensor, keys: tf.Tensor, columns: int, scale: float) -> tf.Tensor:
    """The outer ``columns`` of 28 on each side inverted."""
    width = image_size(images)[1]
    band = max(1, round(width * columns / _SIDE))
    cols = tf.range(width)
    outer = tf.cast((cols < band) | (cols >= width - band), tf.float32)[None, None, :, None]
    return outer * (1.0 - images) + (1.0 - outer) * images


def dotted_strokes(rows: tf.Tensor, width: float, size) -> tf.Tensor:
    """MNIST-C's dotted line [batch, height, width] from ``rows`` [batch, 2] (its r0, r1):
    ``line_from_points(0, r0, 27, r1)`` (which blanks column 27: its line 202, kept as the
    dataset has it), then every other pair of
    columns blanked, from columns 0-1 to 24-25."""
    grid = reference_grid(*size)
    zeros = tf.zeros_like(rows[:, 0])
    line = line_from_points(zeros, rows[:, 0], zeros + _SIDE - 1, rows[:, 1], width, grid)
    dashes = tf.math.floormod(tf.floor(grid[1] / 2.0), 2.0) == 1.0
    return line * tf.cast(dashes, tf.float32)


def dotted_line(images: tf.Tensor, keys: tf.Tensor, width: float, scale: float) -> tf.Tensor:
    """A dotted line between random rows at the left and right edges, as MNIST-C draws it."""
    height, side, _ = image_size(images)
    return add_strokes(images, dotted_strokes(_random_rows(keys, 0, 2), width, (height, side)))


def zigzag_path(offset: int) -> np.ndarray:
    """[points, 2] (column, row) of MNIST-C's zigzag for an end ``offset`` in -5 .. 4 rows,
    relative to its start row, as corruptions.py computes it (line 609 on): teeth 2 long (a)
    and 2 high (b) along the line from column 2 to 25, the last point at (d, r_i / (2 (d -
    max_c))) (line 632, kept as published), all turned by the line's angle."""
    a, b, c0, c1 = 2.0, 2.0, 2, 25
    theta = np.arctan(offset / (c1 - c0))
    d = (c1 - c0) / np.cos(theta)
    points = [(0.0, 0.0)]
    for i in range(int((d - a) // (2 * a)) + 1):
        points.append(((2 * i + 1) * a, (-1) ** i * b))
    max_c = (2 * a) * (d // (2 * a))
    if d != max_c:
        points.append((d, points[-1][1] / (2 * (d - max_c))))
    turn = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    return (turn @ np.array(points).T).T + [c0, 0.0]


def _zigzag_paths() -> np.ndarray:
    """[10, points, 2] paths for offsets -5 .. 4; a shorter one repeats its last point (a
    segment of no length draws nothing)."""
    paths = [zigzag_path(offset) for offset in _ZIGZAG_OFFSETS]
    longest = max(len(path) for path in paths)
    return np.stack([np.concatenate([p, np.repeat(p[-1:], longest - len(p), 0)]) for p in paths])


def zigzag_strokes(start_rows: tf.Tensor, offsets: tf.Tensor, width: float, size) -> tf.Tensor:
    """MNIST-C's zigzag [batch, height, width] for ``start_rows`` (r0, 0 .. 26) and end
    ``offsets`` (-5 .. 4), [batch] each: every segment of its path drawn by
    ``line_from_points`` (so each is kept to its own columns) and the strokes summed."""
    grid = reference_grid(*size)
    paths = tf.gather(tf.constant(_zigzag_paths(), tf.float32), tf.cast(offsets, tf.int32) + 5)
    cols = paths[..., 0]
    rows = paths[..., 1] + tf.cast(start_rows, tf.float32)[:, None]
    total = 0.0
    for i in range(1, int(paths.shape[1])):
        total += line_from_points(
            cols[:, i - 1], rows[:, i - 1], cols[:, i], rows[:, i], width, grid
        )
    return total


def zigzag(images: tf.Tensor, keys: tf.Tensor, width: float, scale: float) -> tf.Tensor:
    """MNIST-C's zigzag from column 2 to 25, starting at a random row r0 (0 .. 26) and ending
    at r0 + an offset in -5 .. 4 rows, with teeth 2 pixels long and 2 pixels high. The
    reference clips after each segment; the strokes are never negative, so one clip of
    their sum is the same."""
    height, side, _ = image_size(images)
    draws = randomness.uniform(keys, [2], stream=0)
    start_rows = tf.floor(draws[:, 0] * (_SIDE - 1))
    offsets = tf.floor(draws[:, 1] * len(_ZIGZAG_OFFSETS)) + _ZIGZAG_OFFSETS[0]
    return add_strokes(images, zigzag_strokes(start_rows, offsets, width, (height, side)))


FAMILY = (
    Corruption("stripe", "lines", (STRIPE,), stripe, _DERIVED),  # its band is rounded in Python
    Corruption("dotted_line", "lines", (DOTTED_LINE,), dotted_line, _DERIVED, one_trace=True),
    Corruption("zigzag", "lines", (ZIGZAG,), zigzag, _DERIVED, one_trace=True),
)
