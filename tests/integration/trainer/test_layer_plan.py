"""The CNN fits any image size: the plan adapts padding and pooling, logs each change, and
the wrapped model trains on small, RGB and non-square generated datasets."""

import logging

import numpy as np
import pytest
import tensorflow as tf

from robustfx.base.training_config import AdversarialConfig, ModelConfig
from robustfx.base.validation import ConfigError
from robustfx.trainer import model as model_lib
from robustfx.trainer.layer_plan import plan_layers

TUTORIAL = ModelConfig()


def test_the_tutorial_input_keeps_the_tutorial_layers():
    plan = plan_layers(TUTORIAL, (28, 28, 1))
    assert plan.notes == ()
    assert [(layer.padding, layer.pool, layer.output) for layer in plan.layers] == [
        ("valid", True, (13, 13)),
        ("valid", True, (5, 5)),
        ("valid", False, (3, 3)),
    ]


def test_small_images_pad_and_skip_pools_and_say_so():
    plan = plan_layers(TUTORIAL, (8, 8, 1))
    assert plan.layers[-1].output >= (1, 1)
    assert any("pads ('same')" in note for note in plan.notes)
    assert any("skipped" in note for note in plan.notes)


@pytest.mark.parametrize(
    "shape", [(8, 8, 1), (9, 13, 1), (16, 16, 3), (32, 32, 3), (12, 40, 3), (512, 512, 3)]
)
@pytest.mark.parametrize("config", [TUTORIAL, ModelConfig((16, 32, 32), pool_after_last_conv=True)])
def test_every_size_from_8_to_512_builds_the_planned_model(shape, config):
    plan = plan_layers(config, shape)
    cnn = model_lib.build_cnn(config, shape, 1000)
    flatten = cnn.get_layer("flatten").output_shape[-1]
    assert flatten == plan.flat_features > 0
    assert cnn.output_shape == (None, 1000)


def test_adaptations_are_logged_when_the_model_is_built(caplog):
    with caplog.at_level(logging.INFO):
        model_lib.build_cnn(TUTORIAL, (8, 8, 1), 10)
    assert "CNN adapted to the 8x8x1 input" in caplog.text


def test_a_shape_without_known_sides_names_the_fix():
    with pytest.raises(ConfigError, match="--resize HxW"):
        plan_layers(TUTORIAL, (None, 28, 1))


@pytest.mark.parametrize("shape, classes", [((8, 8, 1), 10), ((32, 32, 3), 2), ((12, 20, 3), 3)])
def test_the_adversarially_regularized_model_trains_on_generated_data(shape, classes):
    """A class per brightness level: learnable in a few steps at any size."""
    tf.keras.utils.set_random_seed(0)
    rng = np.random.RandomState(0)
    labels = rng.randint(0, classes, size=256)
    images = (labels[:, None, None, None] + rng.uniform(0, 0.5, size=(256, *shape))) / classes
    data = {"image": images.astype(np.float32), "label": labels}
    base = model_lib.build_cnn(
        ModelConfig(conv_filters=(8, 16, 16), dense_units=16), shape, classes
    )
    wrapped = model_lib.wrap_adversarial(
        base, AdversarialConfig(pgd_iterations=2, pgd_epsilon=0.05, adv_step_size=0.03)
    )
    model_lib.compile_for_training(wrapped, 1e-2)
    before = wrapped.evaluate(data, verbose=0, return_dict=True)["loss"]
    wrapped.fit(data, epochs=3, batch_size=32, verbose=0)
    after = wrapped.evaluate(data, verbose=0, return_dict=True)
    assert after["loss"] < before
    assert "scaled_adversarial_loss" in after
