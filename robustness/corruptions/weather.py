"""Weather and dirt on the lens: fog and spatter from MNIST-C, and frost-like and snow-like
overlays from ImageNet-C (RGB only), every layer generated procedurally (no image files).

Layers are generated on the image's grid in its table's reference pixels and resized to the
image, so a corruption looks the same relative to the image at any size.
"""

import math
from typing import Tuple

import tensorflow as tf

import robustfx  # noqa: F401  (pins Keras 2 before TensorFlow is imported)
from robustfx.robustness.corruptions import plasma, randomness
from robustfx.robustness.corruptions.blur import streak
from robustfx.robustness.corruptions.filters import gaussian_blur
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

# MNIST-C fog: (strength, wibble decay of the plasma fractal) = [(1.5, 2), (2, 2), (2.5, 1.7),
# (2.5, 1.5), (3, 1.4)], as ImageNet-C's; the dataset used severity 5.
FOG = Table(MNIST_C, 28, ((1.5, 2.0), (2.0, 2.0), (2.5, 1.7), (2.5, 1.5), (3.0, 1.4)))
# MNIST-C spatter: (mean, sd, blur sigma, threshold, mask sigma) of the liquid layer =
# [(.65, .3, 4, .69, .6), (.65, .3, 3, .68, .6), (.65, .3, 2, .68, .5), (.65, .3, 1, .65,
# 1.5), (.67, .4, 1, .65, 1.5)], always mud (MNIST-C's form; ImageNet-C's severities 1-3
# draw water instead); the dataset used severity 4.
SPATTER = Table(
    MNIST_C,
    28,
    ((0.65, 0.3, 4, 0.69, 0.6), (0.65, 0.3, 3, 0.68, 0.6), (0.65, 0.3, 2, 0.68, 0.5),
     (0.65, 0.3, 1, 0.65, 1.5), (0.67, 0.4, 1, 0.65, 1.5)),
)  # fmt: skip
MUD_GREY, MUD_RGB = (63 / 255,), (63 / 255, 42 / 255, 20 / 255)  # ImageNet-C's mud brown
# frost: (image weight, frost weight). ImageNet-C [(1, .4), (.8, .6), (.7, .7), (.65, .7),
# (.6, .75)], CIFAR-10-C [(1, .2), (1, .3), (.9, .4), (.85, .4), (.75, .45)].
FROST = (
    Table(CIFAR_10_C, 32, ((1, 0.2), (1, 0.3), (0.9, 0.4), (0.85, 0.4), (0.75, 0.45))),
    Table(IMAGENET_C, 224, ((1, 0.4), (0.8, 0.6), (0.7, 0.7), (0.65, 0.7), (0.6, 0.75))),
)
# The frost photos ImageNet-C draws from (its first five, as imagecorruptions 1.1.2 ships
# them): their mean colour and their mean standard deviation within a photo. The procedural
# texture is given the same.
FROST_COLOUR = (0.572, 0.656, 0.702)
FROST_SD = 0.107
# snow: (mean, sd, zoom, threshold, streak radius, streak sigma, image weight).
SNOW = (
    Table(CIFAR_10_C, 32, ((0.1, 0.2, 1, 0.6, 8, 3, 0.95), (0.1, 0.2, 1, 0.5, 10, 4, 0.9),
                           (0.15, 0.3, 1.75, 0.55, 10, 4, 0.9), (0.25, 0.3, 2.25, 0.6, 12, 6, 0.85),
                           (0.3, 0.3, 1.25, 0.65, 14, 12, 0.8))),
    Table(IMAGENET_C, 224, ((0.1, 0.3, 3, 0.5, 10, 4, 0.8), (0.2, 0.3, 2, 0.5, 12, 4, 0.7),
                            (0.55, 0.3, 4, 0.9, 12, 8, 0.7), (0.55, 0.3, 4.5, 0.85, 12, 8, 0.65),
                            (0.55, 0.3, 2.5, 0.85, 12, 12, 0.55))),
)  # fmt: skip
_PLASMA_SIDE = 256  # the noise lattice of the frost texture, in reference pixels


