"""`robustfx gate --model M` on a model as plain Keras saves it: a CNN trained here on real
digits, with a softmax head and pixels in [0, 255], saved with ``model.save(path)``. No op
flag; its clean accuracy is Keras's own ``evaluate`` on the same split, and FGSM on it is an
FGSM written here, on the same threat model in [0, 1] pixel units."""

import numpy as np
import pytest

from robustfx.cli import commands
from tests.helpers.datasets import SMALL_TEST
from tests.helpers.gate_runs import run_gate, summary_of

EPSILON = 0.2
TRAIN = 600


@pytest.fixture(scope="module")
def keras_cnn(mnist_arrays, tmp_path_factory):
    """(model, SavedModel dir): conv, batch norm, pooling, dropout, softmax; [0, 255] in."""
    import tensorflow as tf

    tf.keras.utils.set_random_seed(0)
    layers = tf.keras.layers
    model = tf.keras.Sequential(
        [
            tf.keras.Input((28, 28, 1)),
            layers.Rescaling(1 / 255),
            layers.Conv2D(8, 3, activation="relu"),
            layers.BatchNormalization(momentum=0.9),  # its statistics settle in 75 steps
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dropout(0.2),
            layers.Dense(10, activation="softmax"),
        ]
    )
    # Eagerly: tracing Keras's train and test steps costs far more than these few steps.
    model.compile(
        tf.keras.optimizers.Adam(0.003),
        "sparse_categorical_crossentropy",
        metrics=["accuracy"],
        run_eagerly=True,
    )
    images, labels = mnist_arrays["train"]
    pixels = images[:TRAIN].reshape(-1, 28, 28, 1).astype(np.float32)
    model.fit(pixels, labels[:TRAIN], epochs=4, batch_size=32, verbose=0)
    path = str(tmp_path_factory.mktemp("keras") / "cnn")
    model.save(path)  # what a notebook does: serving_default, named after the layers
    return model, path


@pytest.fixture(scope="module")
def test_split(mnist_arrays):
    """The split small_mnist writes as 'test': float pixels in [0, 255], labels."""
    images, labels = mnist_arrays["test"]
    return images[:SMALL_TEST].reshape(-1, 28, 28, 1).astype(np.float32), labels[:SMALL_TEST]


def _gate(small_mnist, model_dir, tmp_path, *flags):
    code, summary = run_gate(
        small_mnist[0], model_dir, tmp_path, "--attack", f"fgsm_linf_{EPSILON}",
        "--corruptions", "none", "--threshold", "clean=0", "--threshold", "worst_case=0", *flags,
    )  # fmt: skip
    return code, summary_of(summary)


def _independent_fgsm_accuracy(model, pixels, labels) -> float:
    """FGSM in [0, 1] pixel units on the cross-entropy of the model's log-probabilities (the
    gate's stated loss; -log p alone differs from it by log(sum p), zero up to rounding, which
    moved one saturated digit of 200), clipped to [0, 1]."""
    import tensorflow as tf

    images = tf.constant(pixels / 255.0)
    with tf.GradientTape() as tape:
        tape.watch(images)
        probabilities = model(images * 255.0, training=False)
        log_p = tf.math.log(tf.maximum(probabilities, np.finfo(np.float32).tiny))
        true = tf.gather(log_p, labels, axis=1, batch_dims=1)
        loss = tf.reduce_logsumexp(log_p, axis=1) - true
    adversarial = tf.clip_by_value(images + EPSILON * tf.sign(tape.gradient(loss, images)), 0, 1)
    predicted = np.argmax(model(adversarial * 255.0, training=False).numpy(), axis=1)
    return float(np.mean(predicted == labels))


