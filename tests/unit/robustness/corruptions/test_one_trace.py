"""One trace for every severity: a corruption whose parameters change no shape is traced
once, its table's row passed as float64 tensors (``registry.compile_severities``), and it
must give exactly the images of the trace of each severity (``compile_corruption``), bit for
bit, on real digits; the others are still traced per severity."""

import numpy as np
import pytest
import tensorflow as tf

from robustfx.base.corruption_sets import MNIST_C_CORRUPTIONS, RGB_CORRUPTIONS, SEVERITIES
from robustfx.robustness.corruptions import registry

ONE_TRACE = [name for name, found in registry.CORRUPTIONS.items() if found.one_trace]
DIGITS = 16


@pytest.fixture(scope="module")
def digits(mnist_arrays):
    images, _ = mnist_arrays["test"]
    return (images[:DIGITS] / 255.0).astype(np.float32).reshape(DIGITS, 28, 28, 1)


def rgb(digits: np.ndarray) -> np.ndarray:
    """The digits as coloured RGB images: ink, its half and its inverse in the channels."""
    return np.concatenate([digits, 0.5 * digits + 0.25, 1.0 - digits], axis=-1)


def test_the_corruptions_whose_parameters_change_shapes_keep_a_trace_per_severity():
    assert set(ONE_TRACE) >= {"shot_noise", "rotate", "fog", "zigzag", "canny_edges"}
    for name in ("glass_blur", "motion_blur", "spatter", "defocus_blur", "pixelate", "snow"):
        assert name not in ONE_TRACE
    functions = registry.compile_severities("glass_blur", SEVERITIES, (28, 28, 1))
    assert len({id(function) for function in functions.values()}) == len(SEVERITIES)


@pytest.mark.parametrize("name", ONE_TRACE)
def test_one_trace_gives_each_severitys_images_bit_for_bit(name, digits):
    images = tf.constant(digits if name in MNIST_C_CORRUPTIONS else rgb(digits))
    shape = images.shape[1:]
    shared = registry.compile_severities(name, (0, *SEVERITIES), shape)
    traces = {id(function.func) for s, function in shared.items() if s != 0}
    assert len(traces) == 1  # one tf.function for severities 1 to 5
    for severity in (0, *SEVERITIES):
        expected = registry.compile_corruption(name, severity, shape)(images).numpy()
        found = shared[severity](images).numpy()
        np.testing.assert_array_equal(found, expected, err_msg=f"{name} at {severity}")
        assert np.any(found != images.numpy()) == (severity != 0)


def test_rgb_only_corruptions_are_refused_for_grey_images_by_either_path():
    name = next(name for name in RGB_CORRUPTIONS if name in ONE_TRACE)
    with pytest.raises(ValueError, match="needs 3 channels"):
        registry.compile_severities(name, SEVERITIES, (28, 28, 1))
