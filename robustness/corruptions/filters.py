"""Linear filters on image batches, as pure TF functions: border padding of any width,
per-channel 2-D and separable convolution, Gaussian blur and the anti-aliased disk kernel.

Borders are padded by index maps, so a pad may be wider than the image: ``reflect`` mirrors
with the edge pixel repeated (scipy's and skimage's ``reflect``), ``reflect_101`` mirrors
about the edge pixel (OpenCV's default border, which ImageNet-C's ``cv2.filter2D`` uses),
``edge`` repeats the edge pixel (their ``nearest``).
"""

import math
from typing import Tuple

import tensorflow as tf

import robustfx  # noqa: F401  (pins Keras 2 before TensorFlow is imported)

PAD_MODES = ("reflect", "reflect_101", "edge")


def map_border(index: tf.Tensor, size: int, mode: str) -> tf.Tensor:
    """Integer indices, any of them outside [0, size), mapped onto the axis by ``mode``."""
    if mode not in PAD_MODES:
        raise ValueError(f"pad mode {mode!r}: use one of {PAD_MODES}")
    if mode == "edge":
        return tf.clip_by_value(index, 0, size - 1)
    if mode == "reflect_101":
        if size == 1:
            return tf.zeros_like(index)
        period = tf.math.floormod(index, 2 * size - 2)
        return tf.where(period < size, period, 2 * size - 2 - period)
    period = tf.math.floormod(index, 2 * size)
    return tf.where(period < size, period, 2 * size - 1 - period)


def border_indices(size: int, before: int, after: int, mode: str) -> tf.Tensor:
    """Source indices of a 1-D axis of ``size`` padded by ``before`` and ``after``."""
    return map_border(tf.range(-before, size + after), size, mode)


def pad(images: tf.Tensor, rows: Tuple[int, int], cols: Tuple[int, int], mode: str):
    """``images`` [batch, height, width, channels] padded by (before, after) rows and cols."""
    height, width = int(images.shape[1]), int(images.shape[2])
    images = tf.gather(images, border_indices(height, *rows, mode), axis=1)
    return tf.gather(images, border_indices(width, *cols, mode), axis=2)


# Above this many multiply-adds per image plane (kernel taps times pixels), a convolution
# runs as a product of 2-D FFTs: TF's CPU conv2d lowers a long kernel to a patch matrix of
# that many floats, which a 500x500 photo's motion-blur streak (about 660 taps) would need
# tens of GiB for. Below it, conv2d as before (the 28x28 digits never reach it).
FFT_ABOVE = 1 << 22


def convolve(
    images: tf.Tensor, kernel: tf.Tensor, mode: str = "reflect", fft_above: int = FFT_ABOVE
) -> tf.Tensor:
    """Each channel convolved with the same 2-D ``kernel`` [kh, kw] (odd sides), keeping the
    image's size. Channels are folded into the batch for a plain ``conv2d``: TF 2.16's CPU
    ``depthwise_conv2d`` dies of a floating point exception with some long 1-D kernels. A
    large kernel on a large image is applied through the FFT instead (``fft_above``), in
    memory proportional to the image."""
    kh, kw = int(kernel.shape[0]), int(kernel.shape[1])
    height, width, channels = (int(side) for side in images.shape[1:])
    padded = pad(images, (kh // 2, kh // 2), (kw // 2, kw // 2), mode)
    planes = tf.transpose(padded, [0, 3, 1, 2])  # [batch, channels, h + kh - 1, w + kw - 1]
    planes = tf.reshape(planes, [-1, height + kh - 1, width + kw - 1])
    kernel = tf.cast(kernel, tf.float32)
    if height * width * kh * kw > fft_above:
        convolved = _fft_correlate(planes, kernel)
    else:
        filters = tf.reshape(kernel, [kh, kw, 1, 1])
        convolved = tf.nn.conv2d(planes[..., None], filters, 1, "VALID")
    return tf.transpose(tf.reshape(convolved, [-1, channels, height, width]), [0, 2, 3, 1])


def _fft_correlate(planes: tf.Tensor, kernel: tf.Tensor) -> tf.Tensor:
    """``conv2d(planes, kernel, 'VALID')`` (a correlation) of [n, hp, wp] planes, as the
    circular convolution with the flipped kernel, whose last (hp - kh + 1, wp - kw + 1)
    values do not wrap around."""
    kh, kw = int(kernel.shape[0]), int(kernel.shape[1])
    hp, wp = int(planes.shape[1]), int(planes.shape[2])
    flipped = tf.pad(kernel[::-1, ::-1], [[0, hp - kh], [0, wp - kw]])
    size = tf.constant([hp, wp])
    product = tf.signal.rfft2d(planes, size) * tf.signal.rfft2d(flipped, size)[None]
    return tf.signal.irfft2d(product, size)[:, kh - 1 :, kw - 1 :]


def gaussian_kernel(sigma: float, radius: int) -> tf.Tensor:
    """The normalized 1-D Gaussian of ``sigma`` on taps -radius..radius."""
    taps = tf.cast(tf.range(-radius, radius + 1), tf.float32)
    weights = tf.exp(-0.5 * tf.square(taps / max(sigma, 1e-6)))
    return weights / tf.reduce_sum(weights)


def gaussian_radius(sigma: float, truncate: float = 4.0) -> int:
    """skimage's (scipy's) kernel radius: ``truncate`` standard deviations, rounded."""
    return max(1, int(truncate * sigma + 0.5))


def gaussian_blur(
    images: tf.Tensor,
    sigma: float,
    mode: str = "reflect",
    truncate: float = 4.0,
    radius: int = 0,
) -> tf.Tensor:
    """Separable Gaussian blur of every channel (``radius`` 0: ``truncate`` sigmas).
    ``sigma`` <= 0 returns the images."""
    if sigma <= 0:
        return images
    radius = radius or gaussian_radius(sigma, truncate)
    kernel = gaussian_kernel(sigma, radius)
    blurred = convolve(images, tf.reshape(kernel, [-1, 1]), mode)
    return convolve(blurred, tf.reshape(kernel, [1, -1]), mode)


def disk_kernel(radius: float) -> tf.Tensor:
    """A flat disk of ``radius`` pixels, normalized (ImageNet-C's defocus kernel), each tap
    weighted by how far the disk's edge reaches over it (clip(radius + 0.5 - distance, 0,
    1)): the radius acts continuously, also below one pixel when scaled to a small image."""
    half = int(math.ceil(radius + 0.5))
    taps = tf.cast(tf.range(-half, half + 1), tf.float32)
    distance = tf.sqrt(tf.square(taps)[:, None] + tf.square(taps)[None, :])
    weights = tf.clip_by_value(radius + 0.5 - distance, 0.0, 1.0)
    return weights / tf.reduce_sum(weights)
