"""Small real models: a CNN trained on real digits, and the candidates an attacker sends."""

import os

import numpy as np

from tests.helpers.datasets import mnist_arrays

SMALL_CNN = {"conv_filters": (8, 16), "dense_units": 32}


def save_for_evaluation(model, uri) -> str:
    """Saves a Keras CNN as a TFX Model artifact dir (Format-Serving/) with the image
    signatures the evaluators need; returns the artifact dir."""
    from robustfx.trainer.export import image_signatures

    model.save(
        os.path.join(uri, "Format-Serving"),
        save_format="tf",
        signatures=image_signatures(model, model.input_shape[1:]),
    )
    return str(uri)


def build_small_cnn(seed: int):
    """The small CNN, untrained, with its weights drawn from ``seed``."""
    import tensorflow as tf

    from robustfx.base.training_config import ModelConfig
    from robustfx.trainer.model import build_cnn

    tf.keras.utils.set_random_seed(seed)
    return build_cnn(ModelConfig(**SMALL_CNN), (28, 28, 1), 10)


def train_small_cnn(seed: int):
    """The small CNN trained for two epochs on 1,500 real digits."""
    import tensorflow as tf

    from robustfx.trainer.model import trace_steps_as_written

    images, labels = mnist_arrays()["train"]
    model = build_small_cnn(seed)
    model.compile("adam", tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    trace_steps_as_written(model)
    model.fit(images[:1500] / 255.0, labels[:1500], epochs=2, batch_size=32, verbose=0)
    return model


def save_untrusted_model(directory, payload=None, image_shape=(28, 28, 1)) -> str:
    """What an attacker sends as a candidate: a ``tf.Module`` with the attack signature
    ``serving_transformed`` (float images in, 10 logits out of a linear layer: ops the graph
    check knows) whose function also runs ``payload(image)``, e.g. ``tf.io.write_file``.
    Returns the SavedModel directory."""
    import tensorflow as tf

    size = int(np.prod(image_shape))
    module = tf.Module()
    module.weights = tf.Variable(np.random.RandomState(0).normal(size=(size, 10)), dtype=tf.float32)

    @tf.function(input_signature=[tf.TensorSpec([None, *image_shape], tf.float32, name="image")])
    def serve(image):
        logits = tf.matmul(tf.reshape(image, [-1, size]), module.weights)
        if payload is not None:
            with tf.control_dependencies([payload(image)]):
                logits = tf.identity(logits)
        return {"logits": logits}

    tf.saved_model.save(module, str(directory), signatures={"serving_transformed": serve})
    return str(directory)


def untrusted_payloads(target: str) -> dict:
    """Payloads an attacker hides in a signature, aimed at files under ``target``, keyed by
    the op the graph check must refuse: WriteFile writes ``target/written_by_the_model``,
    ReadFile reads ``target/secret`` and MatchingFiles lists ``target`` (more in
    ``hostile_models``)."""
    import tensorflow as tf

    return {
        "WriteFile": lambda image: tf.io.write_file(
            os.path.join(target, "written_by_the_model"), "written"
        ),
        "ReadFile": lambda image: tf.io.read_file(os.path.join(target, "secret")),
        "MatchingFiles": lambda image: tf.io.matching_files(os.path.join(target, "*")),
    }
