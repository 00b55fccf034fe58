"""TensorFlow's file API on a real S3 API: every operation the pipeline's executors use."""

import pytest
import tensorflow as tf

from robustfx.base import remote_storage
from tests.helpers import s3_server


@pytest.fixture(scope="module")
def gfile_s3(s3):
    assert remote_storage.enable([s3.url()])
    return s3


def test_makedirs_write_exists_listdir_read_rename_delete(gfile_s3):
    root = gfile_s3.url("gfile")
    tf.io.gfile.makedirs(f"{root}/a/b")
    with tf.io.gfile.GFile(f"{root}/a/b/first.txt", "w") as f:
        f.write("first")
    with tf.io.gfile.GFile(f"{root}/a/second.bin", "wb") as f:
        f.write(bytes(range(256)) * 4096)  # 1 MiB: more than one read buffer

    assert tf.io.gfile.exists(f"{root}/a/b/first.txt")
    assert not tf.io.gfile.exists(f"{root}/a/b/missing.txt")
    assert tf.io.gfile.isdir(f"{root}/a/b")
    assert sorted(name.rstrip("/") for name in tf.io.gfile.listdir(f"{root}/a")) == [
        "b",
        "second.bin",
    ]
    with tf.io.gfile.GFile(f"{root}/a/second.bin", "rb") as f:
        assert f.read() == bytes(range(256)) * 4096
    # What another S3 client sees: the objects themselves, under their keys.
    assert "gfile/a/b/first.txt" in s3_server.object_keys(gfile_s3, "gfile/")

    tf.io.gfile.rename(f"{root}/a/b/first.txt", f"{root}/a/b/renamed.txt")
    assert not tf.io.gfile.exists(f"{root}/a/b/first.txt")
    with tf.io.gfile.GFile(f"{root}/a/b/renamed.txt") as f:
        assert f.read() == "first"

    tf.io.gfile.remove(f"{root}/a/second.bin")
    tf.io.gfile.rmtree(f"{root}/a")
    assert not tf.io.gfile.exists(f"{root}/a/b/renamed.txt")
    assert s3_server.object_keys(gfile_s3, "gfile/a/") == []


def test_a_missing_bucket_is_a_not_found_error(gfile_s3):
    with pytest.raises(tf.errors.NotFoundError):
        with tf.io.gfile.GFile("s3://no-such-bucket-here/file.txt") as f:
            f.read()
