"""Reading Keras models: BatchNormalization folded (or kept) gives the layer's own output at
inference, every unsupported layer or setting is refused in one line naming it, a served
function that differs from the layers is refused, and the memory plan changes the passes,
never the bounds."""

import numpy as np
import pytest
import tensorflow as tf

from robustfx.robustness.certification import (
    UnsupportedModelError,
    certify,
    check_against_signature,
    from_keras,
    memory,
)
from robustfx.robustness.certification import operations as ops

L = tf.keras.layers


def _randomize_batch_norms(model, rng):
    for layer in model.layers:
        if isinstance(layer, L.BatchNormalization):
            size = layer.get_weights()[0].shape
            stats = [rng.normal(size=size), rng.uniform(0.5, 2, size)]  # mean, variance
            beta = [rng.normal(size=size)] if layer.center else []
            gamma = [rng.uniform(0.5, 2, size)] if layer.scale else []
            layer.set_weights(gamma + beta + stats)


@pytest.mark.parametrize("center, scale", [(True, True), (False, False)])
def test_batch_norm_folds_into_the_layer_before_and_matches_keras(rng, center, scale):
    inputs = tf.keras.Input((6, 6, 2))
    x = L.BatchNormalization(center=center, scale=scale)(L.Conv2D(3, 3)(inputs))  # folded
    x = L.BatchNormalization()(L.Conv2D(3, 3, activation="relu")(L.ReLU()(x)))  # kept
    x = L.Flatten()(x)
    x = L.BatchNormalization()(L.Dense(5)(x))  # folded
    model = tf.keras.Model(inputs, L.Dense(3)(L.ReLU()(x)))
    _randomize_batch_norms(model, rng)
    network = from_keras(model)
    images = rng.uniform(0, 1, (4, 6, 6, 2)).astype(np.float32)
    np.testing.assert_allclose(
        network.logits(images), model(images, training=False), rtol=1e-5, atol=1e-5
    )
    scales = [node.name for node in network.nodes if isinstance(node.op, ops.Scale)]
    assert scales == [model.layers[5].name]  # only the one after a ReLU stays a Scale


def test_a_sequential_model_is_read(rng):
    model = tf.keras.Sequential(
        [
            tf.keras.Input((5, 5, 1)),
            L.Conv2D(2, 2, activation="relu"),
            L.GlobalAveragePooling2D(),
            L.Dense(3),
        ]
    )
    images = rng.uniform(0, 1, (3, 5, 5, 1)).astype(np.float32)
    np.testing.assert_allclose(
        from_keras(model).logits(images), model(images), rtol=1e-5, atol=1e-6
    )


REFUSED = {
    "LeakyReLU": lambda: L.LeakyReLU(name="refused"),
    "tanh": lambda: L.Conv2D(2, 3, activation="tanh", name="refused"),
    "dilation": lambda: L.Conv2D(2, 3, dilation_rate=2, name="refused"),
    "ReLU6": lambda: L.ReLU(max_value=6.0, name="refused"),
    "Lambda": lambda: L.Lambda(lambda x: x * 2, name="refused"),
    "channels_first": lambda: L.MaxPooling2D(data_format="channels_first", name="refused"),
}


@pytest.mark.parametrize("kind", REFUSED)
def test_an_unsupported_layer_is_refused_in_one_line_naming_it(kind):
    inputs = tf.keras.Input((8, 8, 2))
    x = REFUSED[kind]()(L.Conv2D(2, 3, activation="relu")(inputs))
    model = tf.keras.Model(inputs, L.Dense(3)(L.Flatten()(x)))
    with pytest.raises(UnsupportedModelError, match="layer 'refused'") as error:
        from_keras(model)
    assert "\n" not in str(error.value) and "no certificate" in str(error.value)


def test_a_softmax_output_and_a_subclassed_model_are_refused():
    inputs = tf.keras.Input((4,))
    softmax = tf.keras.Model(inputs, L.Dense(3, activation="softmax", name="probabilities")(inputs))
    with pytest.raises(UnsupportedModelError, match="'probabilities' .*'softmax'"):
        from_keras(softmax)

    class Custom(tf.keras.Model):
        def call(self, x):
            return x * 2

    with pytest.raises(UnsupportedModelError, match="Custom model"):
        from_keras(Custom())


def test_a_served_function_other_than_the_layers_is_refused(rng):
    model = tf.keras.Sequential([tf.keras.Input((4,)), L.Dense(3)])
    network = from_keras(model)
    images = rng.uniform(0, 1, (5, 4)).astype(np.float32)
    check_against_signature(network, model, images)
    with pytest.raises(UnsupportedModelError, match="other logits"):
        check_against_signature(network, lambda x: model(x) * 1.01 + 0.1, images)


def test_the_memory_plan_changes_the_passes_never_the_bounds(rng):
    inputs = tf.keras.Input((10, 10, 1))
    x = L.MaxPooling2D()(L.Conv2D(4, 3, activation="relu")(inputs))
    x = L.Dense(6, activation="relu")(L.Flatten()(L.Conv2D(4, 3, activation="relu")(x)))
    network = from_keras(tf.keras.Model(inputs, L.Dense(3)(x)))
    images = rng.uniform(0, 1, (6, 10, 10, 1)).astype(np.float32)
    labels = np.argmax(network.logits(images), axis=1)
    small = 64 * 1024  # a few rows per pass
    assert memory.plan(network, 6, small).crown_batch < memory.plan(network, 6).crown_batch == 6
    tight = certify(network, images, labels, 0.05, method="crown", batch_size=6, budget=small)
    loose = certify(network, images, labels, 0.05, method="crown", batch_size=6)
    np.testing.assert_allclose(tight.margins, loose.margins, rtol=1e-5, atol=1e-5)
