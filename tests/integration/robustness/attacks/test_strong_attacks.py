"""PGD with the best iterate, APGD (CE, DLR, targeted DLR): exact on a linear softmax model,
at least as strong as PGD on a trained CNN, deterministic, traced once for any batch."""

import os

import numpy as np
import pytest
import tensorflow as tf

from robustfx.base.attack_config import AttackConfig
from robustfx.robustness.attacks import apgd, dispatch, losses
from robustfx.robustness.attacks import geometry as attacks
from robustfx.robustness.models.saved_models import load_logits_fn

CLASSES, SHAPE, N = 5, (4, 4, 1), 300


def _linear(rng, scale=3.0):
    weights = (scale * rng.normal(size=(int(np.prod(SHAPE)), CLASSES))).astype(np.float32)
    bias = rng.normal(size=(CLASSES,)).astype(np.float32)

    def logits_fn(images):
        return tf.matmul(tf.reshape(images, [tf.shape(images)[0], -1]), weights) + bias

    return logits_fn, weights, bias


def _exact_robust(images, labels, weights, bias, epsilon, norm):
    """Robust iff for every other class j the smallest z_y - z_j over the threat model is
    positive. Each is linear in the pixels, so its minimum has a closed form: L-infinity
    moves every pixel to the box-and-ball bound against v = w_y - w_j; L2 (pixels far from
    the box) lowers it by epsilon * ||v||."""
    flat = images.reshape(len(images), -1)
    robust = np.ones(len(images), bool)
    for j in range(CLASSES):
        v = weights[:, labels].T - weights[:, j][None, :]  # [n, pixels]
        offset = bias[labels] - bias[j]
        if norm == "linf":
            low, high = np.maximum(flat - epsilon, 0.0), np.minimum(flat + epsilon, 1.0)
            worst = np.where(v > 0, low, high)
            gap = (v * worst).sum(axis=1) + offset
        else:
            gap = (v * flat).sum(axis=1) + offset - epsilon * np.linalg.norm(v, axis=1)
        robust &= np.where(labels == j, True, gap > 0)
    return robust


def _correct(logits_fn, images, labels):
    return np.argmax(logits_fn(tf.constant(images)).numpy(), axis=1) == labels


@pytest.mark.parametrize("norm, epsilon", [("linf", 0.05), ("l2", 0.3)])
def test_apgd_cascade_is_exact_on_a_linear_model(rng, norm, epsilon):
    logits_fn, weights, bias = _linear(rng)
    low, high = (0.0, 1.0) if norm == "linf" else (0.3, 0.7)  # L2: eps <= 0.3, the box never binds
    images = rng.uniform(low, high, size=(N, *SHAPE)).astype(np.float32)
    labels = np.argmax(logits_fn(tf.constant(images)).numpy(), axis=1)  # all clean-correct
    exact = _exact_robust(images, labels, weights, bias, epsilon, norm)
    assert 0.2 < exact.mean() < 0.9  # the threat model matters on this data
    survived = np.ones(N, bool)
    for name in ("apgdce50", "apgdt50-t4"):
        attack = AttackConfig.from_name(f"{name}_{norm}_{epsilon:g}")
        adversarial = dispatch.run_attack(attack, logits_fn, tf.constant(images), labels, seed=1)
        survived &= _correct(logits_fn, adversarial.numpy(), labels)
    np.testing.assert_array_equal(survived, exact)


@pytest.mark.parametrize("name", ["apgdce20", "apgddlr20-r2", "apgdt10-t3", "pgd15-rs"])
@pytest.mark.parametrize("norm, epsilon", [("linf", 0.3), ("l2", 1.0)])
def test_results_stay_in_the_ball_and_pixel_range(rng, name, norm, epsilon):
    logits_fn, _, _ = _linear(rng)
    images = tf.constant(rng.uniform(0, 1, size=(16, *SHAPE)).astype(np.float32))
    labels = tf.constant(rng.randint(0, CLASSES, size=16))
    attack = AttackConfig.from_name(f"{name}_{norm}_{epsilon:g}")
    adversarial = dispatch.run_attack(attack, logits_fn, images, labels, seed=0)
    size = attacks.perturbation_norm(adversarial, images, norm).numpy()
    assert size.max() <= epsilon + 1e-5
    assert adversarial.numpy().min() >= 0.0 and adversarial.numpy().max() <= 1.0


