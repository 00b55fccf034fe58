"""CROWN's bounds on every node a nonlinearity reads, in order: a convolution's by passes in
patches (``patches``), any other node's by dense passes (``crown.refine``). Each is the
intersection of CROWN's bound and the interval bound from the bounds already made.
"""

import dataclasses
from typing import List

import tensorflow as tf

from robustfx.robustness.certification import crown, patches
from robustfx.robustness.certification import operations as ops
from robustfx.robustness.certification.input_set import InputSet
from robustfx.robustness.certification.intervals import Interval, interval_bounds
from robustfx.robustness.certification.memory import rows_within
from robustfx.robustness.certification.network import Network


def _backward(network, index, lam, grid, constant, bounds, inputs) -> tf.Tensor:
    """The minimum over the input set of the patches' bounds: [batch, rows, columns,
    channels]."""
    while index and patches.follows(network.nodes[index].op):
        lam, grid, term = patches.step(network, index, lam, grid, bounds)
        constant = constant if term is None else constant + term
        index = network.nodes[index].inputs[0]
    if not index:
        return constant + patches.concretize(lam, grid, inputs)
    dense = grid.to_dense(lam, network.nodes[index].shape)
    shape = tf.broadcast_dynamic_shape(tf.shape(constant), tf.shape(lam)[:4])
    flat = tf.reshape(tf.broadcast_to(constant, shape), [shape[0], -1])
    found = crown.backward_lower(network, {index: dense}, flat, bounds, inputs)
    return tf.reshape(found, [-1, *grid.positions, int(lam.shape[3])])


def _traced_backward(network, index, lam, grid, constant, bounds, images, epsilon, norm):
    inputs = InputSet(images, epsilon, norm)
    return _backward(network, index, lam, patches.Grid(*grid), constant, bounds, inputs)


def refine_convolution(
    network: Network,
    index: int,
    bounds: List[Interval],
    interval: Interval,
    inputs: InputSet,
    budget: int,
) -> Interval:
    """A convolution's interval tightened by CROWN in patches, channels at a time within
    ``budget`` bytes."""
    node = network.nodes[index]
    source = node.inputs[0]
    rows, columns, channels = node.shape
    batch = int(interval[0].shape[0])
    chunk = max(1, rows_within(network, index, budget) // (2 * batch * rows * columns))
    lowers, uppers = [], []
    for first in range(0, channels, chunk):
        which = tf.range(first, min(channels, first + chunk))
        lam, grid, bias = patches.start(
            node.op, which, (rows, columns), network.nodes[source].shape
        )
        found = crown.traced(network, "patches", _traced_backward)(
            source,
            tf.concat([lam, -lam], axis=3),
            dataclasses.astuple(grid),  # plain tuples: one trace per grid, not per object
            tf.concat([bias, -bias], axis=3),
            bounds,
            inputs.images,
            tf.constant(inputs.epsilon, tf.float32),
            inputs.norm,
        )
        count = int(which.shape[0])
        lowers.append(found[..., :count])
        uppers.append(-found[..., count:])
    lower, upper = interval
    return tf.maximum(lower, tf.concat(lowers, axis=3)), tf.minimum(
        upper, tf.concat(uppers, axis=3)
    )


def crown_bounds(network: Network, inputs: InputSet, budget: int) -> List[Interval]:
    """Every node's interval, with CROWN's bounds on the nodes nonlinearities read."""
    targets = set(network.bounded_nodes())

    def tighten(index: int, bounds: List[Interval], interval: Interval) -> Interval:
        node = network.nodes[index]
        if index not in targets or node.inputs == (0,):
            return interval  # the first linear layer's interval is already exact
        if isinstance(node.op, ops.Conv):
            return refine_convolution(network, index, bounds, interval, inputs, budget)
        return crown.refine(network, index, bounds, interval, inputs, budget)

    return interval_bounds(network, inputs, tighten)
