"""Random small Keras nets with every layer type the verifier supports, for its soundness
tests: conv blocks (strided, padded, with BatchNormalization folded or kept), a residual
block, max- and average pooling (overlapping windows too), a dense head."""

import numpy as np
import tensorflow as tf

import robustfx  # noqa: F401  (pins Keras 2 before Keras is used)

layers = tf.keras.layers
SHAPE, CLASSES = (8, 8, 2), 3


def _conv_block(x, rng):
    strides = int(rng.choice([1, 1, 2]))
    padding = str(rng.choice(["valid", "same"]))
    activation = str(rng.choice(["relu", "linear"]))
    x = layers.Conv2D(
        int(rng.randint(2, 5)), int(rng.choice([2, 3])), strides, padding, activation=activation
    )(x)
    if rng.rand() < 0.5:
        x = layers.BatchNormalization()(x)  # folded after a linear conv, a Scale after a ReLU one
    if activation == "linear":
        x = layers.ReLU()(x) if rng.rand() < 0.5 else layers.Activation("relu")(x)
    return x


def _residual_block(x, rng):
    branch = layers.Conv2D(x.shape[-1], 3, padding="same", activation="relu")(x)
    branch = layers.Conv2D(x.shape[-1], 3, padding="same")(branch)
    return layers.ReLU()(layers.Add()([x, branch]))


def _pool(x, rng):
    kind = rng.randint(4)
    if min(x.shape[1:3]) < 3:
        return x
    if kind == 0:
        return layers.MaxPooling2D(2)(x)
    if kind == 1:
        return layers.MaxPooling2D(3, strides=2, padding="same")(x)  # overlapping windows
    return layers.AveragePooling2D(2, padding=str(rng.choice(["valid", "same"])))(x)


def random_net(seed: int):
    """A random functional net: conv blocks, a residual block, pooling and a dense head,
    with random weights, biases and BatchNormalization statistics."""
    rng = np.random.RandomState(seed)
    tf.keras.utils.set_random_seed(seed)
    inputs = tf.keras.Input(SHAPE)
    x = _conv_block(inputs, rng)
    if rng.rand() < 0.6:
        x = _residual_block(x, rng)
    x = _pool(x, rng)
    x = _conv_block(x, rng) if min(x.shape[1:3]) >= 3 else x
    x = layers.Flatten()(x) if rng.rand() < 0.7 else layers.GlobalAveragePooling2D()(x)
    x = layers.Dense(int(rng.randint(4, 8)), activation="relu")(x)
    x = layers.Dropout(0.5)(x)
    model = tf.keras.Model(inputs, layers.Dense(CLASSES)(x))
    for layer in model.layers:
        weights = layer.get_weights()
        if isinstance(layer, layers.BatchNormalization):
            gamma, beta, mean, variance = weights
            weights = [rng.uniform(0.5, 2, gamma.shape), rng.normal(size=beta.shape)]
            weights += [rng.normal(size=mean.shape), rng.uniform(0.5, 2, variance.shape)]
        elif weights:
            weights = [
                rng.normal(scale=1 / np.sqrt(max(1, w.size / w.shape[-1])), size=w.shape)
                for w in weights
            ]
        layer.set_weights(weights)
    return model
