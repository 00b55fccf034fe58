"""Square attack: stays in the ball, deterministic, gradient-free, near-optimal on linear
models (where the exact robust accuracy has a closed form), one trace for any batch size."""

import numpy as np
import pytest
import tensorflow as tf

import robustfx  # noqa: F401  (pins Keras 2 before TensorFlow is imported)
from robustfx.robustness.attacks import geometry as attacks
from robustfx.robustness.attacks import square
from robustfx.robustness.attacks.fgsm import fgsm

NUM_CLASSES = 3


def _linear(rng, shape, bias_scale=0.5):
    weights = rng.normal(size=(int(np.prod(shape)), NUM_CLASSES)).astype(np.float32)
    bias = (bias_scale * rng.normal(size=NUM_CLASSES)).astype(np.float32)

    def logits_fn(images):
        return tf.matmul(tf.reshape(images, [tf.shape(images)[0], -1]), weights) + bias

    return logits_fn, weights, bias


def _dense_model(shape):
    initializer = tf.keras.initializers.GlorotUniform(seed=0)
    return tf.keras.Sequential(
        [
            tf.keras.layers.Flatten(input_shape=shape),
            tf.keras.layers.Dense(NUM_CLASSES, kernel_initializer=initializer),
        ]
    )


def _predicted(logits_fn, images):
    return np.argmax(logits_fn(tf.constant(images)).numpy(), axis=1)


def _exact_linf_robust(images, labels, weights, bias, epsilon):
    """An example of a linear model is robust iff, for every other class j, the margin
    (w_y - w_j) x + b_y - b_j stays positive at its minimiser over the box
    [x - eps, x + eps] intersected with [0, 1], which picks one end of each pixel's range."""
    flat = images.reshape(len(images), -1).astype(np.float64)
    low, high = np.maximum(flat - epsilon, 0.0), np.minimum(flat + epsilon, 1.0)
    robust = np.ones(len(images), bool)
    for j in range(NUM_CLASSES):
        direction = weights[:, labels].T - weights[:, j]
        worst = np.minimum(direction * low, direction * high).sum(axis=1)
        robust &= (labels == j) | (worst + bias[labels] - bias[j] > 0)
    return robust