def _hat_weights(size: int, points: int, step: float) -> tf.Tensor:
    """[size, points] linear interpolation weights: pixel i reads lattice point i * step."""
    at = tf.range(size, dtype=tf.float32)[:, None] * step
    return tf.nn.relu(1.0 - tf.abs(at - tf.range(points, dtype=tf.float32)[None, :]))


def fractal(keys: tf.Tensor, grid: Tuple[int, int], size: Tuple[int, int], decay: float):
    """Plasma-like fractal noise [batch, height, width, 1] in [0, 1] over ``grid`` reference
    pixels, resampled to ``size``: octaves of value noise on lattices 128, 64, ..., 1
    reference pixels apart (the diamond-square steps of a 256-pixel map), octave k weighted
    decay^(-2k) (the diamond-square adds wibble * U(-wibble, wibble), wibble divided by the
    decay each step), normalized by the weights' sum."""
    height, width = size
    spacings = [_PLASMA_SIDE / 2**k for k in range(1, int(math.log2(_PLASMA_SIDE)) + 1)]
    shapes = [(int((grid[0] - 1) // s) + 2, int((grid[1] - 1) // s) + 2) for s in spacings]
    draws = randomness.uniform(keys, [sum(h * w for h, w in shapes)], stream=0, low=-1.0)
    total, weights, start = 0.0, 0.0, 0
    for k, (spacing, (h, w)) in enumerate(zip(spacings, shapes, strict=True), start=1):
        lattice = tf.reshape(draws[:, start : start + h * w], [-1, h, w, 1])
        start += h * w
        rows = _hat_weights(height, h, grid[0] / height / spacing)
        cols = _hat_weights(width, w, grid[1] / width / spacing)
        octave = tf.einsum("ih,bhwc,jw->bijc", rows, lattice, cols)
        weight = decay ** (-2.0 * k)
        total += weight * octave
        weights += weight
    return tf.clip_by_value(0.5 + total / (2.0 * weights), 0.0, 1.0)


def fog_layer(draws: tf.Tensor, decay: float, grid: Tuple[int, int], size: Tuple[int, int]):
    """[batch, height, width, 1]: the plasma map (``plasma``, from ``draws``) cropped to its top
    left ``grid`` reference pixels, as MNIST-C's ``plasma_fractal(...)[:28, :28]``, and
    resized to the image's ``size`` when that differs."""
    layer = plasma.plasma(draws, decay, plasma.map_side(grid))[:, : grid[0], : grid[1], None]
    return layer if tuple(grid) == tuple(size) else tf.image.resize(layer, size)


def fog(images: tf.Tensor, keys: tf.Tensor, params, scale: float) -> tf.Tensor:
    """MNIST-C's fog: (x + strength * plasma crop) * max / (max + strength), with the image's
    maximum, on a fresh 256 x 256 plasma map per example."""
    strength, decay = params
    height, width, _ = image_size(images)
    grid = reference_grid(images, scale)
    count = plasma.draw_count(plasma.map_side(grid))
    draws = randomness.uniform(keys, [count], stream=0, low=-1.0)
    return fogged(images, fog_layer(draws, decay, grid, (height, width)), strength)


def fogged(images: tf.Tensor, layer: tf.Tensor, strength: float) -> tf.Tensor:
    """(x + strength * layer) * max / (max + strength), with each image's maximum."""
    images, strength = tf.convert_to_tensor(images, tf.float32), as_float32(strength)
    peak = tf.reduce_max(images, axis=[1, 2, 3], keepdims=True)
    return (images + strength * layer) * peak / (peak + strength)


def spatter(images: tf.Tensor, keys: tf.Tensor, params, scale: float) -> tf.Tensor:
    """MNIST-C's mud spatter: a blurred, thresholded Gaussian liquid layer whose smoothed
    mask (kept where >= 0.8) paints mud over the image."""
    mean, sd, sigma, threshold, mask_sigma = params
    height, width, channels = image_size(images)
    grid = reference_grid(images, scale)
    liquid = mean + sd * randomness.normal(keys, [grid[0], grid[1], 1], stream=0)
    liquid = gaussian_blur(liquid, sigma, mode="edge")
    mask = gaussian_blur(tf.cast(liquid > threshold, tf.float32), mask_sigma, mode="edge")
    mask = tf.image.resize(tf.where(mask < 0.8, 0.0, mask), [height, width])
    mud = tf.constant(MUD_GREY if channels == 1 else MUD_RGB, tf.float32)
    return images * (1.0 - mask) + mud * mask


def frost_texture(keys: tf.Tensor, grid: Tuple[int, int], size: Tuple[int, int]) -> tf.Tensor:
    """An ice-like texture [batch, height, width, 3] in [0, 1]: bright crystal veins where
    rough fractal noise crosses its middle, over a pale haze, standardized per image to the
    frost photos' mean colour and spread."""
    rough = fractal(keys, grid, size, decay=1.15)
    veins = tf.exp(-tf.abs(rough - 0.5) / 0.04)
    mean = tf.reduce_mean(veins, axis=[1, 2, 3], keepdims=True)
    spread = tf.maximum(tf.math.reduce_std(veins, axis=[1, 2, 3], keepdims=True), 1e-6)
    texture = tf.constant(FROST_COLOUR) + FROST_SD * (veins - mean) / spread
    return tf.clip_by_value(texture, 0.0, 1.0)


def frost(images: tf.Tensor, keys: tf.Tensor, params, scale: float) -> tf.Tensor:
    """image weight * x + frost weight * ice texture (ImageNet-C blends a frost photo)."""
    image_weight, frost_weight = params
    height, width, _ = image_size(images)
    texture = frost_texture(keys, reference_grid(images, scale), (height, width))
    return as_float32(image_weight) * images + as_float32(frost_weight) * texture


def snow(images: tf.Tensor, keys: tf.Tensor, params, scale: float) -> tf.Tensor:
    """ImageNet-C's snow: a Gaussian layer enlarged by ``zoom``, cut below ``threshold``,
    streaked (angle -135 to -45 degrees) and added twice (also turned by 180 degrees) to
    the image brightened towards its luminance * 1.5 + 0.5."""
    mean, sd, zoom, threshold, radius, sigma, image_weight = params
    height, width, _ = image_size(images)
    grid = reference_grid(images, scale)
    coarse = [max(2, round(side / zoom)) for side in grid]
    layer = mean + sd * randomness.normal(keys, [coarse[0], coarse[1], 1], stream=0)
    layer = tf.image.resize(layer, [height, width])
    layer = tf.clip_by_value(tf.where(layer < threshold, 0.0, layer), 0.0, 1.0)
    angles = randomness.uniform(keys, [], stream=1, low=-0.75 * math.pi, high=-0.25 * math.pi)
    layer = streak(layer, angles, radius * scale, sigma * scale)
    bright = tf.maximum(images, tf.image.rgb_to_grayscale(images) * 1.5 + 0.5)
    images = image_weight * images + (1.0 - image_weight) * bright
    return images + layer + tf.reverse(layer, axis=[1, 2])


FAMILY = (
    Corruption(
        "fog", "weather", (FOG,), fog, "as MNIST-C: plasma map, rescaled, cropped", one_trace=True
    ),
    Corruption("spatter", "weather", (SPATTER,), spatter, "mud at every severity, as MNIST-C"),
    Corruption(
        "frost",
        "weather",
        FROST,
        frost,
        "procedural ice, the photos' colour and spread",
        one_trace=True,
    ),
    Corruption("snow", "weather", SNOW, snow, "flakes streaked by ImageMagick's kernel"),
)