def test_epsilon_zero_returns_the_input(rng):
    logits_fn, _, _ = _linear(rng)
    images = tf.constant(rng.uniform(0, 1, size=(8, *SHAPE)).astype(np.float32))
    labels = tf.constant(rng.randint(0, CLASSES, size=8))
    for name in ("apgdce10_linf_0", "apgdt10-t2_l2_0", "pgd5-rs_linf_0"):
        adversarial = dispatch.run_attack(AttackConfig.from_name(name), logits_fn, images, labels)
        np.testing.assert_array_equal(adversarial.numpy(), images.numpy())


def test_dlr_losses_match_their_definitions():
    logits = tf.constant([[3.0, 1.0, 0.5, -1.0], [0.0, 2.0, 1.0, 4.0]])
    labels = tf.constant([0, 1], tf.int64)
    # -(z_y - max_{i != y} z_i) / (z_pi1 - z_pi3)
    np.testing.assert_allclose(
        losses.dlr(logits, labels).numpy(), [-(3 - 1) / (3 - 0.5), -(2 - 4) / (4 - 1)], rtol=1e-6
    )
    targets = tf.constant([2, 0], tf.int64)
    np.testing.assert_allclose(
        losses.dlr_targeted(logits, labels, targets).numpy(),
        [-(3 - 0.5) / (3 - 0.5 * (0.5 - 1)), -(2 - 0) / (4 - 0.5 * (1 + 0))],
        rtol=1e-6,
    )
    assert (losses.margin(logits, labels).numpy() > 0).tolist() == [False, True]


def test_checkpoints_follow_the_paper():
    assert apgd.checkpoint_schedule(100) == (22, 3, 6)
    assert apgd.checkpoint_schedule(10) == (2, 1, 1)


@pytest.fixture(scope="module")
def cnn(trained_model_dir, mnist_arrays):
    logits_fn, shape = load_logits_fn(os.path.join(trained_model_dir, "Format-Serving"))
    images, labels = mnist_arrays["test"]
    images = (images[:200] / 255.0).astype(np.float32).reshape(-1, *shape)
    return logits_fn, shape, images, labels[:200].astype(np.int64)


def test_apgd_is_at_least_as_strong_as_pgd_with_the_same_budget(cnn):
    logits_fn, _, images, labels = cnn
    accuracy = {}
    for name in ("pgd20-rs_linf_0.1", "apgdce20_linf_0.1", "apgdt20-t3_linf_0.1"):
        attack = AttackConfig.from_name(name)
        adversarial = dispatch.run_attack(attack, logits_fn, tf.constant(images), labels, seed=3)
        accuracy[name] = _correct(logits_fn, adversarial.numpy(), labels).mean()
    assert accuracy["apgdce20_linf_0.1"] <= accuracy["pgd20-rs_linf_0.1"] + 0.005
    assert accuracy["apgdt20-t3_linf_0.1"] <= accuracy["pgd20-rs_linf_0.1"] + 0.005
    assert accuracy["pgd20-rs_linf_0.1"] < _correct(logits_fn, images, labels).mean()


def test_pgd_keeps_the_best_iterate(cnn):
    """A huge step overshoots: the last iterate may be classified correctly again, but an
    example broken at any iterate stays broken."""
    logits_fn, _, images, labels = cnn
    broken_any = np.zeros(len(labels), bool)
    point = tf.constant(images)
    for _ in range(5):
        gradient = losses.loss_gradient(logits_fn, point, labels)
        stepped = point + 0.2 * attacks.steepest_direction(gradient, "linf")
        point = attacks.clip_pixels(images + attacks.project(stepped - images, 0.2, "linf"))
        broken_any |= ~_correct(logits_fn, point.numpy(), labels)
    attack = AttackConfig(method="pgd", norm="linf", epsilon=0.2, steps=5, step_size=0.2)
    adversarial = dispatch.run_attack(attack, logits_fn, tf.constant(images), labels)
    broken = ~_correct(logits_fn, adversarial.numpy(), labels)
    assert (broken >= broken_any).all()


def test_deterministic_and_traced_once_for_any_batch(cnn):
    logits_fn, shape, images, labels = cnn
    attack = AttackConfig.from_name("apgdt10-t2_linf_0.1")
    compiled = dispatch.compile_attack(attack, logits_fn, seed=5, image_shape=shape)
    first = compiled(tf.constant(images[:50]), tf.constant(labels[:50])).numpy()
    again = compiled(tf.constant(images[:50]), tf.constant(labels[:50])).numpy()
    compiled(tf.constant(images[:7]), tf.constant(labels[:7]))
    np.testing.assert_array_equal(first, again)
    assert compiled.experimental_get_tracing_count() == 1
