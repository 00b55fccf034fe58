"""Canny edges, from MNIST-C: the image replaced by its edge map (skimage's ``canny`` with
its defaults: Gaussian sigma 1, hysteresis thresholds 0.1 and 0.2 on the Sobel gradient
magnitude, the outermost pixel ring excluded).

MNIST-C has one setting, the edge map alone; it is severity 5 here, and severities 1 to 4
blend the edge map over the image with weights 0.2, 0.4, 0.6 and 0.8. Non-maximum
suppression compares each pixel with its two neighbours along the gradient direction
rounded to 45 degrees (skimage interpolates between neighbours). RGB images are judged on
their luminance and get the same edges in every channel.
"""

import math

import tensorflow as tf

import robustfx  # noqa: F401  (pins Keras 2 before TensorFlow is imported)
from robustfx.robustness.corruptions.filters import convolve, gaussian_blur, pad
from robustfx.robustness.corruptions.spec import (
    MNIST_C,
    Corruption,
    Table,
    as_float32,
    image_size,
)

CANNY_EDGES = Table(MNIST_C, 28, (0.2, 0.4, 0.6, 0.8, 1.0))
SIGMA, LOW, HIGH = 1.0, 0.1, 0.2
_SOBEL = tf.constant([[-1.0, -2.0, -1.0], [0.0, 0.0, 0.0], [1.0, 2.0, 1.0]])
_TAN_22_5 = math.tan(math.pi / 8)


def _neighbour(values: tf.Tensor, drow: int, dcol: int) -> tf.Tensor:
    """values[row + drow, col + dcol], edges repeated."""
    height, width = int(values.shape[1]), int(values.shape[2])
    padded = pad(values, (1, 1), (1, 1), "edge")
    return padded[:, 1 + drow : 1 + drow + height, 1 + dcol : 1 + dcol + width]


def _local_maxima(magnitude: tf.Tensor, gy: tf.Tensor, gx: tf.Tensor) -> tf.Tensor:
    """Pixels no smaller than both neighbours along their gradient (rounded to 45 deg)."""
    ay, ax = tf.abs(gy), tf.abs(gx)
    horizontal = ay <= _TAN_22_5 * ax
    vertical = ax <= _TAN_22_5 * ay
    same_sign = gy * gx > 0
    directions = [
        (horizontal, (0, 1)),
        (vertical, (1, 0)),
        (~horizontal & ~vertical & same_sign, (1, 1)),
        (~horizontal & ~vertical & ~same_sign, (1, -1)),
    ]
    keep = tf.zeros_like(magnitude, tf.bool)
    for where, (dr, dc) in directions:
        forward, backward = _neighbour(magnitude, dr, dc), _neighbour(magnitude, -dr, -dc)
        keep |= where & (magnitude >= forward) & (magnitude >= backward)
    return keep


def _hysteresis(strong: tf.Tensor, weak: tf.Tensor) -> tf.Tensor:
    """The weak pixels 8-connected to a strong one (grown until nothing changes)."""

    def grow(edges, _):
        grown = weak & (tf.nn.max_pool2d(tf.cast(edges, tf.float32), 3, 1, "SAME") > 0)
        return grown | edges, tf.reduce_any(grown & ~edges)

    edges, _ = tf.while_loop(lambda _, changed: changed, grow, [strong, tf.constant(True)])
    return edges


def canny(images: tf.Tensor, scale: float = 1.0) -> tf.Tensor:
    """The binary Canny edge map [batch, height, width, 1] of images in [0, 1] (their
    luminance); sigma scales with the image and the thresholds inversely."""
    height, width, channels = image_size(images)
    grey = tf.image.rgb_to_grayscale(images) if channels == 3 else images
    smoothed = gaussian_blur(grey, SIGMA * scale, mode="edge")
    gy = convolve(smoothed, _SOBEL, mode="edge")
    gx = convolve(smoothed, tf.transpose(_SOBEL), mode="edge")
    magnitude = tf.sqrt(tf.square(gx) + tf.square(gy))
    maxima = _local_maxima(magnitude, gy, gx)
    rows, cols = tf.range(height)[:, None], tf.range(width)[None, :]
    interior = (rows > 0) & (rows < height - 1) & (cols > 0) & (cols < width - 1)
    maxima &= interior[None, :, :, None]
    strong = maxima & (magnitude >= HIGH / scale)
    weak = maxima & (magnitude >= LOW / scale)
    return tf.cast(_hysteresis(strong, weak), tf.float32)


def canny_edges(images: tf.Tensor, keys: tf.Tensor, weight: float, scale: float) -> tf.Tensor:
    """The edge map blended over the image with ``weight`` (1: the edge map alone)."""
    edges = canny(images, scale)
    return as_float32(1.0 - weight) * images + as_float32(weight) * edges


FAMILY = (
    Corruption(
        "canny_edges",
        "lines",
        (CANNY_EDGES,),
        canny_edges,
        "MNIST-C has one setting (severity 5 here); severities 1-4 blend it over the image",
        one_trace=True,
    ),
)