def _eta(a, b):
    """eta(a, b)[r, c] = sum_{k >= max(|r - a//2|, |c - b//2|)}^{max(a//2, b//2)} 1/(k+1)^2."""
    top = max(a // 2 + 1, b // 2 + 1)
    eta = np.array(
        [
            [sum(1 / (k + 1) ** 2 for k in range(max(abs(r - a // 2), abs(c - b // 2)), top))]
            for r in range(a)
            for c in range(b)
        ]
    ).reshape(a, b)
    return eta / np.linalg.norm(eta)


@pytest.mark.parametrize("side", [1, 2, 3, 4, 5, 7, 10])
def test_pseudo_gaussian_pattern_matches_its_definition(side):
    expected = np.zeros((side, side))
    if side // 2:
        expected[: side // 2] = _eta(side // 2, side)
    expected[side // 2 :] = -_eta(side - side // 2, side)
    expected /= np.linalg.norm(expected)
    pattern = square._pseudo_gaussian(tf.constant(side), 12).numpy()
    np.testing.assert_allclose(pattern[:side, :side], expected, atol=1e-6)
    assert not pattern[side:].any() and not pattern[:, side:].any()


@pytest.mark.parametrize("shape", [(8, 8, 1), (6, 10, 3)])
@pytest.mark.parametrize("norm, epsilon", [("linf", 0.1), ("l2", 0.8)])
def test_stays_in_the_ball_and_pixel_range(rng, shape, norm, epsilon):
    model = _dense_model(shape)
    images = rng.uniform(0, 1, size=(16, *shape)).astype(np.float32)
    labels = rng.randint(0, NUM_CLASSES, size=16)
    adversarial = square.square(model, images, labels, epsilon, norm, 0, 200, 0.8)
    sizes = attacks.perturbation_norm(adversarial, images, norm).numpy()
    assert adversarial.shape == images.shape
    assert sizes.max() <= epsilon + 1e-5
    assert adversarial.numpy().min() >= 0.0 and adversarial.numpy().max() <= 1.0
    assert sizes.max() > 0.5 * epsilon  # it did perturb


@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_zero_epsilon_returns_the_input_exactly(rng, norm):
    images = tf.constant(rng.uniform(0, 1, size=(4, 6, 10, 3)).astype(np.float32))
    labels = tf.constant(rng.randint(0, NUM_CLASSES, size=4), tf.int64)
    adversarial = square.square(_dense_model((6, 10, 3)), images, labels, 0.0, norm, 0, 50, 0.8)
    np.testing.assert_array_equal(adversarial.numpy(), images.numpy())


@pytest.mark.parametrize("norm, epsilon", [("linf", 0.05), ("l2", 0.5)])
def test_same_seed_same_result(rng, norm, epsilon):
    logits_fn, _, _ = _linear(rng, (8, 8, 1))
    images = rng.uniform(0, 1, size=(12, 8, 8, 1)).astype(np.float32)
    labels = _predicted(logits_fn, images)
    runs = [square.square(logits_fn, images, labels, epsilon, norm, s, 100, 0.8) for s in (3, 3, 4)]
    np.testing.assert_array_equal(runs[0].numpy(), runs[1].numpy())
    assert not np.array_equal(runs[0].numpy(), runs[2].numpy())


def test_breaks_a_model_without_gradients(rng):
    """Logits rounded to a grid have zero gradient everywhere, and the guard fails any attempt
    to take one: gradient attacks are blind here, Square is not."""
    linear, _, _ = _linear(rng, (8, 8, 1))

    @tf.custom_gradient
    def no_gradient(logits):
        def gradient(upstream):
            raise AssertionError("the Square attack took a gradient")

        return tf.identity(logits), gradient

    def logits_fn(images):
        return no_gradient(tf.round(linear(images) * 4.0) / 4.0)

    images = rng.uniform(0, 1, size=(40, 8, 8, 1)).astype(np.float32)
    labels = _predicted(logits_fn, images)
    with pytest.raises(AssertionError, match="took a gradient"):
        fgsm(logits_fn, tf.constant(images), tf.constant(labels), 0.2, "linf")
    for norm, epsilon in (("linf", 0.2), ("l2", 2.0)):
        adversarial = square.square(logits_fn, images, labels, epsilon, norm, 0, 300, 0.8)
        assert np.mean(_predicted(logits_fn, adversarial.numpy()) == labels) < 0.2, norm


@pytest.mark.parametrize("epsilon", [0.02, 0.05])
def test_linf_is_near_the_exact_robust_accuracy_of_a_linear_model(rng, epsilon):
    logits_fn, weights, bias = _linear(rng, (8, 8, 1))
    images = rng.uniform(0, 1, size=(200, 8, 8, 1)).astype(np.float32)
    labels = _predicted(logits_fn, images)
    exact = _exact_linf_robust(images, labels, weights, bias, epsilon)
    assert 0.2 < exact.mean() < 0.8  # an informative epsilon
    adversarial = square.square(logits_fn, images, labels, epsilon, "linf", 0, 1000, 0.8)
    robust = _predicted(logits_fn, adversarial.numpy()) == labels
    assert not (exact & ~robust).any()  # it cannot break a provably robust example
    assert robust.mean() <= exact.mean() + 0.03, (robust.mean(), exact.mean())


def test_l2_never_beats_the_exact_robust_accuracy_of_a_linear_model(rng):
    """Mid-range pixels and a small epsilon keep the [0, 1] box out of play, so an example
    is robust iff every margin exceeds epsilon * ||w_y - w_j||_2. The optimal direction of
    white-noise weights is pixel-level noise, which Square's smooth squares (side >= 3) fit
    only slowly, so the bound is loose: it must break most of what can be broken."""
    logits_fn, weights, bias = _linear(rng, (8, 8, 1))
    images = rng.uniform(0.3, 0.7, size=(200, 8, 8, 1)).astype(np.float32)
    labels = _predicted(logits_fn, images)
    epsilon = 0.25
    logits = logits_fn(tf.constant(images)).numpy()
    exact = np.ones(len(images), bool)
    for j in range(NUM_CLASSES):
        gap = logits[np.arange(len(images)), labels] - logits[:, j]
        length = np.linalg.norm(weights[:, labels].T - weights[:, j], axis=1)
        exact &= (labels == j) | (gap > epsilon * length)
    assert 0.2 < exact.mean() < 0.8
    adversarial = square.square(logits_fn, images, labels, epsilon, "l2", 0, 1000, 0.8)
    robust = _predicted(logits_fn, adversarial.numpy()) == labels
    assert not (exact & ~robust).any()
    breakable = ~exact
    assert (~robust)[breakable].mean() > 0.5, (robust.mean(), exact.mean())


@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_one_trace_serves_every_batch_size(rng, norm):
    logits_fn, _, _ = _linear(rng, (6, 10, 3))
    signature = [tf.TensorSpec([None, 6, 10, 3], tf.float32), tf.TensorSpec([None], tf.int64)]

    @tf.function(input_signature=signature)
    def attack(images, labels):
        return square.square(logits_fn, images, labels, 0.05, norm, 0, 1000, 0.8)

    for batch in (5, 9):
        images = rng.uniform(0, 1, size=(batch, 6, 10, 3)).astype(np.float32)
        labels = _predicted(logits_fn, images).astype(np.int64)
        assert attack(images, labels).shape == images.shape
    assert attack.experimental_get_tracing_count() == 1
    # The 1,000 queries live in one while_loop: the traced graph does not grow with them.
    assert len(attack.get_concrete_function().graph.get_operations()) < 300
