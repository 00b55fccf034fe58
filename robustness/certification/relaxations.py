"""Linear relaxations of the nonlinear operations, as CROWN's backward steps.

Each step takes coefficients ``lam`` on an operation's output ([b, specs, *shape], b the
batch or 1) and the bounds of its input ([batch, *shape]), and returns coefficients on the
input and a constant [batch, specs] such that, over the input's bounds,
``lam . op(x) >= lam_in . x + constant``. Upper bounds are lower bounds of negated specs.

- ReLU (Zhang et al. 2018): a neuron whose bounds straddle 0 is bounded above by the chord
  ``u (x - l) / (u - l)`` and below by ``x`` or ``0``, whichever has the smaller area
  (``x`` when ``u >= -l``: CROWN's adaptive lower bound).
- Max-pooling (as DeepPoly, Singh et al. 2019): below by the input with the largest lower
  bound in each window; above by that same input when its lower bound reaches every other
  input's upper bound (the window is decided), else by the largest upper bound.
"""

import numpy as np
import tensorflow as tf

from robustfx.robustness.certification import operations as ops


def _per_spec(x: tf.Tensor) -> tf.Tensor:
    """[batch, *shape] -> [batch, 1, *shape], to broadcast over specs."""
    return x[:, None]


def _sum_per_spec(x: tf.Tensor, keep: int = 2) -> tf.Tensor:
    return tf.reduce_sum(x, axis=list(range(keep, len(x.shape))))


def relu_slopes(lower: tf.Tensor, upper: tf.Tensor):
    """(lower slope, upper slope, upper offset) of each neuron's ReLU relaxation."""
    active, inactive = lower >= 0, upper <= 0
    unstable = ~active & ~inactive
    width = tf.where(unstable, upper - lower, tf.ones_like(upper))
    upper_slope = tf.where(unstable, upper / width, tf.cast(active, upper.dtype))
    upper_offset = tf.where(unstable, -upper_slope * lower, tf.zeros_like(lower))
    lower_slope = tf.where(
        unstable, tf.cast(upper >= -lower, upper.dtype), tf.cast(active, upper.dtype)
    )
    return lower_slope, upper_slope, upper_offset


def relu_step(lam: tf.Tensor, lower_slope, upper_slope, upper_offset, keep: int = 2):
    """(coefficients on the ReLU's input, constant) from slopes that broadcast against
    ``lam``; the constant sums over every axis after the first ``keep``."""
    positive, negative = tf.nn.relu(lam), tf.minimum(lam, 0.0)
    lam_in = positive * lower_slope + negative * upper_slope
    return lam_in, _sum_per_spec(negative * upper_offset, keep)


def relu_backward(lam: tf.Tensor, lower: tf.Tensor, upper: tf.Tensor):
    """CROWN's ReLU step: (coefficients on the ReLU's input, constant)."""
    return relu_step(lam, *(_per_spec(side) for side in relu_slopes(lower, upper)))


def _scatter_to_windows(coefficients: tf.Tensor, argmax: tf.Tensor, input_shape) -> tf.Tensor:
    """Adds each pooled coefficient [batch, specs, *pooled] onto the input pixel ``argmax``
    names (a flat index over [batch, *input]); overlapping windows add up."""
    batch, specs = tf.shape(coefficients)[0], tf.shape(coefficients)[1]
    rank = len(coefficients.shape)
    by_pixel = tf.transpose(coefficients, [0, *range(2, rank), 1])
    pixels = batch * int(np.prod(input_shape))
    summed = tf.math.unsorted_segment_sum(
        tf.reshape(by_pixel, [-1, specs]), tf.reshape(argmax, [-1]), pixels
    )
    summed = tf.reshape(summed, [batch, *input_shape, specs])
    return tf.transpose(summed, [0, rank - 1, *range(1, rank - 1)])


def max_pool_maps(op: ops.MaxPool, lower: tf.Tensor, upper: tf.Tensor):
    """The max-pool relaxation's maps: (argmax, a flat index over [batch, *input] of each
    window's input with the largest lower bound; chosen, that input's pixels [batch,
    *input] (bool, for non-overlapping windows); decided [batch, *pooled] (bool); the
    pooled upper bounds)."""
    pooled_lower, argmax = tf.nn.max_pool_with_argmax(
        lower, op.pool, op.strides, op.padding, include_batch_in_index=True
    )
    pooled_upper = tf.nn.max_pool2d(upper, op.pool, op.strides, op.padding)
    flat = tf.reshape(argmax, [-1, 1])
    chosen = tf.scatter_nd(flat, tf.ones(tf.shape(flat)[:1]), [tf.size(lower, tf.int64)])
    chosen = tf.reshape(chosen, tf.shape(lower)) > 0
    if op.overlapping:
        # A pixel can be chosen in one window and not in another: never decided.
        return argmax, chosen, tf.zeros_like(pooled_lower, tf.bool), pooled_upper
    lowest = tf.fill(tf.shape(upper), upper.dtype.min)
    others = tf.nn.max_pool2d(tf.where(chosen, lowest, upper), op.pool, op.strides, op.padding)
    return argmax, chosen, pooled_lower >= others, pooled_upper


def max_pool_step(lam: tf.Tensor, decided: tf.Tensor, pooled_upper: tf.Tensor, keep: int = 2):
    """(coefficients on each window's chosen input, constant) from maps that broadcast
    against ``lam``; the constant sums over every axis after the first ``keep``."""
    decided = tf.cast(decided, lam.dtype)
    positive, negative = tf.nn.relu(lam), tf.minimum(lam, 0.0)
    constant = _sum_per_spec(negative * (1.0 - decided) * pooled_upper, keep)
    return positive + negative * decided, constant


def max_pool_backward(op: ops.MaxPool, lam: tf.Tensor, lower: tf.Tensor, upper: tf.Tensor):
    """The max-pooling step: (coefficients on the pooling's input, constant)."""
    argmax, _, decided, pooled_upper = max_pool_maps(op, lower, upper)
    coefficients, constant = max_pool_step(lam, _per_spec(decided), _per_spec(pooled_upper))
    return _scatter_to_windows(coefficients, argmax, lower.shape[1:]), constant
