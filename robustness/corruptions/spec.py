"""What a corruption is: its parameter tables (one row per severity 1 to 5, in the pixels of
the image size its source used) and a pure function of an image batch.

A corruption function is ``function(images, keys, params, scale) -> images``: ``params`` is
its table's row for the severity, ``scale`` the image's shorter side over the table's
reference side (spatial parameters are multiplied by it, so any image size gets the same
corruption relative to its size) and ``keys`` the per-example keys of ``randomness``.

A corruption whose table changes no shape (``Corruption.one_trace``) takes its row as Python
numbers or as float64 scalar tensors alike (``as_float32`` where a parameter meets the images,
float64 arithmetic before that, as Python's), so one traced function serves every severity
with the same images as a trace per severity.
"""

import dataclasses
from typing import Any, Callable, Tuple

import tensorflow as tf

import robustfx  # noqa: F401  (pins Keras 2 before TensorFlow is imported)
from robustfx.base.corruption_sets import RGB_CORRUPTIONS, SEVERITIES

CorruptionFn = Callable[[tf.Tensor, tf.Tensor, Any, float], tf.Tensor]
MNIST_C = "Mu and Gilmer 2019, MNIST-C (github google-research/mnist-c, corruptions.py)"
IMAGENET_C = (
    "Hendrycks and Dietterich 2019, ImageNet-C "
    "(github hendrycks/robustness, ImageNet-C/imagenet_c/imagenet_c/corruptions.py)"
)
CIFAR_10_C = (
    "Hendrycks and Dietterich 2019, CIFAR-10-C "
    "(github hendrycks/robustness, ImageNet-C/create_c/make_cifar_c.py)"
)
# RGB families use CIFAR-10-C's milder table (32 px) below this shorter side, ImageNet-C's
# (224 px) from it: the geometric middle of the two reference sizes.
LARGE_IMAGE_SIDE = 85


@dataclasses.dataclass(frozen=True)
class Table:
    """One source's parameters for severities 1 to 5, spatial ones in pixels of an image
    whose shorter side is ``reference``."""

    source: str
    reference: int
    levels: Tuple[Any, ...]

    def __post_init__(self):
        if len(self.levels) != len(SEVERITIES):
            raise ValueError(f"{self.source}: {len(self.levels)} levels, not 5")


@dataclasses.dataclass(frozen=True)
class Corruption:
    """One corruption: its name, family, parameter tables (the MNIST-C corruptions have one;
    the RGB families CIFAR-10-C's for small images and ImageNet-C's for large ones), its
    function, and a note on how the parameters were derived where they were. ``one_trace``:
    no parameter changes a shape, so the function also takes its row as float64 tensors."""

    name: str
    family: str
    tables: Tuple[Table, ...]
    function: CorruptionFn
    note: str = ""
    one_trace: bool = False

    @property
    def channels(self) -> Tuple[int, ...]:
        """The channel counts it accepts: RGB-only families need 3."""
        return (3,) if self.name in RGB_CORRUPTIONS else (1, 3)

    def table(self, height: int, width: int) -> Table:
        """The table for an image of this size."""
        if len(self.tables) == 1 or min(height, width) < LARGE_IMAGE_SIDE:
            return self.tables[0]
        return self.tables[-1]


def as_float32(value) -> tf.Tensor:
    """A table parameter, a Python number or a float64 tensor, as the float32 it is when it
    meets the images: the same value either way (Python's float rounded once)."""
    return tf.cast(value, tf.float32)


def image_size(images: tf.Tensor) -> Tuple[int, int, int]:
    """(height, width, channels), which must be known when the function is traced."""
    shape = images.shape
    if shape.rank != 4 or None in shape[1:]:
        raise ValueError(f"corruptions need [batch, height, width, channels], sides known: {shape}")
    return int(shape[1]), int(shape[2]), int(shape[3])


def reference_grid(images: tf.Tensor, scale: float) -> Tuple[int, int]:
    """The image's size in the reference pixels of its table (at least 2 x 2)."""
    height, width, _ = image_size(images)
    return max(2, round(height / scale)), max(2, round(width / scale))
