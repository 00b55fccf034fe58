"""How the gate calls a model it did not export: the signature, image input and class-score
output found from ``saved_model.pb`` (or named by the user), the pixel scale, and a softmax
output detected on clean images and attacked as log-probabilities; what does not fit the data
is refused in one line naming what was found."""

import dataclasses

import numpy as np
import pytest
import tensorflow as tf

from robustfx.base.model_interface_config import ModelInterfaceConfig
from robustfx.robustness.models import scores
from robustfx.robustness.models.model_interface import (
    LOGITS,
    PROBABILITIES,
    ModelInterface,
    read_interface,
)
from robustfx.robustness.models.saved_model_pb import ModelSignatureError

MNIST = (28, 28, 1)


def _save(directory, serve, name="serving_default") -> str:
    """A tf.Module whose signature ``name`` is ``serve`` over a fixed random projection."""
    module = tf.Module()
    module.weights = tf.Variable(np.random.RandomState(0).normal(size=(784, 10)), dtype=tf.float32)
    module.serve = serve(module.weights)
    tf.saved_model.save(module, str(directory), signatures={name: module.serve})
    return str(directory)


def _spec(shape=(28, 28, 1), dtype=tf.float32, name="pixels", batch=None):
    return tf.TensorSpec([batch, *shape], dtype, name=name)


def _scores(weights, images):
    return tf.matmul(tf.reshape(tf.cast(images, tf.float32), [-1, 784]), weights)


def _outputs(**named):
    """A signature factory returning ``named``: output name -> f(scores) per output."""

    def serve(weights):
        @tf.function(input_signature=[_spec()])
        def signature(pixels):
            logits = _scores(weights, pixels)
            return {key: transform(logits) for key, transform in named.items()}

        return signature

    return serve


SOFTMAX = _outputs(dense_2=tf.nn.softmax)


def _classes(logits):
    return tf.argmax(logits, axis=-1)


PROJECT_LIKE = _outputs(logits=tf.identity, probabilities=tf.nn.softmax, classes=_classes)


@pytest.fixture(scope="module")
def images(mnist_arrays):
    pixels, _ = mnist_arrays["test"]
    return tf.constant(pixels[:32].reshape(-1, 28, 28, 1) / 255.0, tf.float32)


def test_a_keras_style_softmax_model_is_found_and_attacked_as_log_probabilities(tmp_path, images):
    model_dir = _save(tmp_path / "m", SOFTMAX)
    request = ModelInterfaceConfig(input_scale=255)
    found = read_interface(model_dir, request, 10, MNIST)
    assert (found.signature, found.input_key, found.output_key) == (
        "serving_default",
        "pixels",
        "dense_2",
    )
    assert found.image_shape == MNIST and found.output == LOGITS  # until it has run
    detected = scores.detect_output(model_dir, found, images, 10)
    assert detected.output == PROBABILITIES
    logits_fn, shape = scores.load_logits_fn(model_dir, detected)
    signature = logits_fn.saved_model.signatures["serving_default"]
    probabilities = signature(pixels=images * 255.0)["dense_2"]
    log_p = logits_fn(images)
    np.testing.assert_allclose(tf.nn.softmax(log_p), probabilities, atol=1e-6)
    assert np.array_equal(np.argmax(log_p, 1), np.argmax(probabilities, 1))
    assert ModelInterface.from_dict(detected.to_dict()) == detected
    assert "as probabilities (attacked as log-probabilities)" in detected.describe()
    assert "in [0, 255]" in detected.describe()


def test_the_projects_own_signature_is_taken_as_before(tmp_path, images):
    """serving_transformed first; of its two [batch, 10] outputs, 'logits'; the function is
    the signature's own output, untouched."""
    model_dir = _save(tmp_path / "m", PROJECT_LIKE, name="serving_transformed")
    found = scores.detect_output(model_dir, read_interface(model_dir, None, 10), images, 10)
    assert (found.signature, found.output_key, found.output) == (
        "serving_transformed",
        "logits",
        LOGITS,
    )
    logits_fn, _ = scores.load_logits_fn(model_dir, found)
    signature = logits_fn.saved_model.signatures["serving_transformed"]
    assert np.array_equal(logits_fn(images), signature(pixels=images)["logits"])


def test_a_single_channel_input_without_its_axis(tmp_path, images):
    def serve(weights):
        @tf.function(input_signature=[_spec((28, 28))])
        def signature(pixels):
            return {"scores": _scores(weights, pixels)}

        return signature

    model_dir = _save(tmp_path / "m", serve)
    found = read_interface(model_dir, None, 10, MNIST)
    assert found.image_shape == MNIST and not found.with_channels
    logits_fn, _ = scores.load_logits_fn(model_dir, found)
    assert logits_fn(images).shape == (32, 10)


