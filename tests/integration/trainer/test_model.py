"""Model builder, the NSL wrapper's training step, and distribution-strategy selection."""

import numpy as np
import pytest
import tensorflow as tf

from robustfx.base.training_config import AdversarialConfig, ModelConfig
from robustfx.trainer import model as model_lib
from robustfx.trainer import strategy as strategy_lib


def test_tutorial_cnn_layout():
    cnn = model_lib.build_cnn(ModelConfig(), (28, 28, 1), 10)
    assert cnn.input_names == ["image"]
    assert cnn.output_shape == (None, 10)
    assert model_lib.conv_layer_names(cnn) == ["conv1", "conv2", "conv3"]
    pools = [layer.name for layer in cnn.layers if "pool" in layer.name]
    assert pools == ["pool1", "pool2"]  # the tutorial does not pool after the last conv


def test_beans_cnn_pools_after_every_conv_and_takes_rgb():
    config = ModelConfig(conv_filters=(16, 32, 32), pool_after_last_conv=True)
    cnn = model_lib.build_cnn(config, (64, 64, 3), 3)
    assert [layer.name for layer in cnn.layers if "pool" in layer.name] == [
        "pool1",
        "pool2",
        "pool3",
    ]
    assert cnn.output_shape == (None, 3)


def test_bad_shapes_are_rejected():
    with pytest.raises(ValueError, match="is not \\(height, width, channels\\)"):
        model_lib.build_cnn(ModelConfig(), (28, 28), 10)
    with pytest.raises(ValueError, match="num_classes"):
        model_lib.build_cnn(ModelConfig(), (28, 28, 1), 1)


def test_one_nsl_training_step_lowers_the_loss_and_adds_adversarial_loss(mnist_arrays):
    tf.keras.utils.set_random_seed(0)
    images, labels = mnist_arrays["train"]
    batch = {"image": images[:64].astype(np.float32) / 255.0, "label": labels[:64]}
    base = model_lib.build_cnn(ModelConfig(conv_filters=(8, 8), dense_units=16), (28, 28, 1), 10)
    wrapped = model_lib.wrap_adversarial(base, AdversarialConfig())
    model_lib.compile_for_training(wrapped, 1e-2)
    before = wrapped.evaluate(batch, verbose=0, return_dict=True)
    for _ in range(5):
        logs = wrapped.train_on_batch(batch, return_dict=True)
    assert "scaled_adversarial_loss" in logs
    after = wrapped.evaluate(batch, verbose=0, return_dict=True)
    assert after["loss"] < before["loss"]


def test_disabled_adversarial_returns_the_base_model():
    base = model_lib.build_cnn(ModelConfig(), (28, 28, 1), 10)
    assert model_lib.wrap_adversarial(base, AdversarialConfig(enabled=False)) is base


def test_adv_config_is_passed_to_nsl():
    adv = model_lib.make_adv_config(
        AdversarialConfig(
            multiplier=0.3,
            adv_step_size=0.05,
            adv_grad_norm="l2",
            pgd_iterations=5,
            pgd_epsilon=0.1,
            random_init=False,
            clip_to_pixel_range=False,
        )
    )
    assert adv.multiplier == 0.3
    assert adv.adv_neighbor_config.adv_step_size == 0.05
    assert adv.adv_neighbor_config.pgd_iterations == 5
    assert adv.adv_neighbor_config.pgd_epsilon == 0.1
    assert str(adv.adv_neighbor_config.adv_grad_norm.value) == "l2"
    assert adv.adv_neighbor_config.clip_value_min is None  # off, as in NSL
    assert adv.adv_neighbor_config.random_init is False
    clipped = model_lib.make_adv_config(AdversarialConfig(clip_to_pixel_range=True))
    assert clipped.adv_neighbor_config.clip_value_min == {"image": 0.0}
    assert clipped.adv_neighbor_config.clip_value_max == {"image": 1.0}


