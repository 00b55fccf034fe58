"""Resampling image batches, as pure TF functions: affine warps about the image centre (one
matrix per example), translations, and bilinear sampling at arbitrary per-pixel positions.

Pixel centres sit at integer coordinates, x along columns and y along rows, and the centre of
an image is ((width - 1) / 2, (height - 1) / 2), as in skimage's ``warp`` that MNIST-C uses
(13.5 for 28 pixels). Every map goes from an *output* pixel to the *input* point it reads.
"""

from typing import Tuple

import tensorflow as tf

import robustfx  # noqa: F401  (pins Keras 2 before TensorFlow is imported)
from robustfx.robustness.corruptions.filters import map_border

_FILL = {"constant": "CONSTANT", "edge": "NEAREST", "reflect": "REFLECT"}


def project(images: tf.Tensor, transforms: tf.Tensor, fill: str = "constant") -> tf.Tensor:
    """TensorFlow's projective warp: each image read at its [8] row of ``transforms`` (in
    pixel coordinates from the top left), bilinear, ``fill`` outside the image."""
    height, width = int(images.shape[1]), int(images.shape[2])
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=images,
        transforms=transforms,
        output_shape=tf.constant([height, width], tf.int32),
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode=_FILL[fill],
    )


def affine_warp(images: tf.Tensor, matrices: tf.Tensor, fill: str = "constant") -> tf.Tensor:
    """Warps each image by its [2, 3] matrix (``matrices`` [batch, 2, 3]) in coordinates
    centred on the image: (x, y, 1) of an output pixel -> the input point it reads, bilinear,
    with ``fill`` (constant zero, edge or reflect) outside the image."""
    height, width = int(images.shape[1]), int(images.shape[2])
    cx, cy = (width - 1) / 2.0, (height - 1) / 2.0
    m = tf.cast(matrices, tf.float32)
    a0, a1, b0, b1 = m[:, 0, 0], m[:, 0, 1], m[:, 1, 0], m[:, 1, 1]
    a2 = m[:, 0, 2] + cx - a0 * cx - a1 * cy
    b2 = m[:, 1, 2] + cy - b0 * cx - b1 * cy
    zeros = tf.zeros_like(a0)
    return project(images, tf.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1), fill)


def linear_matrices(a: tf.Tensor, b: tf.Tensor, c: tf.Tensor, d: tf.Tensor) -> tf.Tensor:
    """[batch, 2, 3] matrices [[a, b, 0], [c, d, 0]] from four [batch] tensors."""
    zeros = tf.zeros_like(a)
    return tf.reshape(tf.stack([a, b, zeros, c, d, zeros], axis=1), [-1, 2, 3])


def shift(images: tf.Tensor, dx: tf.Tensor, dy: tf.Tensor, fill: str = "constant"):
    """Each image read at (x + dx, y + dy): its content moves by (-dx, -dy); [batch] offsets."""
    ones, zeros = tf.ones_like(dx), tf.zeros_like(dx)
    return project(images, tf.stack([ones, zeros, dx, zeros, ones, dy, zeros, zeros], 1), fill)


def pixel_grid(height: int, width: int) -> Tuple[tf.Tensor, tf.Tensor]:
    """(rows, cols) [height, width] float coordinates of every pixel."""
    rows, cols = tf.meshgrid(
        tf.range(height, dtype=tf.float32), tf.range(width, dtype=tf.float32), indexing="ij"
    )
    return rows, cols


def sample(images: tf.Tensor, rows: tf.Tensor, cols: tf.Tensor, mode: str = "reflect"):
    """Bilinear samples of ``images`` [batch, h, w, c] at ``rows``, ``cols`` [batch, H, W]
    (fractional source coordinates); ``mode`` (reflect, edge or constant zero) outside."""
    height, width, channels = (int(side) for side in images.shape[1:])
    flat = tf.reshape(images, [-1, channels])
    first = tf.range(tf.shape(images)[0])[:, None, None] * (height * width)
    top, left = tf.floor(rows), tf.floor(cols)
    fy, fx = (rows - top)[..., None], (cols - left)[..., None]
    top, left = tf.cast(top, tf.int32), tf.cast(left, tf.int32)

    def corner(r, c):
        border = "edge" if mode == "constant" else mode
        index = first + map_border(r, height, border) * width + map_border(c, width, border)
        values = tf.gather(flat, index)
        if mode == "constant":
            inside = (r >= 0) & (r < height) & (c >= 0) & (c < width)
            values *= tf.cast(inside, tf.float32)[..., None]
        return values

    upper = corner(top, left) * (1 - fx) + corner(top, left + 1) * fx
    lower = corner(top + 1, left) * (1 - fx) + corner(top + 1, left + 1) * fx
    return upper * (1 - fy) + lower * fy