def test_named_keys_decide_between_outputs(tmp_path):
    model_dir = _save(tmp_path / "m", _outputs(a=tf.identity, b=tf.nn.softmax))
    with pytest.raises(ModelSignatureError, match="2 candidates .*: name one with --output-key"):
        read_interface(model_dir, None, 10)
    found = read_interface(model_dir, ModelInterfaceConfig(output_key="b"), 10)
    assert found.output_key == "b"
    with pytest.raises(ModelSignatureError, match=r"no output 'c' \(--output-key\): a DT_FLOAT"):
        read_interface(model_dir, ModelInterfaceConfig(output_key="c"), 10)
    with pytest.raises(ModelSignatureError, match=r"no input 'image' \(--input-key\)"):
        read_interface(model_dir, ModelInterfaceConfig(input_key="image", output_key="a"), 10)


def test_a_named_signature_is_used_and_a_missing_one_named(tmp_path):
    model_dir = _save(tmp_path / "m", SOFTMAX, name="predict")
    with pytest.raises(ModelSignatureError) as refused:
        read_interface(model_dir, None, 10)
    assert "has no 'serving_transformed' signature, nor 'serving_default'" in str(refused.value)
    assert "(it has ['predict'])" in str(refused.value) and "--signature" in str(refused.value)
    assert read_interface(model_dir, ModelInterfaceConfig(signature="predict"), 10).signature


@pytest.mark.parametrize(
    "serve, message",
    [
        (
            _outputs(scores=lambda logits: logits[:, :5]),
            r"has no class-score output for 10 classes \(it has scores DT_FLOAT \[None, 5\]\)",
        ),
        (
            _outputs(classes=_classes),
            r"has no class-score output for 10 classes \(it has classes DT_INT64 \[None\]\)",
        ),
    ],
    ids=["other-classes", "no-scores"],
)
def test_outputs_that_are_not_class_scores_are_refused(tmp_path, serve, message):
    model_dir = _save(tmp_path / "m", serve)
    with pytest.raises(ModelSignatureError, match=message):
        read_interface(model_dir, None, 10, MNIST)


@pytest.mark.parametrize(
    "spec, message",
    [
        (_spec(dtype=tf.uint8), "takes DT_UINT8 images: an attack needs floats"),
        (_spec(batch=1), "takes batches of exactly 1 images"),
        (_spec((32, 32, 3)), "takes 3-channel images, the dataset has 1 channels"),
    ],
    ids=["uint8", "fixed-batch", "channels"],
)
def test_inputs_that_cannot_take_the_data_are_refused(tmp_path, spec, message):
    def serve(weights):
        @tf.function(input_signature=[spec])
        def signature(pixels):
            flat = tf.reshape(tf.cast(pixels, tf.float32), [tf.shape(pixels)[0], -1])
            return {"logits": tf.matmul(flat[:, :784], weights)}

        return signature

    with pytest.raises(ModelSignatureError, match=message):
        read_interface(_save(tmp_path / "m", serve), None, 10, MNIST)


def test_two_inputs_are_refused(tmp_path):
    def serve(weights):
        @tf.function(input_signature=[_spec(), _spec(name="mask")])
        def signature(pixels, mask):
            return {"logits": _scores(weights, pixels * mask)}

        return signature

    with pytest.raises(ModelSignatureError, match=r"takes 2 inputs \(mask .*pixels .*images only"):
        read_interface(_save(tmp_path / "m", serve), None, 10, MNIST)


@pytest.mark.parametrize(
    "transform, message",
    [
        (lambda logits: tf.concat([logits, logits[:, :2]], axis=1), r"of shape \[32, 12\]"),
        (lambda logits: logits * np.nan, "NaN or infinite scores"),
    ],
    ids=["twelve-at-run-time", "nan"],
)
def test_scores_that_turn_out_wrong_on_clean_images_are_refused(
    tmp_path, images, transform, message
):
    """The signature says [None, None]: only running it shows 12 columns, or NaN."""

    def serve(weights):
        @tf.function(input_signature=[_spec()])
        def signature(pixels):
            logits = transform(_scores(weights, pixels))
            return {"logits": tf.reshape(logits, [tf.shape(pixels)[0], -1])}

        return signature

    model_dir = _save(tmp_path / "m", serve)
    found = read_interface(model_dir, None, 10, MNIST)
    with pytest.raises(ModelSignatureError, match=message):
        scores.detect_output(model_dir, found, images, 10)


def test_the_pixel_scale_multiplies_the_images(tmp_path, images):
    model_dir = _save(tmp_path / "m", PROJECT_LIKE)
    found = read_interface(model_dir, None, 10)
    unit, _ = scores.load_logits_fn(model_dir, found)
    scaled, _ = scores.load_logits_fn(model_dir, dataclasses.replace(found, input_scale=255))
    np.testing.assert_allclose(scaled(images), unit(images * 255.0), rtol=1e-6)
