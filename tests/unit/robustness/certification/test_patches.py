"""Patches change the cost of CROWN's passes, never their bounds: a convolution's neurons get
the same bounds in patches as by dense passes, on the project's CNN and on random nets
(strided and padded convolutions, BatchNormalization, residual connections and
overlapping pooling, where patches give way to dense passes)."""

import numpy as np
import pytest
import tensorflow as tf

from robustfx.base.training_config import ModelConfig
from robustfx.robustness.certification import crown, from_keras
from robustfx.robustness.certification import operations as ops
from robustfx.robustness.certification.input_set import InputSet
from robustfx.robustness.certification.intermediate import crown_bounds, refine_convolution
from robustfx.robustness.certification.intervals import interval_step
from robustfx.trainer.model import build_cnn
from tests.helpers.random_networks import random_net

BUDGET = 2**22  # small: several passes per layer


def _compare(model, norm: str, epsilon: float, rng) -> int:
    """Compares both ways on every convolution CROWN bounds; returns how many."""
    network = from_keras(model)
    images = rng.uniform(0, 1, (3, *network.input_shape)).astype(np.float32)
    inputs = InputSet(tf.constant(images), epsilon, norm)
    bounds = crown_bounds(network, inputs, BUDGET)
    compared = 0
    for index in network.bounded_nodes():
        node = network.nodes[index]
        if not isinstance(node.op, ops.Conv) or node.inputs == (0,):
            continue
        before = bounds[:index]
        interval = interval_step(network, index, before, inputs)
        dense = crown.refine(network, index, before, interval, inputs, BUDGET)
        patch = refine_convolution(network, index, before, interval, inputs, BUDGET)
        # Dense passes bound only the neurons whose bounds can change a relaxation.
        mask = tf.reshape(crown.refinement_mask(network, index, interval), interval[0].shape)
        for side in (0, 1):
            np.testing.assert_allclose(
                patch[side].numpy()[mask.numpy()],
                dense[side].numpy()[mask.numpy()],
                rtol=1e-4,
                atol=1e-4,
            )
        compared += 1
    return compared


@pytest.mark.parametrize("norm, epsilon", [("linf", 0.05), ("l2", 0.3)])
def test_the_project_cnn_gets_the_same_bounds_in_patches(rng, norm, epsilon):
    tf.keras.utils.set_random_seed(0)
    for padding_side in (16, 9):  # 9: the convolutions pad and the last pool is skipped
        model = build_cnn(
            ModelConfig(conv_filters=(3, 4, 4), dense_units=6), (padding_side, padding_side, 1), 3
        )
        assert _compare(model, norm, epsilon, rng) == 2


def test_random_nets_get_the_same_bounds_in_patches(rng):
    compared = sum(_compare(random_net(seed), "linf", 0.1, rng) for seed in range(8))
    assert compared >= 4
