"""Geometric corruptions: shear, scale, rotate and translate from MNIST-C, and the elastic
transform from ImageNet-C (RGB only).

MNIST-C warps with skimage's ``AffineTransform`` about the image centre, bilinear, zero
outside the image; the matrices below are skimage's, read as output -> input maps. Each
``*_images`` function takes its parameter per example explicitly; the corruptions draw the
random direction from the example's key.
"""

import tensorflow as tf

import robustfx  # noqa: F401  (pins Keras 2 before TensorFlow is imported)
from robustfx.robustness.corruptions import randomness
from robustfx.robustness.corruptions.filters import gaussian_blur
from robustfx.robustness.corruptions.sampling import (
    affine_warp,
    linear_matrices,
    pixel_grid,
    sample,
    shift,
)
from robustfx.robustness.corruptions.spec import (
    CIFAR_10_C,
    IMAGENET_C,
    MNIST_C,
    Corruption,
    Table,
    as_float32,
    image_size,
    reference_grid,
)

# MNIST-C shear and rotate: c = [0.2, 0.4, 0.6, 0.8, 1.0] radians, direction random; the
# dataset used severity 2 for both.
SHEAR = Table(MNIST_C, 28, (0.2, 0.4, 0.6, 0.8, 1.0))
ROTATE = Table(MNIST_C, 28, (0.2, 0.4, 0.6, 0.8, 1.0))
# MNIST-C scale: skimage scale = 1 / [.9, .8, .7, .6, .5] (the digit shrinks to that
# fraction of its size); the dataset used severity 3.
SCALE = Table(MNIST_C, 28, (1 / 0.9, 1 / 0.8, 1 / 0.7, 1 / 0.6, 1 / 0.5))
# MNIST-C translate: [1, 2, 3, 4, 5] pixels along each axis, each sign random; the dataset
# used severity 3.
TRANSLATE = Table(MNIST_C, 28, (1, 2, 3, 4, 5))
# elastic_transform: (alpha, sigma, affine jitter) in pixels. ImageNet-C writes them as
# multiples of 244 for 224-pixel images ("244 should have been 224"), kept as published;
# CIFAR-10-C as multiples of 32.
ELASTIC_TRANSFORM = (
    Table(
        CIFAR_10_C,
        32,
        tuple(
            (32 * a, 32 * s, 32 * j)
            for a, s, j in ((0, 0, 0.08), (0.05, 0.2, 0.07), (0.08, 0.06, 0.06),
                            (0.1, 0.04, 0.05), (0.1, 0.03, 0.03))
        ),
    ),
    Table(
        IMAGENET_C,
        224,
        tuple(
            (244 * a, 244 * s, 244 * j)
            for a, s, j in ((2, 0.7, 0.1), (2, 0.08, 0.2), (0.05, 0.01, 0.02),
                            (0.07, 0.01, 0.02), (0.12, 0.01, 0.02))
        ),
    ),
)  # fmt: skip


def rotate_images(images: tf.Tensor, radians: tf.Tensor) -> tf.Tensor:
    """skimage ``AffineTransform(rotation=r)`` about the centre, per example [batch]."""
    cos, sin = tf.cos(radians), tf.sin(radians)
    return affine_warp(images, linear_matrices(cos, -sin, sin, cos))


def shear_images(images: tf.Tensor, radians: tf.Tensor) -> tf.Tensor:
    """skimage ``AffineTransform(shear=s)`` about the centre: [[1, -sin s], [0, cos s]]."""
    ones, zeros = tf.ones_like(radians), tf.zeros_like(radians)
    return affine_warp(images, linear_matrices(ones, -tf.sin(radians), zeros, tf.cos(radians)))


def scale_images(images: tf.Tensor, factors: tf.Tensor) -> tf.Tensor:
    """skimage ``AffineTransform(scale=f)`` about the centre: the content shrinks by 1 / f."""
    zeros = tf.zeros_like(factors)
    return affine_warp(images, linear_matrices(factors, zeros, zeros, factors))


def _signed(keys: tf.Tensor, value: float) -> tf.Tensor:
    return as_float32(value) * randomness.signs(keys, stream=0)[:, 0]


