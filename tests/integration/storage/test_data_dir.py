"""An s3:// TFDS data directory: ``robustfx data prepare`` writes the offline default there in
its own process, which exits 0 (the CLI enables remote storage from its flags), and the
pipeline's dataset lookup reads it back from S3."""

import subprocess
import sys

import tensorflow as tf

from robustfx.base import remote_storage
from robustfx.data.metadata import locate_dataset
from robustfx.data.prepare import MNIST_5K_SPLITS, MNIST_5K_VERSION
from tests.helpers import s3_server


def test_data_prepare_writes_a_dataset_that_locate_dataset_finds_on_s3(s3):
    data_dir = s3.url("prepare", "tfds")
    command = [sys.executable, "-m", "robustfx.cli.main", "data", "prepare"]
    done = subprocess.run(
        [*command, "--data-dir", data_dir], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"ready at {data_dir}/mnist_5k/{MNIST_5K_VERSION}" in done.stdout
    keys = s3_server.object_keys(s3, f"prepare/tfds/mnist_5k/{MNIST_5K_VERSION}/")
    assert f"prepare/tfds/mnist_5k/{MNIST_5K_VERSION}/dataset_info.json" in keys

    remote_storage.enable([data_dir])
    info = locate_dataset("mnist_5k", data_dir)
    assert info.directory == f"{data_dir}/mnist_5k/{MNIST_5K_VERSION}"
    assert info.splits == dict(MNIST_5K_SPLITS)
    assert tuple(info.image_shape) == (28, 28, 1)
    shards = tf.io.gfile.glob(f"{info.directory}/{info.split_pattern('test')}")
    assert sum(1 for _ in tf.data.TFRecordDataset(shards)) == dict(MNIST_5K_SPLITS)["test"]
