"""Attack maths: closed-form FGSM on a linear model, epsilon balls, monotonicity, PGD >= FGSM."""

import numpy as np
import pytest
import tensorflow as tf

from robustfx.base.attack_config import AttackConfig
from robustfx.robustness.attacks import dispatch
from robustfx.robustness.attacks import geometry as attacks
from robustfx.robustness.attacks.fgsm import fgsm

NUM_CLASSES, SHAPE = 3, (4, 4, 1)


def _linear_model(rng):
    weights = rng.normal(size=(int(np.prod(SHAPE)), NUM_CLASSES)).astype(np.float32)
    bias = rng.normal(size=(NUM_CLASSES,)).astype(np.float32)

    def logits_fn(images):
        return tf.matmul(tf.reshape(images, [tf.shape(images)[0], -1]), weights) + bias

    return logits_fn, weights, bias


def _closed_form_gradient(images, labels, weights, bias):
    """d CE / d x for logits = x W + b is W (softmax - onehot)."""
    flat = images.reshape(len(images), -1)
    logits = flat @ weights + bias
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    onehot = np.eye(NUM_CLASSES)[labels]
    return ((probs - onehot) @ weights.T).reshape(images.shape)


@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_fgsm_matches_closed_form_on_linear_model(rng, norm):
    logits_fn, weights, bias = _linear_model(rng)
    # Mid-range pixels so clipping to [0, 1] never bites and the formula is exact.
    images = rng.uniform(0.4, 0.6, size=(5, *SHAPE)).astype(np.float32)
    labels = rng.randint(0, NUM_CLASSES, size=5)
    epsilon = 0.05
    gradient = _closed_form_gradient(images, labels, weights, bias)
    if norm == "linf":
        expected = images + epsilon * np.sign(gradient)
    else:
        norms = np.sqrt((gradient**2).reshape(5, -1).sum(axis=1)).reshape(5, 1, 1, 1)
        expected = images + epsilon * gradient / norms
    adversarial = fgsm(logits_fn, tf.constant(images), tf.constant(labels), epsilon, norm)
    np.testing.assert_allclose(adversarial.numpy(), expected, atol=1e-6)


@pytest.mark.parametrize(
    "name", ["fgsm_linf_0.3", "fgsm_l2_2", "pgd7_linf_0.3", "pgd7_l2_2", "pgd5_linf_0.1"]
)
@pytest.mark.parametrize("random_start", [False, True])
def test_perturbations_stay_in_the_ball_and_pixel_range(rng, name, random_start):
    config = AttackConfig.from_name(name)
    if config.method == "pgd":
        config = AttackConfig(**{**config.__dict__, "random_start": random_start})
    logits_fn, _, _ = _linear_model(rng)
    images = tf.constant(rng.uniform(0, 1, size=(8, *SHAPE)).astype(np.float32))
    labels = tf.constant(rng.randint(0, NUM_CLASSES, size=8))
    adversarial = dispatch.compile_attack(config, logits_fn, seed=1)(images, labels)
    sizes = attacks.perturbation_norm(adversarial, images, config.norm).numpy()
    assert sizes.max() <= config.epsilon + 1e-5
    assert adversarial.numpy().min() >= 0.0 and adversarial.numpy().max() <= 1.0


@pytest.mark.parametrize("name", ["fgsm_linf_0", "fgsm_l2_0", "pgd10_linf_0", "pgd3_l2_0"])
def test_zero_epsilon_returns_the_input_exactly(rng, name):
    logits_fn, _, _ = _linear_model(rng)
    images = tf.constant(rng.uniform(0, 1, size=(6, *SHAPE)).astype(np.float32))
    labels = tf.constant(rng.randint(0, NUM_CLASSES, size=6))
    adversarial = dispatch.run_attack(AttackConfig.from_name(name), logits_fn, images, labels)
    np.testing.assert_array_equal(adversarial.numpy(), images.numpy())


@pytest.mark.parametrize("norm, epsilon", [("linf", 0.2), ("l2", 0.2)])
def test_random_noise_control_has_the_attack_size(rng, norm, epsilon):
    images = tf.constant(rng.uniform(0.3, 0.7, size=(6, *SHAPE)).astype(np.float32))
    noisy = attacks.random_noise(images, epsilon, norm, seed=3)
    sizes = attacks.perturbation_norm(noisy, images, norm).numpy()
    np.testing.assert_allclose(sizes, epsilon, rtol=1e-5)


def _accuracy(model, images, labels):
    return float(np.mean(np.argmax(model(images).numpy(), axis=1) == labels))


def test_accuracy_never_rises_with_epsilon(trained_mlp):
    model, images, labels = trained_mlp
    x, y = tf.constant(images), tf.constant(labels)
    for method in ("fgsm", "pgd10"):
        curve = [
            _accuracy(
                model,
                dispatch.run_attack(AttackConfig.from_name(f"{method}_linf_{e}"), model, x, y),
                labels,
            )
            for e in (0, 0.02, 0.05, 0.1, 0.2)
        ]
        assert curve[0] == _accuracy(model, images, labels)
        assert all(later <= earlier for earlier, later in zip(curve, curve[1:], strict=False))
        assert curve[-1] < curve[0] - 0.3, curve


# PGD-10 must be at least as strong as FGSM. Tolerance: 1 point of accuracy (3 of 300
# examples), since PGD's projected steps need not dominate FGSM's single step on every example.
PGD_TOLERANCE = 0.01


@pytest.mark.parametrize("norm, epsilon", [("linf", 0.1), ("l2", 1.0)])
def test_pgd_is_at_least_as_strong_as_fgsm(trained_mlp, norm, epsilon):
    model, images, labels = trained_mlp
    x, y = tf.constant(images), tf.constant(labels)
    fgsm_acc = _accuracy(model, fgsm(model, x, y, epsilon, norm), labels)
    pgd_config = AttackConfig(method="pgd", norm=norm, epsilon=epsilon, steps=10)
    pgd_acc = _accuracy(model, dispatch.run_attack(pgd_config, model, x, y), labels)
    assert pgd_acc <= fgsm_acc + PGD_TOLERANCE, (pgd_acc, fgsm_acc)
