"""CROWN (Zhang et al. 2018): linear bounds propagated backward from a specification to the
input, through each operation's transpose and each nonlinearity's relaxation
(``relaxations``), then minimized over the input set in closed form.

The relaxations need bounds on every nonlinearity's input, so CROWN bounds those nodes
first, in order (``intermediate``), each by backward passes from the identity on that node
(here, dense) or from a convolution's kernel (``patches``). Each such bound is
intersected with the interval (IBP) bound from the bounds already made: both are sound, so
the intersection is, and it is never looser than either. Only the neurons whose bounds can
change a relaxation are bounded by CROWN: a ReLU's unstable inputs (and, when a max-pool
reads the ReLU, every input that is not certainly dead); all inputs of a max-pool.

Backward passes are memory hungry (coefficients over a whole layer for each bounded
neuron): the memory plan (``memory``) caps how many (example, neuron) rows one pass
carries.
"""

import functools
import weakref
from typing import Dict, List

import numpy as np
import tensorflow as tf

from robustfx.robustness.certification import operations as ops
from robustfx.robustness.certification.input_set import InputSet
from robustfx.robustness.certification.intervals import Interval
from robustfx.robustness.certification.memory import rows_within
from robustfx.robustness.certification.network import Network
from robustfx.robustness.certification.relaxations import max_pool_backward, relu_backward


def backward_lower(
    network: Network,
    start: Dict[int, tf.Tensor],
    constant: tf.Tensor,
    bounds: List[Interval],
    inputs: InputSet,
) -> tf.Tensor:
    """The minimum over the input set of ``sum_n start[n] . node_n + constant``.

    Args:
      start: node -> coefficients on its output, [b, specs, *shape] (b the batch or 1).
      constant: [b, specs].
      bounds: every nonlinearity's input bounds, [batch, *shape].

    Returns:
      [batch, specs] lower bounds.
    """
    lams = dict(start)

    def accumulate(index: int, lam: tf.Tensor) -> None:
        lams[index] = lams[index] + lam if index in lams else lam

    for index in range(max(lams), 0, -1):
        lam = lams.pop(index, None)
        if lam is None:
            continue
        node = network.nodes[index]
        if isinstance(node.op, ops.ReLU):
            lam, offset = relu_backward(lam, *bounds[node.inputs[0]])
        elif isinstance(node.op, ops.MaxPool):
            lam, offset = max_pool_backward(node.op, lam, *bounds[node.inputs[0]])
        else:
            leading = tf.shape(lam)[:2]
            flat = tf.reshape(lam, tf.concat([[-1], node.shape], axis=0))
            shapes = [network.nodes[i].shape for i in node.inputs]
            term = node.op.bias_term(flat)
            if term is not None:
                constant = constant + tf.reshape(term, leading)
            for source, part in zip(node.inputs, node.op.transpose(flat, shapes), strict=True):
                shape = tf.concat([leading, network.nodes[source].shape], axis=0)
                accumulate(source, tf.reshape(part, shape))
            continue
        constant = constant + offset
        accumulate(node.inputs[0], lam)
    return constant + inputs.concretize(lams.pop(0))


_TRACED: "weakref.WeakKeyDictionary[Network, dict]" = weakref.WeakKeyDictionary()


def traced(network: Network, name: str, function):
    """``function`` with ``network`` as its first argument, as one ``tf.function`` per network
    and name, traced once per shape: these passes are several times faster as a graph than
    eagerly (measured: a ReLU step on a conv layer's coefficients, 5 times)."""
    functions = _TRACED.setdefault(network, {})
    if name not in functions:
        functions[name] = tf.function(functools.partial(function, network))
    return functions[name]


def _dense_pass(network, where, lam, constant, bounds, images, epsilon, norm) -> tf.Tensor:
    return backward_lower(network, {where: lam}, constant, bounds, InputSet(images, epsilon, norm))


def dense_pass(network: Network, where: int, lam, constant, bounds, inputs: InputSet):
    """``backward_lower`` from coefficients on node ``where``, as a traced graph."""
    run = traced(network, "dense", _dense_pass)
    epsilon = tf.constant(inputs.epsilon, tf.float32)  # a tensor: one trace for every radius
    return run(where, lam, constant, bounds, inputs.images, epsilon, inputs.norm)


