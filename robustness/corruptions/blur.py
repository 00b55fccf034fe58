"""Blur: glass blur and motion blur from MNIST-C, defocus blur from ImageNet-C (RGB only).

Spatial parameters are in pixels of the source's image size and are scaled to the image's
(``spec``). ``streak`` (the motion-blur kernel along a per-example angle) is shared with the
snow overlay.
"""

import functools
import math

import tensorflow as tf

import robustfx  # noqa: F401  (pins Keras 2 before TensorFlow is imported)
from robustfx.robustness.corruptions import randomness, shuffle
from robustfx.robustness.corruptions.filters import (
    convolve,
    disk_kernel,
    gaussian_blur,
    gaussian_kernel,
    gaussian_radius,
    pad,
)
from robustfx.robustness.corruptions.sampling import affine_warp, linear_matrices
from robustfx.robustness.corruptions.spec import (
    CIFAR_10_C,
    IMAGENET_C,
    MNIST_C,
    Corruption,
    Table,
    image_size,
)

# MNIST-C glass_blur: (sigma, max_delta, iterations) = [(0.7, 1, 2), (0.9, 2, 1), (1, 2, 3),
# (1.1, 3, 2), (1.5, 4, 2)]; the dataset used severity 1.
GLASS_BLUR = Table(MNIST_C, 28, ((0.7, 1, 2), (0.9, 2, 1), (1.0, 2, 3), (1.1, 3, 2), (1.5, 4, 2)))
# MNIST-C motion_blur: ImageMagick MotionBlurImage (radius, sigma) = [(10, 3), (15, 5), (15, 8),
# (15, 12), (20, 15)] at an angle uniform in [-45, 45] degrees; the dataset used severity 1.
MOTION_BLUR = Table(MNIST_C, 28, ((10, 3), (15, 5), (15, 8), (15, 12), (20, 15)))
# defocus_blur: (disk radius, anti-aliasing sigma), ImageNet-C [(3, .1), (4, .5), (6, .5),
# (8, .5), (10, .5)] and CIFAR-10-C [(.3, .4), (.4, .5), (.5, .6), (1, .2), (1.5, .1)].
DEFOCUS_BLUR = (
    Table(CIFAR_10_C, 32, ((0.3, 0.4), (0.4, 0.5), (0.5, 0.6), (1.0, 0.2), (1.5, 0.1))),
    Table(IMAGENET_C, 224, ((3, 0.1), (4, 0.5), (6, 0.5), (8, 0.5), (10, 0.5))),
)
# ImageMagick's kernel weight exp(-i^2 / 2 sigma^2) falls below 1/1000 past 3.72 sigma.
_STREAK_REACH = math.sqrt(2 * math.log(1000.0))


def streak(images: tf.Tensor, angles: tf.Tensor, radius: float, sigma: float) -> tf.Tensor:
    """ImageMagick's motion blur: each pixel averages the pixels i = 0 .. 2 ceil(radius)
    steps behind it along ``angles`` [batch] (radians), weighted exp(-i^2 / 2 sigma^2);
    taps below 1/1000 of the first are dropped. Edges repeat (ImageMagick's default).

    The image is padded, turned so that the streak runs along the rows, blurred there by
    one 1-D kernel, and turned back: two resamplings for any number of taps."""
    height, width, _ = image_size(images)
    taps = max(1, min(2 * int(math.ceil(radius)) + 1, int(_STREAK_REACH * sigma) + 1))
    weights = tf.exp(-tf.square(tf.range(taps, dtype=tf.float32)) / (2.0 * sigma * sigma))
    kernel = tf.concat([tf.zeros([taps - 1]), weights / tf.reduce_sum(weights)], axis=0)
    margin = int(math.ceil(max(height, width) * (math.sqrt(2) - 1) / 2)) + 1
    padded = pad(images, (margin, margin), (margin, margin), "edge")
    cos, sin = tf.cos(angles), tf.sin(angles)
    along_rows = affine_warp(padded, linear_matrices(cos, -sin, sin, cos), fill="edge")
    blurred = convolve(along_rows, kernel[None, :], mode="edge")
    turned_back = affine_warp(blurred, linear_matrices(cos, sin, -sin, cos), fill="edge")
    return turned_back[:, margin : margin + height, margin : margin + width]


