"""The Trainer's input pipeline: raw records streamed from ExampleGen's shards, Transform's
graph applied batch by batch, a deterministic validation hold-out, a bounded shuffle buffer,
and the input's sharding under a multi-worker strategy.

Memory stays flat in the data and in epochs: no decoded copy of a split is written or
held, only a shuffle buffer of at most 64 MiB of encoded records and the batches in flight.
"""

from typing import Any, Dict, Sequence

import tensorflow as tf
import tensorflow_transform as tft
from tfx_bsl.public import tfxio

import robustfx  # noqa: F401  (pins Keras 2 before TensorFlow is imported)
from robustfx.base import keys
from robustfx.trainer.memory_plan import SHUFFLE_BUFFER_BYTES


def make_dataset(
    file_pattern: Sequence[str],
    data_accessor: Any,
    tft_output: tft.TFTransformOutput,
    batch_size: int,
    label_in_features: bool,
    seed: int,
    holdout_fraction: float = 0.0,
    holdout: bool = False,
    workers: int = 1,
    examples_hint: int = 0,
) -> tf.data.Dataset:
    """Batches of examples transformed on the fly, repeated indefinitely.

    The Trainer reads the raw records (compact encoded images) and applies Transform's graph
    to each batch, so no decoded copy of the split is ever written or held: only a bounded
    shuffle buffer of encoded records and the batches in flight.

    Args:
      file_pattern: raw (ExampleGen) records of one split.
      batch_size: the global batch: under a multi-worker strategy each step's batch is split
        between the replicas.
      label_in_features: True yields one dict ``{'image', 'label'}``, the input NSL's
        wrapper needs; False yields ``(image, label)`` for plain Keras training.
      holdout_fraction: when > 0, split the examples by a hash of each image: ``holdout``
        keeps that fraction (the validation hold-out), otherwise the rest.
      workers: training replicas' hosts; with more than one, each reads its shard.
      examples_hint: about how many records the files hold (sizes the shuffle buffer).
    """
    files = [path for pattern in file_pattern for path in tf.io.gfile.glob(pattern)]
    dataset = data_accessor.tf_dataset_factory(
        file_pattern,
        tfxio.TensorFlowDatasetOptions(
            batch_size=batch_size,
            shuffle_seed=seed,
            shuffle_buffer_size=shuffle_buffer_size(files, examples_hint),
        ),
        tft_output.raw_metadata.schema,
    )
    transform = tft_output.transform_features_layer()

    def transformed(raw: Dict[str, tf.Tensor]):
        features = transform(raw)
        return features, features[keys.LABEL_KEY]

    def to_model_input(batch_features: Dict[str, tf.Tensor], label: tf.Tensor):
        image = batch_features[keys.IMAGE_KEY]
        if label_in_features:
            return {keys.IMAGE_KEY: image, keys.LABEL_KEY: label}
        return image, label

    dataset = dataset.map(transformed)

    if holdout_fraction > 0:
        dataset = split_by_hash(dataset, holdout_fraction, holdout, batch_size)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = auto_shard_policy(len(files), workers)
    return dataset.map(to_model_input).prefetch(tf.data.AUTOTUNE).with_options(options)


def split_by_hash(
    dataset: tf.data.Dataset, fraction: float, holdout: bool, batch_size: int
) -> tf.data.Dataset:
    """Examples whose image hashes into the first ``fraction`` of 1,000 buckets (or the
    others): the same examples in every epoch and run, whatever the shuffling."""
    threshold = int(round(fraction * 1000))

    def in_holdout(features: Dict[str, tf.Tensor], label: tf.Tensor) -> tf.Tensor:
        serialized = tf.io.serialize_tensor(features[keys.IMAGE_KEY])
        return tf.strings.to_hash_bucket_fast(serialized, 1000) < threshold

    def keep(features: Dict[str, tf.Tensor], label: tf.Tensor) -> tf.Tensor:
        return tf.equal(in_holdout(features, label), holdout)

    # Static batches: NSL draws its random start with the batch's static shape.
    return dataset.unbatch().filter(keep).batch(batch_size, drop_remainder=True)


# TFX's shuffle buffer holds up to 10,000 serialized records; with large records (images
# of real size) that alone is gigabytes, and it fills further with every epoch.
MAX_SHUFFLE_RECORDS = 10_000


def shuffle_buffer_records(record_bytes: float) -> int:
    """Records the shuffle buffer may hold: TFX's 10,000, or fewer, so that it stays within
    64 MiB of serialized records."""
    if record_bytes <= 0:
        return MAX_SHUFFLE_RECORDS
    return int(max(1, min(MAX_SHUFFLE_RECORDS, SHUFFLE_BUFFER_BYTES // record_bytes)))


def shuffle_buffer_size(files: Sequence[str], examples: int) -> int:
    """The shuffle buffer for these files, from their size per record."""
    total = sum(tf.io.gfile.stat(path).length for path in files)
    return shuffle_buffer_records(total / examples if examples else 0)


def auto_shard_policy(num_files: int, workers: int) -> tf.data.experimental.AutoShardPolicy:
    """How a multi-worker job splits the input: by file when every worker gets at least one
    (no worker reads another's records), else by example (every worker reads all files and
    keeps its share: Transform often writes a single shard)."""
    policy = tf.data.experimental.AutoShardPolicy
    if workers <= 1:
        return policy.AUTO
    return policy.FILE if num_files >= workers else policy.DATA
