"""The attacks' shared target: a small dense net trained on real digits."""

import numpy as np
import pytest
import tensorflow as tf

from robustfx.trainer.model import trace_steps_as_written


@pytest.fixture(scope="package")
def trained_mlp(mnist_arrays):
    """A small dense net trained on real MNIST digits: a non-linear, realistic target."""
    tf.keras.utils.set_random_seed(0)
    images, labels = mnist_arrays["train"]
    x = images[:2000].astype(np.float32) / 255.0
    model = tf.keras.Sequential(
        [
            tf.keras.layers.Flatten(input_shape=(28, 28, 1)),
            tf.keras.layers.Dense(64, activation="relu"),
            tf.keras.layers.Dense(10),
        ]
    )
    model.compile("adam", tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    trace_steps_as_written(model)
    model.fit(x, labels[:2000], epochs=3, batch_size=64, verbose=0)
    test_images, test_labels = mnist_arrays["test"]
    return model, test_images[:300].astype(np.float32) / 255.0, test_labels[:300]
