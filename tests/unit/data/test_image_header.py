"""The size a PNG or JPEG header declares, read without decoding."""

import numpy as np
import pytest
import tensorflow as tf

from robustfx.data.image_header import declared_size


@pytest.mark.parametrize("encode", [tf.io.encode_png, tf.io.encode_jpeg], ids=["png", "jpeg"])
def test_real_images_declare_their_size(encode):
    data = encode(np.zeros((28, 40, 1), np.uint8)).numpy()
    assert declared_size(data) == (28, 40)


def test_a_bomb_declares_its_size_in_a_few_bytes(bomb_header):
    data = bomb_header(60000, 50000)
    assert len(data) < 100 and declared_size(data) == (60000, 50000)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"GIF89a....",
        b"\x89PNG broken",
        b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR",
        b"\xff\xd8\xff\xda",
    ],
    ids=["empty", "gif", "broken-png", "short-png", "jpeg-without-frame"],
)
def test_no_readable_header_is_none(data):
    assert declared_size(data) is None
