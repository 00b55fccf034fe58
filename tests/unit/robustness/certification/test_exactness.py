"""Exact answers: on a linear model CROWN (both norms) and IBP (L-infinity: the pixel box is
a box) give the true worst margin in closed form;
on a tiny ReLU net with a 2-D input a fine grid over the ball is the exact answer, and every
certificate agrees with it."""

import numpy as np
import pytest
import tensorflow as tf

from robustfx.robustness.certification import certify, from_keras

L = tf.keras.layers
SHAPE, CLASSES = (3, 3, 2), 4


def _linear_model(rng):
    model = tf.keras.Sequential([tf.keras.Input(SHAPE), L.Flatten(), L.Dense(CLASSES)])
    model.set_weights([rng.normal(size=(18, CLASSES)), rng.normal(size=CLASSES)])
    return model


def _worst_margins(model, images, labels, epsilon, norm):
    """The minimum over the ball (in [0, 1]) of logit[label] - logit[j], over j != label, in
    closed form: each pixel at the end of its interval that lowers the margin (L-infinity);
    x - epsilon * w / |w| for L2 when that point stays inside [0, 1]."""
    kernel, bias = model.get_weights()
    flat = images.reshape(len(images), -1)
    worst = []
    for x, label in zip(flat, labels, strict=True):
        margins = []
        for j in range(CLASSES):
            if j == label:
                continue
            w = kernel[:, label] - kernel[:, j]
            if norm == "linf":
                low, high = np.clip(x - epsilon, 0, 1), np.clip(x + epsilon, 0, 1)
                value = np.minimum(w * low, w * high).sum()
            else:
                value = w @ x - epsilon * np.linalg.norm(w)
            margins.append(value + bias[label] - bias[j])
        worst.append(min(margins))
    return np.array(worst)


@pytest.mark.parametrize(
    "method, norm, epsilon, low, high",
    [("ibp", "linf", 0.1, 0, 1), ("crown", "linf", 0.1, 0, 1), ("crown", "l2", 0.1, 0.2, 0.8)],
)
def test_a_linear_models_margin_bound_is_exact(rng, method, norm, epsilon, low, high):
    # L2: pixels away from 0 and 1, so that the ball's worst point stays in the pixel box.
    model = _linear_model(rng)
    images = rng.uniform(low, high, (6, *SHAPE)).astype(np.float32)
    labels = rng.randint(0, CLASSES, 6)
    certificate = certify(from_keras(model), images, labels, epsilon, norm, method)
    expected = _worst_margins(model, images, labels, epsilon, norm)
    np.testing.assert_allclose(certificate.margins, expected, rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(certificate.certified, expected > 1e-4)


def _tiny_net(seed):
    tf.keras.utils.set_random_seed(seed)
    model = tf.keras.Sequential(
        [
            tf.keras.Input((2,)),
            L.Dense(8, activation="relu"),
            L.Dense(6, activation="relu"),
            L.Dense(2),
        ]
    )
    rng = np.random.RandomState(seed)
    model.set_weights([rng.normal(size=w.shape) for w in model.get_weights()])
    return model


def _grid_margins(model, point, label, epsilon, norm, steps=301):
    """The margin of ``label`` over the other class on a fine grid of the ball around
    ``point``."""
    axis = np.linspace(-epsilon, epsilon, steps)
    grid = np.stack(np.meshgrid(axis, axis), -1).reshape(-1, 2)
    if norm == "l2":
        grid = grid[np.linalg.norm(grid, axis=1) <= epsilon]
    grid = np.clip(point + grid, 0, 1).astype(np.float32)
    logits = model(grid).numpy()
    return logits[:, label] - logits[:, 1 - label]


@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_certificates_on_a_2d_input_agree_with_a_fine_grid(norm):
    certified = robust = 0
    for seed in range(4):
        model = _tiny_net(seed)
        points = np.random.RandomState(seed).uniform(0, 1, (30, 2)).astype(np.float32)
        network = from_keras(model)
        labels = np.argmax(model(points).numpy(), axis=1)
        ibp, crown = (certify(network, points, labels, 0.05, norm, m) for m in ("ibp", "crown"))
        for example, (point, label) in enumerate(zip(points, labels, strict=True)):
            exact = _grid_margins(model, point, label, 0.05, norm).min()
            for certificate in (ibp, crown):
                # The bound is below the exact minimum, which the grid approaches from above.
                assert certificate.margins[example] <= exact + 1e-4
                assert exact > 0 or not certificate.certified[example]
            certified += int(crown.certified[example])
            robust += int(exact > 0)
    # CROWN certifies most of what is robust on this small net.
    assert 0 < robust and certified >= 0.8 * robust, (certified, robust)
