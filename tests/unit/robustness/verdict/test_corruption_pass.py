"""The evaluator's corruption pass: the named set resolved for the images, each run traced
once for any batch size, and every model classifying the same corrupted batch."""

import logging

import numpy as np
import tensorflow as tf

from robustfx.robustness.corruptions import registry
from robustfx.robustness.verdict.corruption_pass import CorruptionPass


def test_each_run_traces_once_and_every_model_sees_the_same_corrupted_batch(rng, caplog):
    corruptions = CorruptionPass("quick", (28, 28, 1))
    assert "contrast" in corruptions.resolved.skipped  # RGB-only, skipped for digits
    seen = []

    def model(name):
        def predict(images):
            seen.append((name, images.numpy()))
            return np.zeros(len(images), np.int64)

        return predict

    with caplog.at_level(logging.WARNING):
        for size in (16, 16, 5):
            images = tf.constant(rng.rand(size, 28, 28, 1), tf.float32)
            found = corruptions.predictions(
                images, {"candidate": model("c"), "baseline": model("b")}
            )
    assert "retracing" not in caplog.text
    assert set(found["candidate"]) == set(corruptions.resolved.corruptions)
    assert set(found["baseline"]["fog"]) == {2, 4}
    runs = len(corruptions.resolved.runs)
    last = seen[-2 * runs :]
    for (first, mine), (second, theirs) in zip(last[::2], last[1::2], strict=True):
        assert (first, second) == ("c", "b")
        np.testing.assert_array_equal(mine, theirs)
    np.testing.assert_allclose(last[-2][1], registry.apply("brightness", images, 4).numpy())