def test_a_plain_keras_model_is_gated_as_keras_sees_it(
    keras_cnn, test_split, small_mnist, tmp_path, capsys
):
    model, model_dir = keras_cnn
    code, result = _gate(small_mnist, model_dir, tmp_path, "--input-scale", "255", "--full")
    assert code == commands.EXIT_OK  # no --allow-op: batch norm, mean, dropout all pass
    assert result["graph_checks"]["candidate"]["allowed_by_flag"] == []
    interface = result["interfaces"]["candidate"]
    assert interface["signature"] == "serving_default" and interface["input_scale"] == 255
    assert interface["output"] == "probabilities"
    assert interface["output_key"] == model.output_names[0]
    printed = capsys.readouterr().out
    assert "as probabilities (attacked as log-probabilities)" in printed
    # The verifier does not model Rescaling: no certified figure, and one line naming it.
    assert result["certified_accuracy"] is None
    assert "Rescaling" in result["certification"]["uncertifiable"]["candidate"]
    assert "- bracket: no certificate: " in printed and "Rescaling" in printed
    assert "min_certified_accuracy" not in {rule["rule"] for rule in result["rules"]}
    pixels, labels = test_split
    _, keras_accuracy = model.evaluate(pixels, labels, verbose=0)
    assert result["clean_accuracy"] == pytest.approx(keras_accuracy, abs=1e-6)  # float32
    assert keras_accuracy > 0.6  # trained: the comparison is not between two chance levels
    fgsm = _independent_fgsm_accuracy(model, pixels, labels)
    assert result["robust_accuracy"][f"fgsm_linf_{EPSILON}"] == pytest.approx(fgsm, abs=1e-9)
    assert fgsm < keras_accuracy - 0.1  # the attack did something


def test_the_wrong_pixel_scale_is_the_users_to_give(keras_cnn, small_mnist, tmp_path):
    """Without --input-scale 255 the model sees images 255 times too dark: it runs, and its
    clean accuracy says so."""
    _, model_dir = keras_cnn
    code, result = _gate(small_mnist, model_dir, tmp_path)
    assert code == commands.EXIT_OK
    assert result["interfaces"]["candidate"]["input_scale"] == 1
    assert result["clean_accuracy"] < 0.5


def test_the_model_as_its_own_baseline_is_called_the_same_way(keras_cnn, small_mnist, tmp_path):
    """--input-scale and the detected softmax apply to the baseline too: no drop at all."""
    _, model_dir = keras_cnn
    code, result = _gate(
        small_mnist, model_dir, tmp_path, "--input-scale", "255", "--baseline", model_dir
    )
    assert code == commands.EXIT_OK and result["baseline_skipped"] is None
    assert result["interfaces"]["baseline"] == result["interfaces"]["candidate"]
    assert result["metrics"]["baseline"]["clean_accuracy"] == result["clean_accuracy"]
    assert result["paired_tests"]["clean"]["candidate_only"] == 0


def _keras_model(directory, input_shape=(28, 28, 1), classes=10) -> str:
    import tensorflow as tf

    layers = tf.keras.layers
    model = tf.keras.Sequential(
        [tf.keras.Input(input_shape), layers.Flatten(), layers.Dense(classes, "softmax")]
    )
    model.save(str(directory))
    return str(directory)


@pytest.mark.parametrize(
    "build, flags, message",
    [
        (
            lambda d: _keras_model(d, classes=5),
            [],
            r"has no class-score output for 10 classes \(it has dense\w* DT_FLOAT \[None, 5\]\)",
        ),
        (
            lambda d: _keras_model(d, input_shape=(32, 32, 3)),
            [],
            "takes 3-channel images, the dataset has 1 channels",
        ),
        (_keras_model, ["--signature", "predict"], r"has no 'predict' signature \(it has"),
        (_keras_model, ["--output-key", "probs"], r"has no output 'probs' \(--output-key\)"),
    ],
    ids=["five-classes", "rgb", "no-such-signature", "no-such-output"],
)
def test_a_model_that_does_not_fit_is_refused_in_one_line(
    small_mnist, tmp_path, capsys, build, flags, message
):
    import re

    code, result = _gate(small_mnist, build(tmp_path / "model"), tmp_path, *flags)
    assert code == commands.EXIT_USAGE and result is None
    lines = [line for line in capsys.readouterr().err.splitlines() if "robustfx:" in line]
    assert len(lines) == 1 and lines[0].startswith("robustfx: model error: model ")
    assert re.search(message, lines[0])
