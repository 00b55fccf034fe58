"""How the robustness library reads the examples it judges: serialized ``tf.Example``s that
are either raw TFDS records (encoded image bytes, decoded exactly as Transform does and
resized to the model's input) or Transform-style records (float images already in [0, 1])."""

from typing import Dict, Optional, Sequence

import tensorflow as tf

import robustfx  # noqa: F401  (pins Keras 2 before TensorFlow is imported)
from robustfx.base import keys
from robustfx.trainer.preprocessing import decode_images


class ExampleReader:
    """Parses a batch of serialized examples into (images, labels) for a model's input."""

    def __init__(
        self, model_shape: Sequence[int], raw_image_shape: Optional[Sequence[Optional[int]]]
    ):
        self.model_shape = [int(side) for side in model_shape]
        self.raw_image_shape = list(raw_image_shape) if raw_image_shape else None
        image = (
            tf.io.FixedLenFeature([], tf.string)
            if self.raw_image_shape
            else tf.io.FixedLenFeature(self.model_shape, tf.float32)
        )
        self.feature_spec: Dict[str, tf.io.FixedLenFeature] = {
            keys.IMAGE_KEY: image,
            keys.LABEL_KEY: tf.io.FixedLenFeature([], tf.int64),
        }

    def images(self, parsed: Dict[str, tf.Tensor]) -> tf.Tensor:
        if not self.raw_image_shape:
            return parsed[keys.IMAGE_KEY]
        height, width, _ = self.model_shape
        same_size = list(self.raw_image_shape[:2]) == [height, width]
        resize = None if same_size else [height, width]
        return decode_images(parsed[keys.IMAGE_KEY], self.raw_image_shape, resize)

    def parse(self, serialized: tf.Tensor):
        """(float images in [0, 1] of the model's shape, int64 labels) of a batch."""
        parsed = tf.io.parse_example(serialized, self.feature_spec)
        return self.images(parsed), parsed[keys.LABEL_KEY]


def read_examples(
    file_pattern: str,
    count: int,
    image_shape: Sequence[int],
    raw_image_shape: Optional[Sequence[Optional[int]]] = None,
):
    """The first ``count`` examples as (images, labels): raw TFDS records when
    ``raw_image_shape`` is set (decoded as Transform does), else Transform-style records
    (gzipped when their names end in .gz, as Transform writes them).

    Raises:
      ValueError: no example matches ``file_pattern``.
    """
    files = sorted(tf.io.gfile.glob(file_pattern))
    compression = "GZIP" if files and files[0].endswith(".gz") else ""
    reader = ExampleReader(image_shape, raw_image_shape)
    dataset = tf.data.TFRecordDataset(files, compression_type=compression).take(count)
    batch = next(iter(dataset.batch(count)), None)
    if batch is None:
        raise ValueError(f"no examples in {file_pattern}: the evaluated split is empty")
    return reader.parse(batch)
