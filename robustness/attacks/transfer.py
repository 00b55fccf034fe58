"""The seed write-ups' evaluation protocol: adversarial examples crafted against a *reference*
model (the baseline) with NSL's ``perturb_on_batch``, clipped to [0, 1], then fed to the
model being judged.

This is a transfer attack, weaker than attacking the judged model itself, so its numbers are
always reported apart from the white-box ones. It exists to reproduce the write-ups.
"""

from typing import Callable, Sequence

import tensorflow as tf

import robustfx  # noqa: F401  (pins Keras 2 before TensorFlow is imported)
from robustfx.base import keys
from robustfx.base.training_config import AdversarialConfig
from robustfx.trainer.model import wrap_adversarial


def keras_view(logits_fn: Callable[[tf.Tensor], tf.Tensor], image_shape: Sequence[int]):
    """A Keras model whose forward pass is ``logits_fn`` (e.g. a loaded SavedModel
    signature), so NSL's wrapper can differentiate through it."""
    inputs = tf.keras.Input(shape=tuple(image_shape), name=keys.IMAGE_KEY)
    outputs = tf.keras.layers.Lambda(logits_fn, name=keys.LOGITS_KEY)(inputs)
    return tf.keras.Model(inputs, outputs)


class TransferCrafter:
    """Crafts the write-ups' perturbed examples against one reference model."""

    def __init__(self, reference: tf.keras.Model, config: AdversarialConfig):
        self._wrapper = wrap_adversarial(reference, config)
        self._wrapper.compile(
            optimizer="adam",
            loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        )

    def __call__(self, images: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
        perturbed = self._wrapper.perturb_on_batch({keys.IMAGE_KEY: images, keys.LABEL_KEY: labels})
        return tf.clip_by_value(perturbed[keys.IMAGE_KEY], 0.0, 1.0)
