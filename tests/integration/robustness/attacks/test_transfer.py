"""The write-ups' transfer protocol crafts examples with the *reference* model's gradients."""

import dataclasses

import apache_beam as beam
import numpy as np
import tensorflow as tf

from robustfx.base.attack_config import AttackConfig
from robustfx.base.evaluation_config import EvaluationConfig, ThresholdConfig
from robustfx.base.training_config import TUTORIAL_ADVERSARIAL
from robustfx.robustness.attacks.transfer import TransferCrafter, keras_view
from robustfx.robustness.verdict import evaluation
from tests.helpers.datasets import shard_files

SHAPE = (4, 4, 1)


def _linear(rng):
    weights = rng.normal(size=(16, 3)).astype(np.float32)

    def logits_fn(images):
        return tf.matmul(tf.reshape(images, [-1, 16]), weights)

    return logits_fn


def _fgsm_direction(logits_fn, images, labels):
    with tf.GradientTape() as tape:
        tape.watch(images)
        loss = tf.keras.losses.sparse_categorical_crossentropy(
            labels, logits_fn(images), from_logits=True
        )
    return tf.sign(tape.gradient(loss, images)).numpy()


def test_crafted_with_the_reference_gradients_not_the_candidates(rng):
    reference, candidate = _linear(rng), _linear(rng)
    images = tf.constant(rng.uniform(0.3, 0.7, size=(16, *SHAPE)).astype(np.float32))
    labels = tf.constant(rng.randint(0, 3, size=16))
    crafter = TransferCrafter(
        keras_view(reference, SHAPE),
        dataclasses.replace(TUTORIAL_ADVERSARIAL, adv_step_size=0.1, adv_grad_norm="linf"),
    )
    crafted = crafter(images, labels).numpy()
    from_reference = images.numpy() + 0.1 * _fgsm_direction(reference, images, labels)
    from_candidate = images.numpy() + 0.1 * _fgsm_direction(candidate, images, labels)
    np.testing.assert_allclose(crafted, from_reference, atol=1e-6)
    assert np.abs(crafted - from_candidate).max() > 0.1  # swapping the models would show


def _evaluate(files, model_dir, reference_dir):
    config = EvaluationConfig(
        attacks=(AttackConfig.from_name("fgsm_linf_0.2"),),
        thresholds=ThresholdConfig(min_clean_accuracy=0.0, min_robust_accuracy={}),
        epsilon_sweep=(),
        report_examples=0,
        corruptions="none",
    )
    result = evaluation.evaluate(
        beam.Pipeline,
        files,
        model_dir,
        config,
        [str(d) for d in range(10)],
        reference_model_dir=reference_dir,
        raw_image_shape=(28, 28, 1),
    )
    return result.details["candidate"]


def test_transfer_accuracy_is_reported_apart_and_uses_the_reference(
    small_mnist, trained_model_dir, untrained_model_dir
):
    _, info = small_mnist
    files = shard_files(info, "test")[0]
    serving = "/Format-Serving"
    # Crafted against the candidate itself, the protocol is exactly white-box FGSM ...
    itself = _evaluate(files, trained_model_dir + serving, trained_model_dir + serving)
    assert itself["transfer_accuracy"] == itself["attacks"]["fgsm_linf_0.2"]["robust_accuracy"]
    # ... crafted against another (untrained) reference, it barely hurts the candidate.
    other = _evaluate(files, trained_model_dir + serving, untrained_model_dir + serving)
    assert other["attacks"] == itself["attacks"]  # white-box numbers do not depend on it
    assert other["transfer_accuracy"] > itself["transfer_accuracy"] + 0.2