def shear(images: tf.Tensor, keys: tf.Tensor, radians: float, scale: float) -> tf.Tensor:
    return shear_images(images, _signed(keys, radians))


def rotate(images: tf.Tensor, keys: tf.Tensor, radians: float, scale: float) -> tf.Tensor:
    return rotate_images(images, _signed(keys, radians))


def scale_corruption(images: tf.Tensor, keys: tf.Tensor, factor: float, scale: float):
    return scale_images(images, tf.fill(tf.shape(images)[:1], as_float32(factor)))


def translate(images: tf.Tensor, keys: tf.Tensor, pixels: float, scale: float) -> tf.Tensor:
    """The content moves by ``pixels`` (scaled) along each axis, each direction random."""
    signs = randomness.signs(keys, stream=0, count=2)
    distance = as_float32(pixels * scale)
    return shift(images, distance * signs[:, 0], distance * signs[:, 1])


def _affine_from_points(source: tf.Tensor, target: tf.Tensor) -> tf.Tensor:
    """[batch, 3, 2] coefficients P with [x, y, 1] @ P mapping each ``target`` point (x, y)
    onto its ``source`` point ([batch, 3, 2] each): the output -> input map."""
    ones = tf.ones_like(target[..., :1])
    return tf.linalg.solve(tf.concat([target, ones], axis=-1), source)


def smooth_field(noise: tf.Tensor, sigma: float) -> tf.Tensor:
    """``noise`` blurred by a Gaussian of ``sigma`` (scipy's reflect border, truncated at 3
    sigmas, as ImageNet-C's), on a grid coarsened by sigma / 4 when sigma is large (block
    means first: the same field, at a fraction of the cost)."""
    factor = max(1, int(sigma // 4))
    if factor > 1:
        noise = tf.nn.avg_pool2d(noise, factor, factor, "SAME")
    return gaussian_blur(noise, sigma / factor, mode="reflect", truncate=3.0)


def elastic_transform(images: tf.Tensor, keys: tf.Tensor, params, scale: float) -> tf.Tensor:
    """ImageNet-C's elastic transform: a random affine map (three points around the centre,
    each moved by up to ``jitter``) composed with a smooth random displacement field
    (uniform noise blurred by ``sigma``, times ``alpha``), sampled once, reflect border."""
    alpha, sigma, jitter = params
    height, width, _ = image_size(images)
    grid = reference_grid(images, scale)
    half = (min(grid) // 3) * scale
    corners = tf.constant([[half, half], [half, -half], [-half, -half]], tf.float32)
    moves = randomness.uniform(keys, [3, 2], stream=0, low=-jitter, high=jitter) * scale
    coefficients = _affine_from_points(tf.broadcast_to(corners, tf.shape(moves)), corners + moves)
    noise = randomness.uniform(keys, [grid[0], grid[1], 2], stream=1, low=-1.0, high=1.0)
    field = tf.image.resize(smooth_field(noise, sigma) * alpha, [height, width]) * scale
    rows, cols = pixel_grid(height, width)
    x = cols + field[..., 0] - (width - 1) / 2.0
    y = rows + field[..., 1] - (height - 1) / 2.0
    p = coefficients[:, None, None]  # [batch, 1, 1, 3, 2]
    source_x = x * p[..., 0, 0] + y * p[..., 1, 0] + p[..., 2, 0] + (width - 1) / 2.0
    source_y = x * p[..., 0, 1] + y * p[..., 1, 1] + p[..., 2, 1] + (height - 1) / 2.0
    return sample(images, source_y, source_x, mode="reflect")


FAMILY = (
    Corruption("shear", "geometric", (SHEAR,), shear, one_trace=True),
    Corruption("scale", "geometric", (SCALE,), scale_corruption, one_trace=True),
    Corruption("rotate", "geometric", (ROTATE,), rotate, one_trace=True),
    Corruption("translate", "geometric", (TRANSLATE,), translate, one_trace=True),
    Corruption(
        "elastic_transform",
        "geometric",
        ELASTIC_TRANSFORM,
        elastic_transform,
        "affine map and displacement field sampled in one pass",
    ),
)
