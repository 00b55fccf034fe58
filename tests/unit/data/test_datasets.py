"""Dataset metadata comes from TFDS files, for any image shape; missing data is explained."""

import numpy as np
import pytest

from robustfx.data import prepare
from robustfx.data.metadata import DatasetError, locate_dataset


def test_mnist_5k_split_is_deterministic_and_disjoint(mnist_arrays):
    images, labels = prepare.load_mnist_5k()
    assert images.shape == (5000, 28, 28, 1) and images.dtype == np.uint8
    again = prepare.split_mnist_5k(images, labels)
    for split in ("train", "validation", "test"):
        np.testing.assert_array_equal(again[split][1], mnist_arrays[split][1])
        assert set(np.unique(again[split][1])) == set(range(10))
    sizes = {split: len(labels) for split, (_, labels) in again.items()}
    assert sizes == {"train": 3600, "validation": 400, "test": 1000}
    # Disjoint: no digit is in two splits.
    seen = [{image.tobytes() for image in again[split][0]} for split in sizes]
    assert sum(len(images) for images in seen) == len(set().union(*seen)) == 5000


def test_metadata_is_read_from_tfds_files(small_mnist):
    data_dir, _ = small_mnist
    info = locate_dataset("mnist_5k", data_dir)
    assert info.image_shape == (28, 28, 1)
    assert info.num_classes == 10
    assert info.splits == {"train": 800, "test": 200}
    assert info.validation_split is None  # the Trainer holds out part of train, never test


def test_rgb_jpeg_dataset_with_three_splits(tmp_path, rng):
    splits = {
        split: (rng.randint(0, 255, size=(4, 10, 12, 3)).astype(np.uint8), np.array([0, 1, 2, 1]))
        for split in ("train", "validation", "test")
    }
    prepare.write_image_dataset(
        "leafy", "2.1.0", splits, ["a", "b", "c"], str(tmp_path), encoding_format="jpeg"
    )
    info = locate_dataset("leafy", str(tmp_path))
    assert info.image_shape == (10, 12, 3)
    assert info.class_names == ("a", "b", "c")
    assert info.image_format == "jpeg"
    assert info.validation_split == "validation"
    assert info.split_pattern("test") == "leafy-test.tfrecord*"


def test_not_prepared_tfds_dataset_says_how_to_prepare_it(tmp_path):
    with pytest.raises(DatasetError, match=r"tfds build beans --data_dir"):
        locate_dataset("beans", str(tmp_path))


def test_not_prepared_default_points_at_data_prepare(tmp_path):
    with pytest.raises(DatasetError, match=r"robustfx data prepare"):
        locate_dataset("mnist_5k", str(tmp_path))


def test_unknown_dataset(tmp_path):
    with pytest.raises(DatasetError, match="unknown"):
        locate_dataset("definitely_not_a_dataset", str(tmp_path))
