"""APGD-T's target classes run in one ``tf.while_loop`` (one traced run for all of them): its
adversarial images must be exactly those of the runs unrolled one target after another, as
each traced function did before, on real digits and a small trained net."""

import numpy as np
import pytest
import tensorflow as tf

from robustfx.robustness.attacks import apgd

TARGETS, STEPS, EPSILON, DIGITS = 4, 5, 0.08, 48


@pytest.fixture(scope="module")
def model_and_digits(trained_mlp):
    model, images, labels = trained_mlp
    return model, tf.constant(images[:DIGITS]), tf.constant(labels[:DIGITS].astype(np.int64))


def unrolled(logits_fn, images, labels):
    """The targets one after another in Python: (adversarial, broken after each target)."""
    ranked = tf.argsort(logits_fn(images), axis=1, direction="DESCENDING", stable=True)
    found = (images, tf.zeros([tf.shape(images)[0]], bool))
    broken = []
    for rank in range(1, TARGETS + 1):
        settings = (EPSILON, "linf", STEPS, 0)
        found = apgd._on_unbroken(
            logits_fn, images, labels, ranked, "dlr_targeted", settings, 0, rank, found
        )
        broken.append(found[1])
    return found[0], tf.stack(broken)


def test_the_target_loop_gives_the_unrolled_targets_images_bit_for_bit(model_and_digits):
    logits_fn, images, labels = model_and_digits
    looped = tf.function(
        lambda x, y: apgd.apgd(
            logits_fn, x, y, EPSILON, "linf", 0, STEPS, "dlr_targeted", 1, TARGETS
        )
    )(images, labels).numpy()
    expected, broken = tf.function(lambda x, y: unrolled(logits_fn, x, y))(images, labels)
    broken = broken.numpy().sum(axis=1)
    # The later targets matter: they break digits the first left, and not all are broken.
    assert 0 < broken[0] < broken[-1] < DIGITS
    np.testing.assert_array_equal(looped, expected.numpy())
    eager = apgd.apgd(
        logits_fn, images, labels, EPSILON, "linf", 0, STEPS, "dlr_targeted", 1, TARGETS
    )
    np.testing.assert_array_equal(eager.numpy(), looped)
