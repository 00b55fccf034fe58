"""The ibp recipe on real digits: its training bound is sound and is the verifier's own IBP
bound; a few steps at a fixed radius lower the IBP loss; a layer it cannot bound is named."""

import numpy as np
import pytest
import tensorflow as tf

from robustfx.base.training_config import ModelConfig, TrainingConfig
from robustfx.robustness.certification import certify, from_keras
from robustfx.trainer.certified import CertifiedModel, margin_lower_bounds
from robustfx.trainer.model import build_cnn, compile_for_training

EPSILON = 0.05


@pytest.fixture
def digits(mnist_arrays):
    images, labels = mnist_arrays["train"]
    return (images[:64].reshape(-1, 28, 28, 1) / 255.0).astype(np.float32), labels[:64]


def _cnn():
    tf.keras.utils.set_random_seed(0)
    return build_cnn(ModelConfig(conv_filters=(4, 8), dense_units=16), (28, 28, 1), 10)


def test_the_training_bound_is_sound_and_is_the_verifiers_ibp_bound(digits):
    images, labels = digits
    model = _cnn()
    bound = margin_lower_bounds(model, images, labels, EPSILON).numpy()
    own = np.eye(10, dtype=bool)[labels]
    worst = np.where(own, np.inf, bound).min(axis=1)
    np.testing.assert_allclose(
        worst,
        certify(from_keras(model), images, labels, EPSILON, method="ibp").margins,
        rtol=1e-4,
        atol=1e-4,
    )
    rng = np.random.RandomState(0)
    for _ in range(20):  # corners of the ball, in [0, 1]
        corner = np.clip(images + EPSILON * rng.choice([-1, 1], images.shape), 0, 1)
        logits = model(corner).numpy()
        margins = logits[np.arange(len(labels)), labels][:, None] - logits
        assert np.all(margins >= bound - 1e-4)


def test_a_few_steps_at_a_fixed_radius_lower_the_ibp_loss(digits):
    images, labels = digits
    config = TrainingConfig(recipe="ibp", certified_epsilon=EPSILON, certified_ramp=(0.0, 0.0))
    model = CertifiedModel(_cnn(), config, total_steps=20)
    compile_for_training(model, 1e-2)
    before = model.evaluate(images, labels, verbose=0, return_dict=True)
    logs = model.fit(images, labels, batch_size=64, epochs=20, verbose=0).history
    after = model.evaluate(images, labels, verbose=0, return_dict=True)
    assert logs["epsilon"][-1] == pytest.approx(EPSILON)
    assert np.all(np.isfinite(logs["loss"])) and after["robust_loss"] < before["robust_loss"]
    assert after["verified_accuracy"] >= before["verified_accuracy"]


def test_a_layer_the_recipe_cannot_bound_is_named(digits):
    images, labels = digits
    inputs = tf.keras.Input((28, 28, 1))
    hidden = tf.keras.layers.BatchNormalization(name="norm")(tf.keras.layers.Conv2D(2, 3)(inputs))
    model = tf.keras.Model(inputs, tf.keras.layers.Dense(10)(tf.keras.layers.Flatten()(hidden)))
    with pytest.raises(ValueError, match="'norm' \\(BatchNormalization\\)"):
        margin_lower_bounds(model, images, labels, EPSILON)