def motion_blur(images: tf.Tensor, keys: tf.Tensor, params, scale: float) -> tf.Tensor:
    """A streak of (radius, sigma) at an angle uniform in [-45, 45] degrees."""
    radius, sigma = params
    angles = randomness.uniform(keys, [], stream=0, low=-math.pi / 4, high=math.pi / 4)
    return streak(images, angles, radius * scale, sigma * scale)


def blur_down_columns(images: tf.Tensor, sigma: float) -> tf.Tensor:
    """A Gaussian of ``sigma`` along axis 0 of each image only (each pixel mixed with the ones
    above and below it), edges repeated: what skimage 0.19's ``gaussian(x, sigma,
    multichannel=True)`` does to a 2-D digit, whose last axis it takes for channels."""
    kernel = gaussian_kernel(sigma, gaussian_radius(sigma))
    return convolve(images, tf.reshape(kernel, [-1, 1]), mode="edge")


def glass(images: tf.Tensor, moves, offsets, sigma: float, max_delta: int) -> tf.Tensor:
    """MNIST-C's glass blur given the shuffle's draws (``shuffle.draws``): blur, round down to
    8 bits (the reference's ``np.uint8(... * 255)``), chained swaps, blur again.

    The blur is the reference's ``gaussian(np.array(x) / 255., sigma=c[0], multichannel=True)``
    (MNIST-C corruptions.py at bba57e4, lines 269 and 281). On a 2-D grey digit skimage takes
    the last axis for channels, so it blurs down the columns only; the published dataset was
    made that way, so 1-channel images get the same here. An RGB image gets the 2-D blur the
    same call gives it (ImageNet-C's glass blur). The 8-bit floor is line 269's ``np.uint8``;
    the swaps are lines 273-279 (``shuffle``)."""
    images = tf.convert_to_tensor(images, tf.float32)
    if image_size(images)[2] == 1:
        blur = functools.partial(blur_down_columns, sigma=sigma)
    else:
        blur = functools.partial(gaussian_blur, sigma=sigma, mode="edge")
    quantized = tf.floor(tf.clip_by_value(blur(images), 0.0, 1.0) * 255.0) / 255.0
    return blur(shuffle.chained_swaps(quantized, moves, offsets, max_delta))


def glass_blur(images: tf.Tensor, keys: tf.Tensor, params, scale: float) -> tf.Tensor:
    """MNIST-C's glass blur: blur, the reference's chained pixel swaps, blur again."""
    sigma, max_delta, iterations = params
    sigma, max_delta = sigma * scale, max(1, round(max_delta * scale))
    height, width, _ = image_size(images)
    steps = len(shuffle.positions(height, width, max_delta))
    moves, offsets = shuffle.draws(keys, iterations, steps, max_delta, stream=0)
    return glass(images, moves, offsets, sigma, max_delta)


def defocus_blur(images: tf.Tensor, keys: tf.Tensor, params, scale: float) -> tf.Tensor:
    """A flat disk kernel, anti-aliased by a small Gaussian (3 taps, 5 above radius 8)."""
    radius, alias_sigma = params
    blurred = convolve(images, disk_kernel(radius * scale), mode="reflect_101")  # cv2.filter2D
    alias_radius = max(1, round((1 if radius <= 8 else 2) * scale))
    return gaussian_blur(blurred, alias_sigma * scale, radius=alias_radius)


FAMILY = (
    Corruption("glass_blur", "blur", (GLASS_BLUR,), glass_blur, "as MNIST-C, blur down columns"),
    Corruption("motion_blur", "blur", (MOTION_BLUR,), motion_blur, "ImageMagick's kernel"),
    Corruption("defocus_blur", "blur", DEFOCUS_BLUR, defocus_blur, "disk by pixel coverage"),
)
