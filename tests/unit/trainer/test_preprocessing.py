"""Transform's preprocessing_fn on real TFDS records, through TFT's Beam implementation."""

import functools

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_transform.beam as tft_beam
from tensorflow_transform.tf_metadata import dataset_metadata, schema_utils

from robustfx.trainer import preprocessing
from tests.helpers.datasets import shard_files

RAW_SPEC = {
    "image": tf.io.FixedLenFeature([], tf.string),
    "label": tf.io.FixedLenFeature([], tf.int64),
}


@pytest.fixture(scope="module")
def raw_records(small_mnist):
    _, info = small_mnist
    dataset = tf.data.TFRecordDataset(shard_files(info, "test")).take(6)
    records = [tf.io.parse_single_example(serialized, RAW_SPEC) for serialized in dataset]
    return [{key: value.numpy() for key, value in record.items()} for record in records], info


def _transform(records, custom_config, tmp_path):
    metadata = dataset_metadata.DatasetMetadata(schema_utils.schema_from_feature_spec(RAW_SPEC))
    fn = functools.partial(preprocessing.preprocessing_fn, custom_config=custom_config)
    with tft_beam.Context(temp_dir=str(tmp_path), force_tf_compat_v1=False):
        (transformed, _), _ = (records, metadata) | tft_beam.AnalyzeAndTransformDataset(fn)
    return transformed


def test_decodes_png_and_scales_by_255(raw_records, tmp_path):
    records, info = raw_records
    config = {"image_shape": list(info.image_shape), "num_classes": 10, "resize": None}
    transformed = _transform(records, config, tmp_path)
    assert len(transformed) == len(records)
    for raw, out in zip(records, transformed, strict=True):
        expected = tf.io.decode_png(raw["image"], channels=1).numpy().astype(np.float32) / 255.0
        image = np.asarray(out["image"], np.float32).reshape(28, 28, 1)
        np.testing.assert_allclose(image, expected, atol=1e-6)
        assert out["label"] == raw["label"]
        assert 0.0 <= image.min() and image.max() <= 1.0


def test_optional_resize(raw_records, tmp_path):
    records, info = raw_records
    config = {"image_shape": list(info.image_shape), "num_classes": 10, "resize": [14, 14]}
    transformed = _transform(records[:2], config, tmp_path)
    assert np.asarray(transformed[0]["image"]).size == 14 * 14


def test_undecodable_image_is_an_error():
    with pytest.raises(tf.errors.InvalidArgumentError):
        preprocessing.decode_images(tf.constant([b"not an image"]), [28, 28, 1])


def test_image_of_the_wrong_size_names_the_mismatch():
    wrong = tf.io.encode_png(tf.zeros([20, 28, 1], tf.uint8))
    with pytest.raises(tf.errors.InvalidArgumentError, match="differs from the dataset metadata"):
        preprocessing.decode_images(tf.stack([wrong]), [28, 28, 1])


def test_label_outside_class_range_is_an_error():
    with pytest.raises(tf.errors.InvalidArgumentError, match="label outside"):
        preprocessing.check_labels(tf.constant([3, 10], tf.int64), 10)


def test_unknown_image_sides_need_resize():
    with pytest.raises(ValueError, match="resize"):
        preprocessing.output_image_shape([None, None, 3], None)
    assert preprocessing.output_image_shape([None, None, 3], [64, 32]) == [64, 32, 3]
