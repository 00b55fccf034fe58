"""Shared inputs of the corruption tests: real digits, the same digits in colour, and every
corruption applied to them once at every severity."""

import numpy as np
import pytest

import robustfx  # noqa: F401  (pins Keras 2 before any test imports TensorFlow)

DIGITS = 12  # a small batch of real MNIST test digits


@pytest.fixture(scope="session")
def digits(mnist_arrays):
    """[12, 28, 28, 1] real test digits, float32 in [0, 1]."""
    images, _ = mnist_arrays["test"]
    return (images[:DIGITS].reshape(DIGITS, 28, 28, 1) / 255.0).astype(np.float32)


@pytest.fixture(scope="session")
def colour_digits(digits):
    """The digits in colour: each a random foreground over a random background."""
    rng = np.random.RandomState(0)
    foreground = rng.uniform(0.3, 1.0, [DIGITS, 1, 1, 3])
    background = rng.uniform(0.0, 0.5, [DIGITS, 1, 1, 3])
    return (digits * foreground + (1 - digits) * background).astype(np.float32)


@pytest.fixture(scope="session")
def corrupted(digits, colour_digits):
    """(name, channels) -> [clean, severity 1, ..., severity 5] as numpy arrays: grey digits
    for the corruptions that take them, colour digits for every corruption."""
    from robustfx.robustness.corruptions.registry import CORRUPTIONS, apply

    out = {}
    for name, corruption in CORRUPTIONS.items():
        for images in (digits, colour_digits):
            channels = images.shape[-1]
            if channels in corruption.channels:
                out[name, channels] = [images] + [
                    apply(name, images, severity).numpy() for severity in range(1, 6)
                ]
    return out
