"""Digital and photometric corruptions: brightness from MNIST-C, and contrast, saturation,
JPEG compression and pixelation from ImageNet-C (RGB only). None of them draws at random.
"""

import tensorflow as tf

import robustfx  # noqa: F401  (pins Keras 2 before TensorFlow is imported)
from robustfx.robustness.corruptions.spec import (
    CIFAR_10_C,
    IMAGENET_C,
    MNIST_C,
    Corruption,
    Table,
    as_float32,
    image_size,
)

# MNIST-C brightness: + [.1, .2, .3, .4, .5] on HSV value (on grey images: on the pixel);
# the dataset used severity 5.
BRIGHTNESS = Table(MNIST_C, 28, (0.1, 0.2, 0.3, 0.4, 0.5))
# contrast: deviations from each channel's mean times c. ImageNet-C [.4, .3, .2, .1, .05],
# CIFAR-10-C [.75, .5, .4, .3, .15].
CONTRAST = (
    Table(CIFAR_10_C, 32, (0.75, 0.5, 0.4, 0.3, 0.15)),
    Table(IMAGENET_C, 224, (0.4, 0.3, 0.2, 0.1, 0.05)),
)
# saturate: HSV saturation * a + b. ImageNet-C [(.3, 0), (.1, 0), (2, 0), (5, .1), (20, .2)],
# CIFAR-10-C [(.3, 0), (.1, 0), (1.5, 0), (2, .1), (2.5, .2)].
SATURATE = (
    Table(CIFAR_10_C, 32, ((0.3, 0.0), (0.1, 0.0), (1.5, 0.0), (2.0, 0.1), (2.5, 0.2))),
    Table(IMAGENET_C, 224, ((0.3, 0.0), (0.1, 0.0), (2.0, 0.0), (5.0, 0.1), (20.0, 0.2))),
)
# jpeg_compression: JPEG quality. ImageNet-C [25, 18, 15, 10, 7], CIFAR-10-C [80, 65, 58, 50,
# 40].
JPEG_COMPRESSION = (
    Table(CIFAR_10_C, 32, (80, 65, 58, 50, 40)),
    Table(IMAGENET_C, 224, (25, 18, 15, 10, 7)),
)
# pixelate: box-downsampled to this fraction of the side, then back. ImageNet-C [.6, .5, .4,
# .3, .25], CIFAR-10-C [.95, .9, .85, .75, .65].
PIXELATE = (
    Table(CIFAR_10_C, 32, (0.95, 0.9, 0.85, 0.75, 0.65)),
    Table(IMAGENET_C, 224, (0.6, 0.5, 0.4, 0.3, 0.25)),
)


def _map_hsv(images: tf.Tensor, channel: int, scale: float, offset: float) -> tf.Tensor:
    """RGB images with one HSV channel replaced by clip(channel * scale + offset, 0, 1)."""
    hsv = tf.unstack(tf.image.rgb_to_hsv(tf.clip_by_value(images, 0.0, 1.0)), axis=-1)
    hsv[channel] = tf.clip_by_value(hsv[channel] * scale + offset, 0.0, 1.0)
    return tf.image.hsv_to_rgb(tf.stack(hsv, axis=-1))


def brightness(images: tf.Tensor, keys: tf.Tensor, shift: float, scale: float) -> tf.Tensor:
    """HSV value + ``shift``: for grey images (MNIST-C goes through RGB and back) this is
    the pixel + ``shift``, clipped."""
    shift = as_float32(shift)
    if image_size(images)[2] == 1:
        return images + shift
    return _map_hsv(images, 2, 1.0, shift)


def contrast(images: tf.Tensor, keys: tf.Tensor, factor: float, scale: float) -> tf.Tensor:
    means = tf.reduce_mean(images, axis=[1, 2], keepdims=True)
    return (images - means) * as_float32(factor) + means


def saturate(images: tf.Tensor, keys: tf.Tensor, params, scale: float) -> tf.Tensor:
    factor, offset = params
    return _map_hsv(images, 1, as_float32(factor), as_float32(offset))


def jpeg_compression(images: tf.Tensor, keys: tf.Tensor, quality: int, scale: float):
    """Encoded and decoded as JPEG at ``quality`` (libjpeg through TensorFlow; one image at
    a time, as its op takes)."""
    quality = tf.cast(quality, tf.int32)
    return tf.map_fn(
        lambda image: tf.image.adjust_jpeg_quality(image, quality),
        tf.clip_by_value(images, 0.0, 1.0),
        fn_output_signature=tf.float32,
    )


def pixelate(images: tf.Tensor, keys: tf.Tensor, fraction: float, scale: float) -> tf.Tensor:
    """Area-averaged down to ``fraction`` of each side (PIL's BOX filter), then enlarged
    back by repeating pixels (BOX's upsampling)."""
    height, width, _ = image_size(images)
    small = tf.image.resize(
        images, [max(1, int(height * fraction)), max(1, int(width * fraction))], "area"
    )
    return tf.image.resize(small, [height, width], "nearest")


FAMILY = (
    Corruption("brightness", "digital", (BRIGHTNESS,), brightness, one_trace=True),
    Corruption("contrast", "digital", CONTRAST, contrast, one_trace=True),
    Corruption("saturate", "digital", SATURATE, saturate, one_trace=True),
    Corruption("jpeg_compression", "digital", JPEG_COMPRESSION, jpeg_compression, one_trace=True),
    Corruption("pixelate", "digital", PIXELATE, pixelate),
)
