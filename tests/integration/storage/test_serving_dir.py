"""Pushing to an s3:// serving directory: TFX's ``fileio`` copies a SavedModel there, and the
project's Pusher puts a version in place that TensorFlow loads back from S3 and runs."""

import os

import pytest
import tensorflow as tf
from tfx.dsl.io import fileio
from tfx.utils import io_utils

from robustfx.base import remote_storage
from robustfx.components.atomic_pusher import push_atomically
from tests.helpers import s3_server


class _Doubler(tf.Module):
    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32)])
    def __call__(self, x):
        return 2.0 * x


@pytest.fixture(scope="module")
def saved_model(s3, tmp_path_factory):
    remote_storage.enable([s3.url()])
    directory = str(tmp_path_factory.mktemp("doubler"))
    tf.saved_model.save(_Doubler(), directory)
    return directory


def _local_files(directory):
    return sorted(
        os.path.relpath(os.path.join(parent, name), directory)
        for parent, _, names in os.walk(directory)
        for name in names
    )


def test_fileio_copy_dir_copies_every_file(s3, saved_model):
    destination = s3.url("copied", "model")
    io_utils.copy_dir(saved_model, destination)
    copied = sorted(
        os.path.relpath(os.path.join(parent, name), destination)
        for parent, _, names in fileio.walk(destination)
        for name in names
    )
    assert copied == _local_files(saved_model)


def test_push_atomically_puts_a_loadable_version_in_place(s3, saved_model):
    serving = s3.url("serving")
    destination = push_atomically(saved_model, serving, "1", {"model_card.md": "# card"})

    assert destination == f"{serving}/1"
    keys = s3_server.object_keys(s3, "serving/1/")
    assert {f"serving/1/{name}" for name in _local_files(saved_model)} <= set(keys)
    with fileio.open(f"{destination}/model_card.md") as f:
        assert f.read() == "# card"
    loaded = tf.saved_model.load(destination)
    assert loaded(tf.constant([1.5, -2.0])).numpy().tolist() == [3.0, -4.0]
    with pytest.raises(FileExistsError):
        push_atomically(saved_model, serving, "1")
