"""Sensor noise: shot (Poisson) noise and impulse (salt-and-pepper) noise from MNIST-C, and
Gaussian noise from ImageNet-C (RGB only).

Every pixel's noise is drawn per example from its key (``randomness``); no parameter is
spatial, so the image size does not change them.
"""

import tensorflow as tf

import robustfx  # noqa: F401  (pins Keras 2 before TensorFlow is imported)
from robustfx.robustness.corruptions import randomness
from robustfx.robustness.corruptions.spec import (
    CIFAR_10_C,
    IMAGENET_C,
    MNIST_C,
    Corruption,
    Table,
    as_float32,
)

# MNIST-C shot_noise: photons per unit intensity, c = [60, 25, 12, 5, 3] (as in ImageNet-C);
# the MNIST-C dataset itself used severity 5 (c = 3).
SHOT_NOISE = Table(MNIST_C, 28, (60.0, 25.0, 12.0, 5.0, 3.0))
# MNIST-C impulse_noise: fraction of pixels set to salt or pepper (skimage 's&p', half each),
# c = [.03, .06, .09, .17, .27]; the dataset used severity 4 (0.17).
IMPULSE_NOISE = Table(MNIST_C, 28, (0.03, 0.06, 0.09, 0.17, 0.27))
# gaussian_noise: standard deviation, ImageNet-C [.08, .12, .18, .26, .38] and CIFAR-10-C's
# milder [.04, .06, .08, .09, .10] for small images.
GAUSSIAN_NOISE = (
    Table(CIFAR_10_C, 32, (0.04, 0.06, 0.08, 0.09, 0.10)),
    Table(IMAGENET_C, 224, (0.08, 0.12, 0.18, 0.26, 0.38)),
)


def shot_noise(images: tf.Tensor, keys: tf.Tensor, photons: float, scale: float) -> tf.Tensor:
    """Poisson(x * photons) / photons: fewer photons, more noise. The division is the
    product with the reciprocal, as TensorFlow's graph optimizer rewrites a division by a
    constant, so that the photons as a tensor give the same images."""
    photons = as_float32(photons)
    counts = randomness.poisson(keys, images * photons, stream=0)
    return counts * tf.math.reciprocal(photons)


def salt_and_pepper(images: tf.Tensor, chance: tf.Tensor, salt: tf.Tensor, amount: float):
    """Pixels whose ``chance`` is below ``amount`` become 1 where ``salt`` < 0.5, else 0
    (``chance`` and ``salt`` uniform in [0, 1), shaped like ``images``)."""
    replaced = tf.where(salt < 0.5, tf.ones_like(images), tf.zeros_like(images))
    return tf.where(chance < amount, replaced, images)


def impulse_noise(images: tf.Tensor, keys: tf.Tensor, amount: float, scale: float) -> tf.Tensor:
    """A fraction ``amount`` of the pixel values (each channel apart, as skimage does) set to
    salt or pepper."""
    shape = tf.shape(images)[1:]
    chance = randomness.uniform(keys, shape, stream=0)
    salt = randomness.uniform(keys, shape, stream=1)
    return salt_and_pepper(images, chance, salt, as_float32(amount))


def gaussian_noise(images: tf.Tensor, keys: tf.Tensor, stddev: float, scale: float):
    """Additive Gaussian noise of ``stddev``."""
    return images + as_float32(stddev) * randomness.normal(keys, tf.shape(images)[1:], stream=0)


FAMILY = (
    Corruption("shot_noise", "noise", (SHOT_NOISE,), shot_noise, one_trace=True),
    Corruption("impulse_noise", "noise", (IMPULSE_NOISE,), impulse_noise, one_trace=True),
    Corruption("gaussian_noise", "noise", GAUSSIAN_NOISE, gaussian_noise, one_trace=True),
)
