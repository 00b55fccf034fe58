"""Transform's preprocessing_fn: decode the encoded TFDS images and scale them to [0, 1].

TFX loads ``preprocessing_fn`` by dotted path and passes the ``custom_config`` the pipeline
built from the dataset's TFDS metadata, so nothing here is fixed to one image size:

  custom_config = {'image_shape': [height|None, width|None, channels],
                   'num_classes': int, 'resize': [height, width] | None}

The same graph runs inside the exported serving signature, so a served model applies
exactly the preprocessing it was trained with, including these checks.
"""

from typing import Any, Dict, Optional, Sequence

import tensorflow as tf

import robustfx  # noqa: F401  (pins Keras 2 before TensorFlow is imported)
from robustfx.base import keys
from robustfx.trainer.custom_config import output_image_shape


def decode_images(
    encoded: tf.Tensor,
    image_shape: Sequence[Optional[int]],
    resize: Optional[Sequence[int]] = None,
) -> tf.Tensor:
    """Decodes PNG or JPEG bytes to float32 images in [0, 1].

    Args:
      encoded: string tensor of encoded images, any shape; flattened to [batch].
      image_shape: (height, width, channels) from TFDS metadata; sides may be None.
      resize: optional (height, width) to resize to.

    Returns:
      float32 tensor [batch, height, width, channels] with values in [0, 1].
    """
    channels = int(image_shape[2])
    out_height, out_width, _ = output_image_shape(image_shape, resize)
    expected = tf.constant([image_shape[0] or -1, image_shape[1] or -1, channels], tf.int32)

    def decode_one(data: tf.Tensor) -> tf.Tensor:
        image = tf.io.decode_image(data, channels=channels, expand_animations=False)
        actual = tf.shape(image)
        matches = tf.reduce_all((expected < 0) | tf.equal(actual, expected))
        with tf.control_dependencies(
            [
                tf.debugging.Assert(
                    matches,
                    ["image shape", actual, "differs from the dataset metadata", expected],
                    summarize=3,
                )
            ]
        ):
            image = tf.cast(image, tf.float32)
        if resize:
            image = tf.image.resize(image, [out_height, out_width])
        return tf.reshape(image, [out_height, out_width, channels])

    flat = tf.reshape(encoded, [-1])
    images = tf.map_fn(
        decode_one,
        flat,
        fn_output_signature=tf.TensorSpec([out_height, out_width, channels], tf.float32),
    )
    # Divide by 255, the largest 8-bit value (the beans article's /500 is a bug).
    return tf.clip_by_value(images / 255.0, 0.0, 1.0)


def check_labels(labels: tf.Tensor, num_classes: int) -> tf.Tensor:
    """Flattens labels to int64 [batch] and fails on any label outside [0, num_classes)."""
    labels = tf.cast(tf.reshape(labels, [-1]), tf.int64)
    in_range = tf.reduce_all((labels >= 0) & (labels < num_classes))
    with tf.control_dependencies(
        [tf.debugging.Assert(in_range, ["label outside [0, num_classes):", labels, num_classes])]
    ):
        return tf.identity(labels)


def preprocessing_fn(inputs: Dict[str, tf.Tensor], custom_config: Dict[str, Any]) -> Dict:
    """TFT preprocessing: ``{'image': float32[H, W, C] in [0, 1], 'label': int64}``."""
    outputs = {
        keys.IMAGE_KEY: decode_images(
            inputs[keys.IMAGE_KEY], custom_config["image_shape"], custom_config.get("resize")
        )
    }
    if keys.LABEL_KEY in inputs:  # absent when serving
        outputs[keys.LABEL_KEY] = check_labels(
            inputs[keys.LABEL_KEY], int(custom_config["num_classes"])
        )
    return outputs