@pytest.mark.parametrize("clip", [True, False])
def test_training_perturbations_are_clipped_to_the_pixel_range(clip):
    tf.keras.utils.set_random_seed(0)
    base = model_lib.build_cnn(ModelConfig(conv_filters=(4,), dense_units=8), (8, 8, 1), 3)
    wrapped = model_lib.wrap_adversarial(base, AdversarialConfig(clip_to_pixel_range=clip))
    model_lib.compile_for_training(wrapped, 1e-3)
    images = np.random.RandomState(0).uniform(0, 1, (4, 8, 8, 1)).astype(np.float32)
    batch = {"image": images, "label": np.array([0, 1, 2, 0])}
    perturbed = np.asarray(wrapped.perturb_on_batch(batch)["image"])
    inside = perturbed.min() >= 0.0 and perturbed.max() <= 1.0
    assert inside == clip
    assert np.abs(perturbed - images).max() == pytest.approx(0.2, abs=1e-5)


class _FakeDevice:
    def __init__(self, name):
        self.name = name


def test_cpu_gets_the_default_strategy():
    strategy = strategy_lib.select_strategy("auto", list_gpus=lambda: [], environ={})
    assert strategy is tf.distribute.get_strategy()


def test_gpus_get_mirrored_strategy():
    # The CPU stands in for the GPU: MirroredStrategy is built over the reported devices.
    strategy = strategy_lib.select_strategy(
        "auto", list_gpus=lambda: [_FakeDevice("/device:CPU:0")], environ={}
    )
    assert isinstance(strategy, tf.distribute.MirroredStrategy)
    assert strategy.num_replicas_in_sync == 1


def test_tpu_is_tried_first_when_the_environment_names_one():
    sentinel = object()
    strategy = strategy_lib.select_strategy(
        "auto", resolve_tpu=lambda: sentinel, environ={"TPU_NAME": "node-1"}
    )
    assert strategy is sentinel


def test_tpu_is_not_probed_on_a_plain_machine():
    def fail():
        raise AssertionError("TPU resolver must not run without a TPU hint")

    strategy_lib.select_strategy("auto", list_gpus=lambda: [], resolve_tpu=fail, environ={})


def test_asking_for_missing_hardware_fails_loudly():
    with pytest.raises(RuntimeError, match="no GPU"):
        strategy_lib.select_strategy("gpu", list_gpus=lambda: [], environ={})
    with pytest.raises(RuntimeError, match="no TPU"):
        strategy_lib.select_strategy("tpu", resolve_tpu=lambda: None, environ={})


def test_non_finite_loss_stops_training_with_a_clear_error():
    from robustfx.trainer.run import NonFiniteLossError, StopOnNonFiniteLoss

    base = model_lib.build_cnn(ModelConfig(conv_filters=(4,), dense_units=8), (8, 8, 1), 3)
    model_lib.compile_for_training(base, 1e-3)
    # NaN logits (ReLU kernels may map NaN inputs to 0, so poison the output layer itself).
    base.get_layer("logits").bias.assign(np.full(3, np.nan, np.float32))
    images = np.zeros((8, 8, 8, 1), np.float32)
    with pytest.raises(NonFiniteLossError, match="training loss became nan at batch 0"):
        base.fit(images, np.zeros(8), batch_size=4, callbacks=[StopOnNonFiniteLoss()], verbose=0)


@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_the_random_start_trains_on_batches_of_unknown_size(norm):
    """NSL draws its random start with the static batch shape; Keras fit on arrays with a
    partial last batch has none. The shim draws with the dynamic shape."""
    tf.keras.utils.set_random_seed(0)
    base = model_lib.build_cnn(ModelConfig(conv_filters=(4,), dense_units=8), (28, 28, 1), 10)
    config = AdversarialConfig(adv_grad_norm=norm, pgd_epsilon=0.2 if norm == "linf" else 1.0)
    wrapped = model_lib.wrap_adversarial(base, config)
    model_lib.compile_for_training(wrapped, 1e-3)
    rng = np.random.RandomState(0)
    data = {"image": rng.rand(40, 28, 28, 1).astype(np.float32), "label": rng.randint(0, 10, 40)}
    history = wrapped.fit(data, batch_size=32, epochs=1, verbose=0)  # batches of 32 and 8
    assert np.isfinite(history.history["loss"][0])
    assert "scaled_adversarial_loss" in history.history
