"""Where the repository's own files are, for tests that read them (scripts, workflows)."""

import pathlib

REPO = pathlib.Path(__file__).resolve().parents[2]


def copy_tree(source: str, destination: str) -> None:
    """Copies a directory tree between any two filesystems ``tf.io.gfile`` knows (local,
    ``s3://``, ``ram://``), overwriting what is there."""
    import os

    import tensorflow as tf

    for directory, _, files in tf.io.gfile.walk(source):
        target = destination + directory[len(source) :]
        tf.io.gfile.makedirs(target)
        for name in files:
            tf.io.gfile.copy(os.path.join(directory, name), f"{target}/{name}", overwrite=True)