def _start(network: Network, index: int, rows: tf.Tensor):
    """Coefficients selecting neurons ``rows`` [batch, count] of node ``index`` (a one-hot
    identity), or, for a Conv or Dense, its Jacobian rows on its input, built without a
    backward pass: (node, coefficients [batch, count, *shape], constant [batch, count])."""
    node = network.nodes[index]
    leading = tf.shape(rows)
    flat = tf.reshape(rows, [-1])
    jacobian = getattr(node.op, "jacobian_rows", None)
    if jacobian is not None and len(node.inputs) == 1:
        source = node.inputs[0]
        rows_of = jacobian(flat, network.nodes[source].shape)
        if rows_of is not None:
            lam = tf.reshape(rows_of, tf.concat([leading, network.nodes[source].shape], 0))
            return source, lam, tf.reshape(node.op.bias_rows(flat), leading)
    identity = tf.one_hot(rows, node.size)
    return index, tf.reshape(identity, tf.concat([leading, node.shape], 0)), tf.zeros(leading)


def refinement_mask(network: Network, index: int, interval: Interval) -> tf.Tensor:
    """[batch, neurons] which neurons of node ``index`` CROWN bounds (see the module doc)."""
    readers = network.consumers()
    lower, upper = (tf.reshape(side, [tf.shape(side)[0], -1]) for side in interval)
    if not all(isinstance(network.nodes[reader].op, ops.ReLU) for reader in readers[index]):
        return tf.ones_like(lower, tf.bool)
    feeds_pool = any(
        isinstance(network.nodes[after].op, ops.MaxPool)
        for reader in readers[index]
        for after in readers[reader]
    )
    return upper > 0 if feeds_pool else (upper > 0) & (lower < 0)


def refine(
    network: Network,
    index: int,
    bounds: List[Interval],
    interval: Interval,
    inputs: InputSet,
    budget: int,
) -> Interval:
    """Node ``index``'s interval tightened by CROWN, in passes within ``budget`` bytes."""
    lower, upper = interval
    shape = tf.shape(lower)
    batch = int(lower.shape[0])
    lower, upper = tf.reshape(lower, [batch, -1]), tf.reshape(upper, [batch, -1])
    # Each example's neurons to bound first, padded to whole chunks (one traced shape).
    mask = refinement_mask(network, index, interval)
    counts = tf.reduce_sum(tf.cast(mask, tf.int32), axis=1)
    longest = int(tf.reduce_max(counts))
    if not longest:
        return interval
    chunk = min(longest, max(1, rows_within(network, index, budget) // (2 * batch)))
    padded = -(-longest // chunk) * chunk
    order = tf.argsort(tf.cast(~mask, tf.int32), axis=1, stable=True)[:, :padded]
    order = tf.pad(order, [[0, 0], [0, padded - int(order.shape[1])]])
    valid = tf.range(padded)[None] < counts[:, None]
    examples = tf.broadcast_to(tf.range(batch)[:, None], [batch, padded])
    for first in range(0, padded, chunk):
        part, kept = order[:, first : first + chunk], valid[:, first : first + chunk]
        where, lam, constant = _start(network, index, part)
        both = dense_pass(
            network,
            where,
            tf.concat([lam, -lam], axis=1),
            tf.concat([constant, -constant], axis=1),
            bounds,
            inputs,
        )
        at = tf.reshape(tf.stack([examples[:, first : first + chunk], part], -1), [-1, 2])
        infinity = tf.fill(tf.shape(part), np.inf)
        low = tf.where(kept, both[:, :chunk], -infinity)
        high = tf.where(kept, -both[:, chunk:], infinity)
        lower = tf.tensor_scatter_nd_max(lower, at, tf.reshape(low, [-1]))
        upper = tf.tensor_scatter_nd_min(upper, at, tf.reshape(high, [-1]))
    return tf.reshape(lower, shape), tf.reshape(upper, shape)


def margin_specs(labels: tf.Tensor, classes: int) -> tf.Tensor:
    """[batch, classes, classes]: row j is e_label - e_j (row label is zero)."""
    own = tf.one_hot(tf.cast(labels, tf.int32), classes)
    return own[:, None, :] - tf.eye(classes)[None]


def crown_margins(
    network: Network, inputs: InputSet, labels: tf.Tensor, bounds: List[Interval]
) -> tf.Tensor:
    """CROWN's lower bounds of ``logit[label] - logit[j]`` for every j, [batch, classes],
    from the intermediate ``bounds``; 0 at the label's own column."""
    specs = margin_specs(labels, network.num_classes)
    constant = tf.zeros(tf.shape(specs)[:2])
    margins = dense_pass(network, network.output, specs, constant, bounds, inputs)
    own = tf.one_hot(tf.cast(labels, tf.int32), network.num_classes) > 0
    return tf.where(own, tf.zeros_like(margins), margins)
