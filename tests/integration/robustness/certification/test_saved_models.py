"""The verifier on a SavedModel the project exports, trained on real digits: read as data,
equal to the model's own attack signature, and sound against attacks: no certified digit is
broken by PGD-100 with 10 random restarts or by APGD-CE."""

import os

import numpy as np
import pytest
import tensorflow as tf

from robustfx.base.attack_config import AttackConfig
from robustfx.robustness.attacks.dispatch import run_attack
from robustfx.robustness.attacks.pgd import pgd
from robustfx.robustness.certification import (
    UnsupportedModelError,
    certify,
    check_against_signature,
    load_network,
)
from robustfx.robustness.models.saved_models import load_logits_fn
from tests.helpers.models import save_untrusted_model

# CROWN certifies most of these digits on the small CNN at these radii; IBP few or none.
CASES = {"linf": (0.02, 16), "l2": (0.05, 8)}
RESTARTS = 10


@pytest.fixture(scope="module")
def served(trained_model_dir):
    """(network, the attack signature's logits_fn) of the trained small CNN."""
    model_dir = os.path.join(trained_model_dir, "Format-Serving")
    network, loaded = load_network(model_dir)
    logits_fn, _ = load_logits_fn(model_dir)
    return network, logits_fn, loaded


def _digits(mnist_arrays, count):
    images, labels = mnist_arrays["test"]
    return (images[:count].reshape(-1, 28, 28, 1) / 255.0).astype(np.float32), labels[:count]


def test_the_network_read_from_the_export_computes_its_signatures_logits(served, mnist_arrays):
    network, logits_fn, _ = served
    images, _ = _digits(mnist_arrays, 32)
    check_against_signature(network, logits_fn, images)
    kinds = [type(node.op).__name__ for node in network.nodes[1:]]
    assert kinds == ["Conv", "ReLU", "MaxPool", "Conv", "ReLU", "Reshape", "Dense", "ReLU", "Dense"]


@pytest.mark.parametrize("norm", CASES)
def test_no_certified_digit_is_broken_by_pgd_restarts_or_apgd(served, mnist_arrays, norm):
    network, logits_fn, _ = served
    epsilon, count = CASES[norm]
    images, labels = _digits(mnist_arrays, count)
    crown = certify(network, images, labels, epsilon, norm, "crown")
    ibp = certify(network, images, labels, epsilon, norm, "ibp")
    assert crown.certified.sum() >= max(1, ibp.certified.sum())
    chosen = crown.certified | ibp.certified
    # Restarts as copies: each copy of a digit starts from its own random point.
    x = tf.constant(np.repeat(images[chosen], RESTARTS, axis=0))
    y = tf.constant(np.repeat(labels[chosen], RESTARTS))
    attacked = [
        pgd(
            logits_fn,
            x,
            y,
            epsilon,
            norm,
            seed=0,
            steps=100,
            step_size=epsilon / 4,
            random_start=True,
        ),
        run_attack(
            AttackConfig(method="apgdce", norm=norm, epsilon=epsilon, steps=100), logits_fn, x, y
        ),
    ]
    for adversarial in attacked:
        np.testing.assert_array_equal(np.argmax(logits_fn(adversarial).numpy(), axis=1), y.numpy())


def test_a_saved_model_without_keras_layers_gets_no_certificate(tmp_path):
    with pytest.raises(UnsupportedModelError, match="not saved by Keras 2"):
        load_network(save_untrusted_model(tmp_path / "module"))
