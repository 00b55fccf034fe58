"""Occlusions drawn on the image, from MNIST-C: inverted stripes, a dotted line and a zigzag.

MNIST-C has one setting of each; the five severities here are derived around it, with its
setting as severity 3. Stripes: the outer 7 of 28 columns on each side are inverted (3, 5,
7, 9, 11 here). Lines: MNIST-C's stroke fades as 1 + ln(1 - d / 2.3) over the vertical
distance d from the line (zero past d = 1.45 pixels); the severities widen that 2.3 by
0.5, 0.75, 1, 1.25 and 1.5. Positions are MNIST-C's, in 28ths of the image; lengths and
widths scale with its shorter side.
"""

import tensorflow as tf

import robustfx  # noqa: F401  (pins Keras 2 before TensorFlow is imported)
from robustfx.robustness.corruptions import randomness
from robustfx.robustness.corruptions.sampling import pixel_grid
from robustfx.robustness.corruptions.spec import MNIST_C, Corruption, Table, image_size

_SIDE = 28  # MNIST-C's image side: positions below are in its pixels
_STROKE = 2.3  # MNIST-C line_from_points: the distance where the stroke's profile ends
STRIPE = Table(MNIST_C, 28, (3, 5, 7, 9, 11))
DOTTED_LINE = Table(MNIST_C, 28, tuple(_STROKE * f for f in (0.5, 0.75, 1.0, 1.25, 1.5)))
ZIGZAG = Table(MNIST_C, 28, tuple(_STROKE * f for f in (0.5, 0.75, 1.0, 1.25, 1.5)))
_DERIVED = "MNIST-C has one setting; severities derived around it (severity 3 is MNIST-C's)"


def stroke(distance: tf.Tensor, width: float) -> tf.Tensor:
    """MNIST-C's stroke profile: 1 + ln(1 - d / width), clipped to [0, 1]."""
    d = tf.clip_by_value(tf.abs(distance), 0.0, width * (1 - 1e-6))
    return tf.clip_by_value(1.0 + tf.math.log(1.0 - d / width), 0.0, 1.0)


def add_strokes(images: tf.Tensor, strokes: tf.Tensor) -> tf.Tensor:
    """Strokes [batch, height, width] added to every channel, clipped."""
    return tf.clip_by_value(images + strokes[..., None], 0.0, 1.0)


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


def dotted_line(images: tf.Tensor, keys: tf.Tensor, width: float, scale: float) -> tf.Tensor:
    """A line across the image between random rows at its left and right edges, drawn in
    dashes of 2 columns (of 28) with gaps of 2, starting with a gap."""
    height, side, _ = image_size(images)
    ends = _random_rows(keys, 0, 2) * (height - 1) / (_SIDE - 1)  # [batch, 2]
    rows, cols = pixel_grid(height, side)
    slope = (ends[:, 1] - ends[:, 0]) / max(side - 1, 1)
    line = ends[:, 0, None, None] + slope[:, None, None] * cols
    dashes = tf.cast(tf.math.floormod(tf.floor(cols / (2 * scale)), 2) == 1, tf.float32)
    return add_strokes(images, stroke(rows - line, width * scale) * dashes)


def triangle_wave(u: tf.Tensor, half_period: float, amplitude: float) -> tf.Tensor:
    """0 at u = 0, ``amplitude`` at u = half_period, -amplitude at 3 half_period, ..."""
    phase = tf.math.floormod(u + half_period, 4 * half_period)
    return amplitude * (1.0 - tf.abs(phase - 2 * half_period) / half_period)


def zigzag(images: tf.Tensor, keys: tf.Tensor, width: float, scale: float) -> tf.Tensor:
    """MNIST-C's zigzag: from column 2 to 25 (of 28), starting at a random row r0 and ending
    at r0 + an offset in -5 .. 4 rows, teeth 2 pixels long and 2 pixels high."""
    height, side, _ = image_size(images)
    draws = randomness.uniform(keys, [2], stream=0)
    start_row = tf.floor(draws[:, 0] * (_SIDE - 1))
    offset = tf.floor(draws[:, 1] * 10) - 5
    x0, x1 = 2 * side / _SIDE, 25 * side / _SIDE
    y0 = start_row * height / _SIDE
    y1 = (start_row + offset) * height / _SIDE
    angle = tf.atan2(y1 - y0, tf.fill(tf.shape(y0), x1 - x0))
    length = tf.sqrt(tf.square(y1 - y0) + (x1 - x0) ** 2)
    rows, cols = pixel_grid(height, side)
    cos, sin = tf.cos(angle)[:, None, None], tf.sin(angle)[:, None, None]
    dx, dy = cols - x0, rows - y0[:, None, None]
    u, v = dx * cos + dy * sin, -dx * sin + dy * cos
    inside = tf.cast((u >= 0) & (u <= length[:, None, None]), tf.float32)
    wave = triangle_wave(u, 2 * scale, 2 * scale)
    return add_strokes(images, stroke(v - wave, width * scale) * inside)


FAMILY = (
    Corruption("stripe", "lines", (STRIPE,), stripe, _DERIVED),
    Corruption("dotted_line", "lines", (DOTTED_LINE,), dotted_line, _DERIVED),
    Corruption("zigzag", "lines", (ZIGZAG,), zigzag, _DERIVED),
)
