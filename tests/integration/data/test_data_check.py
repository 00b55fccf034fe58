"""Bad data is named by shard, record, field and value before any component runs."""

import os
from unittest import mock

import numpy as np
import pytest
import tensorflow as tf

from robustfx.cli import commands
from robustfx.cli import main as cli
from robustfx.data import prepare
from robustfx.data.check import MAX_OPEN_PIXELS, check_dataset, header_problem
from robustfx.data.metadata import DatasetError


@pytest.fixture
def dataset(tmp_path, mnist_arrays):
    """A fresh copy of a tiny real-digit dataset that each test may damage."""
    images, labels = mnist_arrays["train"]
    splits = {"train": (images[:30], labels[:30]), "test": (images[30:40], labels[30:40])}
    data_dir = str(tmp_path / "tfds")
    info = prepare.write_image_dataset(
        "mnist_5k", "1.0.0", splits, [str(d) for d in range(10)], data_dir
    )
    return data_dir, info


def _shard(info, split):
    return os.path.join(info.directory, f"{info.name}-{split}.tfrecord-00000-of-00001")


def _rewrite(info, split, change):
    """Rewrites a split's shard with ``change(index, example)`` applied to each record."""
    path = _shard(info, split)
    records = [tf.train.Example.FromString(r.numpy()) for r in tf.data.TFRecordDataset(path)]
    with tf.io.TFRecordWriter(path) as writer:
        for index, example in enumerate(records):
            change(index, example)
            writer.write(example.SerializeToString())


def test_clean_dataset_passes(dataset):
    check_dataset(dataset[1])


def test_corrupt_shard_is_named(dataset):
    _, info = dataset
    path = _shard(info, "train")
    data = bytearray(open(path, "rb").read())
    data[len(data) // 2] ^= 0xFF
    open(path, "wb").write(bytes(data))
    with pytest.raises(
        DatasetError, match=r"shard mnist_5k-train.tfrecord-00000-of-00001 is corrupt"
    ):
        check_dataset(info)


def _drop(feature):
    def change(index, example):
        if index == 3:
            del example.features.feature[feature]

    return change


@pytest.mark.parametrize("feature", ["image", "label"])
def test_record_without_a_feature(dataset, feature):
    _, info = dataset
    _rewrite(info, "test", _drop(feature))
    with pytest.raises(DatasetError, match=rf"record 3: no '{feature}'"):
        check_dataset(info)


def _replace(index, feature, kind, value):
    def change(record_index, example):
        if record_index == index:
            getattr(example.features.feature[feature], kind).value[0] = value

    return change


_RGB_PNG = tf.io.encode_png(np.zeros((28, 28, 3), np.uint8)).numpy()


@pytest.mark.parametrize(
    "split, change, message",
    [
        (
            "train",
            _replace(5, "image", "bytes_list", b"\x89PNG broken"),
            r"record 5: 'image' does not decode",
        ),
        (
            "test",
            _replace(0, "image", "bytes_list", _RGB_PNG),
            r"record 0: image shape \(28, 28, 3\) differs .* \(28, 28, 1\)",
        ),
        ("train", _replace(2, "label", "int64_list", 12), r"record 2: label 12 outside \[0, 10\)"),
    ],
    ids=["undecodable-image", "wrong-channels", "label-out-of-range"],
)
def test_bad_values_are_named_by_record(dataset, split, change, message):
    _, info = dataset
    _rewrite(info, split, change)
    with pytest.raises(DatasetError, match=message):
        check_dataset(info)


def test_a_decompression_bomb_is_refused_from_its_header(dataset, bomb_header):
    _, info = dataset
    _rewrite(info, "test", _replace(4, "image", "bytes_list", bomb_header(60000, 60000)))
    with mock.patch.object(tf.io, "decode_image", wraps=tf.io.decode_image) as decode:
        with pytest.raises(DatasetError) as refused:
            check_dataset(info, ["test"])
    message = str(refused.value)
    assert "record 4: 'image' header declares a 60000x60000 image" in message
    assert "the metadata's is 28x28 (refused before decoding)" in message
    assert decode.call_count == 9  # every record of the split but the bomb


def test_where_the_metadata_leaves_sides_open_a_pixel_cap_applies(bomb_header):
    assert header_problem(bomb_header(500, 300), (None, None, 3)) is None
    problem = header_problem(bomb_header(10000, 10000), (None, None, 3))
    assert f"more than the {MAX_OPEN_PIXELS} pixels the check decodes" in problem


def test_empty_split(dataset):
    _, info = dataset
    with tf.io.TFRecordWriter(_shard(info, "test")):
        pass
    with pytest.raises(DatasetError, match="split 'test' is empty"):
        check_dataset(info)


def test_run_stops_before_any_component_and_writes_no_model(dataset, tmp_path, capsys):
    data_dir, info = dataset
    _rewrite(info, "train", _drop("label"))
    root, serving = tmp_path / "root", tmp_path / "serving"
    code = cli.main(
        ["run", "--data-dir", data_dir, "--pipeline-root", str(root), "--serving-dir", str(serving)]
    )
    assert code == commands.EXIT_USAGE
    err = capsys.readouterr().err
    assert "has bad data" in err and "record 3: no 'label' integer" in err
    assert os.listdir(serving) == []
    assert os.listdir(root) == []  # no component ran, no check was remembered, no log


def test_passing_check_is_remembered_until_a_shard_changes(dataset, tmp_path):
    _, info = dataset
    cache = str(tmp_path / "checks")
    check_dataset(info, cache_dir=cache)
    assert len(os.listdir(cache)) == 1
    _rewrite(info, "test", _drop("image"))  # rewriting changes size and mtime
    with pytest.raises(DatasetError, match="no 'image' bytes"):
        check_dataset(info, cache_dir=cache)
