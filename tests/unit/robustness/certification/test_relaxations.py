"""The relaxations' defining inequality, checked point by point: for any x between the
bounds, ``lam . op(x) >= lam_in . x + constant``. Bounds include decided max-pool windows,
ties at zero (as after a ReLU) and inputs fixed at one value."""

import numpy as np
import pytest
import tensorflow as tf

from robustfx.robustness.certification import operations as ops
from robustfx.robustness.certification.relaxations import max_pool_backward, relu_backward

BATCH, SPECS, SAMPLES = 3, 4, 300


def _bounds(rng, shape):
    """Lower and upper bounds with every case: wide, narrow, fixed, ties at 0, and
    inputs far above their neighbours (decided windows)."""
    lower = rng.normal(size=shape)
    upper = lower + rng.exponential(size=shape) * (rng.rand(*shape) < 0.8)
    tied = rng.rand(*shape) < 0.3
    lower, upper = (
        np.where(tied, np.maximum(lower, 0), lower),
        np.where(tied, np.maximum(upper, 0), upper),
    )
    lift = 4.0 * (rng.rand(*shape) < 0.15)
    return (lower + lift).astype(np.float32), (upper + lift).astype(np.float32)


def _samples(rng, lower, upper):
    """[SAMPLES, *shape]: corners of the box, and points inside it."""
    corner = rng.rand(SAMPLES // 2, *lower.shape) < 0.5
    corners = np.where(corner, lower, upper)
    inside = lower + rng.rand(SAMPLES - SAMPLES // 2, *lower.shape) * (upper - lower)
    return np.concatenate([corners, inside]).astype(np.float32)


def _check(rng, op, backward, shape):
    lower, upper = _bounds(rng, shape)
    out_shape = op.forward(tf.zeros(shape)).shape[1:]
    lam = rng.normal(size=(BATCH, SPECS, *out_shape)).astype(np.float32)
    lam_in, constant = backward(tf.constant(lam), tf.constant(lower), tf.constant(upper))
    flat_lam, flat_in = lam.reshape(BATCH, SPECS, -1), lam_in.numpy().reshape(BATCH, SPECS, -1)
    for x in _samples(rng, lower, upper):
        out = op.forward(tf.constant(x)).numpy().reshape(BATCH, -1)
        exact = np.einsum("bsd,bd->bs", flat_lam, out)
        bound = np.einsum("bsd,bd->bs", flat_in, x.reshape(BATCH, -1)) + constant.numpy()
        assert np.all(exact >= bound - 1e-4 * (1 + np.abs(exact))), np.max(bound - exact)


@pytest.mark.parametrize("seed", range(3))
def test_relu_relaxation_holds_everywhere_between_the_bounds(seed):
    _check(np.random.RandomState(seed), ops.ReLU(), relu_backward, (BATCH, 5, 5, 2))


@pytest.mark.parametrize(
    "pool, strides, padding, side",
    [((2, 2), (2, 2), "VALID", 6), ((2, 2), (2, 2), "SAME", 5), ((3, 3), (2, 2), "SAME", 6)],
    ids=["windows", "partial-windows", "overlapping"],
)
@pytest.mark.parametrize("seed", range(3))
def test_max_pool_relaxation_holds_everywhere_between_the_bounds(
    seed, pool, strides, padding, side
):
    op = ops.MaxPool(pool, strides, padding)

    def backward(lam, lower, upper):
        return max_pool_backward(op, lam, lower, upper)

    _check(np.random.RandomState(seed), op, backward, (BATCH, side, side, 2))


def test_a_decided_window_is_bounded_exactly():
    # One input's lower bound reaches the others' upper bounds: the max is that input.
    lower = np.array([[[[5.0], [0.0]], [[1.0], [2.0]]]], np.float32)
    upper = np.array([[[[6.0], [5.0]], [[3.0], [4.0]]]], np.float32)
    op = ops.MaxPool((2, 2), (2, 2), "VALID")
    for sign in (1.0, -1.0):
        lam = tf.constant([[[[[sign]]]]])
        lam_in, constant = max_pool_backward(op, lam, tf.constant(lower), tf.constant(upper))
        np.testing.assert_allclose(lam_in.numpy()[0, 0, :, :, 0], [[sign, 0], [0, 0]])
        assert float(constant) == 0.0
